ALTER TABLE "opportunity_stage_history" ADD COLUMN "from_stage_name" text;--> statement-breakpoint
ALTER TABLE "opportunity_stage_history" ADD COLUMN "to_stage_name" text;--> statement-breakpoint
-- Rows written before these columns get the names of their stages that still exist (run by a role
-- that bypasses row-level security, as migrations are; otherwise they keep showing the stages'
-- live names while those exist, as before).
UPDATE opportunity_stage_history h SET to_stage_name = s.name
  FROM pipeline_stages s WHERE s.org_id = h.org_id AND s.id = h.to_stage_id;
--> statement-breakpoint
UPDATE opportunity_stage_history h SET from_stage_name = s.name
  FROM pipeline_stages s WHERE s.org_id = h.org_id AND s.id = h.from_stage_id;
