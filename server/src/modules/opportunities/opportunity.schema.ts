import { sql } from 'drizzle-orm';
import {
  boolean,
  date,
  foreignKey,
  index,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  text,
  uuid,
} from 'drizzle-orm/pg-core';
import { auditColumns, idColumn, isoTimestamp as ts } from '../../db/columns.js';
import { organizations, users } from '../../platform/auth/auth.schema.js';
import { pipelineStages, pipelines } from '../pipelines/pipeline.schema.js';

export const OPPORTUNITY_STATUSES = ['open', 'won', 'lost', 'abandoned'] as const;
/**
 * Salesforce's standard forecast categories. A deal's follows its stage (won: closed; lost or
 * abandoned: omitted; open: commit from 75 % probability, best case from 50 %, else pipeline) and is
 * reset to it on every stage or status change; in between, an open deal's may be set by hand. A
 * trigger (migration `report_schedules`, custom SQL) applies the rule on every write path.
 */
export const FORECAST_CATEGORIES = ['pipeline', 'best_case', 'commit', 'closed', 'omitted'] as const;

/** A deal in a pipeline. Contact and company links are composite keys within the tenant. */
export const opportunities = pgTable(
  'opportunities',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    title: text('title').notNull(),
    /** Decimal amount in `currency` (ISO 4217). */
    amount: numeric('amount', { precision: 18, scale: 2 }),
    currency: text('currency'),
    /** The price list its line items are priced from (issue 29); null: the list in its currency. */
    priceListId: uuid('price_list_id'),
    /** Whether `amount` follows its line items' net total (set by the user on the lines). */
    amountFromLines: boolean('amount_from_lines').notNull().default(false),
    expectedCloseDate: date('expected_close_date'),
    ownerId: uuid('owner_id').references(() => users.id, { onDelete: 'set null' }),
    contactId: uuid('contact_id'),
    companyId: uuid('company_id'),
    pipelineId: uuid('pipeline_id').notNull(),
    stageId: uuid('stage_id').notNull(),
    status: text('status', { enum: OPPORTUNITY_STATUSES }).notNull().default('open'),
    closeReason: text('close_reason'),
    /** One of FORECAST_CATEGORIES, set by the database from the stage unless set by hand. */
    forecastCategory: text('forecast_category', { enum: FORECAST_CATEGORIES }),
    closedAt: ts('closed_at'),
    /** Lexicographic rank inside its stage column: one move is one row update. */
    rank: text('rank').notNull(),
    stageEnteredAt: ts('stage_entered_at').notNull().defaultNow(),
    source: text('source').notNull().default('manual'),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    custom: jsonb('custom').$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    ...auditColumns(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    index('opportunities_board_idx').on(t.orgId, t.pipelineId, t.stageId, t.rank),
    index('opportunities_created_idx').on(t.orgId, t.createdAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
    index('opportunities_owner_idx').on(
      t.orgId,
      t.ownerId,
      t.createdAt.desc().nullsFirst(),
      t.id.desc().nullsFirst(),
    ),
    index('opportunities_contact_idx').on(t.orgId, t.contactId),
    index('opportunities_company_idx').on(t.orgId, t.companyId),
    foreignKey({
      columns: [t.orgId, t.pipelineId, t.stageId],
      foreignColumns: [pipelineStages.orgId, pipelineStages.pipelineId, pipelineStages.id],
    }),
    foreignKey({ columns: [t.orgId, t.pipelineId], foreignColumns: [pipelines.orgId, pipelines.id] }),
  ],
);

/** Every stage change of an opportunity: time in each stage, and both of two concurrent moves. */
export const opportunityStageHistory = pgTable(
  'opportunity_stage_history',
  {
    orgId: uuid('org_id').notNull(),
    id: idColumn(),
    opportunityId: uuid('opportunity_id').notNull(),
    fromStageId: uuid('from_stage_id'),
    toStageId: uuid('to_stage_id').notNull(),
    /** The stages' names when the move was made: the history keeps them after a stage is deleted. */
    fromStageName: text('from_stage_name'),
    toStageName: text('to_stage_name'),
    status: text('status', { enum: OPPORTUNITY_STATUSES }).notNull(),
    movedAt: ts('moved_at').notNull().default(sql`clock_timestamp()`),
    movedBy: uuid('moved_by'),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    index('opportunity_stage_history_idx').on(t.orgId, t.opportunityId, t.movedAt),
    foreignKey({
      columns: [t.orgId, t.opportunityId],
      foreignColumns: [opportunities.orgId, opportunities.id],
    }).onDelete('cascade'),
  ],
);
