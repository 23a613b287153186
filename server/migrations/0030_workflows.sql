CREATE TABLE "workflow_cursors" (
	"org_id" uuid NOT NULL,
	"workflow_id" uuid NOT NULL,
	"step_id" text NOT NULL,
	"position" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "workflow_cursors_org_id_workflow_id_step_id_pk" PRIMARY KEY("org_id","workflow_id","step_id")
);
--> statement-breakpoint
CREATE TABLE "workflow_runs" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"workflow_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"object" text NOT NULL,
	"record_id" uuid NOT NULL,
	"status" text DEFAULT 'running' NOT NULL,
	"trigger" jsonb NOT NULL,
	"depth" integer DEFAULT 0 NOT NULL,
	"error" text,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "workflow_runs_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "workflow_steps" (
	"org_id" uuid NOT NULL,
	"run_id" uuid NOT NULL,
	"step_id" text NOT NULL,
	"type" text NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"input" jsonb,
	"output" jsonb,
	"error" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"wait_until" timestamp with time zone,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	CONSTRAINT "workflow_steps_org_id_run_id_step_id_pk" PRIMARY KEY("org_id","run_id","step_id")
);
--> statement-breakpoint
CREATE TABLE "workflow_versions" (
	"org_id" uuid NOT NULL,
	"workflow_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"definition" jsonb NOT NULL,
	"activated_at" timestamp with time zone,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "workflow_versions_org_id_workflow_id_version_pk" PRIMARY KEY("org_id","workflow_id","version")
);
--> statement-breakpoint
CREATE TABLE "workflows" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"object" text NOT NULL,
	"status" text DEFAULT 'draft' NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"lock_version" integer DEFAULT 1 NOT NULL,
	"trigger_type" text NOT NULL,
	"next_fire_at" timestamp with time zone,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "workflows_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
ALTER TABLE "workflow_cursors" ADD CONSTRAINT "workflow_cursors_org_id_workflow_id_workflows_org_id_id_fk" FOREIGN KEY ("org_id","workflow_id") REFERENCES "public"."workflows"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "workflow_runs" ADD CONSTRAINT "workflow_runs_org_id_workflow_id_workflows_org_id_id_fk" FOREIGN KEY ("org_id","workflow_id") REFERENCES "public"."workflows"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "workflow_steps" ADD CONSTRAINT "workflow_steps_org_id_run_id_workflow_runs_org_id_id_fk" FOREIGN KEY ("org_id","run_id") REFERENCES "public"."workflow_runs"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "workflow_versions" ADD CONSTRAINT "workflow_versions_org_id_workflow_id_workflows_org_id_id_fk" FOREIGN KEY ("org_id","workflow_id") REFERENCES "public"."workflows"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "workflows" ADD CONSTRAINT "workflows_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "workflow_runs_workflow_idx" ON "workflow_runs" USING btree ("org_id","workflow_id","id");--> statement-breakpoint
CREATE INDEX "workflow_runs_record_idx" ON "workflow_runs" USING btree ("org_id","record_id","workflow_id");--> statement-breakpoint
CREATE INDEX "workflow_runs_status_idx" ON "workflow_runs" USING btree ("org_id","status","id");--> statement-breakpoint
CREATE INDEX "workflows_trigger_idx" ON "workflows" USING btree ("org_id","status","trigger_type");--> statement-breakpoint
-- cairn: custom sql below
-- Workflows (issue 24): definitions and their versions, runs and their steps, round-robin cursors.
-- Versions are never deleted by the app (runs keep theirs); runs and steps are kept as the record
-- of what a workflow did (no DELETE for the app).
SELECT cairn_secure_tenant_table('workflows', 'SELECT, INSERT, UPDATE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('workflow_versions', 'SELECT, INSERT, UPDATE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('workflow_runs', 'SELECT, INSERT, UPDATE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('workflow_steps', 'SELECT, INSERT, UPDATE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('workflow_cursors', 'SELECT, INSERT, UPDATE');
