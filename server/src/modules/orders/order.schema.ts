import { sql } from 'drizzle-orm';
import {
  date,
  foreignKey,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  text,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';
import { auditColumns, idColumn, isoTimestamp } from '../../db/columns.js';
import { organizations } from '../../platform/auth/auth.schema.js';

/** The last order number given per organization and year (locked like `quote_counters`: gap-free). */
export const orderCounters = pgTable(
  'order_counters',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    year: integer('year').notNull(),
    last: integer('last').notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.year] })],
);

/**
 * An order, converted from an accepted quote version (one order per quote: `quote_id` is
 * unique, so converting twice gives the same order). Money copied from the quote; `org_total` is
 * the total in the organization's currency at the dated rate (`exchange_rate`; 1 when the same).
 */
export const orders = pgTable(
  'orders',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    number: text('number').notNull(),
    /** open, partly_fulfilled, fulfilled, cancelled. */
    status: text('status').notNull().default('open'),
    quoteId: uuid('quote_id').notNull(),
    opportunityId: uuid('opportunity_id'),
    contactId: uuid('contact_id'),
    companyId: uuid('company_id'),
    contactName: text('contact_name'),
    companyName: text('company_name'),
    ownerId: uuid('owner_id'),
    title: text('title').notNull(),
    currency: text('currency').notNull(),
    warehouseId: uuid('warehouse_id'),
    subtotal: numeric('subtotal', { precision: 20, scale: 4 }).notNull(),
    discountTotal: numeric('discount_total', { precision: 20, scale: 4 }).notNull(),
    taxTotal: numeric('tax_total', { precision: 20, scale: 4 }).notNull(),
    total: numeric('total', { precision: 20, scale: 4 }).notNull(),
    taxes: jsonb('taxes')
      .$type<{ rate: string; base: string; tax: string }[]>()
      .notNull()
      .default(sql`'[]'::jsonb`),
    orgCurrency: text('org_currency').notNull(),
    exchangeRate: numeric('exchange_rate', { precision: 20, scale: 10 }).notNull(),
    rateOn: date('rate_on', { mode: 'string' }),
    orgTotal: numeric('org_total', { precision: 20, scale: 4 }).notNull(),
    cancelledAt: isoTimestamp('cancelled_at'),
    fulfilledAt: isoTimestamp('fulfilled_at'),
    paidAt: isoTimestamp('paid_at'),
    ...auditColumns(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    unique('orders_number_key').on(t.orgId, t.number),
    unique('orders_quote_key').on(t.orgId, t.quoteId),
    index('orders_created_idx').on(t.orgId, t.createdAt.desc(), t.id.desc()),
  ],
);

/** A line of an order (copied from the quote's), with how much of it was delivered. */
export const orderLines = pgTable(
  'order_lines',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    orderId: uuid('order_id').notNull(),
    position: integer('position').notNull(),
    productId: uuid('product_id'),
    sku: text('sku'),
    description: text('description').notNull(),
    unit: text('unit'),
    quantity: numeric('quantity', { precision: 18, scale: 6 }).notNull(),
    fulfilledQuantity: numeric('fulfilled_quantity', { precision: 18, scale: 6 }).notNull().default('0'),
    unitPrice: numeric('unit_price', { precision: 18, scale: 6 }).notNull(),
    discountKind: text('discount_kind'),
    discountValue: numeric('discount_value', { precision: 18, scale: 6 }),
    taxRate: numeric('tax_rate', { precision: 7, scale: 4 }).notNull().default('0'),
    gross: numeric('gross', { precision: 20, scale: 4 }).notNull(),
    discount: numeric('discount', { precision: 20, scale: 4 }).notNull(),
    net: numeric('net', { precision: 20, scale: 4 }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    index('order_lines_order_idx').on(t.orgId, t.orderId, t.position),
    foreignKey({
      name: 'order_lines_order_fk',
      columns: [t.orgId, t.orderId],
      foreignColumns: [orders.orgId, orders.id],
    }).onDelete('cascade'),
  ],
);
