CREATE TABLE "api_usage_hours" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"principal_type" text NOT NULL,
	"principal_id" text NOT NULL,
	"requests" integer DEFAULT 0 NOT NULL,
	"errors" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "api_usage_hours_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "integration_health" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"kind" text NOT NULL,
	"ref" text DEFAULT '' NOT NULL,
	"name" text NOT NULL,
	"last_success_at" timestamp with time zone,
	"last_error_at" timestamp with time zone,
	"last_error" text,
	"consecutive_failures" integer DEFAULT 0 NOT NULL,
	"config_state" text DEFAULT 'ok' NOT NULL,
	"config_detail" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "integration_health_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "integration_health_hours" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"integration_id" uuid NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"successes" integer DEFAULT 0 NOT NULL,
	"errors" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "integration_health_hours_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "ops_alerts" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"fingerprint" text NOT NULL,
	"integration_id" uuid,
	"title" text NOT NULL,
	"detail" text,
	"status" text DEFAULT 'open' NOT NULL,
	"count" integer DEFAULT 1 NOT NULL,
	"first_seen_at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
	"acknowledged_by" text,
	"acknowledged_at" timestamp with time zone,
	"snoozed_until" timestamp with time zone,
	"resolved_at" timestamp with time zone,
	"resolved_by" text,
	CONSTRAINT "ops_alerts_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
ALTER TABLE "api_usage_hours" ADD CONSTRAINT "api_usage_hours_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "integration_health" ADD CONSTRAINT "integration_health_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ops_alerts" ADD CONSTRAINT "ops_alerts_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "api_usage_hours_key" ON "api_usage_hours" USING btree ("org_id","hour","principal_type","principal_id");--> statement-breakpoint
CREATE UNIQUE INDEX "integration_health_key" ON "integration_health" USING btree ("org_id","kind","ref");--> statement-breakpoint
CREATE UNIQUE INDEX "integration_health_hours_key" ON "integration_health_hours" USING btree ("org_id","integration_id","hour");--> statement-breakpoint
CREATE UNIQUE INDEX "ops_alerts_open_fingerprint" ON "ops_alerts" USING btree ("org_id","fingerprint") WHERE status <> 'resolved';--> statement-breakpoint
CREATE INDEX "ops_alerts_list_idx" ON "ops_alerts" USING btree ("org_id","last_seen_at" DESC NULLS LAST);
--> statement-breakpoint
-- cairn: custom sql below
SELECT cairn_secure_tenant_table('integration_health', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('integration_health_hours', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('ops_alerts', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('api_usage_hours', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
ALTER TABLE integration_health_hours ADD CONSTRAINT integration_health_hours_integration_fk
  FOREIGN KEY (org_id, integration_id) REFERENCES integration_health (org_id, id) ON DELETE CASCADE;
--> statement-breakpoint
ALTER TABLE ops_alerts ADD CONSTRAINT ops_alerts_integration_fk FOREIGN KEY (org_id, integration_id)
  REFERENCES integration_health (org_id, id) ON DELETE SET NULL (integration_id);
--> statement-breakpoint
ALTER TABLE ops_alerts ADD CONSTRAINT ops_alerts_status_check
  CHECK (status IN ('open', 'acknowledged', 'snoozed', 'resolved'));
--> statement-breakpoint
ALTER TABLE ops_alerts ADD CONSTRAINT ops_alerts_count_check CHECK (count >= 1);
--> statement-breakpoint
ALTER TABLE integration_health ADD CONSTRAINT integration_health_state_check
  CHECK (config_state IN ('ok', 'missing_credentials', 'expiring_token', 'expired_token', 'disabled'));
--> statement-breakpoint
ALTER TABLE api_usage_hours ADD CONSTRAINT api_usage_hours_principal_check
  CHECK (principal_type IN ('api_key', 'user'));
