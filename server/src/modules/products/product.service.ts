import { and, eq, inArray, isNotNull, isNull, ne, sql } from 'drizzle-orm';
import { auditView } from '../../db/columns.js';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { assertMember } from '../../platform/access/membership.js';
import { conflict, notFound } from '../../platform/errors/app-error.js';
import { changesBetween } from '../../platform/events/changes.js';
import { emitEvent, emitEvents } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { parseCustomValuesIn } from '../../platform/registry/field-references.js';
import { mergeCustom } from '../../platform/registry/field-values.js';
import { objectDef } from '../../platform/registry/registry.service.js';
import { ensureTags } from '../tags/tag.service.js';
import type { ProductCreateInput, ProductUpdateInput, ProductView } from './product.dto.js';
import { products } from './product.schema.js';

type ProductRow = typeof products.$inferSelect;

/** A SKU made from a name: upper case, runs of other characters as one dash (`GTX Pro` -> `GTX-PRO`). */
export const skuOf = (name: string) =>
  name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toUpperCase()
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 64) || 'PRODUCT';

/** A decimal string without trailing zeros: `20.0000` -> `20`, `7.5000` -> `7.5`. */
export const trimDecimal = (v: string | null): string | null =>
  v === null ? null : v.includes('.') ? v.replace(/\.?0+$/, '') : v;

export function productViewOf(r: ProductRow): ProductView {
  return {
    id: r.id,
    sku: r.sku,
    name: r.name,
    description: r.description,
    unit: r.unit,
    fractional: r.fractional,
    backorders: r.backorders,
    active: r.active,
    tax_rate: trimDecimal(r.taxRate),
    tags: r.tags,
    owner_id: r.ownerId,
    custom: r.custom,
    ...auditView(r),
  };
}

/** @throws 409 `sku_taken` naming `body.sku` when another product of the tenant has this SKU */
async function assertSkuFree(scope: TenantScope, sku: string, exceptId: string | null): Promise<void> {
  const [taken] = await scope.tx
    .select({ id: products.id })
    .from(products)
    .where(
      and(
        eq(products.orgId, scope.ctx.orgId),
        eq(products.sku, sku),
        exceptId ? ne(products.id, exceptId) : sql`true`,
      ),
    );
  if (taken) throw conflict(`Another product has the SKU ${sku}`, 'body.sku', 'sku_taken');
}

async function loadRow(scope: TenantScope, id: string, forUpdate = false): Promise<ProductRow> {
  const query = scope.tx
    .select()
    .from(products)
    .where(and(eq(products.orgId, scope.ctx.orgId), eq(products.id, id)));
  const [row] = forUpdate ? await query.for('update') : await query;
  if (!row) throw notFound('Product', id);
  return row;
}

/** Products of the tenant by id, in the caller's transaction (quotes read their lines' products). */
export async function productsIn(scope: TenantScope, ids: string[]): Promise<Map<string, ProductView>> {
  if (ids.length === 0) return new Map();
  const rows = await scope.tx
    .select()
    .from(products)
    .where(and(eq(products.orgId, scope.ctx.orgId), inArray(products.id, [...new Set(ids)])));
  return new Map(rows.map((r) => [r.id, productViewOf(r)]));
}

/** Creates a product. @throws 409 `sku_taken`, 400/422 bad custom values, 422 unknown owner */
export async function createProduct(
  services: Services,
  ctx: TenantContext,
  input: ProductCreateInput,
): Promise<ProductView> {
  return withTenant(services.database, ctx, (scope) => createProductIn(scope, services, input));
}

/** Creates a product in the caller's transaction (the API, an import). */
export async function createProductIn(
  scope: TenantScope,
  services: Services,
  input: ProductCreateInput,
): Promise<ProductView> {
  const { ctx } = scope;
  {
    const object = await objectDef(scope.tx, ctx.orgId, 'product');
    const custom = await parseCustomValuesIn(scope, object, input.custom, {
      path: 'body.custom',
      creating: true,
    });
    if (input.owner_id) await assertMember(scope, input.owner_id, 'body.owner_id');
    const sku = input.sku ?? skuOf(input.name);
    await assertSkuFree(scope, sku, null);
    const [row] = await scope.tx
      .insert(products)
      .values({
        orgId: ctx.orgId,
        sku,
        name: input.name,
        description: input.description ?? null,
        unit: input.unit ?? 'unit',
        fractional: input.fractional ?? false,
        backorders: input.backorders ?? false,
        active: input.active ?? true,
        taxRate: input.tax_rate ?? null,
        tags: await ensureTags(scope, input.tags ?? []),
        ownerId: input.owner_id ?? null,
        custom: mergeCustom({}, custom),
        createdBy: ctx.actor.id,
        updatedBy: ctx.actor.id,
      })
      .returning();
    await emitEvent(scope, services.jobs, {
      type: 'product.created',
      subject: { object: 'product', id: row!.id },
      data: { name: row!.name },
    });
    return productViewOf(row!);
  }
}

