import { sql } from 'drizzle-orm';
import { index, integer, pgTable, primaryKey, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { idColumn, isoTimestamp as ts } from '../../db/columns.js';
import { organizations } from '../../platform/auth/auth.schema.js';

/**
 * The health of one integration of an organization (issue 30): a mail channel's SMTP or IMAP
 * side, a Twilio number, a webhook subscription, a CalDAV calendar, Stripe, the AI provider.
 * `(kind, ref)` names it: `kind` is `smtp`, `imap`, `twilio`, `webhook`, `caldav`, `stripe` or
 * `ai`; `ref` the id of the channel, subscription or connection it is about ('' for one per org).
 * Written by `recordIntegration` where the integration runs; never a row per call.
 */
export const integrationHealth = pgTable(
  'integration_health',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    kind: text('kind').notNull(),
    ref: text('ref').notNull().default(''),
    /** What an admin calls it (the channel's name, the webhook's URL). */
    name: text('name').notNull(),
    lastSuccessAt: ts('last_success_at'),
    lastErrorAt: ts('last_error_at'),
    lastError: text('last_error'),
    /** Failures since the last success. */
    consecutiveFailures: integer('consecutive_failures').notNull().default(0),
    /** `ok`, `missing_credentials`, `expiring_token`, `expired_token` or `disabled`. */
    configState: text('config_state').notNull().default('ok'),
    configDetail: text('config_detail'),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex('integration_health_key').on(t.orgId, t.kind, t.ref),
  ],
);

/** Successes and errors of one integration per hour (UTC hour start): the error-rate chart. */
export const integrationHealthHours = pgTable(
  'integration_health_hours',
  {
    orgId: uuid('org_id').notNull(),
    id: idColumn(),
    integrationId: uuid('integration_id').notNull(),
    hour: ts('hour').notNull(),
    successes: integer('successes').notNull().default(0),
    errors: integer('errors').notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex('integration_health_hours_key').on(t.orgId, t.integrationId, t.hour),
  ],
);

/**
 * An alert an admin acts on, deduplicated by `fingerprint`: at most one not-resolved alert per
 * fingerprint (a partial unique index), whose `count` and `last_seen_at` grow with each repeat.
 * `status`: `open`, `acknowledged`, `snoozed` (until `snoozed_until`; open again after it) or
 * `resolved` (by an admin, or automatically when the integration succeeds again).
 */
export const opsAlerts = pgTable(
  'ops_alerts',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    fingerprint: text('fingerprint').notNull(),
    integrationId: uuid('integration_id'),
    title: text('title').notNull(),
    detail: text('detail'),
    status: text('status').notNull().default('open'),
    count: integer('count').notNull().default(1),
    firstSeenAt: ts('first_seen_at').notNull().default(sql`clock_timestamp()`),
    lastSeenAt: ts('last_seen_at').notNull().default(sql`clock_timestamp()`),
    acknowledgedBy: text('acknowledged_by'),
    acknowledgedAt: ts('acknowledged_at'),
    snoozedUntil: ts('snoozed_until'),
    resolvedAt: ts('resolved_at'),
    /** The admin who resolved it; null when it resolved itself. */
    resolvedBy: text('resolved_by'),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex('ops_alerts_open_fingerprint').on(t.orgId, t.fingerprint).where(sql`status <> 'resolved'`),
    index('ops_alerts_list_idx').on(t.orgId, t.lastSeenAt.desc()),
  ],
);

/**
 * API requests per hour per principal (an API key or a member signed in), counted in memory and
 * added here in batches (`api-usage.ts`): one row per principal and hour, never one per request.
 */
export const apiUsageHours = pgTable(
  'api_usage_hours',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    hour: ts('hour').notNull(),
    /** `api_key` or `user`. */
    principalType: text('principal_type').notNull(),
    /** The API key's id or the member's user id. */
    principalId: text('principal_id').notNull(),
    requests: integer('requests').notNull().default(0),
    /** Answers with a 4xx or 5xx status. */
    errors: integer('errors').notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex('api_usage_hours_key').on(t.orgId, t.hour, t.principalType, t.principalId),
  ],
);
