import { foreignKey, index, pgTable, primaryKey, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { idColumn, isoTimestamp as ts } from '../../db/columns.js';
import { organizations } from '../../platform/auth/auth.schema.js';
import { records } from '../../platform/records/record.schema.js';

/**
 * Hand-offs between roles (issue 21): a record entering a status owned by another role than the
 * mover's waits in that role's queue (`state` 'waiting') until a member of the role accepts it
 * (becomes its owner) or denies it with a reason (the record returns to a chosen status). One
 * waiting hand-off per record and status field at most (a newer one cancels the older).
 */
export const handoffs = pgTable(
  'handoffs',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    recordId: uuid('record_id').notNull(),
    /** The custom object's key (as events name it). */
    object: text('object').notNull(),
    /** The status field's key and the status that the owning role owns. */
    field: text('field').notNull(),
    status: text('status').notNull(),
    /** The status the record came from (a denial returns it there unless told otherwise). */
    fromStatus: text('from_status'),
    /** The owning role's key: the queue the hand-off waits in. */
    role: text('role').notNull(),
    /** waiting, accepted, denied, cancelled (the record moved on before anyone decided). */
    state: text('state').notNull().default('waiting'),
    /** Who the queue's assignment rule suggests (round-robin, least open records); null: anyone. */
    assignedTo: uuid('assigned_to'),
    requestedBy: uuid('requested_by'),
    /** The record's owner when it was handed off: told when it is accepted or denied. */
    previousOwner: uuid('previous_owner'),
    requestedAt: ts('requested_at').notNull().defaultNow(),
    decidedBy: uuid('decided_by'),
    decidedAt: ts('decided_at'),
    reason: text('reason'),
    /** The status a denial returned the record to. */
    returnedTo: text('returned_to'),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    foreignKey({
      columns: [t.orgId, t.recordId],
      foreignColumns: [records.orgId, records.id],
      name: 'handoffs_record_fk',
    }).onDelete('cascade'),
    index('handoffs_queue_idx').on(t.orgId, t.role, t.state, t.requestedAt),
    index('handoffs_record_idx').on(t.orgId, t.recordId, t.field),
  ],
);

/** A queue's settings (one per owning role): how its new hand-offs are assigned. */
export const handoffQueues = pgTable(
  'handoff_queues',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    role: text('role').notNull(),
    /** manual (anyone of the role takes it), round_robin, least_open (fewest open owned records). */
    assignment: text('assignment').notNull().default('manual'),
    /** The member round-robin assigned last. */
    lastAssigned: uuid('last_assigned'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.id] }), uniqueIndex('handoff_queues_role').on(t.orgId, t.role)],
);
