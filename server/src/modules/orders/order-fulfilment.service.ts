import { Decimal } from 'decimal.js';
import { and, eq } from 'drizzle-orm';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import { AppError, badRequest, conflict } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { productsIn } from '../products/product.service.js';
import { moveStockIn } from '../stock/stock.service.js';
import type { OrderFulfilInput, OrderView } from './order.dto.js';
import { orderLines, orders } from './order.schema.js';
import { orderLinesIn, orderRowIn, orderViewIn, remainingOf } from './order.service.js';

const closed = (status: string) =>
  conflict(
    `This order is ${status.replace('_', ' ')}: nothing is left to change`,
    undefined,
    `order_${status}`,
  );

/**
 * Records a delivery: each line's quantity leaves the order's warehouse (its reservation and stock
 * on hand both fall). Without lines, everything still to deliver. The order becomes
 * partly_fulfilled, or fulfilled when every line is.
 * @throws 409 `order_cancelled` / `order_fulfilled`; 400 `negative_quantity`, `fractional_quantity`,
 * `over_fulfilment` (more than the line still has), 422 `reference_not_found` (a line of another order)
 */
export async function fulfilOrder(
  services: Services,
  ctx: TenantContext,
  id: string,
  input: OrderFulfilInput,
): Promise<OrderView> {
  return withTenant(services.database, ctx, async (scope) => {
    const order = await orderRowIn(scope, id, true);
    if (order.status === 'cancelled' || order.status === 'fulfilled') throw closed(order.status);
    const lines = await orderLinesIn(scope, id);
    const byId = new Map(lines.map((l) => [l.id, l]));
    const asked = input.lines ?? lines.map((l) => ({ line_id: l.id, quantity: remainingOf(l).toString() }));
    const products = await productsIn(
      scope,
      lines.flatMap((l) => (l.productId ? [l.productId] : [])),
    );
    const delivered = new Map<string, Decimal>();
    for (const [i, item] of asked.entries()) {
      const at = `body.lines[${i}]`;
      const line = byId.get(item.line_id);
      if (!line)
        throw new AppError(422, 'reference_not_found', 'No line of this order with this id', {
          path: `${at}.line_id`,
        });
      const quantity = new Decimal(item.quantity);
      if (input.lines && !quantity.gt(0))
        throw badRequest('A quantity must be above zero', `${at}.quantity`, 'negative_quantity');
      const product = line.productId ? products.get(line.productId) : undefined;
      if (product && !product.fractional && !quantity.isInteger())
        throw badRequest(
          `${line.description} is delivered in whole ${line.unit}s`,
          `${at}.quantity`,
          'fractional_quantity',
        );
      const total = (delivered.get(line.id) ?? new Decimal(0)).plus(quantity);
      if (total.gt(remainingOf(line)))
        throw badRequest(
          `${line.description}: ${remainingOf(line).toString()} left to deliver, not ${total.toString()}`,
          `${at}.quantity`,
          'over_fulfilment',
        );
      delivered.set(line.id, total);
    }
    let count = 0;
    for (const [lineId, quantity] of delivered) {
      if (quantity.isZero()) continue;
      const line = byId.get(lineId)!;
      count++;
      await scope.tx
        .update(orderLines)
        .set({ fulfilledQuantity: new Decimal(line.fulfilledQuantity).plus(quantity).toString() })
        .where(and(eq(orderLines.orgId, ctx.orgId), eq(orderLines.id, lineId)));
      if (order.warehouseId && line.productId)
        await moveStockIn(scope, services, {
          kind: 'fulfilment',
          warehouseId: order.warehouseId,
          productId: line.productId,
          onHand: quantity.neg().toString(),
          reserved: quantity.neg().toString(),
          orderId: id,
        });
    }
    const after = await orderLinesIn(scope, id);
    const done = after.every((l) => remainingOf(l).lte(0));
    const now = new Date().toISOString();
    const [row] = await scope.tx
      .update(orders)
      .set({
        status: done ? 'fulfilled' : 'partly_fulfilled',
        ...(done ? { fulfilledAt: now } : {}),
        updatedAt: now,
        updatedBy: ctx.actor.id,
      })
      .where(and(eq(orders.orgId, ctx.orgId), eq(orders.id, id)))
      .returning();
    await emitEvent(scope, services.jobs, {
      type: 'order.fulfilled',
      subject: { object: 'order', id },
      data: { name: `${order.number} ${order.title}`, status: row!.status, lines: count },
      related: order.opportunityId ? [{ object: 'opportunity', id: order.opportunityId }] : [],
    });
    return orderViewIn(scope, row!);
  });
}

/**
 * Cancels an open or partly fulfilled order: what it still reserves is released (what left the
 * warehouse stays delivered). @throws 409 `order_cancelled` / `order_fulfilled`
 */
export async function cancelOrder(services: Services, ctx: TenantContext, id: string): Promise<OrderView> {
  return withTenant(services.database, ctx, async (scope) => {
    const order = await orderRowIn(scope, id, true);
    if (order.status === 'cancelled' || order.status === 'fulfilled') throw closed(order.status);
    if (order.warehouseId)
      for (const line of await orderLinesIn(scope, id)) {
        const left = remainingOf(line);
        if (line.productId && left.gt(0))
          await moveStockIn(scope, services, {
            kind: 'release',
            warehouseId: order.warehouseId,
            productId: line.productId,
            onHand: '0',
            reserved: left.neg().toString(),
            orderId: id,
          });
      }
    const now = new Date().toISOString();
    const [row] = await scope.tx
      .update(orders)
      .set({ status: 'cancelled', cancelledAt: now, updatedAt: now, updatedBy: ctx.actor.id })
      .where(and(eq(orders.orgId, ctx.orgId), eq(orders.id, id)))
      .returning();
    await emitEvent(scope, services.jobs, {
      type: 'order.cancelled',
      subject: { object: 'order', id },
      data: { name: `${order.number} ${order.title}` },
      related: order.opportunityId ? [{ object: 'opportunity', id: order.opportunityId }] : [],
    });
    return orderViewIn(scope, row!);
  });
}
