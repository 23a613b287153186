CREATE TABLE "guard_counters" (
	"org_id" uuid NOT NULL,
	"subject" text NOT NULL,
	"metric" text NOT NULL,
	"bucket" bigint NOT NULL,
	"bucket_seconds" integer NOT NULL,
	"count" bigint NOT NULL,
	CONSTRAINT "guard_counters_org_id_subject_metric_bucket_seconds_bucket_pk" PRIMARY KEY("org_id","subject","metric","bucket_seconds","bucket")
);
--> statement-breakpoint
CREATE TABLE "guard_incidents" (
	"org_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"subject" text NOT NULL,
	"subject_type" text NOT NULL,
	"user_id" uuid NOT NULL,
	"api_key_id" uuid,
	"subject_label" text NOT NULL,
	"role" text NOT NULL,
	"metric" text NOT NULL,
	"count" bigint NOT NULL,
	"warn" integer NOT NULL,
	"block" integer NOT NULL,
	"window_seconds" integer NOT NULL,
	"counts" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"trace_ids" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"sessions_revoked" integer DEFAULT 0 NOT NULL,
	"api_keys_revoked" integer DEFAULT 0 NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"opened_at" timestamp with time zone DEFAULT now() NOT NULL,
	"resolved_at" timestamp with time zone,
	"resolved_by" uuid,
	"resolution" text,
	"note" text,
	CONSTRAINT "guard_incidents_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "guard_locks" (
	"org_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"incident_id" uuid NOT NULL,
	"locked_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "guard_locks_org_id_user_id_pk" PRIMARY KEY("org_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "guard_settings" (
	"org_id" uuid NOT NULL,
	"role" text NOT NULL,
	"metric" text NOT NULL,
	"warn" integer NOT NULL,
	"block" integer NOT NULL,
	"window_seconds" integer NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "guard_settings_org_id_role_metric_pk" PRIMARY KEY("org_id","role","metric")
);
--> statement-breakpoint
ALTER TABLE "guard_counters" ADD CONSTRAINT "guard_counters_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "guard_incidents" ADD CONSTRAINT "guard_incidents_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "guard_locks" ADD CONSTRAINT "guard_locks_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "guard_settings" ADD CONSTRAINT "guard_settings_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "guard_incidents_status_idx" ON "guard_incidents" USING btree ("org_id","status","id");--> statement-breakpoint
CREATE UNIQUE INDEX "guard_incidents_open_key" ON "guard_incidents" USING btree ("org_id","subject") WHERE status = 'open';--> statement-breakpoint
-- cairn: custom sql below
-- The guard (issue 22). Its budgets, counters and incidents are tenant tables (forced RLS). The
-- counters are rewritten and pruned by the app; incidents are opened and resolved, never deleted.
SELECT cairn_secure_tenant_table('guard_settings', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('guard_counters', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('guard_incidents', 'SELECT, INSERT, UPDATE');
--> statement-breakpoint
-- Locks are read by the session check as the connecting role, with the session, user and
-- membership (like `members`): RLS enabled but not forced; cairn_app sees its organization's rows.
ALTER TABLE guard_locks ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON guard_locks
  USING (org_id = nullif(current_setting('app.org_id', true), '')::uuid)
  WITH CHECK (org_id = nullif(current_setting('app.org_id', true), '')::uuid);
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON guard_locks TO cairn_app;
