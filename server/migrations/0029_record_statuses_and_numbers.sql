CREATE TABLE "record_number_counters" (
	"org_id" uuid NOT NULL,
	"object_id" uuid NOT NULL,
	"last_value" bigint NOT NULL,
	CONSTRAINT "record_number_counters_org_id_object_id_pk" PRIMARY KEY("org_id","object_id")
);
--> statement-breakpoint
CREATE TABLE "record_status_history" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"record_id" uuid NOT NULL,
	"field" text NOT NULL,
	"from_status" text,
	"to_status" text NOT NULL,
	"reason" text,
	"changed_by" uuid,
	"actor_type" text NOT NULL,
	"changed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "record_status_history_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
ALTER TABLE "records" ADD COLUMN "number" integer;--> statement-breakpoint
ALTER TABLE "custom_fields" ADD COLUMN "statuses" jsonb;--> statement-breakpoint
ALTER TABLE "custom_objects" ADD COLUMN "number_prefix" text;--> statement-breakpoint
ALTER TABLE "custom_objects" ADD COLUMN "number_digits" integer DEFAULT 5 NOT NULL;--> statement-breakpoint
ALTER TABLE "record_number_counters" ADD CONSTRAINT "record_number_counters_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "record_number_counters" ADD CONSTRAINT "record_number_counters_object_fk" FOREIGN KEY ("org_id","object_id") REFERENCES "public"."custom_objects"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "record_status_history" ADD CONSTRAINT "record_status_history_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "record_status_history" ADD CONSTRAINT "record_status_history_record_fk" FOREIGN KEY ("org_id","record_id") REFERENCES "public"."records"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "record_status_history_record_idx" ON "record_status_history" USING btree ("org_id","record_id","field","changed_at");--> statement-breakpoint
CREATE UNIQUE INDEX "records_number_key" ON "records" USING btree ("org_id","object_id","number");--> statement-breakpoint
-- cairn: custom sql below
-- A status history is appended to, never rewritten by the app (rows go with their record).
SELECT cairn_secure_tenant_table('record_status_history', 'SELECT, INSERT');
--> statement-breakpoint
-- The record number counters: taken (insert or advance) in the creating transaction.
SELECT cairn_secure_tenant_table('record_number_counters', 'SELECT, INSERT, UPDATE');
