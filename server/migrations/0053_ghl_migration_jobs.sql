CREATE TABLE "ghl_migration_records" (
	"org_id" uuid NOT NULL,
	"migration_id" uuid NOT NULL,
	"object" text NOT NULL,
	"source_id" text NOT NULL,
	"data" jsonb NOT NULL,
	CONSTRAINT "ghl_migration_records_org_id_migration_id_object_source_id_pk" PRIMARY KEY("org_id","migration_id","object","source_id")
);
--> statement-breakpoint
CREATE TABLE "ghl_migrations" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"location_id" text NOT NULL,
	"base_url" text NOT NULL,
	"token_sealed" text NOT NULL,
	"token_last4" text NOT NULL,
	"dry_run" boolean NOT NULL,
	"notes_and_tasks" boolean DEFAULT true NOT NULL,
	"status" text NOT NULL,
	"cursors" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"requests" integer DEFAULT 0 NOT NULL,
	"retried_429" integer DEFAULT 0 NOT NULL,
	"error_code" text,
	"error_message" text,
	"report" jsonb,
	"import_ids" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	CONSTRAINT "ghl_migrations_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
ALTER TABLE "ghl_migrations" ADD CONSTRAINT "ghl_migrations_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "ghl_migrations_created_idx" ON "ghl_migrations" USING btree ("org_id","created_at");--> statement-breakpoint
-- cairn: custom sql below
ALTER TABLE "ghl_migration_records" ADD CONSTRAINT "ghl_migration_records_migration_fk" FOREIGN KEY ("org_id","migration_id") REFERENCES "public"."ghl_migrations"("org_id","id") ON DELETE cascade;--> statement-breakpoint
SELECT cairn_secure_tenant_table('ghl_migrations', 'SELECT, INSERT, UPDATE, DELETE');--> statement-breakpoint
SELECT cairn_secure_tenant_table('ghl_migration_records', 'SELECT, INSERT, UPDATE, DELETE');

