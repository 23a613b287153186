ALTER TABLE "ai_settings" ADD COLUMN "prices" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "ai_settings" ADD COLUMN "currency" text DEFAULT 'USD' NOT NULL;--> statement-breakpoint
ALTER TABLE "ai_usage" ADD COLUMN "model" text;--> statement-breakpoint
ALTER TABLE "ai_usage" ADD COLUMN "cost" numeric(18, 8);