import { index, integer, numeric, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { idColumn } from '../../db/columns.js';
import { organizations } from '../../platform/auth/auth.schema.js';

/**
 * A line item of a deal (issue 29): a product (copied: SKU, name, unit) or free text, with its
 * quantity, unit price from the deal's price list, discount and tax rate; money as on quote lines
 * (quote-totals.ts). A quote made from the deal copies them. Its foreign key to `opportunities`
 * (cascade) is in the migration's custom SQL (a module's schema file imports no other module's).
 */
export const opportunityLines = pgTable(
  'opportunity_lines',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    opportunityId: uuid('opportunity_id').notNull(),
    position: integer('position').notNull(),
    productId: uuid('product_id'),
    sku: text('sku'),
    description: text('description').notNull(),
    unit: text('unit'),
    quantity: numeric('quantity', { precision: 18, scale: 6 }).notNull(),
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
    index('opportunity_lines_opportunity_idx').on(t.orgId, t.opportunityId, t.position),
  ],
);
