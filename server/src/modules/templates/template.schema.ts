import { pgTable, primaryKey, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { idColumn, isoTimestamp as ts } from '../../db/columns.js';
import { organizations } from '../../platform/auth/auth.schema.js';

/** The templates an organization applied (issue 21): one row each, so applying twice is a 409. */
export const appliedTemplates = pgTable(
  'applied_templates',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    key: text('key').notNull(),
    appliedBy: uuid('applied_by'),
    appliedAt: ts('applied_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.id] }), uniqueIndex('applied_templates_key').on(t.orgId, t.key)],
);
