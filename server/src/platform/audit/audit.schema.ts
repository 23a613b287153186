import { sql } from 'drizzle-orm';
import { index, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { organizations } from '../auth/auth.schema.js';

/**
 * The security audit log (issue 22): one row per security event of an organization (sign-in,
 * failed sign-in, lockout, role change, member invited or removed, API key issued or revoked,
 * export, import, bulk archive, delete for good). Append-only for the app role: it may SELECT and
 * INSERT, never UPDATE or DELETE (grants and a trigger, in the migration). Ids are UUIDv7, so the
 * primary key's order is the log's order.
 */
export const auditLog = pgTable(
  'audit_log',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull(),
    occurredAt: timestamp('occurred_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
    /** `<area>.<verb>`, e.g. `auth.sign_in_failed`, `api_key.issued` (AUDIT_ACTIONS). */
    action: text('action').notNull(),
    actorType: text('actor_type', { enum: ['user', 'api_key', 'system'] }).notNull(),
    actorId: text('actor_id'),
    /** The actor as a person reads it: a user's e-mail, a key's name. */
    actorLabel: text('actor_label'),
    ip: text('ip'),
    userAgent: text('user_agent'),
    traceId: text('trace_id'),
    targetType: text('target_type'),
    targetId: text('target_id'),
    details: jsonb('details').notNull().default(sql`'{}'::jsonb`),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    index('audit_log_actor_idx').on(t.orgId, t.actorId, t.id),
    index('audit_log_action_idx').on(t.orgId, t.action, t.id),
  ],
);
