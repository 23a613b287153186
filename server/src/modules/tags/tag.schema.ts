import { sql } from 'drizzle-orm';
import { pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { idColumn } from '../../db/columns.js';
import { organizations } from '../../platform/auth/auth.schema.js';

/** A tenant's tags: free-form, unique case-insensitively. Records carry tag names in `tags text[]`. */
export const tags = pgTable(
  'tags',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    name: text('name').notNull(),
    color: text('color'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex('tags_name_key').on(t.orgId, sql`lower(${t.name})`),
  ],
);
