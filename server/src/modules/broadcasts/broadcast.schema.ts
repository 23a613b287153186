import { sql } from 'drizzle-orm';
import {
  boolean,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { auditColumns, idColumn, isoTimestamp as ts } from '../../db/columns.js';
import { organizations } from '../../platform/auth/auth.schema.js';

/**
 * A broadcast (issue 33): one e-mail or SMS to the contacts a list query selects (the query
 * language's `filter` and `q`), sent through the inbox's sending layer from `channel_id`.
 * `status`: `draft`, `scheduled` (to start at `scheduled_at`), `sending`, `sent` (every
 * recipient handed over), `cancelled`. `per_minute` throttles the channel (null: no throttle).
 */
export const broadcasts = pgTable(
  'broadcasts',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    name: text('name').notNull(),
    /** `email` or `sms`. */
    kind: text('kind').notNull(),
    channelId: uuid('channel_id').notNull(),
    subject: text('subject'),
    body: text('body').notNull(),
    /** The segment: `{ filter?, q? }` of the contacts' list query. */
    segment: jsonb('segment').$type<{ filter?: unknown; q?: string }>().notNull(),
    status: text('status').notNull().default('draft'),
    perMinute: integer('per_minute'),
    /** Send only to contacts whose latest consent for the channel is `granted` (else: not withdrawn). */
    requireConsent: boolean('require_consent').notNull().default(false),
    scheduledAt: ts('scheduled_at'),
    startedAt: ts('started_at'),
    finishedAt: ts('finished_at'),
    cancelledAt: ts('cancelled_at'),
    recipientCount: integer('recipient_count').notNull().default(0),
    ...auditColumns(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.id] }), index('broadcasts_status_idx').on(t.orgId, t.status)],
);

/**
 * One contact of a broadcast, materialized when it starts (unique per broadcast and contact, so a
 * contact is in it once). `status`: `pending` (not yet handed over), `queued` (its message is in
 * the sending layer: `message_id`, idempotency key `bc:<broadcast>:<contact>`), `skipped`
 * (`detail`: suppressed, consent, no address), `cancelled`, `unsubscribed`. Sent, delivered,
 * failed and bounced are read from its message and the delivery reports.
 */
export const broadcastRecipients = pgTable(
  'broadcast_recipients',
  {
    orgId: uuid('org_id').notNull(),
    id: idColumn(),
    broadcastId: uuid('broadcast_id').notNull(),
    contactId: uuid('contact_id').notNull(),
    address: text('address'),
    status: text('status').notNull().default('pending'),
    messageId: uuid('message_id'),
    detail: text('detail'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex('broadcast_recipients_contact').on(t.orgId, t.broadcastId, t.contactId),
    index('broadcast_recipients_pending_idx').on(t.orgId, t.broadcastId).where(sql`status = 'pending'`),
    foreignKey({
      columns: [t.orgId, t.broadcastId],
      foreignColumns: [broadcasts.orgId, broadcasts.id],
    }).onDelete('cascade'),
  ],
);
