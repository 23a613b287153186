CREATE TABLE "record_links" (
	"org_id" uuid NOT NULL,
	"field_id" uuid NOT NULL,
	"from_id" uuid NOT NULL,
	"to_id" uuid NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "record_links_org_id_field_id_from_id_to_id_pk" PRIMARY KEY("org_id","field_id","from_id","to_id")
);
--> statement-breakpoint
ALTER TABLE "custom_fields" ADD COLUMN "relation_many" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "custom_objects" ADD COLUMN "restricted_roles" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "record_links" ADD CONSTRAINT "record_links_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "record_links" ADD CONSTRAINT "record_links_field_fk" FOREIGN KEY ("org_id","field_id") REFERENCES "public"."custom_fields"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "record_links" ADD CONSTRAINT "record_links_from_fk" FOREIGN KEY ("org_id","from_id") REFERENCES "public"."records"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "record_links_to_idx" ON "record_links" USING btree ("org_id","field_id","to_id","from_id");--> statement-breakpoint
CREATE INDEX "record_links_to_any_idx" ON "record_links" USING btree ("org_id","to_id");
--> statement-breakpoint
-- cairn: custom sql below
SELECT cairn_secure_tenant_table('record_links', 'SELECT, INSERT, DELETE');
