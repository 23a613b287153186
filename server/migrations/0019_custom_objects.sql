CREATE TABLE "records" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"object_id" uuid NOT NULL,
	"owner_id" uuid,
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"custom" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"search" text DEFAULT '' NOT NULL,
	"created_by" uuid,
	"updated_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"archived_at" timestamp with time zone,
	CONSTRAINT "records_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "custom_objects" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"key" text NOT NULL,
	"label_singular" text NOT NULL,
	"label_plural" text NOT NULL,
	"icon" text,
	"description" text,
	"display_field" text NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"retired_at" timestamp with time zone,
	CONSTRAINT "custom_objects_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
ALTER TABLE "records" ADD CONSTRAINT "records_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "records" ADD CONSTRAINT "records_owner_id_users_id_fk" FOREIGN KEY ("owner_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "records" ADD CONSTRAINT "records_object_fk" FOREIGN KEY ("org_id","object_id") REFERENCES "public"."custom_objects"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "custom_objects" ADD CONSTRAINT "custom_objects_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "records_created_idx" ON "records" USING btree ("org_id","object_id","created_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "records_updated_idx" ON "records" USING btree ("org_id","object_id","updated_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "records_owner_idx" ON "records" USING btree ("org_id","object_id","owner_id","id");--> statement-breakpoint
CREATE INDEX "records_tags_idx" ON "records" USING gin ("tags");--> statement-breakpoint
CREATE INDEX "records_custom_idx" ON "records" USING gin ("custom" jsonb_path_ops);--> statement-breakpoint
CREATE UNIQUE INDEX "custom_objects_key" ON "custom_objects" USING btree ("org_id","key");--> statement-breakpoint
-- Row-level security, forced, for custom objects and their records (DESIGN invariant 3).
SELECT cairn_secure_tenant_table('custom_objects', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('records', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
-- Free text over custom objects' records, as over contacts (0005, 0007): a trigram index on the
-- `search` text the record engine writes, read by a SECURITY DEFINER function that filters the
-- tenant from `app.org_id` and the object explicitly, and returns a bounded candidate set.
CREATE INDEX records_search_trgm_idx ON records USING gin (search gin_trgm_ops);
--> statement-breakpoint
CREATE OR REPLACE FUNCTION cairn_search_record_ids(obj uuid, q text, max_rows int) RETURNS SETOF uuid
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
  IF org IS NULL OR obj IS NULL OR term = '' THEN RETURN; END IF;
  IF length(digits) >= 3 AND q ~ '^[0-9 ()+./-]+$' THEN
    pattern := '%' || digits || '%';
  ELSE
    pattern := '%' || replace(replace(replace(term, '\', '\\'), '%', '\%'), '_', '\_') || '%';
  END IF;
  RETURN QUERY
    SELECT t.id FROM records t
     WHERE t.search LIKE pattern AND t.org_id = org AND t.object_id = obj AND t.archived_at IS NULL
     LIMIT max_rows;
  GET DIAGNOSTICS found = ROW_COUNT;
  IF found < 10 AND length(term) >= 4 AND term !~ '^[0-9 ()+./-]+$' THEN
    RETURN QUERY
      SELECT t.id FROM records t
       WHERE term <% t.search AND NOT (t.search LIKE pattern) AND t.org_id = org AND t.object_id = obj
         AND t.archived_at IS NULL
       LIMIT max_rows - found;
  END IF;
END $$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION cairn_search_record_ids(uuid, text, int) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION cairn_search_record_ids(uuid, text, int) TO cairn_app;
--> statement-breakpoint
DO $$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
     AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cairn_search') THEN
    GRANT SELECT ON records TO cairn_search;
    ALTER FUNCTION cairn_search_record_ids(uuid, text, int) OWNER TO cairn_search;
  END IF;
END $$;
