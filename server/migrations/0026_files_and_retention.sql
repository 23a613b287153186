CREATE TABLE "files" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"record_object" text NOT NULL,
	"record_id" uuid NOT NULL,
	"name" text NOT NULL,
	"size_bytes" bigint NOT NULL,
	"sha256" text NOT NULL,
	"declared_type" text,
	"detected_type" text,
	"content_type" text,
	"status" text NOT NULL,
	"rejection_code" text,
	"rejection_reason" text,
	"scan" text,
	"storage" text,
	"storage_key" text,
	"uploaded_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "files_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "retention_rules" (
	"org_id" uuid NOT NULL,
	"object" text NOT NULL,
	"action" text NOT NULL,
	"after_months" integer NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_run_at" timestamp with time zone,
	CONSTRAINT "retention_rules_org_id_object_pk" PRIMARY KEY("org_id","object")
);
--> statement-breakpoint
ALTER TABLE "files" ADD CONSTRAINT "files_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "retention_rules" ADD CONSTRAINT "retention_rules_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "files_record_idx" ON "files" USING btree ("org_id","record_object","record_id","created_at" DESC NULLS LAST);--> statement-breakpoint
-- cairn: custom sql below
-- Attachments and retention rules are tenant tables like every other (issue 26).
SELECT cairn_secure_tenant_table('files', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('retention_rules', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
-- The GDPR erasure (issue 26) scrubs personal data from the history. The events table stays
-- append-only for the app role (no UPDATE grant); this function is the one door through which an
-- event's `data` is rewritten, and only for the transaction's own tenant (`app.org_id`, set by
-- withTenant). It runs as its owner (SECURITY DEFINER) with a fixed search_path.
CREATE OR REPLACE FUNCTION cairn_rewrite_event_data(p_rows jsonb) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  tenant uuid := nullif(current_setting('app.org_id', true), '')::uuid;
  changed integer;
BEGIN
  IF tenant IS NULL THEN
    RAISE EXCEPTION 'cairn_rewrite_event_data needs a tenant (app.org_id)' USING ERRCODE = '42501';
  END IF;
  UPDATE events e SET data = x.data
    FROM jsonb_to_recordset(p_rows) AS x(id uuid, data jsonb)
   WHERE e.org_id = tenant AND e.id = x.id;
  GET DIAGNOSTICS changed = ROW_COUNT;
  RETURN changed;
END $$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION cairn_rewrite_event_data(jsonb) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION cairn_rewrite_event_data(jsonb) TO cairn_app;
