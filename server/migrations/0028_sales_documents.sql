CREATE TABLE "price_lists" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"currency" text NOT NULL,
	"is_default" boolean DEFAULT false NOT NULL,
	"created_by" uuid,
	"updated_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"archived_at" timestamp with time zone,
	CONSTRAINT "price_lists_org_id_id_pk" PRIMARY KEY("org_id","id"),
	CONSTRAINT "price_lists_currency_key" UNIQUE("org_id","currency")
);
--> statement-breakpoint
CREATE TABLE "product_prices" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"price_list_id" uuid NOT NULL,
	"product_id" uuid NOT NULL,
	"unit_price" numeric(18, 6) NOT NULL,
	"min_quantity" numeric(18, 6) DEFAULT '1' NOT NULL,
	"valid_from" date,
	"valid_to" date,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_by" uuid,
	CONSTRAINT "product_prices_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "products" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"sku" text NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"unit" text DEFAULT 'unit' NOT NULL,
	"fractional" boolean DEFAULT false NOT NULL,
	"active" boolean DEFAULT true NOT NULL,
	"tax_rate" numeric(7, 4),
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"owner_id" uuid,
	"custom" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_by" uuid,
	"updated_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"archived_at" timestamp with time zone,
	CONSTRAINT "products_org_id_id_pk" PRIMARY KEY("org_id","id"),
	CONSTRAINT "products_sku_key" UNIQUE("org_id","sku")
);
--> statement-breakpoint
CREATE TABLE "quote_counters" (
	"org_id" uuid NOT NULL,
	"year" integer NOT NULL,
	"last" integer NOT NULL,
	CONSTRAINT "quote_counters_org_id_year_pk" PRIMARY KEY("org_id","year")
);
--> statement-breakpoint
CREATE TABLE "quote_lines" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"quote_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"product_id" uuid,
	"sku" text,
	"description" text NOT NULL,
	"unit" text,
	"quantity" numeric(18, 6) NOT NULL,
	"unit_price" numeric(18, 6) NOT NULL,
	"discount_kind" text,
	"discount_value" numeric(18, 6),
	"tax_rate" numeric(7, 4) DEFAULT '0' NOT NULL,
	"gross" numeric(20, 4) NOT NULL,
	"discount" numeric(20, 4) NOT NULL,
	"net" numeric(20, 4) NOT NULL,
	CONSTRAINT "quote_lines_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "quotes" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"number" text NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"status" text DEFAULT 'draft' NOT NULL,
	"title" text NOT NULL,
	"opportunity_id" uuid,
	"contact_id" uuid,
	"company_id" uuid,
	"contact_name" text,
	"company_name" text,
	"owner_id" uuid,
	"currency" text NOT NULL,
	"price_list_id" uuid,
	"valid_until" date NOT NULL,
	"terms" text,
	"notes" text,
	"recipient_email" text,
	"subtotal" numeric(20, 4) DEFAULT '0' NOT NULL,
	"discount_total" numeric(20, 4) DEFAULT '0' NOT NULL,
	"tax_total" numeric(20, 4) DEFAULT '0' NOT NULL,
	"total" numeric(20, 4) DEFAULT '0' NOT NULL,
	"taxes" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"max_discount_percent" numeric(9, 4) DEFAULT '0' NOT NULL,
	"approved_by" uuid,
	"approved_at" timestamp with time zone,
	"sent_at" timestamp with time zone,
	"sent_by" uuid,
	"content_sha256" text,
	"pdf_sha256" text,
	"sent_pdf" text,
	"superseded_by" uuid,
	"accepted_name" text,
	"accepted_at" timestamp with time zone,
	"accepted_ip" text,
	"accepted_user_agent" text,
	"rejected_at" timestamp with time zone,
	"rejected_reason" text,
	"expired_at" timestamp with time zone,
	"created_by" uuid,
	"updated_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"archived_at" timestamp with time zone,
	CONSTRAINT "quotes_org_id_id_pk" PRIMARY KEY("org_id","id"),
	CONSTRAINT "quotes_number_version_key" UNIQUE("org_id","number","version")
);
--> statement-breakpoint
CREATE TABLE "sales_settings" (
	"org_id" uuid PRIMARY KEY NOT NULL,
	"locale" text DEFAULT 'en-US' NOT NULL,
	"currency" text DEFAULT 'USD' NOT NULL,
	"approval_discount_percent" numeric(7, 4),
	"quote_validity_days" integer DEFAULT 30 NOT NULL,
	"default_terms" text,
	"address" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "system_mail" ADD COLUMN "attachments" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "price_lists" ADD CONSTRAINT "price_lists_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "product_prices" ADD CONSTRAINT "product_prices_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "product_prices" ADD CONSTRAINT "product_prices_list_fk" FOREIGN KEY ("org_id","price_list_id") REFERENCES "public"."price_lists"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "product_prices" ADD CONSTRAINT "product_prices_product_fk" FOREIGN KEY ("org_id","product_id") REFERENCES "public"."products"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "products" ADD CONSTRAINT "products_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "products" ADD CONSTRAINT "products_owner_id_users_id_fk" FOREIGN KEY ("owner_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "quote_counters" ADD CONSTRAINT "quote_counters_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "quote_lines" ADD CONSTRAINT "quote_lines_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "quote_lines" ADD CONSTRAINT "quote_lines_quote_fk" FOREIGN KEY ("org_id","quote_id") REFERENCES "public"."quotes"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "quotes" ADD CONSTRAINT "quotes_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sales_settings" ADD CONSTRAINT "sales_settings_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "price_lists_default_key" ON "price_lists" USING btree ("org_id") WHERE "price_lists"."is_default";--> statement-breakpoint
CREATE INDEX "product_prices_lookup_idx" ON "product_prices" USING btree ("org_id","price_list_id","product_id","min_quantity");--> statement-breakpoint
CREATE INDEX "products_created_idx" ON "products" USING btree ("org_id","created_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "products_name_idx" ON "products" USING btree ("org_id","name","id");--> statement-breakpoint
CREATE INDEX "products_tags_idx" ON "products" USING gin ("tags");--> statement-breakpoint
CREATE INDEX "quote_lines_quote_idx" ON "quote_lines" USING btree ("org_id","quote_id","position");--> statement-breakpoint
CREATE INDEX "quotes_created_idx" ON "quotes" USING btree ("org_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "quotes_opportunity_idx" ON "quotes" USING btree ("org_id","opportunity_id");--> statement-breakpoint
-- cairn: custom sql below
SELECT cairn_secure_tenant_table('products', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('price_lists', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('product_prices', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('sales_settings', 'SELECT, INSERT, UPDATE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('quote_counters', 'SELECT, INSERT, UPDATE');
--> statement-breakpoint
-- Quotes are never deleted by the app (their numbers are never reused): no DELETE.
SELECT cairn_secure_tenant_table('quotes', 'SELECT, INSERT, UPDATE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('quote_lines', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
-- A quote points into its own tenant only (composite keys); its deal, contact, company or price
-- list deleted for good leaves the quote with its copied names and lines.
ALTER TABLE quotes ADD CONSTRAINT quotes_opportunity_fk FOREIGN KEY (org_id, opportunity_id)
  REFERENCES opportunities (org_id, id) ON DELETE SET NULL (opportunity_id);
--> statement-breakpoint
ALTER TABLE quotes ADD CONSTRAINT quotes_contact_fk FOREIGN KEY (org_id, contact_id)
  REFERENCES contacts (org_id, id) ON DELETE SET NULL (contact_id);
--> statement-breakpoint
ALTER TABLE quotes ADD CONSTRAINT quotes_company_fk FOREIGN KEY (org_id, company_id)
  REFERENCES companies (org_id, id) ON DELETE SET NULL (company_id);
--> statement-breakpoint
ALTER TABLE quotes ADD CONSTRAINT quotes_price_list_fk FOREIGN KEY (org_id, price_list_id)
  REFERENCES price_lists (org_id, id) ON DELETE SET NULL (price_list_id);
--> statement-breakpoint
ALTER TABLE quote_lines ADD CONSTRAINT quote_lines_product_fk FOREIGN KEY (org_id, product_id)
  REFERENCES products (org_id, id) ON DELETE SET NULL (product_id);
--> statement-breakpoint
ALTER TABLE quotes ADD CONSTRAINT quotes_status_check
  CHECK (status IN ('draft', 'sent', 'accepted', 'rejected', 'expired'));
