import { Decimal } from 'decimal.js';
import { and, asc, desc, eq, sql } from 'drizzle-orm';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError, badRequest, conflict, notFound } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { productsIn, trimDecimal } from '../products/product.service.js';
import type {
  StockAdjustmentInput,
  StockLevelView,
  WarehouseCreateInput,
  WarehouseView,
} from './stock.dto.js';
import { stockLevels, stockMovements, warehouses } from './stock.schema.js';

type WarehouseRow = typeof warehouses.$inferSelect;
type MovementKind = 'adjustment' | 'reservation' | 'release' | 'fulfilment';

const EVENT_OF = {
  adjustment: 'stock.adjusted',
  reservation: 'stock.reserved',
  release: 'stock.released',
  fulfilment: 'stock.fulfilled',
} as const;

const warehouseViewOf = (r: WarehouseRow): WarehouseView => ({
  id: r.id,
  name: r.name,
  is_default: r.isDefault,
  created_at: r.createdAt,
});

/** A warehouse of the tenant. @throws 404 (another tenant's too) */
export async function warehouseIn(scope: TenantScope, id: string): Promise<WarehouseRow> {
  const [row] = await scope.tx
    .select()
    .from(warehouses)
    .where(and(eq(warehouses.orgId, scope.ctx.orgId), eq(warehouses.id, id)));
  if (!row) throw notFound('Warehouse', id);
  return row;
}

/** The organization's default warehouse (where orders reserve), or none when it has none. */
export async function defaultWarehouseIn(scope: TenantScope): Promise<WarehouseRow | null> {
  const [row] = await scope.tx
    .select()
    .from(warehouses)
    .where(and(eq(warehouses.orgId, scope.ctx.orgId), eq(warehouses.isDefault, true)));
  return row ?? null;
}

export async function listWarehouses(services: Services, ctx: TenantContext): Promise<WarehouseView[]> {
  return withTenant(
    services.database,
    ctx,
    async (scope) =>
      (
        await scope.tx
          .select()
          .from(warehouses)
          .where(eq(warehouses.orgId, ctx.orgId))
          .orderBy(desc(warehouses.isDefault), asc(warehouses.name))
      ).map(warehouseViewOf),
    { readOnly: true },
  );
}

/** Adds a warehouse; the first one (or one asked to be) is the default. @throws 409 `name_taken` */
export async function createWarehouse(
  services: Services,
  ctx: TenantContext,
  input: WarehouseCreateInput,
): Promise<WarehouseView> {
  return withTenant(services.database, ctx, async (scope) => {
    const [taken] = await scope.tx
      .select({ id: warehouses.id })
      .from(warehouses)
      .where(and(eq(warehouses.orgId, ctx.orgId), eq(warehouses.name, input.name)));
    if (taken) throw conflict('A warehouse of this name exists', 'body.name', 'name_taken');
    const isDefault = input.is_default === true || (await defaultWarehouseIn(scope)) === null;
    if (isDefault)
      await scope.tx
        .update(warehouses)
        .set({ isDefault: false })
        .where(and(eq(warehouses.orgId, ctx.orgId), eq(warehouses.isDefault, true)));
    const [row] = await scope.tx
      .insert(warehouses)
      .values({
        orgId: ctx.orgId,
        name: input.name,
        isDefault,
        createdBy: ctx.actor.id,
        updatedBy: ctx.actor.id,
      })
      .returning();
    await emitEvent(scope, services.jobs, {
      type: 'warehouse.created',
      subject: { object: 'warehouse', id: row!.id },
      data: { name: row!.name, is_default: isDefault },
    });
    return warehouseViewOf(row!);
  });
}

export type StockMove = {
  kind: MovementKind;
  warehouseId: string;
  productId: string;
  /** Signed decimal changes of the stock on hand and of the reserved quantity. */
  onHand: string;
  reserved: string;
  orderId?: string | null;
  reason?: string | null;
};

/**
 * Refuses early, without waiting for any lock, a reservation the committed stock cannot hold: for
 * each product (its quantities summed) that does not allow back-orders, the warehouse's available
 * units (on hand minus reserved) must cover it. A conversion calls it before its work, so when the
 * last units are gone the rest are refused at once instead of queueing for the stock row; the
 * reservation itself (`moveStockIn`) still decides, under the row's lock.
 * @throws 409 `insufficient_stock` (the message `moveStockIn` gives)
 */
