DROP INDEX "companies_created_idx";--> statement-breakpoint
DROP INDEX "companies_owner_idx";--> statement-breakpoint
DROP INDEX "contacts_created_idx";--> statement-breakpoint
DROP INDEX "contacts_updated_idx";--> statement-breakpoint
DROP INDEX "contacts_owner_idx";--> statement-breakpoint
DROP INDEX "events_subject_idx";--> statement-breakpoint
DROP INDEX "events_org_time_idx";--> statement-breakpoint
DROP INDEX "notes_linked_idx";--> statement-breakpoint
DROP INDEX "opportunities_created_idx";--> statement-breakpoint
DROP INDEX "opportunities_owner_idx";--> statement-breakpoint
CREATE INDEX "companies_created_idx" ON "companies" USING btree ("org_id","created_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "companies_owner_idx" ON "companies" USING btree ("org_id","owner_id","created_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "contacts_created_idx" ON "contacts" USING btree ("org_id","created_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "contacts_updated_idx" ON "contacts" USING btree ("org_id","updated_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "contacts_owner_idx" ON "contacts" USING btree ("org_id","owner_id","created_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "events_subject_idx" ON "events" USING btree ("org_id","subject_object","subject_id","occurred_at" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "events_org_time_idx" ON "events" USING btree ("org_id","occurred_at" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "notes_linked_idx" ON "notes" USING btree ("org_id","linked_object","linked_id","created_at" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "opportunities_created_idx" ON "opportunities" USING btree ("org_id","created_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "opportunities_owner_idx" ON "opportunities" USING btree ("org_id","owner_id","created_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);