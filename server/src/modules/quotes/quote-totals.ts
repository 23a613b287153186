import { Decimal } from 'decimal.js';
import { AppError } from '../../platform/errors/app-error.js';
import { minorUnitOf } from '../currencies/minor-units.js';

/**
 * The money of a quote, computed with exact decimals (decimal.js, https://mikemcl.github.io/decimal.js/).
 *
 * The rounding rule (one, everywhere): amounts are rounded to the currency's ISO 4217 minor unit
 * with round-half-even (banker's rounding), per line:
 * - a line's gross = quantity × unit price, rounded;
 * - its discount: a percentage of the gross, rounded; or an amount (at most the gross, with no more
 *   decimals than the currency has);
 * - its net = gross − discount;
 * - tax is computed per rate on the sum of the nets of that rate's lines, rounded once per rate;
 * - subtotal = Σ gross, discounts = Σ discount, total = Σ net + Σ tax.
 */
const D = Decimal.clone({ precision: 50, rounding: Decimal.ROUND_HALF_EVEN });

export type DiscountInput = { kind: 'percent' | 'amount'; value: string };

export type LineMoneyInput = {
  quantity: string;
  unit_price: string;
  discount: DiscountInput | null;
  tax_rate: string | null;
};

export type LineMoney = { gross: string; discount: string; net: string; tax_rate: string };
export type TaxGroup = { rate: string; base: string; tax: string };
export type QuoteMoney = {
  lines: LineMoney[];
  subtotal: string;
  discount_total: string;
  net_total: string;
  taxes: TaxGroup[];
  tax_total: string;
  total: string;
  /** The largest discount of a line as a percentage of its gross (the approval rule reads it). */
  max_discount_percent: string;
};

const fail = (status: number, code: string, message: string, path: string) =>
  new AppError(status, code, message, { path, errors: [{ path, code, message }] });

/**
 * Computes a quote's lines and totals in `currency`. `path` names the lines in errors
 * (`body.lines`). @throws 400 `negative_quantity`, `negative_price`, `discount_over_100`,
 * `discount_above_line`, `negative_discount`, `too_many_decimals`, `invalid_tax_rate`
 */
export function computeQuoteMoney(
  currency: string,
  lines: LineMoneyInput[],
  path = 'body.lines',
): QuoteMoney {
  const dp = minorUnitOf(currency);
  const round = (d: Decimal) => d.toDecimalPlaces(dp, Decimal.ROUND_HALF_EVEN);
  const fixed = (d: Decimal) => d.toFixed(dp);
  let subtotal = new D(0);
  let discounts = new D(0);
  let maxPercent = new D(0);
  const byRate = new Map<string, Decimal>();
  const out: LineMoney[] = lines.map((line, i) => {
    const at = `${path}[${i}]`;
    const quantity = new D(line.quantity);
    const price = new D(line.unit_price);
    if (quantity.isNegative() || quantity.isZero())
      throw fail(400, 'negative_quantity', 'A quantity must be above zero', `${at}.quantity`);
    if (price.isNegative())
      throw fail(400, 'negative_price', 'A unit price cannot be negative', `${at}.unit_price`);
    const rate = new D(line.tax_rate ?? 0);
    if (rate.isNegative() || rate.greaterThan(100))
      throw fail(400, 'invalid_tax_rate', 'A tax rate is between 0 and 100 (percent)', `${at}.tax_rate`);
    const gross = round(quantity.times(price));
    let discount = new D(0);
    if (line.discount) {
      const value = new D(line.discount.value);
      if (value.isNegative())
        throw fail(400, 'negative_discount', 'A discount cannot be negative', `${at}.discount.value`);
      if (line.discount.kind === 'percent') {
        if (value.greaterThan(100))
          throw fail(400, 'discount_over_100', 'A discount cannot exceed 100 %', `${at}.discount.value`);
        discount = round(gross.times(value).dividedBy(100));
      } else {
        if (value.decimalPlaces() > dp)
          throw fail(
            400,
            'too_many_decimals',
            `An amount in ${currency} has at most ${dp} decimals`,
            `${at}.discount.value`,
          );
        if (value.greaterThan(gross))
          throw fail(
            400,
            'discount_above_line',
            "A discount cannot exceed the line's amount",
            `${at}.discount.value`,
          );
        discount = value;
      }
    }
    const net = gross.minus(discount);
    subtotal = subtotal.plus(gross);
    discounts = discounts.plus(discount);
    if (!gross.isZero()) {
      const percent = discount.times(100).dividedBy(gross);
      if (percent.greaterThan(maxPercent)) maxPercent = percent;
    }
    const rateKey = rate.toString();
    byRate.set(rateKey, (byRate.get(rateKey) ?? new D(0)).plus(net));
    return { gross: fixed(gross), discount: fixed(discount), net: fixed(net), tax_rate: rateKey };
  });
  const taxes: TaxGroup[] = [...byRate.entries()]
    .sort(([a], [b]) => new D(a).comparedTo(new D(b)))
    .map(([rate, base]) => ({ rate, base: fixed(base), tax: fixed(round(base.times(rate).dividedBy(100))) }));
  const taxTotal = taxes.reduce((sum, t) => sum.plus(t.tax), new D(0));
  const net = subtotal.minus(discounts);
  return {
    lines: out,
    subtotal: fixed(subtotal),
    discount_total: fixed(discounts),
    net_total: fixed(net),
    taxes,
    tax_total: fixed(taxTotal),
    total: fixed(net.plus(taxTotal)),
    max_discount_percent: maxPercent.toDecimalPlaces(4, Decimal.ROUND_HALF_EVEN).toString(),
  };
}

/** Whether a decimal string has a fractional part. */
export const isFractional = (value: string): boolean => !new D(value).isInteger();
