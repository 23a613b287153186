CREATE TABLE "meta_capi_events" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"lead_id" uuid NOT NULL,
	"event_name" text NOT NULL,
	"event_id" text NOT NULL,
	"payload" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_status_code" integer,
	"last_error" text,
	"response_excerpt" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "meta_capi_events_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "meta_deliveries" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"raw_body" text NOT NULL,
	"signature" text NOT NULL,
	"leads_queued" integer DEFAULT 0 NOT NULL,
	"leads_seen" integer DEFAULT 0 NOT NULL,
	"error" text,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "meta_deliveries_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "meta_leads" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"delivery_id" uuid NOT NULL,
	"leadgen_id" text NOT NULL,
	"page_id" text NOT NULL,
	"form_id" text,
	"ad_id" text,
	"adset_id" text,
	"campaign_id" text,
	"status" text DEFAULT 'queued' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"error" text,
	"error_detail" text,
	"next_attempt_at" timestamp with time zone,
	"lead" jsonb,
	"record_object" text,
	"record_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "meta_leads_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "meta_pages" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"page_id" text NOT NULL,
	"name" text,
	"token_sealed" text NOT NULL,
	"token_last4" text NOT NULL,
	"object" text DEFAULT 'contact' NOT NULL,
	"field_mapping" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"owner_id" text,
	"token_status" text DEFAULT 'unknown' NOT NULL,
	"token_expires_at" timestamp with time zone,
	"token_checked_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "meta_pages_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "meta_settings" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"app_id" text,
	"app_secret_sealed" text,
	"verify_token" text NOT NULL,
	"endpoint_token" text NOT NULL,
	"capi_dataset_id" text,
	"capi_token_sealed" text,
	"lead_event_source" text DEFAULT 'Cairn' NOT NULL,
	"stage_mapping" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "meta_settings_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
ALTER TABLE "meta_capi_events" ADD CONSTRAINT "meta_capi_events_org_id_lead_id_meta_leads_org_id_id_fk" FOREIGN KEY ("org_id","lead_id") REFERENCES "public"."meta_leads"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "meta_deliveries" ADD CONSTRAINT "meta_deliveries_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "meta_leads" ADD CONSTRAINT "meta_leads_org_id_delivery_id_meta_deliveries_org_id_id_fk" FOREIGN KEY ("org_id","delivery_id") REFERENCES "public"."meta_deliveries"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "meta_pages" ADD CONSTRAINT "meta_pages_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "meta_settings" ADD CONSTRAINT "meta_settings_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "meta_capi_events_event_key" ON "meta_capi_events" USING btree ("org_id","event_id");--> statement-breakpoint
CREATE INDEX "meta_deliveries_list_idx" ON "meta_deliveries" USING btree ("org_id","received_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE UNIQUE INDEX "meta_leads_leadgen_key" ON "meta_leads" USING btree ("org_id","leadgen_id");--> statement-breakpoint
CREATE INDEX "meta_leads_record_idx" ON "meta_leads" USING btree ("org_id","record_id");--> statement-breakpoint
CREATE INDEX "meta_leads_list_idx" ON "meta_leads" USING btree ("org_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE UNIQUE INDEX "meta_pages_page_key" ON "meta_pages" USING btree ("org_id","page_id");--> statement-breakpoint
CREATE UNIQUE INDEX "meta_settings_org_key" ON "meta_settings" USING btree ("org_id");
--> statement-breakpoint
-- cairn: custom sql below
-- Meta Lead Ads and the Conversions API for CRM (issue 31): settings, pages, the intake ledger, CAPI events.
SELECT cairn_secure_tenant_table('meta_settings', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('meta_pages', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('meta_deliveries', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('meta_leads', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('meta_capi_events', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
ALTER TABLE meta_pages ADD CONSTRAINT meta_pages_token_status_check
  CHECK (token_status IN ('unknown', 'valid', 'expiring', 'expired', 'invalid'));
--> statement-breakpoint
ALTER TABLE meta_deliveries ADD CONSTRAINT meta_deliveries_signature_check
  CHECK (signature IN ('valid', 'invalid', 'missing', 'not_configured'));
--> statement-breakpoint
ALTER TABLE meta_leads ADD CONSTRAINT meta_leads_status_check
  CHECK (status IN ('queued', 'retrying', 'created', 'matched', 'failed', 'ignored'));
--> statement-breakpoint
ALTER TABLE meta_capi_events ADD CONSTRAINT meta_capi_events_status_check
  CHECK (status IN ('pending', 'sent', 'failed'));
