CREATE TABLE "record_select_values" (
	"org_id" uuid NOT NULL,
	"record_id" uuid NOT NULL,
	"object_id" uuid NOT NULL,
	"field_key" text NOT NULL,
	"value" text NOT NULL,
	CONSTRAINT "record_select_values_org_id_record_id_field_key_value_pk" PRIMARY KEY("org_id","record_id","field_key","value")
);
--> statement-breakpoint
ALTER TABLE "record_select_values" ADD CONSTRAINT "record_select_values_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "record_select_values" ADD CONSTRAINT "record_select_values_record_fk" FOREIGN KEY ("org_id","record_id") REFERENCES "public"."records"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "record_select_values_value_idx" ON "record_select_values" USING btree ("org_id","object_id","field_key","value","record_id");--> statement-breakpoint
-- cairn: custom sql below

-- The values of custom objects' select, multi-select and status fields (issue 21), kept by
-- statement triggers on records from each record's `custom` (record-select-value.schema.ts says
-- why a table: under the forced RLS policy only LEAKPROOF operators reach an index, and no jsonb
-- operator is). A tenant table: RLS forced, the app's grants.
SELECT cairn_secure_tenant_table('record_select_values', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
-- The select values of records: one row per string value, one per element of a list, for the
-- fields of those types of the record's object (the insert trigger's new rows; the update
-- trigger's rows whose `custom` changed, their old values deleted first).
CREATE OR REPLACE FUNCTION cairn_record_select_values_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO record_select_values (org_id, record_id, object_id, field_key, value)
  SELECT n.org_id, n.id, n.object_id, f.key, v.value
    FROM changed n
    JOIN custom_objects ob ON ob.org_id = n.org_id AND ob.id = n.object_id
    JOIN custom_fields f ON f.org_id = n.org_id AND f.object = ob.key
                        AND f.type IN ('select', 'multi_select', 'status')
    CROSS JOIN LATERAL (
      SELECT n.custom ->> f.key AS value WHERE jsonb_typeof(n.custom -> f.key) = 'string'
      UNION
      SELECT e FROM jsonb_array_elements_text(
        CASE WHEN jsonb_typeof(n.custom -> f.key) = 'array' THEN n.custom -> f.key END) e
    ) v
   WHERE n.custom ? f.key
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION cairn_record_select_values_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM record_select_values sv
   USING changed n JOIN previous o ON o.org_id = n.org_id AND o.id = n.id
   WHERE sv.org_id = n.org_id AND sv.record_id = n.id AND o.custom IS DISTINCT FROM n.custom;
  INSERT INTO record_select_values (org_id, record_id, object_id, field_key, value)
  SELECT n.org_id, n.id, n.object_id, f.key, v.value
    FROM changed n
    JOIN previous o ON o.org_id = n.org_id AND o.id = n.id AND o.custom IS DISTINCT FROM n.custom
    JOIN custom_objects ob ON ob.org_id = n.org_id AND ob.id = n.object_id
    JOIN custom_fields f ON f.org_id = n.org_id AND f.object = ob.key
                        AND f.type IN ('select', 'multi_select', 'status')
    CROSS JOIN LATERAL (
      SELECT n.custom ->> f.key AS value WHERE jsonb_typeof(n.custom -> f.key) = 'string'
      UNION
      SELECT e FROM jsonb_array_elements_text(
        CASE WHEN jsonb_typeof(n.custom -> f.key) = 'array' THEN n.custom -> f.key END) e
    ) v
   WHERE n.custom ? f.key
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER records_select_values_inserted AFTER INSERT ON records
  REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION cairn_record_select_values_inserted();
--> statement-breakpoint
CREATE TRIGGER records_select_values_updated AFTER UPDATE ON records
  REFERENCING OLD TABLE AS previous NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION cairn_record_select_values_updated();
--> statement-breakpoint
-- The records written before this migration.
INSERT INTO record_select_values (org_id, record_id, object_id, field_key, value)
SELECT n.org_id, n.id, n.object_id, f.key, v.value
  FROM records n
  JOIN custom_objects ob ON ob.org_id = n.org_id AND ob.id = n.object_id
  JOIN custom_fields f ON f.org_id = n.org_id AND f.object = ob.key
                      AND f.type IN ('select', 'multi_select', 'status')
  CROSS JOIN LATERAL (
    SELECT n.custom ->> f.key AS value WHERE jsonb_typeof(n.custom -> f.key) = 'string'
    UNION
    SELECT e FROM jsonb_array_elements_text(
      CASE WHEN jsonb_typeof(n.custom -> f.key) = 'array' THEN n.custom -> f.key END) e
  ) v
 WHERE n.custom ? f.key
ON CONFLICT DO NOTHING;
