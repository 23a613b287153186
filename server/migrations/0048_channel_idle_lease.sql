ALTER TABLE "channels" ADD COLUMN "idle_owner" text;--> statement-breakpoint
ALTER TABLE "channels" ADD COLUMN "idle_until" timestamp with time zone;