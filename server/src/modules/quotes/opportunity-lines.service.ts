import { and, eq } from 'drizzle-orm';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { opportunityRowIn, setOpportunityPricingIn } from '../opportunities/opportunity.service.js';
import { updateOpportunityIn } from '../opportunities/opportunity-updates.service.js';
import { opportunityLines } from './opportunity-line.schema.js';
import type { OpportunityLinesInput, OpportunityLinesView } from './opportunity-lines.dto.js';
import {
  lineViewOf,
  moneyFormatOf,
  moneyInputOf,
  opportunityLinesIn,
  pickPriceList,
  resolveLines,
} from './quote.service.js';
import { computeQuoteMoney } from './quote-totals.js';
import { salesSettingsIn } from './sales-settings.service.js';

/** The currency a deal's lines are in: the deal's, else its price list's, else the organization's. */
async function linesCurrencyIn(scope: TenantScope, row: { currency: string | null }, listCurrency?: string) {
  return row.currency ?? listCurrency ?? (await salesSettingsIn(scope)).currency;
}

async function viewIn(scope: TenantScope, id: string): Promise<OpportunityLinesView> {
  const row = await opportunityRowIn(scope, id);
  const list = row.priceListId ? await pickPriceList(scope, row.priceListId, null, 'path.id') : null;
  const currency = await linesCurrencyIn(scope, row, list?.currency);
  const lines = await opportunityLinesIn(scope, id);
  const fmt = moneyFormatOf(currency);
  const money = computeQuoteMoney(currency, lines.map(moneyInputOf));
  return {
    opportunity_id: id,
    currency,
    price_list_id: row.priceListId,
    amount_from_lines: row.amountFromLines,
    amount: row.amount === null ? null : Number(row.amount),
    lines: lines.map((l) => lineViewOf(l, fmt)),
    subtotal: money.subtotal,
    discount_total: money.discount_total,
    net_total: money.net_total,
    tax_total: money.tax_total,
    total: money.total,
  };
}

/** A deal's line items, their totals, and whether its amount follows them. @throws 404 */
export async function getOpportunityLines(services: Services, ctx: TenantContext, id: string) {
  return withTenant(services.database, ctx, (scope) => viewIn(scope, id), { readOnly: true });
}

/**
 * Replaces a deal's line items (priced as a quote's lines: `resolveLines`, from the deal's price
 * list unless a unit price is given). With `amount_from_lines` the deal's amount becomes the lines'
 * net total (before tax), through the deal's own update (one `opportunity.updated`).
 * @throws 404; 400/422 as quote lines (`negative_quantity`, `fractional_quantity`, `reference_not_found`,
 * `no_price`, `currency_mismatch`)
 */
export async function setOpportunityLines(
  services: Services,
  ctx: TenantContext,
  id: string,
  input: OpportunityLinesInput,
): Promise<OpportunityLinesView> {
  return withTenant(services.database, ctx, async (scope) => {
    const row = await opportunityRowIn(scope, id, true);
    const askedList = input.price_list_id === undefined ? row.priceListId : input.price_list_id;
    const list = await pickPriceList(scope, askedList ?? undefined, row.currency, 'body.price_list_id');
    const currency = await linesCurrencyIn(scope, row, list?.currency);
    const { lines, money } = await resolveLines(
      scope,
      {
        currency,
        priceListId: list?.id ?? null,
        day: new Date().toISOString().slice(0, 10),
        path: 'body.lines',
      },
      input.lines,
    );
    await scope.tx
      .delete(opportunityLines)
      .where(and(eq(opportunityLines.orgId, ctx.orgId), eq(opportunityLines.opportunityId, id)));
    if (lines.length > 0)
      await scope.tx
        .insert(opportunityLines)
        .values(lines.map((l) => ({ ...l, orgId: ctx.orgId, opportunityId: id })));
    const amountFromLines = input.amount_from_lines ?? row.amountFromLines;
    await setOpportunityPricingIn(scope, id, { priceListId: list?.id ?? null, amountFromLines });
    await emitEvent(scope, services.jobs, {
      type: 'opportunity_lines.updated',
      subject: { object: 'opportunity', id },
      data: { name: row.title, lines: lines.length, net_total: money.net_total, currency },
    });
    if (
      amountFromLines &&
      (Number(row.amount) !== Number(money.net_total) || row.amount === null || row.currency !== currency)
    )
      await updateOpportunityIn(scope, services, id, { amount: Number(money.net_total), currency });
    return viewIn(scope, id);
  });
}
