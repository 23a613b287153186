CREATE TABLE "dashboards" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"sharing" text DEFAULT 'private' NOT NULL,
	"widgets" jsonb NOT NULL,
	"filters" jsonb NOT NULL,
	"owner_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "dashboards_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "saved_reports" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"object" text NOT NULL,
	"spec" jsonb NOT NULL,
	"view" text DEFAULT 'bar' NOT NULL,
	"sharing" text DEFAULT 'private' NOT NULL,
	"role_key" text,
	"owner_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "saved_reports_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
ALTER TABLE "dashboards" ADD CONSTRAINT "dashboards_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "saved_reports" ADD CONSTRAINT "saved_reports_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "dashboards_name_idx" ON "dashboards" USING btree ("org_id","name");--> statement-breakpoint
CREATE INDEX "saved_reports_name_idx" ON "saved_reports" USING btree ("org_id","name");--> statement-breakpoint
-- cairn: custom sql below
-- Reports and dashboards (issue 30): saved report definitions and dashboards, per tenant.
SELECT cairn_secure_tenant_table('saved_reports', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('dashboards', 'SELECT, INSERT, UPDATE, DELETE');
