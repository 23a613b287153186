import { sql } from 'drizzle-orm';
import {
  boolean,
  foreignKey,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { idColumn } from '../../db/columns.js';
import { organizations } from '../../platform/auth/auth.schema.js';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'string' });

/** A sales pipeline: ordered stages an opportunity moves through. */
export const pipelines = pgTable(
  'pipelines',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    name: text('name').notNull(),
    position: integer('position').notNull().default(0),
    isDefault: boolean('is_default').notNull().default(false),
    createdAt: ts('created_at').notNull().defaultNow(),
    archivedAt: ts('archived_at'),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex('pipelines_name_key').on(t.orgId, sql`lower(${t.name})`),
    uniqueIndex('pipelines_default_key').on(t.orgId).where(sql`${t.isDefault}`),
  ],
);

/** A stage of a pipeline: its place, win probability and kind (open, won, lost). */
export const pipelineStages = pgTable(
  'pipeline_stages',
  {
    orgId: uuid('org_id').notNull(),
    id: idColumn(),
    pipelineId: uuid('pipeline_id').notNull(),
    name: text('name').notNull(),
    position: integer('position').notNull(),
    /** Win probability in percent, 0..100, for the weighted pipeline value. */
    probability: integer('probability').notNull().default(0),
    kind: text('kind', { enum: ['open', 'won', 'lost'] })
      .notNull()
      .default('open'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    // Lets opportunities reference (pipeline, stage) together: a stage of another pipeline is refused.
    unique('pipeline_stages_pipeline_key').on(t.orgId, t.pipelineId, t.id),
    foreignKey({
      columns: [t.orgId, t.pipelineId],
      foreignColumns: [pipelines.orgId, pipelines.id],
    }).onDelete('cascade'),
  ],
);
