import { sql } from 'drizzle-orm';
import {
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';
import { organizations } from '../auth/auth.schema.js';

/**
 * The transactional outbox and the immutable audit trail (DESIGN invariant 6): one row per
 * mutation, written in the mutation's transaction. The app role may only SELECT and INSERT.
 */
export const events = pgTable(
  'events',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull(),
    /** `<object>.<verb>`, e.g. `contact.updated`. */
    type: text('type').notNull(),
    version: integer('version').notNull().default(1),
    occurredAt: timestamp('occurred_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
    actorType: text('actor_type', { enum: ['user', 'api_key', 'workflow', 'system', 'import'] }).notNull(),
    actorId: text('actor_id'),
    subjectObject: text('subject_object').notNull(),
    subjectId: text('subject_id').notNull(),
    /** For updates: `{changes: {field: {before, after}}}`; otherwise the event's payload. */
    data: jsonb('data').notNull().default(sql`'{}'::jsonb`),
    traceId: text('trace_id'),
    /** Other records the event concerns, as `object:id` (a contact's company...): their timelines show it. */
    related: text('related').array().notNull().default(sql`'{}'::text[]`),
  },
  (t) => [
    index('events_related_idx').using('gin', t.related),
    primaryKey({ columns: [t.orgId, t.id] }),
    index('events_subject_idx').on(t.orgId, t.subjectObject, t.subjectId, t.occurredAt.desc().nullsFirst()),
    index('events_org_time_idx').on(t.orgId, t.occurredAt.desc().nullsFirst()),
  ],
);

/** Which consumer has handled which event: makes every consumer idempotent by event id. */
export const eventDeliveries = pgTable(
  'event_deliveries',
  {
    orgId: uuid('org_id').notNull(),
    eventId: uuid('event_id').notNull(),
    consumer: text('consumer').notNull(),
    handledAt: timestamp('handled_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.eventId, t.consumer] }),
    foreignKey({ columns: [t.orgId, t.eventId], foreignColumns: [events.orgId, events.id] }).onDelete(
      'cascade',
    ),
  ],
);
