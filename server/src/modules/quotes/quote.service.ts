import { Decimal } from 'decimal.js';
import { and, asc, desc, eq, sql } from 'drizzle-orm';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError, badRequest, conflict, notFound } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { getContact } from '../contacts/contact.service.js';
import { minorUnitOf as decimalsOf } from '../currencies/minor-units.js';
import { getOpportunity, opportunityRowIn } from '../opportunities/opportunity.service.js';
import {
  defaultPriceListIn,
  priceListForCurrencyIn,
  priceListIn,
  unitPriceIn,
} from '../products/price-list.service.js';
import { productsIn, trimDecimal } from '../products/product.service.js';
import { opportunityLines } from './opportunity-line.schema.js';
import type { QuoteCreateInput, QuoteLineInputValue, QuoteUpdateInput, QuoteView } from './quote.dto.js';
import { quoteCounters, quoteLines, quotes } from './quote.schema.js';
import { computeQuoteMoney, isFractional, type LineMoneyInput } from './quote-totals.js';
import { approvalRequired, salesSettingsIn } from './sales-settings.service.js';

export type QuoteRow = typeof quotes.$inferSelect;
type LineRow = typeof quoteLines.$inferSelect;
export type NewLine = Omit<typeof quoteLines.$inferInsert, 'orgId' | 'quoteId'>;

const today = () => new Date().toISOString().slice(0, 10);
const addDays = (day: string, days: number) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
const money = (v: string) => v; // numeric(20,4) rounded on write: shown with the currency's decimals

/** The columns a priced line has, on a quote, a deal or an order. */
export type PricedLine = Omit<LineRow, 'orgId' | 'quoteId'>;

/** A priced line as the API shows it (`fmt` writes money with the currency's decimals). */
export const lineViewOf = (l: PricedLine, fmt: (v: string) => string) => ({
  id: l.id,
  position: l.position,
  product_id: l.productId,
  sku: l.sku,
  description: l.description,
  unit: l.unit,
  ...moneyInputOf(l),
  gross: fmt(l.gross),
  discount_amount: fmt(l.discount),
  net: fmt(l.net),
});

/** Writes money in `currency` with its minor unit's decimals. */
export const moneyFormatOf = (currency: string) => {
  const dp = decimalsOf(currency);
  return (v: string) => new Decimal(v).toFixed(dp);
};

/** The quote as the API shows it (lines given in position order). */
export function quoteViewOf(row: QuoteRow, lines: LineRow[], threshold: string | null): QuoteView {
  const fmt = moneyFormatOf(row.currency);
  const net = fmt(new Decimal(row.subtotal).minus(row.discountTotal).toString());
  return {
    id: row.id,
    number: row.number,
    version: row.version,
    status: row.status as QuoteView['status'],
    read_only: row.status === 'accepted' || row.supersededBy !== null,
    title: row.title,
    opportunity_id: row.opportunityId,
    contact_id: row.contactId,
    company_id: row.companyId,
    owner_id: row.ownerId,
    currency: row.currency,
    price_list_id: row.priceListId,
    valid_until: row.validUntil,
    terms: row.terms,
    notes: row.notes,
    recipient_email: row.recipientEmail,
    lines: lines.map((l) => lineViewOf(l, fmt)),
    subtotal: fmt(row.subtotal),
    discount_total: fmt(row.discountTotal),
    net_total: net,
    taxes: row.taxes.map((t) => ({ rate: t.rate, base: fmt(t.base), tax: fmt(t.tax) })),
    tax_total: fmt(row.taxTotal),
    total: fmt(row.total),
    max_discount_percent: trimDecimal(row.maxDiscountPercent)!,
    approval: {
      required: approvalRequired(row.maxDiscountPercent, threshold),
      approved_by: row.approvedBy,
      approved_at: row.approvedAt,
    },
    sent_at: row.sentAt,
    content_sha256: row.contentSha256,
    pdf_sha256: row.pdfSha256,
    superseded_by: row.supersededBy,
    acceptance: row.acceptedAt
      ? {
          name: row.acceptedName ?? '',
          at: row.acceptedAt,
          ip: row.acceptedIp,
          user_agent: row.acceptedUserAgent,
          content_sha256: row.contentSha256,
          pdf_sha256: row.pdfSha256,
        }
      : null,
    rejection: row.rejectedAt ? { at: row.rejectedAt, reason: row.rejectedReason } : null,
    expired_at: row.expiredAt,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    created_by: row.createdBy,
    updated_by: row.updatedBy,
  };
}