export async function assertStockAvailableIn(
  scope: TenantScope,
  warehouse: WarehouseRow,
  needs: { productId: string; quantity: string }[],
): Promise<void> {
  const wanted = new Map<string, Decimal>();
  for (const n of needs)
    wanted.set(n.productId, (wanted.get(n.productId) ?? new Decimal(0)).plus(n.quantity));
  if (wanted.size === 0) return;
  const products = await productsIn(scope, [...wanted.keys()]);
  const { rows } = await scope.conn.query<{ product_id: string; available: string }>(
    `select product_id, (on_hand - reserved)::text as available from stock_levels
      where org_id = $1 and warehouse_id = $2 and product_id = any($3::uuid[])`,
    [scope.ctx.orgId, warehouse.id, [...wanted.keys()]],
  );
  const available = new Map(rows.map((r) => [r.product_id, new Decimal(r.available)]));
  for (const [productId, quantity] of wanted) {
    const product = products.get(productId);
    if (!product || product.backorders) continue; // moveStockIn names an unknown product
    const left = available.get(productId) ?? new Decimal(0);
    if (left.lessThan(quantity))
      throw new AppError(
        409,
        'insufficient_stock',
        `Not enough ${product.name} in ${warehouse.name}: ${left.toString()} available`,
        { path: 'body.product_id' },
      );
  }
}

/**
 * Changes one product's stock in one warehouse: one conditional UPDATE of its level row (so two
 * transactions racing for the last unit serialize on the row lock, and the second re-reads the
 * row and finds it gone), one ledger row, one event. A change that lowers what is available
 * (on hand − reserved) below zero is refused unless the product allows back-orders.
 * @throws 409 `insufficient_stock`; 422 `reference_not_found` (product)
 */
export async function moveStockIn(scope: TenantScope, services: Services, move: StockMove) {
  const { ctx } = scope;
  const product = (await productsIn(scope, [move.productId])).get(move.productId);
  if (!product)
    throw new AppError(422, 'reference_not_found', 'No product with this id', { path: 'body.product_id' });
  const warehouse = await warehouseIn(scope, move.warehouseId);
  await scope.tx
    .insert(stockLevels)
    .values({ orgId: ctx.orgId, warehouseId: warehouse.id, productId: product.id })
    .onConflictDoNothing();
  const dOn = sql`${move.onHand}::numeric`;
  const dRes = sql`${move.reserved}::numeric`;
  const [level] = await scope.tx
    .update(stockLevels)
    .set({
      onHand: sql`${stockLevels.onHand} + ${dOn}`,
      reserved: sql`${stockLevels.reserved} + ${dRes}`,
      updatedAt: new Date().toISOString(),
    })
    .where(
      and(
        eq(stockLevels.orgId, ctx.orgId),
        eq(stockLevels.warehouseId, warehouse.id),
        eq(stockLevels.productId, product.id),
        product.backorders
          ? undefined
          : sql`(${stockLevels.onHand} + ${dOn} - ${stockLevels.reserved} - ${dRes} >= 0 OR ${dOn} - ${dRes} >= 0)`,
      ),
    )
    .returning();
  if (!level) {
    const [now] = await scope.tx
      .select()
      .from(stockLevels)
      .where(
        and(
          eq(stockLevels.orgId, ctx.orgId),
          eq(stockLevels.warehouseId, warehouse.id),
          eq(stockLevels.productId, product.id),
        ),
      );
    const available = now ? new Decimal(now.onHand).minus(now.reserved).toString() : '0';
    throw new AppError(
      409,
      'insufficient_stock',
      `Not enough ${product.name} in ${warehouse.name}: ${available} available`,
      { path: 'body.product_id' },
    );
  }
  await scope.tx.insert(stockMovements).values({
    orgId: ctx.orgId,
    warehouseId: warehouse.id,
    productId: product.id,
    kind: move.kind,
    onHandChange: move.onHand,
    reservedChange: move.reserved,
    onHandAfter: level.onHand,
    reservedAfter: level.reserved,
    orderId: move.orderId ?? null,
    reason: move.reason ?? null,
    createdBy: ctx.actor.id,
  });
  const quantity = move.kind === 'adjustment' ? move.onHand : new Decimal(move.reserved).abs().toString();
  await emitEvent(scope, services.jobs, {
    type: EVENT_OF[move.kind],
    subject: { object: 'product', id: product.id },
    data: {
      name: product.name,
      warehouse_id: warehouse.id,
      warehouse: warehouse.name,
      quantity: trimDecimal(quantity)!,
      on_hand: trimDecimal(level.onHand)!,
      reserved: trimDecimal(level.reserved)!,
      order_id: move.orderId ?? null,
      reason: move.reason ?? null,
    },
    related: move.orderId ? [{ object: 'order', id: move.orderId }] : [],
  });
  return level;
}

