import { Decimal } from 'decimal.js';
import { and, asc, desc, eq, sql } from 'drizzle-orm';
import { newId } from '../../db/ids.js';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError, conflict, notFound } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { convertIn } from '../currencies/exchange-rate.service.js';
import { minorUnitOf } from '../currencies/minor-units.js';
import { opportunityRowIn } from '../opportunities/opportunity.service.js';
import { closeOpportunityIn } from '../opportunities/opportunity-moves.service.js';
import { updateOpportunityIn } from '../opportunities/opportunity-updates.service.js';
import { trimDecimal } from '../products/product.service.js';
import { lineViewOf, moneyFormatOf, quoteLinesIn, quoteRowIn } from '../quotes/quote.service.js';
import { salesSettingsIn } from '../quotes/sales-settings.service.js';
import {
  assertStockAvailableIn,
  defaultWarehouseIn,
  moveStockIn,
  warehouseIn,
} from '../stock/stock.service.js';
import type { OrderConvertInput, OrderView } from './order.dto.js';
import { orderCounters, orderLines, orders } from './order.schema.js';

export type OrderRow = typeof orders.$inferSelect;
export type OrderLineRow = typeof orderLines.$inferSelect;

export function orderViewOf(row: OrderRow, lines: OrderLineRow[]): OrderView {
  const fmt = moneyFormatOf(row.currency);
  return {
    id: row.id,
    number: row.number,
    status: row.status as OrderView['status'],
    quote_id: row.quoteId,
    opportunity_id: row.opportunityId,
    contact_id: row.contactId,
    company_id: row.companyId,
    contact_name: row.contactName,
    company_name: row.companyName,
    owner_id: row.ownerId,
    title: row.title,
    currency: row.currency,
    warehouse_id: row.warehouseId,
    lines: lines.map((l) => ({
      ...lineViewOf(l, fmt),
      fulfilled_quantity: trimDecimal(l.fulfilledQuantity)!,
    })),
    subtotal: fmt(row.subtotal),
    discount_total: fmt(row.discountTotal),
    taxes: row.taxes.map((t) => ({ rate: t.rate, base: fmt(t.base), tax: fmt(t.tax) })),
    tax_total: fmt(row.taxTotal),
    total: fmt(row.total),
    org_currency: row.orgCurrency,
    exchange_rate: trimDecimal(row.exchangeRate)!,
    rate_on: row.rateOn,
    org_total: moneyFormatOf(row.orgCurrency)(row.orgTotal),
    paid_at: row.paidAt,
    fulfilled_at: row.fulfilledAt,
    cancelled_at: row.cancelledAt,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    created_by: row.createdBy,
  };
}

/** An order's row. @throws 404 (another tenant's id too) */
export async function orderRowIn(scope: TenantScope, id: string, forUpdate = false): Promise<OrderRow> {
  const q = scope.tx
    .select()
    .from(orders)
    .where(and(eq(orders.orgId, scope.ctx.orgId), eq(orders.id, id)));
  const [row] = forUpdate ? await q.for('update') : await q;
  if (!row) throw notFound('Order', id);
  return row;
}

export async function orderLinesIn(scope: TenantScope, orderId: string): Promise<OrderLineRow[]> {
  return scope.tx
    .select()
    .from(orderLines)
    .where(and(eq(orderLines.orgId, scope.ctx.orgId), eq(orderLines.orderId, orderId)))
    .orderBy(asc(orderLines.position));
}

export const orderViewIn = async (scope: TenantScope, row: OrderRow) =>
  orderViewOf(row, await orderLinesIn(scope, row.id));

/** The next order number (`O-2027-0001`): gap-free like quotes' (the counter row is locked till commit). */
async function nextNumber(scope: TenantScope, year: number): Promise<string> {
  const [row] = await scope.tx
    .insert(orderCounters)
    .values({ orgId: scope.ctx.orgId, year, last: 1 })
    .onConflictDoUpdate({
      target: [orderCounters.orgId, orderCounters.year],
      set: { last: sql`${orderCounters.last} + 1` },
    })
    .returning({ last: orderCounters.last });
  return `O-${year}-${String(row!.last).padStart(4, '0')}`;
}

/**
 * Converts an accepted quote version to an order: its lines are copied, its products reserved in
 * the warehouse (the default one unless named; none when the organization has no warehouse), and
 * its deal, when open, closes won with the order's total in the organization's currency (the
 * dated exchange rate of the day when the currencies differ). Idempotent: the quote row is locked
 * and an order of the quote is returned as it is (`created: false`).
 * @throws 409 `quote_not_accepted`, `insufficient_stock`; 422 `no_exchange_rate`, `reference_not_found`
 */
