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
import { auditColumns, idColumn } from '../../db/columns.js';
import { organizations, users } from '../auth/auth.schema.js';
import { customObjects } from '../registry/custom-object.schema.js';

/**
 * The records of every custom object (DESIGN "The spine": one generic records table keyed by
 * object). Values live in `custom`, validated against the registry; `search` is the lower-cased
 * text of the object's searchable fields, written by the record engine and served by the trigram
 * index through `cairn_search_record_ids` (migration 0019, as contacts' through 0005).
 */
export const records = pgTable(
  'records',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    objectId: uuid('object_id').notNull(),
    ownerId: uuid('owner_id').references(() => users.id, { onDelete: 'set null' }),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    custom: jsonb('custom').$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    search: text('search').notNull().default(''),
    /**
     * The record's number in its object (`CASE-00042` is 42), when the object numbers its records:
     * taken from `record_number_counters` in the creating transaction, so gap-free and never reused.
     */
    number: integer('number'),
    ...auditColumns(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    foreignKey({
      columns: [t.orgId, t.objectId],
      foreignColumns: [customObjects.orgId, customObjects.id],
      name: 'records_object_fk',
    }).onDelete('cascade'),
    index('records_created_idx').on(
      t.orgId,
      t.objectId,
      t.createdAt.desc().nullsFirst(),
      t.id.desc().nullsFirst(),
    ),
    index('records_updated_idx').on(
      t.orgId,
      t.objectId,
      t.updatedAt.desc().nullsFirst(),
      t.id.desc().nullsFirst(),
    ),
    index('records_owner_idx').on(t.orgId, t.objectId, t.ownerId, t.id),
    uniqueIndex('records_number_key').on(t.orgId, t.objectId, t.number),
    index('records_tags_idx').using('gin', t.tags),
    index('records_custom_idx').using('gin', t.custom.op('jsonb_path_ops')),
  ],
);
