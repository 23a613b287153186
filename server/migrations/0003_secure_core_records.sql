-- Row-level security, forced, for the core record tables (DESIGN invariant 3). Hard delete is an
-- admin-only action checked by the application; the role needs DELETE for it.
SELECT cairn_secure_tenant_table('contacts', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('contact_emails', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('contact_companies', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('companies', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('tags', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('custom_fields', 'SELECT, INSERT, UPDATE, DELETE');
