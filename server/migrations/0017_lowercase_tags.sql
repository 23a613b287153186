-- Issue 18: record tags are stored lower-case (normalized at write), so a tag filter compiles to
-- the plain `tags && $1` / `tags @> $1` on the GIN index instead of lower(tags::text)::text[],
-- which the planner misestimated tenfold. Existing rows: each tag lower-cased, duplicates that
-- differ only in case dropped, order kept (first spelling's place). Only rows that change are
-- written. Run by a role that bypasses row-level security, as migrations are.
UPDATE contacts SET tags = array(
    SELECT t FROM (SELECT lower(x) AS t, min(n) AS n FROM unnest(tags) WITH ORDINALITY u(x, n) GROUP BY 1) s ORDER BY n)
  WHERE tags::text <> lower(tags::text);
--> statement-breakpoint
UPDATE companies SET tags = array(
    SELECT t FROM (SELECT lower(x) AS t, min(n) AS n FROM unnest(tags) WITH ORDINALITY u(x, n) GROUP BY 1) s ORDER BY n)
  WHERE tags::text <> lower(tags::text);
--> statement-breakpoint
UPDATE opportunities SET tags = array(
    SELECT t FROM (SELECT lower(x) AS t, min(n) AS n FROM unnest(tags) WITH ORDINALITY u(x, n) GROUP BY 1) s ORDER BY n)
  WHERE tags::text <> lower(tags::text);
--> statement-breakpoint
-- The tag list: names are unique case-insensitively already (tags_name_key on lower(name)).
UPDATE tags SET name = lower(name) WHERE name <> lower(name);
