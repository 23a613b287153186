CREATE TABLE "availabilities" (
	"org_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"time_zone" text NOT NULL,
	"weekly" jsonb NOT NULL,
	"overrides" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"buffer_before_minutes" integer DEFAULT 0 NOT NULL,
	"buffer_after_minutes" integer DEFAULT 0 NOT NULL,
	"min_notice_minutes" integer DEFAULT 0 NOT NULL,
	"max_per_day" integer,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "availabilities_org_id_user_id_pk" PRIMARY KEY("org_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "booking_calendar_events" (
	"org_id" uuid NOT NULL,
	"booking_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"url" text NOT NULL,
	"etag" text,
	CONSTRAINT "booking_calendar_events_org_id_booking_id_user_id_pk" PRIMARY KEY("org_id","booking_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "booking_holds" (
	"org_id" uuid NOT NULL,
	"booking_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"start_at" timestamp with time zone NOT NULL,
	"end_at" timestamp with time zone NOT NULL,
	CONSTRAINT "booking_holds_org_id_booking_id_user_id_pk" PRIMARY KEY("org_id","booking_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "bookings" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"meeting_type_id" uuid NOT NULL,
	"host_ids" uuid[] NOT NULL,
	"start_at" timestamp with time zone NOT NULL,
	"end_at" timestamp with time zone NOT NULL,
	"status" text DEFAULT 'confirmed' NOT NULL,
	"contact_id" uuid NOT NULL,
	"name" text NOT NULL,
	"email" text NOT NULL,
	"answers" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"time_zone" text NOT NULL,
	"note_id" uuid,
	"manage_token" text NOT NULL,
	"sequence" integer DEFAULT 0 NOT NULL,
	"cancelled_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "bookings_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "calendar_connections" (
	"org_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"server_url" text NOT NULL,
	"calendar_url" text NOT NULL,
	"username" text NOT NULL,
	"password_sealed" text NOT NULL,
	"busy" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"last_synced_at" timestamp with time zone,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "calendar_connections_org_id_user_id_pk" PRIMARY KEY("org_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "meeting_types" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"duration_minutes" integer NOT NULL,
	"location" text,
	"video_url" text,
	"questions" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"assignment" text NOT NULL,
	"host_ids" uuid[] NOT NULL,
	"slot_step_minutes" integer,
	"token" text NOT NULL,
	"archived_at" timestamp with time zone,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "meeting_types_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
ALTER TABLE "availabilities" ADD CONSTRAINT "availabilities_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "bookings" ADD CONSTRAINT "bookings_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "calendar_connections" ADD CONSTRAINT "calendar_connections_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "meeting_types" ADD CONSTRAINT "meeting_types_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "booking_holds_user_start_key" ON "booking_holds" USING btree ("org_id","user_id","start_at");--> statement-breakpoint
CREATE INDEX "booking_holds_user_idx" ON "booking_holds" USING btree ("org_id","user_id","end_at");--> statement-breakpoint
CREATE UNIQUE INDEX "bookings_manage_token_key" ON "bookings" USING btree ("org_id","manage_token");--> statement-breakpoint
CREATE INDEX "bookings_start_idx" ON "bookings" USING btree ("org_id","start_at");--> statement-breakpoint
CREATE UNIQUE INDEX "meeting_types_token_key" ON "meeting_types" USING btree ("org_id","token");--> statement-breakpoint
-- cairn: custom sql below
-- Scheduling (issue 33): availability, meeting types, bookings and their holds, CalDAV calendars.
SELECT cairn_secure_tenant_table('availabilities', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('meeting_types', 'SELECT, INSERT, UPDATE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('bookings', 'SELECT, INSERT, UPDATE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('booking_holds', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('calendar_connections', 'SELECT, INSERT, UPDATE, DELETE');
--> statement-breakpoint
SELECT cairn_secure_tenant_table('booking_calendar_events', 'SELECT, INSERT, UPDATE, DELETE');
