import { sql } from 'drizzle-orm';
import { index, integer, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { idColumn } from '../../db/columns.js';
import { organizations } from '../../platform/auth/auth.schema.js';

/** A note, or an activity logged by hand (issue 20): a call, a meeting, an e-mail sent outside Cairn. */
export const NOTE_KINDS = ['note', 'call', 'meeting', 'email'] as const;
/** How a logged call went. */
export const CALL_OUTCOMES = ['connected', 'left_voicemail', 'no_answer', 'busy', 'wrong_number'] as const;

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
    kind: text('kind', { enum: NOTE_KINDS }).notNull().default('note'),
    /** When the logged activity happened (null: when it was written, `created_at`). */
    occurredAt: ts('occurred_at'),
    /** A call's outcome (`CALL_OUTCOMES`). */
    outcome: text('outcome', { enum: CALL_OUTCOMES }),
    /** A call's or a meeting's length in minutes. */
    durationMinutes: integer('duration_minutes'),
    /** Other records it concerns, as `object:id` (the contact's company...): their timelines show it. */
    related: text('related').array().notNull().default(sql`'{}'::text[]`),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    index('notes_linked_idx').on(t.orgId, t.linkedObject, t.linkedId, t.createdAt.desc().nullsFirst()),
  ],
);
