import { bigint, foreignKey, index, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { idColumn, isoTimestamp as ts } from '../../db/columns.js';
import { organizations } from '../auth/auth.schema.js';
import { customObjects } from '../registry/custom-object.schema.js';
import { records } from './record.schema.js';

/**
 * Each change of a record's status field (issue 21): from, to, who, when and why. The time a
 * record spent in a status is the time between two of its rows; a record's current status was
 * entered at its last row.
 */
export const recordStatusHistory = pgTable(
  'record_status_history',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    recordId: uuid('record_id').notNull(),
    /** The status field's key. */
    field: text('field').notNull(),
    /** Null for a record's first status. */
    fromStatus: text('from_status'),
    toStatus: text('to_status').notNull(),
    reason: text('reason'),
    /** The actor (a user, an API key...), as in the event envelope. */
    changedBy: uuid('changed_by'),
    actorType: text('actor_type').notNull(),
    changedAt: ts('changed_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    foreignKey({
      columns: [t.orgId, t.recordId],
      foreignColumns: [records.orgId, records.id],
      name: 'record_status_history_record_fk',
    }).onDelete('cascade'),
    index('record_status_history_record_idx').on(t.orgId, t.recordId, t.field, t.changedAt),
  ],
);

/**
 * The last record number given out per custom object (issue 21): the creating transaction takes
 * the next one with one `insert ... on conflict do update`, which locks the row until it commits,
 * so concurrent creates get consecutive numbers and a rolled-back create gives its number back.
 */
export const recordNumberCounters = pgTable(
  'record_number_counters',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    objectId: uuid('object_id').notNull(),
    lastValue: bigint('last_value', { mode: 'number' }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.objectId] }),
    foreignKey({
      columns: [t.orgId, t.objectId],
      foreignColumns: [customObjects.orgId, customObjects.id],
      name: 'record_number_counters_object_fk',
    }).onDelete('cascade'),
  ],
);
