import { and, asc, eq, sql } from 'drizzle-orm';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError, badRequest, conflict, notFound } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import type { PriceCreateInput, PriceListView, ProductPriceView } from './price-list.dto.js';
import { priceLists, productPrices, products } from './product.schema.js';
import { trimDecimal } from './product.service.js';

type ListRow = typeof priceLists.$inferSelect;

const listViewOf = (r: ListRow, count: number): PriceListView => ({
  id: r.id,
  name: r.name,
  currency: r.currency,
  is_default: r.isDefault,
  price_count: count,
  created_at: r.createdAt,
  updated_at: r.updatedAt,
});

/** A price list of the tenant, in the caller's transaction. @throws 404 naming nothing (another tenant's id too) */
export async function priceListIn(scope: TenantScope, id: string, forUpdate = false): Promise<ListRow> {
  const query = scope.tx
    .select()
    .from(priceLists)
    .where(and(eq(priceLists.orgId, scope.ctx.orgId), eq(priceLists.id, id)));
  const [row] = forUpdate ? await query.for('update') : await query;
  if (!row) throw notFound('Price list', id);
  return row;
}

/** The tenant's default price list, or null. */
export async function defaultPriceListIn(scope: TenantScope): Promise<ListRow | null> {
  const [row] = await scope.tx
    .select()
    .from(priceLists)
    .where(and(eq(priceLists.orgId, scope.ctx.orgId), eq(priceLists.isDefault, true)));
  return row ?? null;
}

/** The tenant's price list in `currency`, or null. */
export async function priceListForCurrencyIn(scope: TenantScope, currency: string): Promise<ListRow | null> {
  const [row] = await scope.tx
    .select()
    .from(priceLists)
    .where(and(eq(priceLists.orgId, scope.ctx.orgId), eq(priceLists.currency, currency)));
  return row ?? null;
}

export async function listPriceLists(services: Services, ctx: TenantContext): Promise<PriceListView[]> {
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      const rows = await scope.tx
        .select({
          list: priceLists,
          count: sql<number>`(select count(*)::int from product_prices p where p.org_id = price_lists.org_id and p.price_list_id = price_lists.id)`,
        })
        .from(priceLists)
        .where(eq(priceLists.orgId, ctx.orgId))
        .orderBy(asc(priceLists.name));
      return rows.map((r) => listViewOf(r.list, Number(r.count)));
    },
    { readOnly: true },
  );
}

async function clearDefault(scope: TenantScope): Promise<void> {
  await scope.tx
    .update(priceLists)
    .set({ isDefault: false })
    .where(and(eq(priceLists.orgId, scope.ctx.orgId), eq(priceLists.isDefault, true)));
}

/**
 * Creates a price list: one per currency; the first one (or one asked to be) is the default.
 * @throws 409 `currency_taken` naming `body.currency`
 */
export async function createPriceList(
  services: Services,
  ctx: TenantContext,
  input: { name: string; currency: string; is_default?: boolean | undefined },
): Promise<PriceListView> {
  return withTenant(services.database, ctx, async (scope) => {
    const [taken] = await scope.tx
      .select({ id: priceLists.id })
      .from(priceLists)
      .where(and(eq(priceLists.orgId, ctx.orgId), eq(priceLists.currency, input.currency)));
    if (taken)
      throw conflict(`There is already a price list in ${input.currency}`, 'body.currency', 'currency_taken');
    const first = !(await defaultPriceListIn(scope));
    if (input.is_default && !first) await clearDefault(scope);
    const [row] = await scope.tx
      .insert(priceLists)
      .values({
        orgId: ctx.orgId,
        name: input.name,
        currency: input.currency,
        isDefault: first || Boolean(input.is_default),
        createdBy: ctx.actor.id,
        updatedBy: ctx.actor.id,
      })
      .returning();
    await emitEvent(scope, services.jobs, {
      type: 'price_list.created',
      subject: { object: 'price_list', id: row!.id },
      data: { name: row!.name, currency: row!.currency },
    });
    return listViewOf(row!, 0);
  });
}