/** A quote version's row, in the caller's transaction. @throws 404 (another tenant's id too) */
export async function quoteRowIn(scope: TenantScope, id: string, forUpdate = false): Promise<QuoteRow> {
  const query = scope.tx
    .select()
    .from(quotes)
    .where(and(eq(quotes.orgId, scope.ctx.orgId), eq(quotes.id, id)));
  const [row] = forUpdate ? await query.for('update') : await query;
  if (!row) throw notFound('Quote', id);
  return row;
}

/** A deal's line items in position order (issue 29), in the caller's transaction. */
export async function opportunityLinesIn(scope: TenantScope, opportunityId: string) {
  return scope.tx
    .select()
    .from(opportunityLines)
    .where(
      and(eq(opportunityLines.orgId, scope.ctx.orgId), eq(opportunityLines.opportunityId, opportunityId)),
    )
    .orderBy(asc(opportunityLines.position));
}

export async function quoteLinesIn(scope: TenantScope, quoteId: string): Promise<LineRow[]> {
  return scope.tx
    .select()
    .from(quoteLines)
    .where(and(eq(quoteLines.orgId, scope.ctx.orgId), eq(quoteLines.quoteId, quoteId)))
    .orderBy(asc(quoteLines.position));
}

/** The API view of a quote version, in the caller's transaction. */
export async function quoteViewIn(scope: TenantScope, row: QuoteRow): Promise<QuoteView> {
  const settings = await salesSettingsIn(scope);
  return quoteViewOf(row, await quoteLinesIn(scope, row.id), settings.approvalDiscountPercent);
}

/**
 * The next quote number of the organization for `year`: the counter row is inserted or bumped
 * in the caller's transaction, which holds its lock until it ends: a second quote waits, and a
 * quote that rolls back gives its number back (gap-free; numbers are never reused: quotes are
 * never deleted).
 */
async function nextNumber(scope: TenantScope, year: number): Promise<string> {
  const [row] = await scope.tx
    .insert(quoteCounters)
    .values({ orgId: scope.ctx.orgId, year, last: 1 })
    .onConflictDoUpdate({
      target: [quoteCounters.orgId, quoteCounters.year],
      set: { last: sql`${quoteCounters.last} + 1` },
    })
    .returning({ last: quoteCounters.last });
  return `Q-${year}-${String(row!.last).padStart(4, '0')}`;
}

type LinesContext = { currency: string; priceListId: string | null; day: string; path: string };

/**
 * A quote's lines from their input: product lines copy the product (SKU, name, unit, tax rate)
 * and, without a unit price, its price on the price list for the quantity; then the money
 * (quote-totals.ts). @throws 400 `fractional_quantity`, `description_required`,
 * `unit_price_required` and the money's errors; 422 `reference_not_found`, `no_price`
 */
