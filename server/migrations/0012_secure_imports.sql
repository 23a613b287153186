-- Row-level security, forced, for the import tables (DESIGN invariant 3).
SELECT cairn_secure_tenant_table('imports', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('import_rows', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('import_mappings', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('external_ids', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
-- Deleting a parent company clears its subsidiaries' parent_id only (PostgreSQL 15+ column list;
-- drizzle-kit cannot express it, so the generated constraint is replaced here).
ALTER TABLE "companies" DROP CONSTRAINT "companies_parent_fk";
--> statement-breakpoint
ALTER TABLE "companies" ADD CONSTRAINT "companies_parent_fk" FOREIGN KEY ("org_id","parent_id") REFERENCES "public"."companies"("org_id","id") ON DELETE SET NULL ("parent_id");
--> statement-breakpoint
-- Import dedup looks contacts up by primary phone (E.164) and companies by lower-cased name.
CREATE INDEX IF NOT EXISTS "contacts_phone_key_idx" ON "contacts" USING btree ("org_id","phone");
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "companies_lower_name_idx" ON "companies" USING btree ("org_id",lower("name"));
