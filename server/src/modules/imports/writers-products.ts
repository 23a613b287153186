// Product rows, one at a time (issue 29): matched by external id, then SKU; a list price goes on
// the price list of its currency (the default list when the cell names none).

import { isCurrencyCode } from '../../platform/registry/field-values.js';
import { setBasePriceIn } from '../products/price-list.service.js';
import type { ProductCreateInput, ProductUpdateInput, ProductView } from '../products/product.dto.js';
import { createProductIn, productsIn, skuOf, updateProductIn } from '../products/product.service.js';
import type { CellProblem } from './import.schema.js';
import type { Money, RowDraft } from './import-values.js';
import {
  customOf,
  failedRow,
  firstId,
  matchOn,
  problem,
  type RowResult,
  type RowWriter,
  type RunSettings,
  recordOfExternalId,
  rememberExternalId,
  resolveOwner,
  str,
} from './import-writers.js';

/** A decimal string of at most 6 decimals from a number read in a cell, or null. */
const decimalOf = (n: number) => (Number.isFinite(n) ? String(Number(n.toFixed(6))) : null);

export type ProductDraft = {
  input: ProductCreateInput;
  listPrice: { amount: string; currency: string | null } | undefined;
  externalId: string | undefined;
  problems: CellProblem[];
};

/** Reads a product row (no database access), or the failed result of a row without a name. */
export function prepareProduct(run: RunSettings, draft: RowDraft): ProductDraft | RowResult {
  const v = draft.values;
  const name = str(v.name);
  if (!name) return failedRow([problem(run, 'name', 'required', 'A product needs a name')]);
  const problems: CellProblem[] = [];
  let taxRate: string | undefined;
  if (typeof v.tax_rate === 'number') {
    if (v.tax_rate < 0 || v.tax_rate > 100)
      problems.push(
        problem(
          run,
          'tax_rate',
          'invalid_tax_rate',
          'A tax rate is between 0 and 100 (percent)',
          String(v.tax_rate),
        ),
      );
    else taxRate = decimalOf(v.tax_rate) ?? undefined;
  }
  let listPrice: ProductDraft['listPrice'];
  const money = v.list_price as Money | undefined;
  if (money) {
    const amount = decimalOf(money.amount);
    if (amount === null || money.amount < 0 || Math.abs(money.amount) >= 1e12)
      problems.push(problem(run, 'list_price', 'invalid_amount', 'Not a price', String(money.amount)));
    else if (money.currency && !isCurrencyCode(money.currency))
      problems.push(
        problem(run, 'list_price', 'invalid_currency', 'Not an ISO 4217 currency', money.currency),
      );
    else listPrice = { amount, currency: money.currency };
  }
  const tags = [...new Set([...((v.tags as string[] | undefined) ?? []), ...(run.options.tags ?? [])])];
  const ownerId = resolveOwner(run, v.owner, problems);
  const input: ProductCreateInput = {
    sku: str(v.sku) ?? skuOf(name),
    name,
    ...(str(v.description) ? { description: str(v.description) } : {}),
    ...(str(v.unit) ? { unit: str(v.unit)! } : {}),
    ...(typeof v.fractional === 'boolean' ? { fractional: v.fractional } : {}),
    ...(typeof v.active === 'boolean' ? { active: v.active } : {}),
    ...(taxRate !== undefined ? { tax_rate: taxRate } : {}),
    tags,
    ...(ownerId !== undefined ? { owner_id: ownerId } : {}),
    custom: customOf(run, v, problems),
  };
  return { input, listPrice, externalId: str(v.external_id), problems };
}

/** The fields of an update from a row: all given ones (`overwrite`), or those the product lacks. */
function updateOf(run: RunSettings, input: ProductCreateInput, current: ProductView): ProductUpdateInput {
  const fill = run.dedup === 'overwrite';
  const out: ProductUpdateInput = {};
  const empty = (x: unknown) =>
    x === null || x === undefined || x === '' || (Array.isArray(x) && x.length === 0);
  if (input.description !== undefined && (fill || empty(current.description)))
    out.description = input.description;
  if (input.unit !== undefined && (fill || current.unit === 'unit')) out.unit = input.unit;
  if (input.fractional !== undefined && fill) out.fractional = input.fractional;
  if (input.active !== undefined && fill) out.active = input.active;
  if (input.tax_rate !== undefined && (fill || empty(current.tax_rate))) out.tax_rate = input.tax_rate;
  if (input.tags?.length) out.tags = [...new Set([...current.tags, ...input.tags])];
  if (input.owner_id !== undefined && (fill || empty(current.owner_id))) out.owner_id = input.owner_id;
  if (fill && input.name !== current.name) out.name = input.name;
  const custom = Object.fromEntries(
    Object.entries(input.custom ?? {}).filter(([k]) => fill || empty(current.custom[k])),
  );
  if (Object.keys(custom).length) out.custom = custom;
  return out;
}

/** What an undo puts back: the product's values of the fields the row changed. */
function beforeOf(update: ProductUpdateInput, current: ProductView): ProductUpdateInput {
  const before: Record<string, unknown> = {};
  for (const key of Object.keys(update) as (keyof ProductUpdateInput)[])
    before[key] =
      key === 'custom'
        ? Object.fromEntries(Object.keys(update.custom ?? {}).map((k) => [k, current.custom[k] ?? null]))
        : current[key as keyof ProductView];
  return before as ProductUpdateInput;
}

/**
 * Writes a product row: a product of the same external id, else of the same SKU (given, or made
 * from the name), is skipped or updated as the dedup mode says; otherwise one is created. A list
 * price sets its base price on the list of its currency (the default list without one).
 */
export const writeProduct: RowWriter = async (run, draft) => {
  const { scope, services } = run;
  const prepared = prepareProduct(run, draft);
  if ('outcome' in prepared) return prepared;
  const { input, listPrice, externalId, problems } = prepared;
  const sku = input.sku ?? skuOf(input.name);
  const byExternal = externalId ? await recordOfExternalId(scope, 'product', externalId) : null;
  const existingId =
    byExternal ??
    (await firstId(scope, 'select id from products where org_id = $1 and sku = $2 limit 1', [sku]));
  const price = async (product: { id: string; name: string }) => {
    if (!listPrice) return;
    const list = await setBasePriceIn(scope, services, product, listPrice.amount, listPrice.currency);
    if (!list)
      problems.push(
        problem(
          run,
          'list_price',
          'no_price_list',
          listPrice.currency
            ? `No price list in ${listPrice.currency}: the price is not kept`
            : 'No default price list: the price is not kept',
          listPrice.amount,
        ),
      );
  };
  if (!existingId) {
    const created = await createProductIn(scope, services, input);
    await price(created);
    await rememberExternalId(run, 'product', externalId, created.id);
    return { outcome: 'created', recordId: created.id, problems };
  }
  await rememberExternalId(run, 'product', externalId, existingId);
  const match = byExternal ? matchOn(run, 'external_id', externalId!) : matchOn(run, 'field', sku, 'sku');
  if (run.dedup === 'skip') return { outcome: 'skipped', recordId: existingId, problems, match };
  const current = (await productsIn(scope, [existingId])).get(existingId)!;
  const update = updateOf(run, input, current);
  await updateProductIn(scope, services, existingId, update);
  await price(current);
  return { outcome: 'updated', recordId: existingId, before: beforeOf(update, current), problems, match };
};
