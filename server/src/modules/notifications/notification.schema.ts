import { sql } from 'drizzle-orm';
import { boolean, index, integer, pgTable, primaryKey, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { idColumn, isoTimestamp as ts } from '../../db/columns.js';
import { organizations } from '../../platform/auth/auth.schema.js';

/**
 * One in-app notification for one member (the recipient) of an organization: what happened
 * (`kind`), to which record, by whom. Repeats of the same kind, record and recipient within the
 * coalescing window update the unread row (`count`) instead of adding one.
 */
export const notifications = pgTable(
  'notifications',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    recipientId: uuid('recipient_id').notNull(),
    /** `assigned`, `status_changed`, `task_assigned`, `task_due`, `task_overdue`, `task_reminder`, `mention`. */
    kind: text('kind').notNull(),
    /** The record it is about (a note's mention: the record the note is on). */
    object: text('object').notNull(),
    recordId: uuid('record_id').notNull(),
    /** The record's name when it happened. */
    recordName: text('record_name'),
    /** Who did it: a user id, or null for the system (a due task, a reminder). */
    actorId: uuid('actor_id'),
    /** A short kind-specific detail: the new stage, the mentioning note's first words. */
    detail: text('detail'),
    /** The event that made it (the latest one, when coalesced). */
    eventId: uuid('event_id').notNull(),
    /** How many events were coalesced into it. */
    count: integer('count').notNull().default(1),
    /** A key that makes a notification once-only (a task due on a day): unique per recipient. */
    onceKey: text('once_key'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    readAt: ts('read_at'),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    index('notifications_recipient_idx').on(t.orgId, t.recipientId, t.updatedAt, t.id),
    index('notifications_unread_idx')
      .on(t.orgId, t.recipientId, t.kind, t.object, t.recordId)
      .where(sql`read_at is null`),
    uniqueIndex('notifications_once_key').on(t.orgId, t.recipientId, t.onceKey),
  ],
);

/** A member's choice per notification kind; a kind with no row has the defaults (in-app on, digest off). */
export const notificationSettings = pgTable(
  'notification_settings',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').notNull(),
    kind: text('kind').notNull(),
    inApp: boolean('in_app').notNull().default(true),
    emailDigest: boolean('email_digest').notNull().default(false),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.userId, t.kind] })],
);
