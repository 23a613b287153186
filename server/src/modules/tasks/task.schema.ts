import { boolean, index, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { auditColumns, idColumn, isoTimestamp as ts } from '../../db/columns.js';
import { organizations, users } from '../../platform/auth/auth.schema.js';

import { TASK_PRIORITIES } from '../../platform/registry/standard-objects.js';

export { TASK_PRIORITIES };

/** A to-do, optionally due, assigned, and linked to a record (contact, company, opportunity...). */
export const tasks = pgTable(
  'tasks',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    title: text('title').notNull(),
    description: text('description'),
    dueAt: ts('due_at'),
    /** A due date without a time of day: `due_at` holds the start of that day in UTC. */
    allDay: boolean('all_day').notNull().default(false),
    priority: text('priority', { enum: TASK_PRIORITIES }).notNull().default('normal'),
    assigneeId: uuid('assignee_id').references(() => users.id, { onDelete: 'set null' }),
    status: text('status', { enum: ['open', 'done'] })
      .notNull()
      .default('open'),
    completedAt: ts('completed_at'),
    completedBy: uuid('completed_by'),
    linkedObject: text('linked_object'),
    linkedId: uuid('linked_id'),
    remindAt: ts('remind_at'),
    reminderSentAt: ts('reminder_sent_at'),
    ...auditColumns(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    index('tasks_assignee_idx').on(t.orgId, t.assigneeId, t.status, t.dueAt),
    index('tasks_due_idx').on(t.orgId, t.status, t.dueAt),
    index('tasks_linked_idx').on(t.orgId, t.linkedObject, t.linkedId),
  ],
);
