import { sql } from 'drizzle-orm';
import { index, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { idColumn } from '../../db/columns.js';
import { organizations } from '../../platform/auth/auth.schema.js';

/** A saved view: a named filter + sort + columns of one object, private or shared with the tenant. */
export const savedViews = pgTable(
  'saved_views',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    object: text('object').notNull(),
    name: text('name').notNull(),
    /** The list query (filter, sort, q) in the query language. */
    query: jsonb('query').$type<Record<string, unknown>>().notNull(),
    columns: text('columns').array().notNull().default(sql`'{}'::text[]`),
    visibility: text('visibility', { enum: ['private', 'shared'] })
      .notNull()
      .default('private'),
    ownerId: uuid('owner_id').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    index('saved_views_object_idx').on(t.orgId, t.object, t.name),
  ],
);
