import { sql } from 'drizzle-orm';
import { jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { organizations } from '../auth/auth.schema.js';

/**
 * The local outbox of system e-mail (issue 22): where messages go when no `SMTP_URL` is
 * configured, so an install with no mail account still works (its admins read them at
 * `GET /api/v1/system-mail` and hand the link over). A message is kept in the organization it
 * concerns: an invitation in the inviting one, a message to a user in each organization the user
 * belongs to.
 */
export const systemMail = pgTable(
  'system_mail',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    /** `password_reset`, `email_verification`, `signup_attempt`, `invitation`, `quote`. */
    kind: text('kind').notNull(),
    recipient: text('recipient').notNull(),
    subject: text('subject').notNull(),
    text: text('text').notNull(),
    /** Files sent with the message (a quote's PDF), their bytes base64. */
    attachments: jsonb('attachments')
      .$type<{ filename: string; content_type: string; sha256: string; base64: string }[]>()
      .notNull()
      .default(sql`'[]'::jsonb`),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.id] })],
);
