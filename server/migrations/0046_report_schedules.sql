CREATE TABLE "report_schedules" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"report_id" uuid,
	"dashboard_id" uuid,
	"frequency" text NOT NULL,
	"time" text NOT NULL,
	"weekday" integer,
	"day_of_month" integer,
	"time_zone" text NOT NULL,
	"recipient_id" uuid NOT NULL,
	"created_by" uuid NOT NULL,
	"next_run_at" timestamp with time zone,
	"last_run_at" timestamp with time zone,
	"last_outcome" text,
	"last_note" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "report_schedules_org_id_id_pk" PRIMARY KEY("org_id","id"),
	CONSTRAINT "report_schedules_one_target" CHECK (("report_schedules"."report_id" is null) <> ("report_schedules"."dashboard_id" is null))
);
--> statement-breakpoint
ALTER TABLE "report_schedules" ADD CONSTRAINT "report_schedules_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "report_schedules" ADD CONSTRAINT "report_schedules_report_fk" FOREIGN KEY ("org_id","report_id") REFERENCES "public"."saved_reports"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "report_schedules" ADD CONSTRAINT "report_schedules_dashboard_fk" FOREIGN KEY ("org_id","dashboard_id") REFERENCES "public"."dashboards"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "report_schedules_recipient_idx" ON "report_schedules" USING btree ("org_id","recipient_id");--> statement-breakpoint
-- cairn: custom sql below
-- Scheduled delivery of reports and dashboards (issue 30), per tenant.
SELECT cairn_secure_tenant_table('report_schedules', 'SELECT, INSERT, UPDATE, DELETE');
