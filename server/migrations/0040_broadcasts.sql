CREATE TABLE "broadcast_recipients" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"broadcast_id" uuid NOT NULL,
	"contact_id" uuid NOT NULL,
	"address" text,
	"status" text DEFAULT 'pending' NOT NULL,
	"message_id" uuid,
	"detail" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "broadcast_recipients_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "broadcasts" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"channel_id" uuid NOT NULL,
	"subject" text,
	"body" text NOT NULL,
	"segment" jsonb NOT NULL,
	"status" text DEFAULT 'draft' NOT NULL,
	"per_minute" integer,
	"require_consent" boolean DEFAULT false NOT NULL,
	"scheduled_at" timestamp with time zone,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"cancelled_at" timestamp with time zone,
	"recipient_count" integer DEFAULT 0 NOT NULL,
	"created_by" uuid,
	"updated_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"archived_at" timestamp with time zone,
	CONSTRAINT "broadcasts_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
ALTER TABLE "broadcast_recipients" ADD CONSTRAINT "broadcast_recipients_org_id_broadcast_id_broadcasts_org_id_id_fk" FOREIGN KEY ("org_id","broadcast_id") REFERENCES "public"."broadcasts"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "broadcasts" ADD CONSTRAINT "broadcasts_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "broadcast_recipients_contact" ON "broadcast_recipients" USING btree ("org_id","broadcast_id","contact_id");--> statement-breakpoint
CREATE INDEX "broadcast_recipients_pending_idx" ON "broadcast_recipients" USING btree ("org_id","broadcast_id") WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX "broadcasts_status_idx" ON "broadcasts" USING btree ("org_id","status");
--> statement-breakpoint
-- cairn: custom sql below
SELECT cairn_secure_tenant_table('broadcasts', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('broadcast_recipients', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
ALTER TABLE broadcasts ADD CONSTRAINT broadcasts_kind_check CHECK (kind IN ('email', 'sms'));
--> statement-breakpoint
ALTER TABLE broadcasts ADD CONSTRAINT broadcasts_status_check
  CHECK (status IN ('draft', 'scheduled', 'sending', 'sent', 'cancelled'));
--> statement-breakpoint
ALTER TABLE broadcasts ADD CONSTRAINT broadcasts_per_minute_check CHECK (per_minute IS NULL OR per_minute > 0);
--> statement-breakpoint
ALTER TABLE broadcast_recipients ADD CONSTRAINT broadcast_recipients_status_check
  CHECK (status IN ('pending', 'queued', 'skipped', 'cancelled', 'unsubscribed'));
