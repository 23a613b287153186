import { sql } from 'drizzle-orm';
import {
  bigint,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { organizations } from '../auth/auth.schema.js';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/**
 * The guard's budgets of an organization, per role (its key: `admin`, `user`, `viewer` or a custom
 * role's key) and metric (`read`, `export`, `delete`, `denied`). A role and metric with no row
 * has the built-in defaults (`guard-budgets.ts`).
 */
export const guardSettings = pgTable(
  'guard_settings',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    role: text('role').notNull(),
    metric: text('metric').notNull(),
    warn: integer('warn').notNull(),
    block: integer('block').notNull(),
    windowSeconds: integer('window_seconds').notNull(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.role, t.metric] })],
);

/**
 * The guard's shared counters on PostgreSQL (without REDIS_URL): how many records a subject
 * (`user:<id>` or `key:<id>`) read, exported, deleted, or how many of its requests were refused,
 * per time bucket (a tenth of the metric's window). Written in batches (one upsert per flush,
 * never per request); old buckets are pruned by the flush.
 */
export const guardCounters = pgTable(
  'guard_counters',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    subject: text('subject').notNull(),
    metric: text('metric').notNull(),
    /** The bucket's start, in epoch seconds (a multiple of `bucket_seconds`). */
    bucket: bigint('bucket', { mode: 'number' }).notNull(),
    bucketSeconds: integer('bucket_seconds').notNull(),
    count: bigint('count', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.subject, t.metric, t.bucketSeconds, t.bucket] })],
);

/**
 * A guard incident: a subject crossed a block threshold. Who (user or API key), what (the metric),
 * the counts of every metric at that moment, the window and threshold, and the trace ids of the
 * subject's latest requests. Open until an admin resolves it (unlock or keep locked).
 */
export const guardIncidents = pgTable(
  'guard_incidents',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull(),
    /** `user:<user id>` or `key:<api key id>`: the counters' subject. */
    subject: text('subject').notNull(),
    subjectType: text('subject_type', { enum: ['user', 'api_key'] }).notNull(),
    /** The user; for an API key, the admin who issued it. */
    userId: uuid('user_id').notNull(),
    apiKeyId: uuid('api_key_id'),
    /** The user's e-mail or the key's name, as it was. */
    subjectLabel: text('subject_label').notNull(),
    role: text('role').notNull(),
    metric: text('metric').notNull(),
    count: bigint('count', { mode: 'number' }).notNull(),
    warn: integer('warn').notNull(),
    block: integer('block').notNull(),
    windowSeconds: integer('window_seconds').notNull(),
    /** Every metric's count in its window when the incident opened. */
    counts: jsonb('counts').notNull().default(sql`'{}'::jsonb`),
    traceIds: jsonb('trace_ids').notNull().default(sql`'[]'::jsonb`),
    /** Sessions ended and API keys revoked when it opened. */
    sessionsRevoked: integer('sessions_revoked').notNull().default(0),
    apiKeysRevoked: integer('api_keys_revoked').notNull().default(0),
    status: text('status', { enum: ['open', 'resolved'] })
      .notNull()
      .default('open'),
    openedAt: ts('opened_at').notNull().defaultNow(),
    resolvedAt: ts('resolved_at'),
    resolvedBy: uuid('resolved_by'),
    resolution: text('resolution', { enum: ['unlocked', 'kept_locked'] }),
    note: text('note'),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    index('guard_incidents_status_idx').on(t.orgId, t.status, t.id),
    // One open incident per subject at a time: a second process crossing the same block joins it.
    uniqueIndex('guard_incidents_open_key').on(t.orgId, t.subject).where(sql`status = 'open'`),
  ],
);
