-- cairn: custom sql below
-- Product search (issue 29: a catalog of 100,000 products searched p95 < 50 ms). Products were
-- searched with ILIKE over their SKU and name under RLS, which (PERFORMANCE.md trap 1) cannot use a
-- trigram index: a scan of the tenant's whole catalog per keystroke of the quote editor's picker.
-- They now take the path of contacts and companies (migration 0005): a lower-cased `search` column
-- of the registry's searchable fields (SKU, name), a trigram index, and cairn_search_ids (0021's
-- body, unchanged but for the table list) returning a bounded candidate set.
ALTER TABLE products ADD COLUMN search text GENERATED ALWAYS AS (
  lower(coalesce(sku, '') || ' ' || coalesce(name, ''))
) STORED;
--> statement-breakpoint
CREATE INDEX products_search_trgm_idx ON products USING gin (search gin_trgm_ops);
--> statement-breakpoint
CREATE OR REPLACE FUNCTION cairn_search_ids(tbl text, q text, max_rows int) RETURNS SETOF uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
SET enable_seqscan = off
AS $$
DECLARE
  org uuid := nullif(current_setting('app.org_id', true), '')::uuid;
  term text := lower(btrim(q));
  digits text := regexp_replace(q, '[^0-9]', '', 'g');
  pattern text;
  exact text := '';
  found int := 0;
  step int := 0;
BEGIN
  IF org IS NULL OR term = '' OR tbl NOT IN ('contacts', 'companies', 'products') THEN RETURN; END IF;
  IF length(digits) >= 3 AND q ~ '^[0-9 ()+./-]+$' THEN
    pattern := '%' || digits || '%';
  ELSE
    pattern := '%' || replace(replace(replace(term, '\', '\\'), '%', '\%'), '_', '\_') || '%';
  END IF;
  IF tbl = 'contacts' AND position('@' in term) > 0 THEN
    exact := term;
    RETURN QUERY
      SELECT t.id FROM contacts t
       WHERE t.org_id = org AND t.email = exact AND t.archived_at IS NULL
       LIMIT max_rows;
    GET DIAGNOSTICS found = ROW_COUNT;
  END IF;
  RETURN QUERY EXECUTE format(
    'select t.id from %I t where t.search like $2 and t.org_id = $1 and t.archived_at is null
       and ($4 = %L or t.%I is distinct from $4) limit $3',
    tbl, '', CASE WHEN tbl = 'contacts' THEN 'email' ELSE 'name' END)
    USING org, pattern, max_rows - found, exact;
  GET DIAGNOSTICS step = ROW_COUNT;
  found := found + step;
  IF found < 10 AND length(term) >= 4 AND term !~ '^[0-9 ()+./-]+$' THEN
    RETURN QUERY EXECUTE format(
      'select t.id from %I t where $2 <%% t.search and not (t.search like $3) and t.org_id = $1
         and t.archived_at is null and ($5 = %L or t.%I is distinct from $5) limit $4',
      tbl, '', CASE WHEN tbl = 'contacts' THEN 'email' ELSE 'name' END)
      USING org, term, pattern, max_rows - found, exact;
  END IF;
END $$;
--> statement-breakpoint
DO $$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
     AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cairn_search') THEN
    GRANT SELECT ON products TO cairn_search;
  END IF;
END $$;
