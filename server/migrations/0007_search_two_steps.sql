-- Search, measured (bench/contacts.plans.txt): OR-ing the substring match with the fuzzy
-- word-similarity match made both slow (the fuzzy side matched 20,000 rows for an e-mail
-- fragment), and with a LIMIT the planner sometimes gambled on a sequential scan. Now: substring
-- matches first, through the trigram index; fuzzy matches (typos) only when the substring finds
-- fewer than 10 and the term is a word of 4+ letters; digit-only input searches phone digits only.
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
  found int := 0;
BEGIN
  IF org IS NULL OR term = '' OR tbl NOT IN ('contacts', 'companies') THEN RETURN; END IF;
  IF length(digits) >= 3 AND q ~ '^[0-9 ()+./-]+$' THEN
    pattern := '%' || digits || '%';
  ELSE
    pattern := '%' || replace(replace(replace(term, '\', '\\'), '%', '\%'), '_', '\_') || '%';
  END IF;
  RETURN QUERY EXECUTE format(
    'select t.id from %I t where t.search like $2 and t.org_id = $1 and t.archived_at is null limit $3', tbl)
    USING org, pattern, max_rows;
  GET DIAGNOSTICS found = ROW_COUNT;
  IF found < 10 AND length(term) >= 4 AND term !~ '^[0-9 ()+./-]+$' THEN
    RETURN QUERY EXECUTE format(
      'select t.id from %I t where $2 <%% t.search and not (t.search like $3) and t.org_id = $1
         and t.archived_at is null limit $4', tbl)
      USING org, term, pattern, max_rows - found;
  END IF;
END $$;
