CREATE TABLE "delivery_reports" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"channel_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"recipient" text NOT NULL,
	"status" text,
	"diagnostic" text,
	"original_message_id" text,
	"report_message_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "delivery_reports_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "sequence_enrollments" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"sequence_id" uuid NOT NULL,
	"contact_id" uuid NOT NULL,
	"owner_id" text,
	"status" text DEFAULT 'active' NOT NULL,
	"exit_reason" text,
	"step_index" integer DEFAULT 0 NOT NULL,
	"next_run_at" timestamp with time zone,
	"time_zone" text NOT NULL,
	"variant" integer DEFAULT 0 NOT NULL,
	"enrolled_by" text,
	"enrolled_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ended_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sequence_enrollments_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "sequence_step_runs" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"enrollment_id" uuid NOT NULL,
	"sequence_id" uuid NOT NULL,
	"step_id" uuid NOT NULL,
	"idempotency_key" text NOT NULL,
	"type" text NOT NULL,
	"variant" integer DEFAULT 0 NOT NULL,
	"status" text NOT NULL,
	"message_id" uuid,
	"task_id" uuid,
	"detail" text,
	"outcome" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sequence_step_runs_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "sequence_steps" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"sequence_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"type" text NOT NULL,
	"settings" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sequence_steps_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "sequences" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"channel_id" uuid,
	"sms_channel_id" uuid,
	"settings" jsonb NOT NULL,
	"created_by" uuid,
	"updated_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"archived_at" timestamp with time zone,
	CONSTRAINT "sequences_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "headers" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "sequence_enrollments" ADD CONSTRAINT "sequence_enrollments_org_id_sequence_id_sequences_org_id_id_fk" FOREIGN KEY ("org_id","sequence_id") REFERENCES "public"."sequences"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sequence_step_runs" ADD CONSTRAINT "sequence_step_runs_org_id_enrollment_id_sequence_enrollments_org_id_id_fk" FOREIGN KEY ("org_id","enrollment_id") REFERENCES "public"."sequence_enrollments"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sequence_steps" ADD CONSTRAINT "sequence_steps_org_id_sequence_id_sequences_org_id_id_fk" FOREIGN KEY ("org_id","sequence_id") REFERENCES "public"."sequences"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sequences" ADD CONSTRAINT "sequences_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "delivery_reports_key" ON "delivery_reports" USING btree ("org_id","channel_id","report_message_id","recipient");--> statement-breakpoint
CREATE INDEX "delivery_reports_recipient_idx" ON "delivery_reports" USING btree ("org_id","recipient");--> statement-breakpoint
CREATE UNIQUE INDEX "sequence_enrollments_one_active" ON "sequence_enrollments" USING btree ("org_id","sequence_id","contact_id") WHERE status in ('active', 'paused');--> statement-breakpoint
CREATE INDEX "sequence_enrollments_due_idx" ON "sequence_enrollments" USING btree ("org_id","next_run_at") WHERE status = 'active';--> statement-breakpoint
CREATE INDEX "sequence_enrollments_contact_idx" ON "sequence_enrollments" USING btree ("org_id","contact_id");--> statement-breakpoint
CREATE UNIQUE INDEX "sequence_step_runs_key" ON "sequence_step_runs" USING btree ("org_id","idempotency_key");--> statement-breakpoint
CREATE INDEX "sequence_step_runs_step_idx" ON "sequence_step_runs" USING btree ("org_id","sequence_id","step_id");--> statement-breakpoint
CREATE INDEX "sequence_step_runs_enrollment_idx" ON "sequence_step_runs" USING btree ("org_id","enrollment_id","created_at");--> statement-breakpoint
CREATE INDEX "sequence_steps_order_idx" ON "sequence_steps" USING btree ("org_id","sequence_id","position");
--> statement-breakpoint
-- cairn: custom sql below
-- Outreach (issue 25): sequences, their steps, enrollments, step runs, and the delivery reports read from mailboxes.
SELECT cairn_secure_tenant_table('sequences', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('sequence_steps', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('sequence_enrollments', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('sequence_step_runs', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('delivery_reports', 'SELECT, INSERT, UPDATE, DELETE');
