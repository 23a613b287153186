import { foreignKey, index, pgTable, primaryKey, uuid } from 'drizzle-orm/pg-core';
import { isoTimestamp as ts } from '../../db/columns.js';
import { organizations } from '../auth/auth.schema.js';
import { customFields } from '../registry/custom-field.schema.js';
import { records } from './record.schema.js';

/**
 * The links of many-to-many relation fields (issue 21): a record of a custom object (`from_id`)
 * linked by its field `field_id` to a record of the field's object (`to_id`: a contact, a company,
 * an opportunity or another custom object's record, checked by the record engine on write). A
 * link goes when its field or its record does; one to a record deleted since is never read (reads
 * join the target's table).
 */
export const recordLinks = pgTable(
  'record_links',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    fieldId: uuid('field_id').notNull(),
    fromId: uuid('from_id').notNull(),
    toId: uuid('to_id').notNull(),
    createdBy: uuid('created_by'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.fieldId, t.fromId, t.toId] }),
    foreignKey({
      columns: [t.orgId, t.fieldId],
      foreignColumns: [customFields.orgId, customFields.id],
      name: 'record_links_field_fk',
    }).onDelete('cascade'),
    foreignKey({
      columns: [t.orgId, t.fromId],
      foreignColumns: [records.orgId, records.id],
      name: 'record_links_from_fk',
    }).onDelete('cascade'),
    // The other side: the records linking to a record by a field.
    index('record_links_to_idx').on(t.orgId, t.fieldId, t.toId, t.fromId),
    // A record's links whatever the field (purging a deleted target's links).
    index('record_links_to_any_idx').on(t.orgId, t.toId),
  ],
);
