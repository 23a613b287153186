import { integer, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { isoTimestamp } from '../../db/columns.js';
import { organizations } from '../../platform/auth/auth.schema.js';

/**
 * A retention rule: what happens to an object's records nobody has changed for `after_months`
 * months (`archive`, or `erase` for contacts: the GDPR erasure). One rule per object; the
 * retention job applies them every day.
 */
export const retentionRules = pgTable(
  'retention_rules',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    object: text('object').notNull(),
    action: text('action').$type<'archive' | 'erase'>().notNull(),
    afterMonths: integer('after_months').notNull(),
    createdBy: uuid('created_by'),
    createdAt: isoTimestamp('created_at').notNull().defaultNow(),
    updatedAt: isoTimestamp('updated_at').notNull().defaultNow(),
    lastRunAt: isoTimestamp('last_run_at'),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.object] })],
);
