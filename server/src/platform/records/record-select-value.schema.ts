import { foreignKey, index, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { organizations } from '../auth/auth.schema.js';
import { records } from './record.schema.js';

/**
 * The values of custom objects' select, multi-select and status fields, one row per record, field
 * and value, written by triggers on `records` (migration 0055) from the record's `custom`. Why a
 * table and not an index on `custom`: under the forced RLS policy the planner uses an index only
 * for LEAKPROOF operators, and no jsonb operator is (`custom @> ...`, `custom->>'k' = ...`), so a
 * GIN or expression index on `custom` is never used for a tenant's query. Here the query
 * language's eq / in / hasAny / hasAll compile to a semi-join of uuid and text equalities, which
 * are LEAKPROOF: the planner reads a rare value from `record_select_values_value_idx`, or walks
 * the page's sort index and probes the primary key per record when the value is common.
 */
export const recordSelectValues = pgTable(
  'record_select_values',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    recordId: uuid('record_id').notNull(),
    objectId: uuid('object_id').notNull(),
    fieldKey: text('field_key').notNull(),
    value: text('value').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.recordId, t.fieldKey, t.value] }),
    foreignKey({
      columns: [t.orgId, t.recordId],
      foreignColumns: [records.orgId, records.id],
      name: 'record_select_values_record_fk',
    }).onDelete('cascade'),
    index('record_select_values_value_idx').on(t.orgId, t.objectId, t.fieldKey, t.value, t.recordId),
  ],
);
