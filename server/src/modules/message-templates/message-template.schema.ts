import { index, pgTable, primaryKey, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { idColumn, isoTimestamp as ts } from '../../db/columns.js';
import { organizations } from '../../platform/auth/auth.schema.js';

/**
 * The organization's message templates (issue 23): the one store of reusable texts, picked in the
 * inbox's reply box and the contact page's composer. Their variables are the sequences' and
 * broadcasts' (`{{contact.first_name}}`, `{{sender.name}}`, custom fields), plus the short forms
 * `{{first_name}}` and `{{company}}`. `kind`: `email`, `sms` or `any` (offered on every channel).
 */
export const messageTemplates = pgTable(
  'message_templates',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    name: text('name').notNull(),
    /** What `/` finds it by: lower-case letters, digits, `-` and `_`. */
    shortcut: text('shortcut').notNull(),
    kind: text('kind').$type<'email' | 'sms' | 'any'>().notNull().default('any'),
    subject: text('subject'),
    body: text('body').notNull(),
    createdBy: uuid('created_by'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex('message_templates_shortcut_key').on(t.orgId, t.shortcut),
    index('message_templates_name_idx').on(t.orgId, t.name),
  ],
);

/** A member's e-mail signature (issue 23): appended to the e-mails they reply or compose, never to SMS. */
export const memberSignatures = pgTable(
  'member_signatures',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').notNull(),
    signature: text('signature').notNull(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.userId] })],
);
