import { sql } from 'drizzle-orm';
import { index, jsonb, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { idColumn, isoTimestamp as ts } from '../../db/columns.js';
import { organizations } from '../../platform/auth/auth.schema.js';

/** A contact's company links before a company merge moved them (contacts' `moveCompanyLinksIn`). */
export type ContactLinksBefore = { contact_id: string; links: { company_id: string; primary: boolean }[] };

/** One record that moved: its id and the merged record it was attached to before. */
export type MergeMove = { id: string; from: string };

/**
 * What a merge moved from a merged record to the survivor, so that undo can move it back. The
 * company-only keys are absent on contact merges (and on merges recorded before they existed).
 */
export type MergeMoves = {
  opportunities: MergeMove[];
  tasks: MergeMove[];
  notes: MergeMove[];
  /** Company merges: the child companies whose parent was a merged company (`id`: the child). */
  children?: MergeMove[];
  /** Company merges: the contacts linked to a merged company, with their links before. */
  contact_links?: ContactLinksBefore[];
  /** Company merges: the merged companies' external ids (`id`: the external id). */
  external_ids?: MergeMove[];
};

/**
 * A merge of records of one object into a survivor: the survivor's values before (an update
 * input, written back on undo), what moved, and whether it was undone. Also how a survivor's
 * timeline finds the events of the records merged into it.
 */
export const recordMerges = pgTable(
  'record_merges',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    object: text('object').notNull(),
    survivorId: uuid('survivor_id').notNull(),
    mergedIds: uuid('merged_ids').array().notNull(),
    survivorBefore: jsonb('survivor_before').$type<Record<string, unknown>>().notNull(),
    moves: jsonb('moves').$type<MergeMoves>().notNull().default(sql`'{}'::jsonb`),
    createdBy: uuid('created_by'),
    createdAt: ts('created_at').notNull().defaultNow(),
    undoneAt: ts('undone_at'),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    index('record_merges_survivor_idx').on(t.orgId, t.object, t.survivorId),
  ],
);
