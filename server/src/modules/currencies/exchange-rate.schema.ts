import { date, numeric, pgTable, primaryKey, text, unique, uuid } from 'drizzle-orm/pg-core';
import { idColumn, isoTimestamp } from '../../db/columns.js';
import { organizations } from '../../platform/auth/auth.schema.js';

/**
 * A dated exchange rate (issue 29): one unit of `currency` is worth `rate` units of the
 * organization's currency from `valid_on` on (the newest rate on or before a day applies).
 */
export const exchangeRates = pgTable(
  'exchange_rates',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    currency: text('currency').notNull(),
    validOn: date('valid_on', { mode: 'string' }).notNull(),
    rate: numeric('rate', { precision: 20, scale: 10 }).notNull(),
    createdAt: isoTimestamp('created_at').notNull().defaultNow(),
    createdBy: uuid('created_by'),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    unique('exchange_rates_day_key').on(t.orgId, t.currency, t.validOn),
  ],
);
