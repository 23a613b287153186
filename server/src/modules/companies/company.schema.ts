import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  foreignKey,
  index,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uuid,
} from 'drizzle-orm/pg-core';
import { auditColumns, idColumn } from '../../db/columns.js';
import { organizations, users } from '../../platform/auth/auth.schema.js';

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
    id: idColumn(),
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
    /** The parent company (a subsidiary's owner); cleared when the parent is deleted. */
    parentId: uuid('parent_id'),
    notes: text('notes'),
    custom: jsonb('custom').$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    ...auditColumns(),
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
    index('companies_parent_idx').on(t.orgId, t.parentId),
    foreignKey({
      name: 'companies_parent_fk',
      columns: [t.orgId, t.parentId],
      foreignColumns: [t.orgId, t.id] as [AnyPgColumn, AnyPgColumn],
    }),
  ],
);