/** Renames a list or makes it the default. */
export async function updatePriceList(
  services: Services,
  ctx: TenantContext,
  id: string,
  input: { name?: string | undefined; is_default?: true | undefined },
): Promise<PriceListView> {
  return withTenant(services.database, ctx, async (scope) => {
    const current = await priceListIn(scope, id, true);
    if (input.is_default && !current.isDefault) await clearDefault(scope);
    const [row] = await scope.tx
      .update(priceLists)
      .set({
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.is_default ? { isDefault: true } : {}),
        updatedAt: new Date().toISOString(),
        updatedBy: ctx.actor.id,
      })
      .where(and(eq(priceLists.orgId, ctx.orgId), eq(priceLists.id, id)))
      .returning();
    const changes: Record<string, { before: unknown; after: unknown }> = {};
    if (row!.name !== current.name) changes.name = { before: current.name, after: row!.name };
    if (row!.isDefault !== current.isDefault)
      changes.is_default = { before: current.isDefault, after: row!.isDefault };
    if (Object.keys(changes).length > 0)
      await emitEvent(scope, services.jobs, {
        type: 'price_list.updated',
        subject: { object: 'price_list', id },
        data: { name: row!.name, changes },
      });
    const [{ count }] = (await scope.tx
      .select({ count: sql<number>`count(*)::int` })
      .from(productPrices)
      .where(and(eq(productPrices.orgId, ctx.orgId), eq(productPrices.priceListId, id)))) as [
      { count: number },
    ];
    return listViewOf(row!, Number(count));
  });
}

type PriceRow = { price: typeof productPrices.$inferSelect; name: string; sku: string };
const priceViewOf = ({ price: p, name, sku }: PriceRow): ProductPriceView => ({
  id: p.id,
  price_list_id: p.priceListId,
  product_id: p.productId,
  product_name: name,
  sku,
  unit_price: trimDecimal(p.unitPrice)!,
  min_quantity: trimDecimal(p.minQuantity)!,
  valid_from: p.validFrom,
  valid_to: p.validTo,
});

/** The prices of a list (of one product when asked), by product name then tier. */
export async function listPrices(
  services: Services,
  ctx: TenantContext,
  listId: string,
  productId?: string,
): Promise<ProductPriceView[]> {
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      await priceListIn(scope, listId);
      const rows = await scope.tx
        .select({ price: productPrices, name: products.name, sku: products.sku })
        .from(productPrices)
        .innerJoin(
          products,
          and(eq(products.orgId, productPrices.orgId), eq(products.id, productPrices.productId)),
        )
        .where(
          and(
            eq(productPrices.orgId, ctx.orgId),
            eq(productPrices.priceListId, listId),
            productId ? eq(productPrices.productId, productId) : sql`true`,
          ),
        )
        .orderBy(asc(products.name), asc(productPrices.minQuantity), asc(productPrices.validFrom))
        .limit(5000);
      return rows.map(priceViewOf);
    },
    { readOnly: true },
  );
}

/**
 * Adds a price (a tier, a validity period) of a product to a list. A new price never changes a
 * quote: quotes copy their unit prices. @throws 422 `reference_not_found` (product), 400
 * `invalid_period`
 */
export async function addPrice(
  services: Services,
  ctx: TenantContext,
  listId: string,
  input: PriceCreateInput,
): Promise<ProductPriceView> {
  return withTenant(services.database, ctx, async (scope) => {
    const list = await priceListIn(scope, listId);
    const [product] = await scope.tx
      .select()
      .from(products)
      .where(and(eq(products.orgId, ctx.orgId), eq(products.id, input.product_id)));
    if (!product)
      throw new AppError(422, 'reference_not_found', 'No product with this id', { path: 'body.product_id' });
    if (input.valid_from && input.valid_to && input.valid_to < input.valid_from)
      throw badRequest('valid_to is before valid_from', 'body.valid_to', 'invalid_period');
    const [row] = await scope.tx
      .insert(productPrices)
      .values({
        orgId: ctx.orgId,
        priceListId: listId,
        productId: product.id,
        unitPrice: input.unit_price,
        minQuantity: input.min_quantity ?? '1',
        validFrom: input.valid_from ?? null,
        validTo: input.valid_to ?? null,
        createdBy: ctx.actor.id,
      })
      .returning();
    await emitEvent(scope, services.jobs, {
      type: 'product.price_set',
      subject: { object: 'product', id: product.id },
      data: {
        name: product.name,
        price_list: list.name,
        currency: list.currency,
        unit_price: trimDecimal(row!.unitPrice)!,
        min_quantity: trimDecimal(row!.minQuantity)!,
      },
    });
    return priceViewOf({ price: row!, name: product.name, sku: product.sku });
  });
}

/**
 * Sets a product's base price (from quantity 1, no validity period) on the list of `currency`, or
 * the default list when none is named (an import's list price): the existing base price changes,
 * or one is added. @returns the list's name, or null when there is no such list
 */
