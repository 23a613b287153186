CREATE TABLE "exchange_rates" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"currency" text NOT NULL,
	"valid_on" date NOT NULL,
	"rate" numeric(20, 10) NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_by" uuid,
	CONSTRAINT "exchange_rates_org_id_id_pk" PRIMARY KEY("org_id","id"),
	CONSTRAINT "exchange_rates_day_key" UNIQUE("org_id","currency","valid_on")
);
--> statement-breakpoint
CREATE TABLE "order_counters" (
	"org_id" uuid NOT NULL,
	"year" integer NOT NULL,
	"last" integer NOT NULL,
	CONSTRAINT "order_counters_org_id_year_pk" PRIMARY KEY("org_id","year")
);
--> statement-breakpoint
CREATE TABLE "order_lines" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"order_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"product_id" uuid,
	"sku" text,
	"description" text NOT NULL,
	"unit" text,
	"quantity" numeric(18, 6) NOT NULL,
	"fulfilled_quantity" numeric(18, 6) DEFAULT '0' NOT NULL,
	"unit_price" numeric(18, 6) NOT NULL,
	"discount_kind" text,
	"discount_value" numeric(18, 6),
	"tax_rate" numeric(7, 4) DEFAULT '0' NOT NULL,
	"gross" numeric(20, 4) NOT NULL,
	"discount" numeric(20, 4) NOT NULL,
	"net" numeric(20, 4) NOT NULL,
	CONSTRAINT "order_lines_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "orders" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"number" text NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"quote_id" uuid NOT NULL,
	"opportunity_id" uuid,
	"contact_id" uuid,
	"company_id" uuid,
	"contact_name" text,
	"company_name" text,
	"owner_id" uuid,
	"title" text NOT NULL,
	"currency" text NOT NULL,
	"warehouse_id" uuid,
	"subtotal" numeric(20, 4) NOT NULL,
	"discount_total" numeric(20, 4) NOT NULL,
	"tax_total" numeric(20, 4) NOT NULL,
	"total" numeric(20, 4) NOT NULL,
	"taxes" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"org_currency" text NOT NULL,
	"exchange_rate" numeric(20, 10) NOT NULL,
	"rate_on" date,
	"org_total" numeric(20, 4) NOT NULL,
	"cancelled_at" timestamp with time zone,
	"fulfilled_at" timestamp with time zone,
	"paid_at" timestamp with time zone,
	"created_by" uuid,
	"updated_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"archived_at" timestamp with time zone,
	CONSTRAINT "orders_org_id_id_pk" PRIMARY KEY("org_id","id"),
	CONSTRAINT "orders_number_key" UNIQUE("org_id","number"),
	CONSTRAINT "orders_quote_key" UNIQUE("org_id","quote_id")
);
--> statement-breakpoint
CREATE TABLE "opportunity_lines" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"opportunity_id" uuid NOT NULL,
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
	CONSTRAINT "opportunity_lines_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "stock_levels" (
	"org_id" uuid NOT NULL,
	"warehouse_id" uuid NOT NULL,
	"product_id" uuid NOT NULL,
	"on_hand" numeric(18, 6) DEFAULT '0' NOT NULL,
	"reserved" numeric(18, 6) DEFAULT '0' NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "stock_levels_org_id_warehouse_id_product_id_pk" PRIMARY KEY("org_id","warehouse_id","product_id")
);
--> statement-breakpoint
CREATE TABLE "stock_movements" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"warehouse_id" uuid NOT NULL,
	"product_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"on_hand_change" numeric(18, 6) DEFAULT '0' NOT NULL,
	"reserved_change" numeric(18, 6) DEFAULT '0' NOT NULL,
	"on_hand_after" numeric(18, 6) NOT NULL,
	"reserved_after" numeric(18, 6) NOT NULL,
	"order_id" uuid,
	"reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_by" uuid,
	CONSTRAINT "stock_movements_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "warehouses" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"is_default" boolean DEFAULT false NOT NULL,
	"created_by" uuid,
	"updated_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"archived_at" timestamp with time zone,
	CONSTRAINT "warehouses_org_id_id_pk" PRIMARY KEY("org_id","id"),
	CONSTRAINT "warehouses_name_key" UNIQUE("org_id","name")
);
--> statement-breakpoint
ALTER TABLE "opportunities" ADD COLUMN "price_list_id" uuid;--> statement-breakpoint
ALTER TABLE "opportunities" ADD COLUMN "amount_from_lines" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "backorders" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "quotes" ADD COLUMN "payment_session_id" text;--> statement-breakpoint
ALTER TABLE "quotes" ADD COLUMN "payment_url" text;--> statement-breakpoint
ALTER TABLE "quotes" ADD COLUMN "paid_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "exchange_rates" ADD CONSTRAINT "exchange_rates_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "order_counters" ADD CONSTRAINT "order_counters_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "order_lines" ADD CONSTRAINT "order_lines_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "order_lines" ADD CONSTRAINT "order_lines_order_fk" FOREIGN KEY ("org_id","order_id") REFERENCES "public"."orders"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "orders" ADD CONSTRAINT "orders_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "opportunity_lines" ADD CONSTRAINT "opportunity_lines_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "stock_levels" ADD CONSTRAINT "stock_levels_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "stock_levels" ADD CONSTRAINT "stock_levels_warehouse_fk" FOREIGN KEY ("org_id","warehouse_id") REFERENCES "public"."warehouses"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "stock_movements" ADD CONSTRAINT "stock_movements_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "warehouses" ADD CONSTRAINT "warehouses_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "order_lines_order_idx" ON "order_lines" USING btree ("org_id","order_id","position");--> statement-breakpoint
CREATE INDEX "orders_created_idx" ON "orders" USING btree ("org_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "opportunity_lines_opportunity_idx" ON "opportunity_lines" USING btree ("org_id","opportunity_id","position");--> statement-breakpoint
CREATE INDEX "stock_movements_product_idx" ON "stock_movements" USING btree ("org_id","product_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "warehouses_default_key" ON "warehouses" USING btree ("org_id") WHERE "warehouses"."is_default";
--> statement-breakpoint
-- cairn: custom sql below
-- Sales documents, part two (issue 29): deal line items, exchange rates, orders, warehouses and stock.
SELECT cairn_secure_tenant_table('opportunity_lines', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('exchange_rates', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('order_counters', 'SELECT, INSERT, UPDATE');
--> statement-breakpoint
-- Orders are never deleted by the app (their numbers are never reused): no DELETE.
SELECT cairn_secure_tenant_table('orders', 'SELECT, INSERT, UPDATE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('order_lines', 'SELECT, INSERT, UPDATE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('warehouses', 'SELECT, INSERT, UPDATE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('stock_levels', 'SELECT, INSERT, UPDATE');
--> statement-breakpoint
-- The stock ledger is append-only for the app role.
SELECT cairn_secure_tenant_table('stock_movements', 'SELECT, INSERT');
--> statement-breakpoint
ALTER TABLE opportunity_lines ADD CONSTRAINT opportunity_lines_opportunity_fk FOREIGN KEY (org_id, opportunity_id)
  REFERENCES opportunities (org_id, id) ON DELETE CASCADE;
--> statement-breakpoint
ALTER TABLE opportunity_lines ADD CONSTRAINT opportunity_lines_product_fk FOREIGN KEY (org_id, product_id)
  REFERENCES products (org_id, id) ON DELETE SET NULL (product_id);
--> statement-breakpoint
ALTER TABLE opportunities ADD CONSTRAINT opportunities_price_list_fk FOREIGN KEY (org_id, price_list_id)
  REFERENCES price_lists (org_id, id) ON DELETE SET NULL (price_list_id);
--> statement-breakpoint
ALTER TABLE orders ADD CONSTRAINT orders_quote_fk FOREIGN KEY (org_id, quote_id)
  REFERENCES quotes (org_id, id);
--> statement-breakpoint
ALTER TABLE orders ADD CONSTRAINT orders_opportunity_fk FOREIGN KEY (org_id, opportunity_id)
  REFERENCES opportunities (org_id, id) ON DELETE SET NULL (opportunity_id);
--> statement-breakpoint
ALTER TABLE orders ADD CONSTRAINT orders_warehouse_fk FOREIGN KEY (org_id, warehouse_id)
  REFERENCES warehouses (org_id, id);
--> statement-breakpoint
ALTER TABLE orders ADD CONSTRAINT orders_status_check
  CHECK (status IN ('open', 'partly_fulfilled', 'fulfilled', 'cancelled'));
--> statement-breakpoint
ALTER TABLE order_lines ADD CONSTRAINT order_lines_product_fk FOREIGN KEY (org_id, product_id)
  REFERENCES products (org_id, id) ON DELETE SET NULL (product_id);
--> statement-breakpoint
ALTER TABLE order_lines ADD CONSTRAINT order_lines_fulfilled_check
  CHECK (fulfilled_quantity >= 0 AND fulfilled_quantity <= quantity);
--> statement-breakpoint
ALTER TABLE stock_levels ADD CONSTRAINT stock_levels_product_fk FOREIGN KEY (org_id, product_id)
  REFERENCES products (org_id, id) ON DELETE CASCADE;
--> statement-breakpoint
ALTER TABLE stock_levels ADD CONSTRAINT stock_levels_reserved_check CHECK (reserved >= 0);
--> statement-breakpoint
ALTER TABLE stock_movements ADD CONSTRAINT stock_movements_kind_check
  CHECK (kind IN ('adjustment', 'reservation', 'release', 'fulfilment'));
--> statement-breakpoint
ALTER TABLE exchange_rates ADD CONSTRAINT exchange_rates_rate_check CHECK (rate > 0);
