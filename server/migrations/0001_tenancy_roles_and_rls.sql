-- Tenancy: the unprivileged role every tenant query runs as, and row-level security (DESIGN
-- invariants 2 and 3). drizzle-kit cannot emit FORCE ROW LEVEL SECURITY, roles or grants.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
--> statement-breakpoint
CREATE EXTENSION IF NOT EXISTS citext;
--> statement-breakpoint
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cairn_app') THEN
    CREATE ROLE cairn_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
  -- The connecting role switches to cairn_app inside each tenant transaction (SET LOCAL ROLE).
  IF NOT pg_has_role(current_user, 'cairn_app', 'MEMBER') THEN
    EXECUTE format('GRANT cairn_app TO %I', current_user);
  END IF;
END $$;
--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO cairn_app;
--> statement-breakpoint
-- Secures one tenant table: RLS enabled and forced (also for the table's owner), one policy that
-- admits only rows of the transaction's tenant (`app.org_id`, set by withTenant), and the given
-- privileges for cairn_app. Every tenant table's migration calls it.
CREATE OR REPLACE FUNCTION cairn_secure_tenant_table(tbl regclass, privileges text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
  EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %s', tbl);
  EXECUTE format(
    'CREATE POLICY tenant_isolation ON %s USING (org_id = nullif(current_setting(''app.org_id'', true), '''')::uuid) '
    'WITH CHECK (org_id = nullif(current_setting(''app.org_id'', true), '''')::uuid)', tbl);
  EXECUTE format('REVOKE ALL ON %s FROM cairn_app', tbl);
  EXECUTE format('GRANT %s ON %s TO cairn_app', privileges, tbl);
END $$;
--> statement-breakpoint
-- The events table is append-only for the app (invariant 6): no UPDATE, no DELETE.
SELECT cairn_secure_tenant_table('events', 'SELECT, INSERT');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('event_deliveries', 'SELECT, INSERT');
--> statement-breakpoint
-- Memberships and invitations are read and written by better-auth as the connecting role, and by
-- Cairn's member routes inside tenant transactions as cairn_app. RLS is enabled but not forced:
-- the owner (better-auth) passes, cairn_app sees only its own organization's rows.
ALTER TABLE members ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON members
  USING (organization_id = nullif(current_setting('app.org_id', true), '')::uuid)
  WITH CHECK (organization_id = nullif(current_setting('app.org_id', true), '')::uuid);
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON members TO cairn_app;
--> statement-breakpoint
ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON invitations
  USING (organization_id = nullif(current_setting('app.org_id', true), '')::uuid)
  WITH CHECK (organization_id = nullif(current_setting('app.org_id', true), '')::uuid);
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON invitations TO cairn_app;
