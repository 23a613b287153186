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
ALTER TABLE "opportunities" ADD COLUMN "forecast_category" text;--> statement-breakpoint
ALTER TABLE "report_schedules" ADD CONSTRAINT "report_schedules_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "report_schedules" ADD CONSTRAINT "report_schedules_report_fk" FOREIGN KEY ("org_id","report_id") REFERENCES "public"."saved_reports"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "report_schedules" ADD CONSTRAINT "report_schedules_dashboard_fk" FOREIGN KEY ("org_id","dashboard_id") REFERENCES "public"."dashboards"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "report_schedules_recipient_idx" ON "report_schedules" USING btree ("org_id","recipient_id");
--> statement-breakpoint
-- cairn: custom sql below
-- Scheduled delivery of reports and dashboards (issue 30), per tenant.
SELECT cairn_secure_tenant_table('report_schedules', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
-- Forecast categories (issue 30, Salesforce's standard set): a deal's follows its stage and is
-- reset to it on every stage or status change, on every write path (the API, moves, imports,
-- workflows); in between, an open deal's may be set by hand. Won: closed; lost or abandoned:
-- omitted; open: commit from 75 % probability, best case from 50 %, else pipeline.
CREATE OR REPLACE FUNCTION cairn_stage_forecast_category(stage_kind text, probability integer, status text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN status = 'won' OR stage_kind = 'won' THEN 'closed'
    WHEN status IN ('lost', 'abandoned') OR stage_kind = 'lost' THEN 'omitted'
    WHEN probability >= 75 THEN 'commit'
    WHEN probability >= 50 THEN 'best_case'
    ELSE 'pipeline'
  END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION cairn_opportunity_forecast_category() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status IN ('won', 'lost', 'abandoned') THEN
    NEW.forecast_category := CASE WHEN NEW.status = 'won' THEN 'closed' ELSE 'omitted' END;
    RETURN NEW;
  END IF;
  IF TG_OP = 'INSERT' AND NEW.forecast_category IS NOT NULL THEN RETURN NEW; END IF;
  IF TG_OP = 'UPDATE' AND NEW.stage_id IS NOT DISTINCT FROM OLD.stage_id
     AND NEW.status IS NOT DISTINCT FROM OLD.status
     AND NEW.forecast_category IS NOT NULL THEN
    RETURN NEW;
  END IF;
  SELECT cairn_stage_forecast_category(s.kind, s.probability, NEW.status) INTO NEW.forecast_category
    FROM pipeline_stages s WHERE s.org_id = NEW.org_id AND s.id = NEW.stage_id;
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER opportunities_forecast_category BEFORE INSERT OR UPDATE ON opportunities
  FOR EACH ROW EXECUTE FUNCTION cairn_opportunity_forecast_category();
--> statement-breakpoint
UPDATE opportunities o SET forecast_category = cairn_stage_forecast_category(s.kind, s.probability, o.status)
  FROM pipeline_stages s WHERE s.org_id = o.org_id AND s.id = o.stage_id;
