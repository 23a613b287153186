import {
  boolean,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { idColumn } from '../../db/columns.js';
import { organizations } from '../auth/auth.schema.js';
import type { SelectOption } from './registry.types.js';
import type { StatusConfigOut } from './status-field.js';

/** Fields an admin added to a standard object; values live in the record's `custom` jsonb. */
export const customFields = pgTable(
  'custom_fields',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    object: text('object').notNull(),
    key: text('key').notNull(),
    label: text('label').notNull(),
    type: text('type').notNull(),
    options: jsonb('options').$type<SelectOption[]>(),
    /** For status fields: the statuses, their kinds, roles and allowed moves (status-field.ts). */
    statuses: jsonb('statuses').$type<StatusConfigOut>(),
    /** For relation fields: the object the value points to. */
    relationObject: text('relation_object'),
    /**
     * For relation fields: many-to-many (issue 21). The values are rows of `record_links`, not a
     * key of the record's `custom`; only custom objects' fields may be many.
     */
    relationMany: boolean('relation_many').notNull().default(false),
    required: boolean('required').notNull().default(false),
    description: text('description'),
    position: integer('position').notNull(),
    retiredAt: timestamp('retired_at', { withTimezone: true, mode: 'string' }),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex('custom_fields_key').on(t.orgId, t.object, t.key),
  ],
);
