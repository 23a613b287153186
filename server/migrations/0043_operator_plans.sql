CREATE TABLE "install_operators" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"granted_at" timestamp with time zone DEFAULT now() NOT NULL,
	"granted_by" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "organization_api_usage" (
	"organization_id" uuid NOT NULL,
	"day" date NOT NULL,
	"calls" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "organization_api_usage_organization_id_day_pk" PRIMARY KEY("organization_id","day")
);
--> statement-breakpoint
CREATE TABLE "organization_plans" (
	"organization_id" uuid PRIMARY KEY NOT NULL,
	"plan_key" text,
	"overrides" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"suspended_at" timestamp with time zone,
	"suspended_reason" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "plans" (
	"key" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"limits" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "install_operators" ADD CONSTRAINT "install_operators_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "organization_api_usage" ADD CONSTRAINT "organization_api_usage_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "organization_plans" ADD CONSTRAINT "organization_plans_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "organization_plans" ADD CONSTRAINT "organization_plans_plan_key_plans_key_fk" FOREIGN KEY ("plan_key") REFERENCES "public"."plans"("key") ON DELETE set null ON UPDATE no action;
--> statement-breakpoint
-- cairn: custom sql below
-- The operator of an install, plans and limits, suspension (issue 30). These are install-level
-- tables, not tenant tables: no org_id, no row-level security. Every privilege is revoked from the
-- tenant role, so no tenant transaction can read or change an operator, a plan, a limit, a
-- suspension or the API-call counts; only the connecting role reaches them, through
-- server/src/platform/plans/*.
REVOKE ALL ON install_operators FROM cairn_app;
--> statement-breakpoint
REVOKE ALL ON plans FROM cairn_app;
--> statement-breakpoint
REVOKE ALL ON organization_plans FROM cairn_app;
--> statement-breakpoint
REVOKE ALL ON organization_api_usage FROM cairn_app;
--> statement-breakpoint
ALTER TABLE plans ADD CONSTRAINT plans_key_format CHECK (key ~ '^[a-z0-9][a-z0-9_-]{0,39}$');
