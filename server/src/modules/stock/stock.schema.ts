import { sql } from 'drizzle-orm';
import {
  boolean,
  foreignKey,
  index,
  numeric,
  pgTable,
  primaryKey,
  text,
  unique,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { auditColumns, idColumn, isoTimestamp } from '../../db/columns.js';
import { organizations } from '../../platform/auth/auth.schema.js';

/** A warehouse (issue 29); one is the organization's default, where orders reserve. */
export const warehouses = pgTable(
  'warehouses',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    name: text('name').notNull(),
    isDefault: boolean('is_default').notNull().default(false),
    ...auditColumns(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    unique('warehouses_name_key').on(t.orgId, t.name),
    uniqueIndex('warehouses_default_key').on(t.orgId).where(sql`${t.isDefault}`),
  ],
);

/**
 * A product's stock in a warehouse: `on_hand` is there, `reserved` is promised to open orders.
 * A reservation is one conditional UPDATE (`on_hand - reserved >= qty`), so two orders racing
 * for the last unit serialize on the row and the second finds it gone.
 */
export const stockLevels = pgTable(
  'stock_levels',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    warehouseId: uuid('warehouse_id').notNull(),
    productId: uuid('product_id').notNull(),
    onHand: numeric('on_hand', { precision: 18, scale: 6 }).notNull().default('0'),
    reserved: numeric('reserved', { precision: 18, scale: 6 }).notNull().default('0'),
    updatedAt: isoTimestamp('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.warehouseId, t.productId] }),
    foreignKey({
      name: 'stock_levels_warehouse_fk',
      columns: [t.orgId, t.warehouseId],
      foreignColumns: [warehouses.orgId, warehouses.id],
    }).onDelete('cascade'),
  ],
);

/**
 * The stock ledger: every change of a stock level, append-only. `kind`: adjustment, reservation,
 * release, fulfilment; `on_hand_change` and `reserved_change` are signed.
 */
export const stockMovements = pgTable(
  'stock_movements',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    warehouseId: uuid('warehouse_id').notNull(),
    productId: uuid('product_id').notNull(),
    kind: text('kind').notNull(),
    onHandChange: numeric('on_hand_change', { precision: 18, scale: 6 }).notNull().default('0'),
    reservedChange: numeric('reserved_change', { precision: 18, scale: 6 }).notNull().default('0'),
    onHandAfter: numeric('on_hand_after', { precision: 18, scale: 6 }).notNull(),
    reservedAfter: numeric('reserved_after', { precision: 18, scale: 6 }).notNull(),
    orderId: uuid('order_id'),
    reason: text('reason'),
    createdAt: isoTimestamp('created_at').notNull().defaultNow(),
    createdBy: uuid('created_by'),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    index('stock_movements_product_idx').on(t.orgId, t.productId, t.createdAt),
  ],
);