export async function resolveLines(
  scope: TenantScope,
  context: LinesContext,
  inputs: QuoteLineInputValue[],
): Promise<{ lines: NewLine[]; money: ReturnType<typeof computeQuoteMoney> }> {
  const found = await productsIn(
    scope,
    inputs.flatMap((l) => (l.product_id ? [l.product_id] : [])),
  );
  const drafts: (LineMoneyInput &
    Omit<NewLine, 'gross' | 'discount' | 'net' | 'quantity' | 'unitPrice' | 'taxRate'>)[] = [];
  for (const [i, line] of inputs.entries()) {
    const at = `${context.path}[${i}]`;
    const product = line.product_id ? found.get(line.product_id) : undefined;
    if (!(Number(line.quantity) > 0))
      throw badRequest('A quantity must be above zero', `${at}.quantity`, 'negative_quantity');
    if (line.product_id && !product)
      throw new AppError(422, 'reference_not_found', 'No product with this id', { path: `${at}.product_id` });
    if (product && !product.fractional && isFractional(line.quantity))
      throw badRequest(
        `${product.name} is sold in whole ${product.unit}s: no fractional quantity`,
        `${at}.quantity`,
        'fractional_quantity',
      );
    let unitPrice = line.unit_price;
    if (unitPrice === undefined) {
      if (!product)
        throw badRequest('A free-text line needs a unit price', `${at}.unit_price`, 'unit_price_required');
      const listed = context.priceListId
        ? await unitPriceIn(scope, context.priceListId, product.id, line.quantity, context.day)
        : null;
      if (listed === null)
        throw new AppError(
          422,
          'no_price',
          `${product.name} has no price on the quote's price list for this quantity`,
          {
            path: `${at}.unit_price`,
          },
        );
      unitPrice = listed;
    }
    const description = line.description ?? product?.name;
    if (!description)
      throw badRequest('A free-text line needs a description', `${at}.description`, 'description_required');
    drafts.push({
      position: i,
      productId: product?.id ?? null,
      sku: product?.sku ?? null,
      description,
      unit: product?.unit ?? null,
      quantity: line.quantity,
      unit_price: unitPrice,
      discount: line.discount ?? null,
      discountKind: line.discount?.kind ?? null,
      discountValue: line.discount?.value ?? null,
      tax_rate: line.tax_rate ?? product?.tax_rate ?? '0',
    });
  }
  const result = computeQuoteMoney(context.currency, drafts, context.path);
  const lines = drafts.map(
    (d, i): NewLine => ({
      position: d.position,
      productId: d.productId,
      sku: d.sku,
      description: d.description,
      unit: d.unit,
      quantity: d.quantity,
      unitPrice: d.unit_price,
      discountKind: d.discountKind,
      discountValue: d.discountValue,
      taxRate: d.tax_rate ?? '0',
      gross: result.lines[i]!.gross,
      discount: result.lines[i]!.discount,
      net: result.lines[i]!.net,
    }),
  );
  return { lines, money: result };
}

export const moneyColumns = (m: ReturnType<typeof computeQuoteMoney>) => ({
  subtotal: money(m.subtotal),
  discountTotal: m.discount_total,
  taxTotal: m.tax_total,
  total: m.total,
  taxes: m.taxes,
  maxDiscountPercent: m.max_discount_percent,
});

async function writeLines(scope: TenantScope, quoteId: string, lines: NewLine[]): Promise<void> {
  await scope.tx
    .delete(quoteLines)
    .where(and(eq(quoteLines.orgId, scope.ctx.orgId), eq(quoteLines.quoteId, quoteId)));
  for (let i = 0; i < lines.length; i += 500)
    await scope.tx
      .insert(quoteLines)
      .values(lines.slice(i, i + 500).map((l) => ({ ...l, orgId: scope.ctx.orgId, quoteId })));
}

/**
 * The price list a quote uses: the one asked for (its currency must be the quote's: 422
 * `currency_mismatch`), else the list in the quote's currency, else the default one.
 */
export async function pickPriceList(
  scope: TenantScope,
  asked: string | undefined,
  currency: string | null,
  path: string,
) {
  if (asked) {
    const list = await priceListIn(scope, asked).catch(() => {
      throw new AppError(422, 'reference_not_found', 'No price list with this id', { path });
    });
    if (currency && list.currency !== currency)
      throw new AppError(
        422,
        'currency_mismatch',
        `The price list is in ${list.currency}; the quote is in ${currency}`,
        { path },
      );
    return list;
  }
  if (currency) {
    return priceListForCurrencyIn(scope, currency);
  }
  return defaultPriceListIn(scope);
}

/**
 * Creates a draft quote from an opportunity: its contact, company, owner and currency are copied,
 * its price list picked (`pickPriceList`), its lines priced; the number is the organization's next.
 */
