import { sql } from 'drizzle-orm';
import { index, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { organizations, users } from '../../platform/auth/auth.schema.js';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'string' });

export type Address = {
  street?: string | undefined;
  city?: string | undefined;
  region?: string | undefined;
  postal_code?: string | undefined;
  country?: string | undefined;
};

export const companies = pgTable(
  'companies',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull().defaultRandom(),
    name: text('name').notNull(),
    /** Lower-case host name without `www.`, e.g. `acme.com`. */
    domain: text('domain'),
    website: text('website'),
    phone: text('phone'),
    address: jsonb('address').$type<Address>().notNull().default(sql`'{}'::jsonb`),
    industry: text('industry'),
    size: text('size'),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    ownerId: uuid('owner_id').references(() => users.id, { onDelete: 'set null' }),
    notes: text('notes'),
    custom: jsonb('custom').$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    createdBy: uuid('created_by'),
    updatedBy: uuid('updated_by'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    archivedAt: ts('archived_at'),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    index('companies_created_idx').on(t.orgId, t.createdAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
    index('companies_name_idx').on(t.orgId, t.name, t.id),
    index('companies_domain_idx').on(t.orgId, t.domain),
    index('companies_owner_idx').on(
      t.orgId,
      t.ownerId,
      t.createdAt.desc().nullsFirst(),
      t.id.desc().nullsFirst(),
    ),
    index('companies_tags_idx').using('gin', t.tags),
  ],
);
