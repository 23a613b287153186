import { sql } from 'drizzle-orm';
import {
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
import { idColumn, isoTimestamp as ts } from '../../db/columns.js';
import { organizations } from '../../platform/auth/auth.schema.js';

/** One signing secret of a subscription, encrypted at rest (AES-256-GCM under the server's SECRET). */
export type StoredSecret = {
  /** `iv.tag.ciphertext`, base64url each. */
  sealed: string;
  created_at: string;
  /** After a rotation the old secret still signs until then (both signatures are sent). */
  expires_at: string | null;
};

/**
 * A webhook subscription (issue 31): the event types it wants, an optional filter in the query
 * language over the event's subject record, and the URL its deliveries are POSTed to, signed per
 * Standard Webhooks. `source` tells a subscription made in the settings from one made by an
 * automation tool's REST hook (`POST /api/v1/hooks`).
 */
export const webhookSubscriptions = pgTable(
  'webhook_subscriptions',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    targetUrl: text('target_url').notNull(),
    /** Catalogued event types, or `*` for all. */
    eventTypes: text('event_types').array().notNull(),
    /** A filter tree of the query language, applied to the event's subject record. */
    filter: jsonb('filter'),
    description: text('description'),
    /** `settings` or `rest_hook`. */
    source: text('source').notNull().default('settings'),
    /** `active` or `disabled`. */
    status: text('status').notNull().default('active'),
    disabledReason: text('disabled_reason'),
    secrets: jsonb('secrets').$type<StoredSecret[]>().notNull(),
    /** The first failure of the current run of failures; null once a delivery succeeds. */
    failingSince: ts('failing_since'),
    createdBy: text('created_by'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    index('webhook_subscriptions_status_idx').on(t.orgId, t.status),
  ],
);

/**
 * One event for one subscription: the exact bytes sent (`payload`, signed again at each attempt
 * with a fresh timestamp), its state and the last attempt's outcome. `(subscription, event)` is
 * unique, so an event reaches a subscriber once however often it is dispatched.
 * `status`: `pending` (queued or retrying), `succeeded`, `dead` (attempts used up; redrive by hand).
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    orgId: uuid('org_id').notNull(),
    id: idColumn(),
    subscriptionId: uuid('subscription_id').notNull(),
    eventId: uuid('event_id').notNull(),
    eventType: text('event_type').notNull(),
    payload: text('payload').notNull(),
    status: text('status').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: ts('next_attempt_at'),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    lastResponseMs: integer('last_response_ms'),
    /** The event's time, to measure event-to-delivery time. */
    occurredAt: ts('occurred_at').notNull(),
    deliveredAt: ts('delivered_at'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex('webhook_deliveries_event_key').on(t.orgId, t.subscriptionId, t.eventId),
    index('webhook_deliveries_list_idx').on(t.orgId, t.subscriptionId, t.createdAt.desc(), t.id.desc()),
    index('webhook_deliveries_status_idx').on(t.orgId, t.status),
    foreignKey({
      columns: [t.orgId, t.subscriptionId],
      foreignColumns: [webhookSubscriptions.orgId, webhookSubscriptions.id],
    }).onDelete('cascade'),
  ],
);

/** Every attempt of a delivery: the delivery log an admin reads. */
export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    orgId: uuid('org_id').notNull(),
    id: idColumn(),
    deliveryId: uuid('delivery_id').notNull(),
    attempt: integer('attempt').notNull(),
    statusCode: integer('status_code'),
    /** A code when no HTTP answer came (`ssrf_loopback`, `timeout`...) or `http_<status>`. */
    error: text('error'),
    responseMs: integer('response_ms'),
    /** The answer's first 1,000 characters. */
    responseExcerpt: text('response_excerpt'),
    at: ts('at').notNull().default(sql`clock_timestamp()`),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    index('webhook_attempts_delivery_idx').on(t.orgId, t.deliveryId, t.attempt),
    foreignKey({
      columns: [t.orgId, t.deliveryId],
      foreignColumns: [webhookDeliveries.orgId, webhookDeliveries.id],
    }).onDelete('cascade'),
  ],
);