export async function createQuote(
  services: Services,
  ctx: TenantContext,
  input: QuoteCreateInput,
): Promise<QuoteView> {
  const opportunity = await getOpportunity(services, ctx, input.opportunity_id).catch((error) => {
    if (error instanceof AppError && error.status === 404)
      throw new AppError(422, 'reference_not_found', 'No opportunity with this id', {
        path: 'body.opportunity_id',
      });
    throw error;
  });
  const contact = opportunity.contact
    ? await getContact(services, ctx, opportunity.contact.id).catch(() => null)
    : null;
  return withTenant(services.database, ctx, async (scope) => {
    const settings = await salesSettingsIn(scope);
    // Without lines of its own, the quote copies the deal's line items (and their price list).
    const dealLines = input.lines === undefined ? await opportunityLinesIn(scope, opportunity.id) : [];
    const dealRow = await opportunityRowIn(scope, opportunity.id);
    const list = await pickPriceList(
      scope,
      input.price_list_id ?? (dealLines.length > 0 ? (dealRow.priceListId ?? undefined) : undefined),
      opportunity.currency,
      'body.price_list_id',
    );
    const currency = opportunity.currency ?? list?.currency ?? settings.currency;
    const day = today();
    const { lines, money: m } = await resolveLines(
      scope,
      { currency, priceListId: list?.id ?? null, day, path: 'body.lines' },
      input.lines ?? inputsOf(dealLines),
    );
    const number = await nextNumber(scope, new Date().getUTCFullYear());
    const [row] = await scope.tx
      .insert(quotes)
      .values({
        orgId: ctx.orgId,
        number,
        title: input.title ?? opportunity.title,
        opportunityId: opportunity.id,
        contactId: opportunity.contact?.id ?? null,
        companyId: opportunity.company?.id ?? null,
        contactName: opportunity.contact?.name ?? null,
        companyName: opportunity.company?.name ?? null,
        ownerId: opportunity.owner_id ?? (ctx.actor.type === 'user' ? ctx.actor.id : null),
        currency,
        priceListId: list?.id ?? null,
        validUntil: input.valid_until ?? addDays(day, settings.quoteValidityDays),
        terms: input.terms !== undefined ? input.terms : settings.defaultTerms,
        notes: input.notes ?? null,
        recipientEmail: input.recipient_email ?? contact?.email ?? null,
        ...moneyColumns(m),
        createdBy: ctx.actor.id,
        updatedBy: ctx.actor.id,
      })
      .returning();
    await writeLines(scope, row!.id, lines);
    await emitEvent(scope, services.jobs, {
      type: 'quote.created',
      subject: { object: 'quote', id: row!.id },
      data: { name: `${number} ${row!.title}`, number, total: m.total, currency },
      related: [{ object: 'opportunity', id: opportunity.id }],
    });
    return quoteViewIn(scope, row!);
  });
}

export async function getQuote(services: Services, ctx: TenantContext, id: string): Promise<QuoteView> {
  return withTenant(
    services.database,
    ctx,
    async (scope) => quoteViewIn(scope, await quoteRowIn(scope, id)),
    {
      readOnly: true,
    },
  );
}

/** Quote versions, newest first (of a deal, of a status). */
export async function listQuotes(
  services: Services,
  ctx: TenantContext,
  q: { opportunity_id?: string | undefined; status?: string | undefined; limit: number },
) {
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      const settings = await salesSettingsIn(scope);
      const rows = await scope.tx
        .select()
        .from(quotes)
        .where(
          and(
            eq(quotes.orgId, ctx.orgId),
            q.opportunity_id ? eq(quotes.opportunityId, q.opportunity_id) : undefined,
            q.status ? eq(quotes.status, q.status) : undefined,
          ),
        )
        .orderBy(desc(quotes.createdAt), desc(quotes.id))
        .limit(q.limit);
      return rows.map((r) => {
        const { lines: _l, taxes: _t, ...rest } = quoteViewOf(r, [], settings.approvalDiscountPercent);
        return rest;
      });
    },
    { readOnly: true },
  );
}

/** @throws 409 `quote_accepted` / `quote_superseded`: the version is read-only */
export function assertEditable(row: QuoteRow): void {
  if (row.status === 'accepted')
    throw conflict('An accepted quote cannot be changed', undefined, 'quote_accepted');
  if (row.supersededBy)
    throw conflict('A later version of this quote exists: edit that one', undefined, 'quote_superseded');
}

/** A stored line's numbers, as the money is computed from them. */
export const moneyInputOf = (l: PricedLine): LineMoneyInput & { tax_rate: string } => ({
  quantity: trimDecimal(l.quantity)!,
  unit_price: trimDecimal(l.unitPrice)!,
  discount:
    l.discountKind && l.discountValue !== null
      ? { kind: l.discountKind as 'percent' | 'amount', value: trimDecimal(l.discountValue)! }
      : null,
  tax_rate: trimDecimal(l.taxRate)!,
});

/** The input lines of an existing version, to copy into the next one unchanged. */
export const inputsOf = (lines: PricedLine[]): QuoteLineInputValue[] =>
  lines.map((l) => ({ product_id: l.productId, description: l.description, ...moneyInputOf(l) }));

