CREATE TABLE "handoff_queues" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"role" text NOT NULL,
	"assignment" text DEFAULT 'manual' NOT NULL,
	"last_assigned" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "handoff_queues_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "handoffs" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"record_id" uuid NOT NULL,
	"object" text NOT NULL,
	"field" text NOT NULL,
	"status" text NOT NULL,
	"from_status" text,
	"role" text NOT NULL,
	"state" text DEFAULT 'waiting' NOT NULL,
	"assigned_to" uuid,
	"requested_by" uuid,
	"previous_owner" uuid,
	"requested_at" timestamp with time zone DEFAULT now() NOT NULL,
	"decided_by" uuid,
	"decided_at" timestamp with time zone,
	"reason" text,
	"returned_to" text,
	CONSTRAINT "handoffs_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "applied_templates" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"key" text NOT NULL,
	"applied_by" uuid,
	"applied_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "applied_templates_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
ALTER TABLE "handoff_queues" ADD CONSTRAINT "handoff_queues_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "handoffs" ADD CONSTRAINT "handoffs_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "handoffs" ADD CONSTRAINT "handoffs_record_fk" FOREIGN KEY ("org_id","record_id") REFERENCES "public"."records"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "applied_templates" ADD CONSTRAINT "applied_templates_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "handoff_queues_role" ON "handoff_queues" USING btree ("org_id","role");--> statement-breakpoint
CREATE INDEX "handoffs_queue_idx" ON "handoffs" USING btree ("org_id","role","state","requested_at");--> statement-breakpoint
CREATE INDEX "handoffs_record_idx" ON "handoffs" USING btree ("org_id","record_id","field");--> statement-breakpoint
CREATE UNIQUE INDEX "applied_templates_key" ON "applied_templates" USING btree ("org_id","key");
--> statement-breakpoint
-- cairn: custom sql below
SELECT cairn_secure_tenant_table('handoffs', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('handoff_queues', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('applied_templates', 'SELECT, INSERT, DELETE');
--> statement-breakpoint
ALTER TABLE handoffs ADD CONSTRAINT handoffs_state_check
  CHECK (state IN ('waiting', 'accepted', 'denied', 'cancelled'));
--> statement-breakpoint
ALTER TABLE handoff_queues ADD CONSTRAINT handoff_queues_assignment_check
  CHECK (assignment IN ('manual', 'round_robin', 'least_open'));
--> statement-breakpoint
-- At most one waiting hand-off per record and status field.
CREATE UNIQUE INDEX handoffs_one_waiting ON handoffs (org_id, record_id, field) WHERE state = 'waiting';