/** Adjusts the stock on hand by hand, with a reason (a count, a delivery, damage). */
export async function adjustStock(services: Services, ctx: TenantContext, input: StockAdjustmentInput) {
  return withTenant(services.database, ctx, async (scope) => {
    await warehouseIn(scope, input.warehouse_id).catch(() => {
      throw new AppError(422, 'reference_not_found', 'No warehouse with this id', {
        path: 'body.warehouse_id',
      });
    });
    const product = (await productsIn(scope, [input.product_id])).get(input.product_id);
    if (product && !product.fractional && /\.\d*[1-9]/.test(input.change))
      throw badRequest(
        `${product.name} is counted in whole ${product.unit}s: no fractional change`,
        'body.change',
        'fractional_quantity',
      );
    await moveStockIn(scope, services, {
      kind: 'adjustment',
      warehouseId: input.warehouse_id,
      productId: input.product_id,
      onHand: input.change,
      reserved: '0',
      reason: input.reason,
    });
    return (
      await stockLevelsIn(scope, { product_id: input.product_id, warehouse_id: input.warehouse_id })
    )[0]!;
  });
}

async function stockLevelsIn(
  scope: TenantScope,
  q: { product_id?: string | undefined; warehouse_id?: string | undefined },
): Promise<StockLevelView[]> {
  const rows = await scope.tx
    .select()
    .from(stockLevels)
    .where(
      and(
        eq(stockLevels.orgId, scope.ctx.orgId),
        q.product_id ? eq(stockLevels.productId, q.product_id) : undefined,
        q.warehouse_id ? eq(stockLevels.warehouseId, q.warehouse_id) : undefined,
      ),
    )
    .orderBy(asc(stockLevels.productId), asc(stockLevels.warehouseId))
    .limit(1000);
  const found = await productsIn(
    scope,
    rows.map((r) => r.productId),
  );
  return rows.map((r) => {
    const p = found.get(r.productId)!;
    return {
      warehouse_id: r.warehouseId,
      product_id: r.productId,
      sku: p.sku,
      product: p.name,
      on_hand: trimDecimal(r.onHand)!,
      reserved: trimDecimal(r.reserved)!,
      available: trimDecimal(new Decimal(r.onHand).minus(r.reserved).toFixed(6))!,
      backorders: p.backorders,
      updated_at: r.updatedAt,
    };
  });
}

/** Stock per product per warehouse (of one product, of one warehouse), at most 1,000 rows. */
export async function listStock(
  services: Services,
  ctx: TenantContext,
  q: { product_id?: string | undefined; warehouse_id?: string | undefined },
) {
  return withTenant(services.database, ctx, (scope) => stockLevelsIn(scope, q), { readOnly: true });
}

/** The stock ledger, newest first. */
export async function listMovements(
  services: Services,
  ctx: TenantContext,
  q: {
    product_id?: string | undefined;
    warehouse_id?: string | undefined;
    order_id?: string | undefined;
    limit: number;
  },
) {
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      const rows = await scope.tx
        .select()
        .from(stockMovements)
        .where(
          and(
            eq(stockMovements.orgId, ctx.orgId),
            q.product_id ? eq(stockMovements.productId, q.product_id) : undefined,
            q.warehouse_id ? eq(stockMovements.warehouseId, q.warehouse_id) : undefined,
            q.order_id ? eq(stockMovements.orderId, q.order_id) : undefined,
          ),
        )
        .orderBy(desc(stockMovements.createdAt), desc(stockMovements.id))
        .limit(q.limit);
      return rows.map((r) => ({
        id: r.id,
        warehouse_id: r.warehouseId,
        product_id: r.productId,
        kind: r.kind as MovementKind,
        on_hand_change: trimDecimal(r.onHandChange)!,
        reserved_change: trimDecimal(r.reservedChange)!,
        on_hand_after: trimDecimal(r.onHandAfter)!,
        reserved_after: trimDecimal(r.reservedAfter)!,
        order_id: r.orderId,
        reason: r.reason,
        created_at: r.createdAt,
        created_by: r.createdBy,
      }));
    },
    { readOnly: true },
  );
}
