ALTER TABLE "messages" ADD COLUMN "claimed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "sequence_enrollments" ADD COLUMN "channel_id" uuid;--> statement-breakpoint
CREATE INDEX "sequence_enrollments_newest_idx" ON "sequence_enrollments" USING btree ("org_id","sequence_id","enrolled_at","id");