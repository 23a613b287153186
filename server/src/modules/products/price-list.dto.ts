import { z } from 'zod';
import { isCurrencyCode } from '../../platform/registry/field-values.js';
import { DecimalInput } from './product.dto.js';

export const CurrencyCode = z
  .string()
  .trim()
  .transform((v) => v.toUpperCase())
  .refine(isCurrencyCode, 'An ISO 4217 currency code, such as EUR');

const IsoDate = z.iso.date().describe('YYYY-MM-DD');

export const PriceListCreate = z.strictObject({
  name: z.string().trim().min(1).max(100),
  currency: CurrencyCode,
  is_default: z
    .boolean()
    .optional()
    .describe('Makes it the default list (the former default stops being one)'),
});
export const PriceListUpdate = z
  .strictObject({
    name: z.string().trim().min(1).max(100).optional(),
    is_default: z.literal(true).optional().describe('Makes it the default list'),
  })
  .meta({ id: 'PriceListUpdate' });

export const PriceList = z
  .object({
    id: z.uuid(),
    name: z.string(),
    currency: z.string(),
    is_default: z.boolean(),
    price_count: z.number().int(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'PriceList' });
export type PriceListView = z.infer<typeof PriceList>;

export const PriceCreate = z.strictObject({
  product_id: z.uuid(),
  unit_price: DecimalInput.refine((v) => Number(v) >= 0, 'Not negative'),
  min_quantity: DecimalInput.refine((v) => Number(v) > 0, 'Above zero')
    .optional()
    .describe('The tier: this price applies from this quantity up (default 1)'),
  valid_from: IsoDate.nullable().optional(),
  valid_to: IsoDate.nullable().optional(),
});
export type PriceCreateInput = z.infer<typeof PriceCreate>;

export const ProductPrice = z
  .object({
    id: z.uuid(),
    price_list_id: z.uuid(),
    product_id: z.uuid(),
    product_name: z.string(),
    sku: z.string(),
    unit_price: z.string(),
    min_quantity: z.string(),
    valid_from: z.string().nullable(),
    valid_to: z.string().nullable(),
  })
  .meta({ id: 'ProductPrice' });
export type ProductPriceView = z.infer<typeof ProductPrice>;

export const PriceLookupQuery = z.strictObject({
  price_list_id: z.uuid().optional().describe('Default: the default price list'),
  quantity: DecimalInput.optional(),
  date: IsoDate.optional().describe('Default: today (UTC)'),
});

export const PriceLookup = z
  .object({
    product_id: z.uuid(),
    price_list_id: z.uuid(),
    currency: z.string(),
    unit_price: z
      .string()
      .nullable()
      .describe('null when the list has no price valid then for that quantity'),
  })
  .meta({ id: 'PriceLookup' });
