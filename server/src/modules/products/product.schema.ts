import { sql } from 'drizzle-orm';
import {
  boolean,
  date,
  foreignKey,
  index,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  text,
  unique,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { auditColumns, idColumn, isoTimestamp } from '../../db/columns.js';
import { organizations, users } from '../../platform/auth/auth.schema.js';

/**
 * Products (issue 29): a standard registry object (`product`) with its own table, so the generic
 * list, query, export, bulk, views and timeline paths serve it. The SKU is unique per organization.
 */
export const products = pgTable(
  'products',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    sku: text('sku').notNull(),
    name: text('name').notNull(),
    description: text('description'),
    /** What one of it is called on a line: `unit`, `hour`, `kg`, `licence`. */
    unit: text('unit').notNull().default('unit'),
    /** Whether a line may hold a fractional quantity of it (hours: yes; licences: no). */
    fractional: boolean('fractional').notNull().default(false),
    /** Whether an order may reserve more of it than a warehouse holds (its stock may go below zero). */
    backorders: boolean('backorders').notNull().default(false),
    active: boolean('active').notNull().default(true),
    /** Tax rate in percent (20 = 20 %); null: the line's own rate, else none. */
    taxRate: numeric('tax_rate', { precision: 7, scale: 4 }),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    ownerId: uuid('owner_id').references(() => users.id, { onDelete: 'set null' }),
    custom: jsonb('custom').$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    ...auditColumns(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    unique('products_sku_key').on(t.orgId, t.sku),
    index('products_created_idx').on(t.orgId, t.createdAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
    index('products_name_idx').on(t.orgId, t.name, t.id),
    index('products_tags_idx').using('gin', t.tags),
  ],
);

/** A price list: prices in one currency; one per currency, one the organization's default. */
export const priceLists = pgTable(
  'price_lists',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    name: text('name').notNull(),
    /** ISO 4217 code. */
    currency: text('currency').notNull(),
    isDefault: boolean('is_default').notNull().default(false),
    ...auditColumns(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    unique('price_lists_currency_key').on(t.orgId, t.currency),
    uniqueIndex('price_lists_default_key').on(t.orgId).where(sql`${t.isDefault}`),
  ],
);

/**
 * A product's price on a list, from `min_quantity` up (quantity tiers), valid from `valid_from`
 * to `valid_to` (inclusive dates; null: open-ended).
 */
export const productPrices = pgTable(
  'product_prices',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    priceListId: uuid('price_list_id').notNull(),
    productId: uuid('product_id').notNull(),
    /** Decimal, in the list's currency, per unit. */
    unitPrice: numeric('unit_price', { precision: 18, scale: 6 }).notNull(),
    minQuantity: numeric('min_quantity', { precision: 18, scale: 6 }).notNull().default('1'),
    validFrom: date('valid_from', { mode: 'string' }),
    validTo: date('valid_to', { mode: 'string' }),
    createdAt: isoTimestamp('created_at').notNull().defaultNow(),
    createdBy: uuid('created_by'),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    index('product_prices_lookup_idx').on(t.orgId, t.priceListId, t.productId, t.minQuantity),
    foreignKey({
      name: 'product_prices_list_fk',
      columns: [t.orgId, t.priceListId],
      foreignColumns: [priceLists.orgId, priceLists.id],
    }).onDelete('cascade'),
    foreignKey({
      name: 'product_prices_product_fk',
      columns: [t.orgId, t.productId],
      foreignColumns: [products.orgId, products.id],
    }).onDelete('cascade'),
  ],
);
