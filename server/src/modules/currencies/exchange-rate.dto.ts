import { z } from 'zod';
import { CurrencyCode } from '../products/price-list.dto.js';
import { DecimalInput } from '../products/product.dto.js';

export const ExchangeRateSet = z.strictObject({
  currency: CurrencyCode,
  valid_on: z.iso.date().describe('YYYY-MM-DD: the rate holds from this day until the next one'),
  rate: DecimalInput.refine((v) => Number(v) > 0, 'Above zero').describe(
    'Units of the organization’s currency one unit of `currency` is worth',
  ),
});
export type ExchangeRateSetInput = z.infer<typeof ExchangeRateSet>;

export const ExchangeRate = z
  .object({
    id: z.uuid(),
    currency: z.string(),
    valid_on: z.string(),
    rate: z.string(),
    created_at: z.string(),
  })
  .meta({ id: 'ExchangeRate' });
