import { Decimal } from 'decimal.js';
import { and, asc, desc, eq, inArray, lte } from 'drizzle-orm';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { trimDecimal } from '../products/product.service.js';
import type { ExchangeRateSetInput } from './exchange-rate.dto.js';
import { exchangeRates } from './exchange-rate.schema.js';

type RateRow = typeof exchangeRates.$inferSelect;
const viewOf = (r: RateRow) => ({
  id: r.id,
  currency: r.currency,
  valid_on: r.validOn,
  rate: trimDecimal(r.rate)!,
  created_at: r.createdAt,
});

/** The organization's dated exchange rates, by currency then newest day first. */
export async function listExchangeRates(services: Services, ctx: TenantContext) {
  return withTenant(
    services.database,
    ctx,
    async (scope) =>
      (
        await scope.tx
          .select()
          .from(exchangeRates)
          .where(eq(exchangeRates.orgId, ctx.orgId))
          .orderBy(asc(exchangeRates.currency), desc(exchangeRates.validOn))
          .limit(1000)
      ).map(viewOf),
    { readOnly: true },
  );
}

/** Sets the rate of a currency from a day on (a second rate for the same day replaces the first). */
export async function setExchangeRate(services: Services, ctx: TenantContext, input: ExchangeRateSetInput) {
  return withTenant(services.database, ctx, async (scope) => {
    const [row] = await scope.tx
      .insert(exchangeRates)
      .values({
        orgId: ctx.orgId,
        currency: input.currency,
        validOn: input.valid_on,
        rate: input.rate,
        createdBy: ctx.actor.id,
      })
      .onConflictDoUpdate({
        target: [exchangeRates.orgId, exchangeRates.currency, exchangeRates.validOn],
        set: { rate: input.rate, createdBy: ctx.actor.id },
      })
      .returning();
    await emitEvent(scope, services.jobs, {
      type: 'exchange_rate.set',
      subject: { object: 'exchange_rate', id: row!.id },
      data: {
        name: `${input.currency} ${input.valid_on}`,
        currency: input.currency,
        valid_on: input.valid_on,
        rate: trimDecimal(row!.rate)!,
      },
    });
    return viewOf(row!);
  });
}

/**
 * `amount` in `currency` converted to `into` with the newest rate on or before `day` (exact
 * decimals, rounded half-even to `decimals`). Same currency: rate 1.
 * @throws 422 `no_exchange_rate` when the organization has no rate of `currency` on that day
 */
export async function convertIn(
  scope: TenantScope,
  amount: string,
  currency: string,
  into: string,
  day: string,
  decimals: number,
): Promise<{ rate: string; rateOn: string | null; amount: string }> {
  if (currency === into) return { rate: '1', rateOn: null, amount: new Decimal(amount).toFixed(decimals) };
  const [row] = await scope.tx
    .select()
    .from(exchangeRates)
    .where(
      and(
        eq(exchangeRates.orgId, scope.ctx.orgId),
        eq(exchangeRates.currency, currency),
        lte(exchangeRates.validOn, day),
      ),
    )
    .orderBy(desc(exchangeRates.validOn))
    .limit(1);
  if (!row)
    throw new AppError(
      422,
      'no_exchange_rate',
      `No ${currency} to ${into} exchange rate on or before ${day}: set one under exchange rates first`,
    );
  return {
    rate: trimDecimal(row.rate)!,
    rateOn: row.validOn,
    amount: new Decimal(amount)
      .times(row.rate)
      .toDecimalPlaces(decimals, Decimal.ROUND_HALF_EVEN)
      .toFixed(decimals),
  };
}

/** A currency's rate in force on a day: what the organization's currency gains per unit of it. */
export type RateInForce = { currency: string; rate: string; valid_on: string };

/**
 * The newest rate on or before `day` of each of `currencies` (one round trip); a currency with
 * no such rate is absent from the answer. The organization's own currency needs none.
 */
export async function ratesInForceIn(
  scope: TenantScope,
  currencies: readonly string[],
  day: string,
): Promise<Map<string, RateInForce>> {
  const out = new Map<string, RateInForce>();
  if (currencies.length === 0) return out;
  const rows = await scope.tx
    .selectDistinctOn([exchangeRates.currency], {
      currency: exchangeRates.currency,
      rate: exchangeRates.rate,
      validOn: exchangeRates.validOn,
    })
    .from(exchangeRates)
    .where(
      and(
        eq(exchangeRates.orgId, scope.ctx.orgId),
        inArray(exchangeRates.currency, [...currencies]),
        lte(exchangeRates.validOn, day),
      ),
    )
    .orderBy(asc(exchangeRates.currency), desc(exchangeRates.validOn));
  for (const r of rows)
    out.set(r.currency, { currency: r.currency, rate: trimDecimal(r.rate)!, valid_on: r.validOn });
  return out;
}

/**
 * Sums per currency converted into `into` with `rates` (from `ratesInForceIn`): the total,
 * rounded half-even to `decimals`, and the sums left out because their currency has no rate yet.
 * Never adds two currencies without a rate.
 */
export function convertSums(
  rates: ReadonlyMap<string, RateInForce>,
  sums: Readonly<Record<string, number | string>>,
  into: string,
  decimals: number,
): { value: number; unconverted: { currency: string; value: number }[] } {
  let total = new Decimal(0);
  const unconverted: { currency: string; value: number }[] = [];
  for (const [currency, value] of Object.entries(sums)) {
    const rate = currency === into ? '1' : rates.get(currency)?.rate;
    if (rate) total = total.plus(new Decimal(value).times(rate));
    else unconverted.push({ currency, value: Number(value) });
  }
  return { value: total.toDecimalPlaces(decimals, Decimal.ROUND_HALF_EVEN).toNumber(), unconverted };
}
