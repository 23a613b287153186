ALTER TABLE "messages" ADD COLUMN "delivery_status" text;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "delivered_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "messages_provider_id_idx" ON "messages" USING btree ("org_id","provider_id");
--> statement-breakpoint
-- cairn: custom sql below
-- Provider mode of e-mail channels (issue 23): what the provider reported after the hand-over.
ALTER TABLE "messages" ADD CONSTRAINT "messages_delivery_status_check" CHECK ("delivery_status" IN ('delivered', 'deferred', 'bounced', 'complained'));