export async function convertQuote(
  services: Services,
  ctx: TenantContext,
  quoteId: string,
  input: OrderConvertInput,
): Promise<{ order: OrderView; created: boolean }> {
  return withTenant(services.database, ctx, async (scope) => {
    const quote = await quoteRowIn(scope, quoteId, true);
    const [existing] = await scope.tx
      .select()
      .from(orders)
      .where(and(eq(orders.orgId, ctx.orgId), eq(orders.quoteId, quoteId)));
    if (existing) return { order: await orderViewIn(scope, existing), created: false };
    if (quote.status !== 'accepted')
      throw conflict(
        `Only an accepted quote becomes an order; this one is ${quote.status}`,
        undefined,
        'quote_not_accepted',
      );
    const warehouse = input.warehouse_id
      ? await warehouseIn(scope, input.warehouse_id).catch(() => {
          throw new AppError(422, 'reference_not_found', 'No warehouse with this id', {
            path: 'body.warehouse_id',
          });
        })
      : await defaultWarehouseIn(scope);
    const settings = await salesSettingsIn(scope);
    const day = new Date().toISOString().slice(0, 10);
    const converted = await convertIn(
      scope,
      quote.total,
      quote.currency,
      settings.currency,
      day,
      minorUnitOf(settings.currency),
    );
    // The contended rows are taken last, so they are held for a few statements, not the whole
    // conversion: the stock rows of its products (100 conversions racing for the last units must
    // end as exactly that many orders and 409s, not a queue past the request budget) and the
    // order-number counter (gap-free numbers hold it until commit). Before them: a refusal for
    // stock read without any lock, then the deal's close, which touches only this deal.
    const orderId = newId();
    const lines = await quoteLinesIn(scope, quoteId);
    const stocked = lines.flatMap((l) =>
      l.productId ? [{ productId: l.productId, quantity: l.quantity }] : [],
    );
    if (warehouse) await assertStockAvailableIn(scope, warehouse, stocked);
    if (quote.opportunityId) {
      const deal = await opportunityRowIn(scope, quote.opportunityId).catch(() => null);
      if (deal && deal.status === 'open' && deal.archivedAt === null) {
        await updateOpportunityIn(scope, services, deal.id, {
          amount: Number(converted.amount),
          currency: settings.currency,
        });
        await closeOpportunityIn(scope, services, deal.id, {
          status: 'won',
          reason: `Ordered: quote ${quote.number}`,
        });
      }
    }
    // Products in id order: two orders of the same products never wait on each other crosswise.
    if (warehouse)
      for (const line of [...lines].sort((a, b) => (a.productId ?? '').localeCompare(b.productId ?? '')))
        if (line.productId)
          await moveStockIn(scope, services, {
            kind: 'reservation',
            warehouseId: warehouse.id,
            productId: line.productId,
            onHand: '0',
            reserved: line.quantity,
            orderId,
          });
    const number = await nextNumber(scope, new Date().getUTCFullYear());
    const [row] = await scope.tx
      .insert(orders)
      .values({
        id: orderId,
        orgId: ctx.orgId,
        number,
        quoteId,
        opportunityId: quote.opportunityId,
        contactId: quote.contactId,
        companyId: quote.companyId,
        contactName: quote.contactName,
        companyName: quote.companyName,
        ownerId: quote.ownerId,
        title: quote.title,
        currency: quote.currency,
        warehouseId: warehouse?.id ?? null,
        subtotal: quote.subtotal,
        discountTotal: quote.discountTotal,
        taxTotal: quote.taxTotal,
        total: quote.total,
        taxes: quote.taxes,
        orgCurrency: settings.currency,
        exchangeRate: converted.rate,
        rateOn: converted.rateOn,
        orgTotal: converted.amount,
        paidAt: quote.paidAt,
        createdBy: ctx.actor.id,
        updatedBy: ctx.actor.id,
      })
      .returning();
    const order = row!;
    if (lines.length > 0)
      await scope.tx
        .insert(orderLines)
        .values(
          lines.map(({ quoteId: _q, id: _id, ...l }) => ({ ...l, orgId: ctx.orgId, orderId: order.id })),
        );
    const related = quote.opportunityId ? [{ object: 'opportunity', id: quote.opportunityId }] : [];
    await emitEvent(scope, services.jobs, {
      type: 'order.created',
      subject: { object: 'order', id: order.id },
      data: {
        name: `${number} ${order.title}`,
        number,
        quote_id: quoteId,
        total: trimDecimal(order.total)!,
        currency: order.currency,
        org_total: converted.amount,
        org_currency: settings.currency,
      },
      related: [...related, { object: 'quote', id: quoteId }],
    });
    return { order: await orderViewIn(scope, order), created: true };
  });
}

export async function getOrder(services: Services, ctx: TenantContext, id: string): Promise<OrderView> {
  return withTenant(
    services.database,
    ctx,
    async (scope) => orderViewIn(scope, await orderRowIn(scope, id)),
    {
      readOnly: true,
    },
  );
}

/** Orders, newest first (of a status, of a deal). */
export async function listOrders(
  services: Services,
  ctx: TenantContext,
  q: { status?: string | undefined; opportunity_id?: string | undefined; limit: number },
) {
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      const rows = await scope.tx
        .select()
        .from(orders)
        .where(
          and(
            eq(orders.orgId, ctx.orgId),
            q.status ? eq(orders.status, q.status) : undefined,
            q.opportunity_id ? eq(orders.opportunityId, q.opportunity_id) : undefined,
          ),
        )
        .orderBy(desc(orders.createdAt), desc(orders.id))
        .limit(q.limit);
      return rows.map((r) => {
        const { lines: _l, taxes: _t, ...rest } = orderViewOf(r, []);
        return rest;
      });
    },
    { readOnly: true },
  );
}

export const remainingOf = (l: OrderLineRow) => new Decimal(l.quantity).minus(l.fulfilledQuantity);
