import { index, jsonb, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { idColumn, isoTimestamp as ts } from '../../db/columns.js';
import { organizations } from '../../platform/auth/auth.schema.js';

/**
 * The consent ledger (kept small until issue 25's lands): one row per consent given or withdrawn,
 * by whom (`contact_id`, or a record of another object), for which channel and purpose, from where
 * (`source`: `form:<id>`), with its proof (what was shown, the form's version, the time, the IP).
 * Append-only for the app: a withdrawal is a new row.
 */
export const consents = pgTable(
  'consents',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    /** The record that consented: a contact, or a record of another object (`object`). */
    object: text('object').notNull().default('contact'),
    contactId: uuid('contact_id').notNull(),
    /** `email`, `sms`, `phone`, `any`. */
    channel: text('channel').notNull(),
    /** `marketing`, `newsletter`, ... as the form says. */
    purpose: text('purpose').notNull(),
    /** `granted` or `withdrawn`. */
    status: text('status').notNull(),
    source: text('source').notNull(),
    /** `{form_id, form_version, text, ip, user_agent, at}`. */
    proof: jsonb('proof').notNull(),
    at: ts('at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    index('consents_contact_idx').on(t.orgId, t.object, t.contactId, t.at),
  ],
);
