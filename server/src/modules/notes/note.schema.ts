import { index, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { idColumn } from '../../db/columns.js';
import { organizations } from '../../platform/auth/auth.schema.js';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'string' });

/** A note on a record: rich text sanitized on the server, with its plain text for search. */
export const notes = pgTable(
  'notes',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    linkedObject: text('linked_object').notNull(),
    linkedId: uuid('linked_id').notNull(),
    /** Sanitized HTML (allowlist: p, br, strong, em, ul, ol, li, a, blockquote, code). */
    bodyHtml: text('body_html').notNull(),
    bodyText: text('body_text').notNull(),
    authorId: uuid('author_id'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    index('notes_linked_idx').on(t.orgId, t.linkedObject, t.linkedId, t.createdAt.desc().nullsFirst()),
  ],
);