export async function getProduct(services: Services, ctx: TenantContext, id: string): Promise<ProductView> {
  return withTenant(services.database, ctx, async (scope) => productViewOf(await loadRow(scope, id)), {
    readOnly: true,
  });
}

const COMPARED = [
  'sku',
  'name',
  'description',
  'unit',
  'fractional',
  'backorders',
  'active',
  'tax_rate',
  'tags',
  'owner_id',
  'custom',
] as const;

/** Changes the given fields (absent stay, null clears, custom values merge); one `product.updated`. */
export async function updateProduct(
  services: Services,
  ctx: TenantContext,
  id: string,
  input: ProductUpdateInput,
): Promise<ProductView> {
  return withTenant(services.database, ctx, (scope) => updateProductIn(scope, services, id, input));
}

/** `updateProduct` in the caller's transaction (an import's matched rows, its undo). */
export async function updateProductIn(
  scope: TenantScope,
  services: Services,
  id: string,
  input: ProductUpdateInput,
): Promise<ProductView> {
  const { ctx } = scope;
  {
    const current = await loadRow(scope, id, true);
    const object = await objectDef(scope.tx, ctx.orgId, 'product');
    const patch = await parseCustomValuesIn(scope, object, input.custom, {
      path: 'body.custom',
      creating: false,
    });
    if (input.owner_id) await assertMember(scope, input.owner_id, 'body.owner_id');
    if (input.sku !== undefined && input.sku !== current.sku) await assertSkuFree(scope, input.sku, id);
    const tags = input.tags ? await ensureTags(scope, input.tags) : undefined;
    const [row] = await scope.tx
      .update(products)
      .set({
        ...(input.sku !== undefined ? { sku: input.sku } : {}),
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(input.unit !== undefined ? { unit: input.unit } : {}),
        ...(input.fractional !== undefined ? { fractional: input.fractional } : {}),
        ...(input.backorders !== undefined ? { backorders: input.backorders } : {}),
        ...(input.active !== undefined ? { active: input.active } : {}),
        ...(input.tax_rate !== undefined ? { taxRate: input.tax_rate } : {}),
        ...(tags !== undefined ? { tags } : {}),
        ...(input.owner_id !== undefined ? { ownerId: input.owner_id } : {}),
        custom: mergeCustom(current.custom, patch),
        updatedAt: new Date().toISOString(),
        updatedBy: ctx.actor.id,
      })
      .where(and(eq(products.orgId, ctx.orgId), eq(products.id, id)))
      .returning();
    const before = productViewOf(current);
    const after = productViewOf(row!);
    const changes = changesBetween(before, after, COMPARED);
    if (Object.keys(changes).length > 0)
      await emitEvent(scope, services.jobs, {
        type: 'product.updated',
        subject: { object: 'product', id },
        data: { name: after.name, changes },
      });
    return after;
  }
}

/** Archives or restores many products in one statement (a bulk action): those that changed. */
export async function setProductsArchived(
  scope: TenantScope,
  services: Services,
  ids: string[],
  archive: boolean,
): Promise<ProductRow[]> {
  if (ids.length === 0) return [];
  const now = new Date().toISOString();
  const rows = await scope.tx
    .update(products)
    .set({ archivedAt: archive ? now : null, updatedAt: now, updatedBy: scope.ctx.actor.id })
    .where(
      and(
        eq(products.orgId, scope.ctx.orgId),
        inArray(products.id, ids),
        archive ? isNull(products.archivedAt) : isNotNull(products.archivedAt),
      ),
    )
    .returning();
  await emitEvents(
    scope,
    services.jobs,
    rows.map((row) => ({
      type: archive ? ('product.archived' as const) : ('product.restored' as const),
      subject: { object: 'product', id: row.id },
      data: { name: row.name },
    })),
  );
  return rows;
}

async function setArchived(services: Services, ctx: TenantContext, id: string, archive: boolean) {
  return withTenant(services.database, ctx, async (scope) => {
    const row = await loadRow(scope, id, true);
    if (Boolean(row.archivedAt) === archive) return productViewOf(row);
    const [changed] = await setProductsArchived(scope, services, [id], archive);
    return productViewOf(changed!);
  });
}
export const archiveProduct = (s: Services, c: TenantContext, id: string) => setArchived(s, c, id, true);
export const restoreProduct = (s: Services, c: TenantContext, id: string) => setArchived(s, c, id, false);

/** Deletes a product for good (admins); quotes keep their copied lines. */
export async function deleteProduct(services: Services, ctx: TenantContext, id: string): Promise<void> {
  await withTenant(services.database, ctx, async (scope) => {
    const row = await loadRow(scope, id, true);
    await scope.tx.delete(products).where(and(eq(products.orgId, ctx.orgId), eq(products.id, id)));
    await emitEvent(scope, services.jobs, {
      type: 'product.deleted',
      subject: { object: 'product', id },
      data: { name: row.name },
    });
  });
}
