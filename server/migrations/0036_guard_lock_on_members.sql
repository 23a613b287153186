ALTER TABLE "members" ADD COLUMN "guard_locked_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "members" ADD COLUMN "guard_incident_id" uuid;--> statement-breakpoint
-- cairn: custom sql below
-- The guard's locks move onto the membership the session check reads anyway (issue 22): a lock
-- was the one tenant table (guard_locks) read outside a tenant transaction, so it could not have
-- its RLS forced. The locks in force are kept; then the table goes.
UPDATE members m SET guard_locked_at = gl.locked_at, guard_incident_id = gl.incident_id
  FROM guard_locks gl
 WHERE gl.org_id = m.organization_id AND gl.user_id = m.user_id;
--> statement-breakpoint
DROP TABLE "guard_locks" CASCADE;