/**
 * Changes a quote. A draft changes in place (its approval, if any, is withdrawn when its lines
 * change); a sent, rejected or expired one gets a new draft version with the same number, and
 * the former version becomes read-only. Product lines keep the unit prices they copied unless
 * the new lines leave a price out. @throws 409 `quote_accepted`, `quote_superseded`
 */
export async function updateQuote(
  services: Services,
  ctx: TenantContext,
  id: string,
  input: QuoteUpdateInput,
): Promise<QuoteView> {
  return withTenant(services.database, ctx, async (scope) => {
    const current = await quoteRowIn(scope, id, true);
    assertEditable(current);
    const currentLines = await quoteLinesIn(scope, id);
    let priceListId = current.priceListId;
    if (input.price_list_id !== undefined && input.price_list_id !== current.priceListId)
      priceListId = (await pickPriceList(scope, input.price_list_id, current.currency, 'body.price_list_id'))!
        .id;
    const { lines, money: m } = await resolveLines(
      scope,
      { currency: current.currency, priceListId, day: today(), path: 'body.lines' },
      input.lines ?? inputsOf(currentLines),
    );
    const fields = {
      title: input.title ?? current.title,
      priceListId,
      validUntil: input.valid_until ?? current.validUntil,
      terms: input.terms !== undefined ? input.terms : current.terms,
      notes: input.notes !== undefined ? input.notes : current.notes,
      recipientEmail: input.recipient_email !== undefined ? input.recipient_email : current.recipientEmail,
      ...moneyColumns(m),
      updatedAt: new Date().toISOString(),
      updatedBy: ctx.actor.id,
    };
    const related = current.opportunityId ? [{ object: 'opportunity', id: current.opportunityId }] : [];
    if (current.status === 'draft') {
      const linesChanged = input.lines !== undefined;
      const [row] = await scope.tx
        .update(quotes)
        .set({ ...fields, ...(linesChanged ? { approvedBy: null, approvedAt: null } : {}) })
        .where(and(eq(quotes.orgId, ctx.orgId), eq(quotes.id, id)))
        .returning();
      if (linesChanged) await writeLines(scope, id, lines);
      const changes: Record<string, { before: unknown; after: unknown }> = {};
      for (const [key, before, after] of [
        ['title', current.title, row!.title],
        ['valid_until', current.validUntil, row!.validUntil],
        ['terms', current.terms, row!.terms],
        ['notes', current.notes, row!.notes],
        ['price_list_id', current.priceListId, row!.priceListId],
        ['total', trimDecimal(current.total), trimDecimal(row!.total)],
      ] as const)
        if (before !== after) changes[key] = { before, after };
      if (linesChanged) changes.lines = { before: currentLines.length, after: lines.length };
      if (Object.keys(changes).length > 0)
        await emitEvent(scope, services.jobs, {
          type: 'quote.updated',
          subject: { object: 'quote', id },
          data: { name: `${row!.number} ${row!.title}`, changes },
          related,
        });
      return quoteViewIn(scope, row!);
    }
    const [next] = await scope.tx
      .insert(quotes)
      .values({
        orgId: ctx.orgId,
        number: current.number,
        version: current.version + 1,
        status: 'draft',
        opportunityId: current.opportunityId,
        contactId: current.contactId,
        companyId: current.companyId,
        contactName: current.contactName,
        companyName: current.companyName,
        ownerId: current.ownerId,
        currency: current.currency,
        ...fields,
        createdBy: ctx.actor.id,
      })
      .returning();
    await writeLines(scope, next!.id, lines);
    await scope.tx
      .update(quotes)
      .set({ supersededBy: next!.id, updatedAt: new Date().toISOString(), updatedBy: ctx.actor.id })
      .where(and(eq(quotes.orgId, ctx.orgId), eq(quotes.id, id)));
    await emitEvent(scope, services.jobs, {
      type: 'quote.versioned',
      subject: { object: 'quote', id: next!.id },
      data: { name: `${next!.number} ${next!.title}`, version: next!.version, previous_id: id },
      related: [...related, { object: 'quote', id }],
    });
    return quoteViewIn(scope, next!);
  });
}

/** Versions of the quote with this number, oldest first. */
export async function quoteVersionsIn(scope: TenantScope, number: string) {
  return scope.tx
    .select({ id: quotes.id, version: quotes.version, status: quotes.status })
    .from(quotes)
    .where(and(eq(quotes.orgId, scope.ctx.orgId), eq(quotes.number, number)))
    .orderBy(asc(quotes.version));
}
