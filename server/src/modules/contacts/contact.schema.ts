import { sql } from 'drizzle-orm';
import {
  boolean,
  foreignKey,
  index,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { auditColumns, idColumn, isoTimestamp as ts } from '../../db/columns.js';
import { organizations, users } from '../../platform/auth/auth.schema.js';
import { companies } from '../companies/company.schema.js';

/** One phone number: normalized to E.164 when it parses, with what was typed kept. */
export type PhoneValue = { e164: string | null; raw: string; primary: boolean; label?: string | undefined };
export type EmailValue = { value: string; primary: boolean; label?: string | undefined };

export const contacts = pgTable(
  'contacts',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    firstName: text('first_name'),
    lastName: text('last_name'),
    /** The contact's role at work ("Head of Sales"). */
    jobTitle: text('job_title'),
    /** The primary e-mail, lower-cased (denormalized from `emails` for lists, sort and search). */
    email: text('email'),
    emails: jsonb('emails').$type<EmailValue[]>().notNull().default(sql`'[]'::jsonb`),
    /** The primary phone in E.164 (or as typed when it does not parse). */
    phone: text('phone'),
    phones: jsonb('phones').$type<PhoneValue[]>().notNull().default(sql`'[]'::jsonb`),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    ownerId: uuid('owner_id').references(() => users.id, { onDelete: 'set null' }),
    source: text('source'),
    /** Set when the contact is a lead: new, working, qualified, converted, disqualified. */
    leadStatus: text('lead_status'),
    notes: text('notes'),
    custom: jsonb('custom').$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    ...auditColumns(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    index('contacts_created_idx').on(t.orgId, t.createdAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
    index('contacts_updated_idx').on(t.orgId, t.updatedAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
    index('contacts_owner_idx').on(
      t.orgId,
      t.ownerId,
      t.createdAt.desc().nullsFirst(),
      t.id.desc().nullsFirst(),
    ),
    index('contacts_name_idx').on(t.orgId, t.lastName, t.firstName, t.id),
    index('contacts_email_idx').on(t.orgId, t.email, t.id),
    index('contacts_tags_idx').using('gin', t.tags),
  ],
);

/** Every e-mail of every contact: makes an e-mail unique per tenant among active contacts. */
export const contactEmails = pgTable(
  'contact_emails',
  {
    orgId: uuid('org_id').notNull(),
    contactId: uuid('contact_id').notNull(),
    email: text('email').notNull(),
    active: boolean('active').notNull().default(true),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.contactId, t.email] }),
    uniqueIndex('contact_emails_active_key').on(t.orgId, t.email).where(sql`${t.active}`),
    foreignKey({ columns: [t.orgId, t.contactId], foreignColumns: [contacts.orgId, contacts.id] }).onDelete(
      'cascade',
    ),
  ],
);

/** A contact's companies: any number, at most one primary. */
export const contactCompanies = pgTable(
  'contact_companies',
  {
    orgId: uuid('org_id').notNull(),
    contactId: uuid('contact_id').notNull(),
    companyId: uuid('company_id').notNull(),
    isPrimary: boolean('is_primary').notNull().default(false),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.contactId, t.companyId] }),
    index('contact_companies_company_idx').on(t.orgId, t.companyId),
    uniqueIndex('contact_companies_primary_key').on(t.orgId, t.contactId).where(sql`${t.isPrimary}`),
    foreignKey({ columns: [t.orgId, t.contactId], foreignColumns: [contacts.orgId, contacts.id] }).onDelete(
      'cascade',
    ),
    foreignKey({ columns: [t.orgId, t.companyId], foreignColumns: [companies.orgId, companies.id] }).onDelete(
      'cascade',
    ),
  ],
);
