import { index, integer, pgTable, primaryKey, real, text, uuid } from 'drizzle-orm/pg-core';
import { isoTimestamp as ts } from '../../db/columns.js';
import { organizations } from '../../platform/auth/auth.schema.js';

const orgId = () =>
  uuid('org_id')
    .notNull()
    .references(() => organizations.id, { onDelete: 'cascade' });

/**
 * The blocking keys of each active record (its normalized e-mails, phones and name, and the
 * block its name is compared for similarity in): what the duplicates finder groups by. Kept by
 * the background scan and by the refresh that follows record events.
 */
export const duplicateKeys = pgTable(
  'duplicate_keys',
  {
    orgId: orgId(),
    object: text('object').notNull(),
    recordId: uuid('record_id').notNull(),
    /** `email`, `phone`, `domain`, `name` (exact keys) or `block` (similar names are compared within it). */
    kind: text('kind').notNull(),
    key: text('key').notNull(),
    /** For `block`: the normalized name compared within the block. */
    detail: text('detail'),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.object, t.recordId, t.kind, t.key] }),
    // Blocks in order, and a name's neighbours in its block.
    index('duplicate_keys_key_idx').on(t.orgId, t.object, t.kind, t.key, t.detail, t.recordId),
  ],
);

/**
 * Candidate duplicate pairs (`record_a < record_b`), each under the group it is shown in: the
 * shared key (`reason` email / phone / domain / name) or the two similar names. `block` is the
 * blocking key it came from, so one block's pairs are replaced together.
 */
export const duplicatePairs = pgTable(
  'duplicate_pairs',
  {
    orgId: orgId(),
    object: text('object').notNull(),
    /** Strongest first: 1 e-mail or domain, 2 phone, 3 name, 4 similar name. */
    rank: integer('rank').notNull(),
    reason: text('reason').notNull(),
    key: text('key').notNull(),
    block: text('block').notNull(),
    recordA: uuid('record_a').notNull(),
    recordB: uuid('record_b').notNull(),
    /** 1 for a shared key; pg_trgm similarity of the names for `similar_name`. */
    score: real('score').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.object, t.rank, t.key, t.recordA, t.recordB] }),
    index('duplicate_pairs_block_idx').on(t.orgId, t.object, t.reason, t.block),
    index('duplicate_pairs_a_idx').on(t.orgId, t.object, t.recordA),
    index('duplicate_pairs_b_idx').on(t.orgId, t.object, t.recordB),
  ],
);

/** "Not a duplicate": a pair a member dismissed, never shown again (`record_a < record_b`). */
export const duplicateDismissals = pgTable(
  'duplicate_dismissals',
  {
    orgId: orgId(),
    object: text('object').notNull(),
    recordA: uuid('record_a').notNull(),
    recordB: uuid('record_b').notNull(),
    dismissedBy: uuid('dismissed_by'),
    dismissedAt: ts('dismissed_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.object, t.recordA, t.recordB] })],
);

/** Records changed since the last refresh (from record events), waiting for their keys to be recomputed. */
export const duplicateDirty = pgTable(
  'duplicate_dirty',
  {
    orgId: orgId(),
    object: text('object').notNull(),
    recordId: uuid('record_id').notNull(),
    markedAt: ts('marked_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.object, t.recordId] })],
);

/** The state of a tenant's full duplicates scan, per object. */
export const duplicateScans = pgTable(
  'duplicate_scans',
  {
    orgId: orgId(),
    object: text('object').notNull(),
    /** `queued` (a full scan is wanted), `running`, or `done`. */
    state: text('state', { enum: ['queued', 'running', 'done'] }).notNull(),
    requestedAt: ts('requested_at').notNull().defaultNow(),
    startedAt: ts('started_at'),
    finishedAt: ts('finished_at'),
    /** How long the last full scan took, milliseconds. */
    durationMs: integer('duration_ms'),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.object] })],
);