export async function setBasePriceIn(
  scope: TenantScope,
  services: Services,
  product: { id: string; name: string },
  unitPrice: string,
  currency: string | null,
): Promise<string | null> {
  const list = currency ? await priceListForCurrencyIn(scope, currency) : await defaultPriceListIn(scope);
  if (!list) return null;
  const base = and(
    eq(productPrices.orgId, scope.ctx.orgId),
    eq(productPrices.priceListId, list.id),
    eq(productPrices.productId, product.id),
    sql`${productPrices.minQuantity} = 1 and ${productPrices.validFrom} is null and ${productPrices.validTo} is null`,
  );
  const changed = await scope.tx
    .update(productPrices)
    .set({ unitPrice })
    .where(base)
    .returning({ id: productPrices.id });
  if (changed.length === 0)
    await scope.tx.insert(productPrices).values({
      orgId: scope.ctx.orgId,
      priceListId: list.id,
      productId: product.id,
      unitPrice,
      createdBy: scope.ctx.actor.id,
    });
  await emitEvent(scope, services.jobs, {
    type: 'product.price_set',
    subject: { object: 'product', id: product.id },
    data: {
      name: product.name,
      price_list: list.name,
      currency: list.currency,
      unit_price: unitPrice,
      min_quantity: '1',
    },
  });
  return list.name;
}

/** Removes a price from a list. */
export async function removePrice(services: Services, ctx: TenantContext, listId: string, priceId: string) {
  await withTenant(services.database, ctx, async (scope) => {
    const list = await priceListIn(scope, listId);
    const [row] = await scope.tx
      .delete(productPrices)
      .where(
        and(
          eq(productPrices.orgId, ctx.orgId),
          eq(productPrices.priceListId, listId),
          eq(productPrices.id, priceId),
        ),
      )
      .returning();
    if (!row) throw notFound('Price', priceId);
    const [product] = await scope.tx
      .select({ name: products.name })
      .from(products)
      .where(and(eq(products.orgId, ctx.orgId), eq(products.id, row.productId)));
    await emitEvent(scope, services.jobs, {
      type: 'product.price_removed',
      subject: { object: 'product', id: row.productId },
      data: { name: product?.name ?? null, price_list: list.name, currency: list.currency },
    });
  });
}

/**
 * A product's unit price on a list for a quantity on a date: of the prices valid that day, the
 * highest tier at or below the quantity (the latest-starting one when periods overlap); null if none.
 */
export async function unitPriceIn(
  scope: TenantScope,
  listId: string,
  productId: string,
  quantity: string,
  day: string,
): Promise<string | null> {
  const [row] = await scope.tx
    .select({ unitPrice: productPrices.unitPrice })
    .from(productPrices)
    .where(
      and(
        eq(productPrices.orgId, scope.ctx.orgId),
        eq(productPrices.priceListId, listId),
        eq(productPrices.productId, productId),
        sql`${productPrices.minQuantity} <= ${quantity}::numeric`,
        sql`(${productPrices.validFrom} is null or ${productPrices.validFrom} <= ${day}::date)`,
        sql`(${productPrices.validTo} is null or ${productPrices.validTo} >= ${day}::date)`,
      ),
    )
    .orderBy(
      sql`${productPrices.minQuantity} desc`,
      sql`${productPrices.validFrom} desc nulls last`,
      sql`${productPrices.createdAt} desc`,
    )
    .limit(1);
  return row ? trimDecimal(row.unitPrice) : null;
}

/** The price lookup route: `unitPriceIn` on the given or default list. */
export async function lookupPrice(
  services: Services,
  ctx: TenantContext,
  productId: string,
  q: { price_list_id?: string | undefined; quantity?: string | undefined; date?: string | undefined },
) {
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      const [product] = await scope.tx
        .select({ id: products.id })
        .from(products)
        .where(and(eq(products.orgId, ctx.orgId), eq(products.id, productId)));
      if (!product) throw notFound('Product', productId);
      const list = q.price_list_id
        ? await priceListIn(scope, q.price_list_id)
        : await defaultPriceListIn(scope);
      if (!list) throw notFound('Default price list');
      const day = q.date ?? new Date().toISOString().slice(0, 10);
      return {
        product_id: productId,
        price_list_id: list.id,
        currency: list.currency,
        unit_price: await unitPriceIn(scope, list.id, productId, q.quantity ?? '1', day),
      };
    },
    { readOnly: true },
  );
}
