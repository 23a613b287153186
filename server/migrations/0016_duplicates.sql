CREATE TABLE "duplicate_dirty" (
	"org_id" uuid NOT NULL,
	"object" text NOT NULL,
	"record_id" uuid NOT NULL,
	"marked_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "duplicate_dirty_org_id_object_record_id_pk" PRIMARY KEY("org_id","object","record_id")
);
--> statement-breakpoint
CREATE TABLE "duplicate_dismissals" (
	"org_id" uuid NOT NULL,
	"object" text NOT NULL,
	"record_a" uuid NOT NULL,
	"record_b" uuid NOT NULL,
	"dismissed_by" uuid,
	"dismissed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "duplicate_dismissals_org_id_object_record_a_record_b_pk" PRIMARY KEY("org_id","object","record_a","record_b")
);
--> statement-breakpoint
CREATE TABLE "duplicate_keys" (
	"org_id" uuid NOT NULL,
	"object" text NOT NULL,
	"record_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"key" text NOT NULL,
	"detail" text,
	CONSTRAINT "duplicate_keys_org_id_object_record_id_kind_key_pk" PRIMARY KEY("org_id","object","record_id","kind","key")
);
--> statement-breakpoint
CREATE TABLE "duplicate_pairs" (
	"org_id" uuid NOT NULL,
	"object" text NOT NULL,
	"rank" integer NOT NULL,
	"reason" text NOT NULL,
	"key" text NOT NULL,
	"block" text NOT NULL,
	"record_a" uuid NOT NULL,
	"record_b" uuid NOT NULL,
	"score" real NOT NULL,
	CONSTRAINT "duplicate_pairs_org_id_object_rank_key_record_a_record_b_pk" PRIMARY KEY("org_id","object","rank","key","record_a","record_b")
);
--> statement-breakpoint
CREATE TABLE "duplicate_scans" (
	"org_id" uuid NOT NULL,
	"object" text NOT NULL,
	"state" text NOT NULL,
	"requested_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"duration_ms" integer,
	CONSTRAINT "duplicate_scans_org_id_object_pk" PRIMARY KEY("org_id","object")
);
--> statement-breakpoint
ALTER TABLE "duplicate_dirty" ADD CONSTRAINT "duplicate_dirty_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "duplicate_dismissals" ADD CONSTRAINT "duplicate_dismissals_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "duplicate_keys" ADD CONSTRAINT "duplicate_keys_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "duplicate_pairs" ADD CONSTRAINT "duplicate_pairs_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "duplicate_scans" ADD CONSTRAINT "duplicate_scans_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "duplicate_keys_key_idx" ON "duplicate_keys" USING btree ("org_id","object","kind","key","detail","record_id");--> statement-breakpoint
CREATE INDEX "duplicate_pairs_block_idx" ON "duplicate_pairs" USING btree ("org_id","object","reason","block");--> statement-breakpoint
CREATE INDEX "duplicate_pairs_a_idx" ON "duplicate_pairs" USING btree ("org_id","object","record_a");--> statement-breakpoint
CREATE INDEX "duplicate_pairs_b_idx" ON "duplicate_pairs" USING btree ("org_id","object","record_b");--> statement-breakpoint
-- Row-level security, forced, for the duplicates finder's tables (DESIGN invariant 3).
SELECT cairn_secure_tenant_table('duplicate_keys', 'SELECT, INSERT, UPDATE, DELETE');--> statement-breakpoint
SELECT cairn_secure_tenant_table('duplicate_pairs', 'SELECT, INSERT, UPDATE, DELETE');--> statement-breakpoint
SELECT cairn_secure_tenant_table('duplicate_dismissals', 'SELECT, INSERT, DELETE');--> statement-breakpoint
SELECT cairn_secure_tenant_table('duplicate_dirty', 'SELECT, INSERT, DELETE');--> statement-breakpoint
SELECT cairn_secure_tenant_table('duplicate_scans', 'SELECT, INSERT, UPDATE, DELETE');
