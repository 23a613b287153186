import { z } from 'zod';
import { DecimalInput } from '../products/product.dto.js';
import { QuoteLine, TaxGroup } from '../quotes/quote.dto.js';

export const ORDER_STATUSES = ['open', 'partly_fulfilled', 'fulfilled', 'cancelled'] as const;

const Money = z.string().describe('A decimal with the currency’s minor unit’s decimals');

export const OrderConvert = z.strictObject({
  warehouse_id: z
    .uuid()
    .optional()
    .describe('Where the order reserves its products; default: the default warehouse'),
});
export type OrderConvertInput = z.infer<typeof OrderConvert>;

export const OrderLine = QuoteLine.extend({
  fulfilled_quantity: z.string(),
}).meta({ id: 'OrderLine' });

export const Order = z
  .object({
    id: z.uuid(),
    number: z.string().describe('O-<year>-<0001>, gap-free per organization'),
    status: z.enum(ORDER_STATUSES),
    quote_id: z.uuid(),
    opportunity_id: z.uuid().nullable(),
    contact_id: z.uuid().nullable(),
    company_id: z.uuid().nullable(),
    contact_name: z.string().nullable(),
    company_name: z.string().nullable(),
    owner_id: z.uuid().nullable(),
    title: z.string(),
    currency: z.string(),
    warehouse_id: z.uuid().nullable(),
    lines: z.array(OrderLine),
    subtotal: Money,
    discount_total: Money,
    taxes: z.array(TaxGroup),
    tax_total: Money,
    total: Money,
    org_currency: z.string(),
    exchange_rate: z.string().describe('Units of the organization’s currency per unit of the order’s'),
    rate_on: z.string().nullable().describe('The day of the rate used; null: same currency'),
    org_total: Money,
    paid_at: z.string().nullable(),
    fulfilled_at: z.string().nullable(),
    cancelled_at: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    created_by: z.uuid().nullable(),
  })
  .meta({ id: 'Order' });
export type OrderView = z.infer<typeof Order>;
export const OrderSummary = Order.omit({ lines: true, taxes: true }).meta({ id: 'OrderSummary' });

export const OrderListQuery = z.strictObject({
  status: z.enum(ORDER_STATUSES).optional(),
  opportunity_id: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const OrderFulfil = z.strictObject({
  lines: z
    .array(z.strictObject({ line_id: z.uuid(), quantity: DecimalInput }))
    .max(1000)
    .optional()
    .describe('How much of which line left the warehouse; absent: everything still to deliver'),
});
export type OrderFulfilInput = z.infer<typeof OrderFulfil>;
