CREATE TABLE "ai_settings" (
	"org_id" uuid PRIMARY KEY NOT NULL,
	"enabled" boolean DEFAULT false NOT NULL,
	"provider" text DEFAULT 'openai' NOT NULL,
	"base_url" text NOT NULL,
	"model" text NOT NULL,
	"key_sealed" text,
	"key_last4" text,
	"features" text[] NOT NULL,
	"org_monthly_tokens" integer,
	"member_monthly_tokens" integer,
	"calls_per_minute" integer DEFAULT 10 NOT NULL,
	"redact_emails" boolean DEFAULT true NOT NULL,
	"redact_phones" boolean DEFAULT true NOT NULL,
	"store_prompts" boolean DEFAULT false NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ai_usage" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"user_id" text,
	"feature" text NOT NULL,
	"tokens_in" integer DEFAULT 0 NOT NULL,
	"tokens_out" integer DEFAULT 0 NOT NULL,
	"outcome" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ai_usage_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
ALTER TABLE "ai_settings" ADD CONSTRAINT "ai_settings_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ai_usage" ADD CONSTRAINT "ai_usage_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "ai_usage_at_idx" ON "ai_usage" USING btree ("org_id","at");--> statement-breakpoint
-- cairn: custom sql below
-- The AI assistant (issue 32): each organization's settings (the provider key sealed) and its
-- usage, which the monthly budgets and the per-minute rate limit count.
SELECT cairn_secure_tenant_table('ai_settings', 'SELECT, INSERT, UPDATE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('ai_usage', 'SELECT, INSERT');
