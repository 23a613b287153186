-- cairn: custom sql below
-- Plans and limits (issue 30) are checked inside the tenant transaction that writes (a contact
-- created, a member invited, a file stored, an e-mail queued). The install tables are closed to the
-- tenant role, and reading them on a second connection from inside that transaction deadlocks the
-- embedded database (one connection) whenever the per-process cache has expired. This function is
-- the one door: it answers the transaction's own organization's plan limits, overrides and
-- suspension (`app.org_id`, set by withTenant), nothing of any other organization. It runs as its
-- owner (SECURITY DEFINER) with a fixed search_path.
CREATE OR REPLACE FUNCTION cairn_plan_state()
RETURNS TABLE (limits jsonb, overrides jsonb, suspended_at timestamptz, suspended_reason text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  tenant uuid := nullif(current_setting('app.org_id', true), '')::uuid;
BEGIN
  IF tenant IS NULL THEN
    RAISE EXCEPTION 'cairn_plan_state needs a tenant (app.org_id)' USING ERRCODE = '42501';
  END IF;
  RETURN QUERY
    SELECT p.limits::jsonb, op.overrides::jsonb, op.suspended_at, op.suspended_reason::text
      FROM organization_plans op LEFT JOIN plans p ON p.key = op.plan_key
     WHERE op.organization_id = tenant;
END $$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION cairn_plan_state() FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION cairn_plan_state() TO cairn_app;
