-- Search (PERFORMANCE.md trap 1): under a forced RLS policy the planner will not use a trigram
-- index for ILIKE or `%` (their operators are not LEAKPROOF), so fuzzy search over a large tenant
-- would scan it. Decision: one SECURITY DEFINER function per searchable object, owned by a role
-- that bypasses RLS, which filters the tenant explicitly from the same `app.org_id` setting the
-- RLS policy reads (set by withTenant), and returns a bounded candidate set of ids. The list query
-- then runs under RLS as usual with `id in (candidates)`. Isolation of the functions is proved by
-- tests (test/lists.test.ts). Without superuser rights (a managed server), the functions are
-- created as the migrating role: still correct and isolated, but RLS then applies inside them.
ALTER TABLE contacts ADD COLUMN search text GENERATED ALWAYS AS (
  lower(coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' || coalesce(email, ''))
  || ' ' || coalesce(regexp_replace(phone, '[^0-9]', '', 'g'), '')
) STORED;
--> statement-breakpoint
CREATE INDEX contacts_search_trgm_idx ON contacts USING gin (search gin_trgm_ops);
--> statement-breakpoint
ALTER TABLE companies ADD COLUMN search text GENERATED ALWAYS AS (
  lower(coalesce(name, '') || ' ' || coalesce(domain, '')) || ' ' || coalesce(regexp_replace(phone, '[^0-9]', '', 'g'), '')
) STORED;
--> statement-breakpoint
CREATE INDEX companies_search_trgm_idx ON companies USING gin (search gin_trgm_ops);
--> statement-breakpoint
-- The candidate ids of a free-text search in one table of the current tenant: substring match
-- (LIKE on the lower-cased search text), typo-tolerant word similarity for 4+ characters, and
-- phone digits whatever the formatting. Bounded by max_rows.
CREATE OR REPLACE FUNCTION cairn_search_ids(tbl text, q text, max_rows int) RETURNS SETOF uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  org uuid := nullif(current_setting('app.org_id', true), '')::uuid;
  term text := lower(btrim(q));
  digits text := regexp_replace(q, '[^0-9]', '', 'g');
  pattern text;
BEGIN
  IF org IS NULL OR term = '' OR tbl NOT IN ('contacts', 'companies') THEN RETURN; END IF;
  pattern := '%' || replace(replace(replace(term, '\', '\\'), '%', '\%'), '_', '\_') || '%';
  IF length(digits) >= 3 AND q ~ '^[0-9 ()+./-]+$' THEN
    pattern := '%' || digits || '%';
  END IF;
  RETURN QUERY EXECUTE format(
    'select t.id from %I t where t.org_id = $1 and t.archived_at is null
       and (t.search like $2 or (length($3) >= 4 and $3 <%% t.search)) limit $4', tbl)
    USING org, pattern, term, max_rows;
END $$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION cairn_search_ids(text, text, int) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION cairn_search_ids(text, text, int) TO cairn_app;
--> statement-breakpoint
DO $$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cairn_search') THEN
      CREATE ROLE cairn_search NOLOGIN BYPASSRLS;
    END IF;
    GRANT USAGE ON SCHEMA public TO cairn_search;
    GRANT SELECT ON contacts, companies TO cairn_search;
    ALTER FUNCTION cairn_search_ids(text, text, int) OWNER TO cairn_search;
  END IF;
END $$;
