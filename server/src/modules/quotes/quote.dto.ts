import { z } from 'zod';
import { CurrencyCode } from '../products/price-list.dto.js';
import { DecimalInput } from '../products/product.dto.js';

export const QUOTE_STATUSES = ['draft', 'sent', 'accepted', 'rejected', 'expired'] as const;

const IsoDate = z.iso.date().describe('YYYY-MM-DD');

export const Discount = z.strictObject({
  kind: z.enum(['percent', 'amount']),
  value: DecimalInput.describe('A percentage (10 = 10 %) or an amount in the quote’s currency'),
});

export const QuoteLineInput = z.strictObject({
  product_id: z.uuid().nullable().optional().describe('A product line; absent or null: free text'),
  description: z.string().trim().min(1).max(2000).optional().describe('Default: the product’s name'),
  quantity: DecimalInput,
  unit_price: DecimalInput.optional().describe(
    "Default for a product line: its price on the quote's price list for this quantity",
  ),
  discount: Discount.nullable().optional(),
  tax_rate: DecimalInput.nullable().optional().describe('Percent; default: the product’s rate, else 0'),
});
export type QuoteLineInputValue = z.infer<typeof QuoteLineInput>;

const Lines = z.array(QuoteLineInput).max(1000);

export const QuoteCreate = z.strictObject({
  opportunity_id: z.uuid().describe('The deal quoted: its contact, company and currency are copied'),
  price_list_id: z
    .uuid()
    .optional()
    .describe("Default: the list in the deal's currency, else the default list"),
  title: z.string().trim().min(1).max(200).optional(),
  valid_until: IsoDate.optional(),
  terms: z.string().max(10_000).nullable().optional(),
  notes: z.string().max(10_000).nullable().optional(),
  recipient_email: z.email().max(320).nullable().optional(),
  lines: Lines.optional().describe('Default: none'),
});
export type QuoteCreateInput = z.infer<typeof QuoteCreate>;

export const QuoteUpdate = z.strictObject({
  title: z.string().trim().min(1).max(200).optional(),
  price_list_id: z.uuid().optional(),
  valid_until: IsoDate.optional(),
  terms: z.string().max(10_000).nullable().optional(),
  notes: z.string().max(10_000).nullable().optional(),
  recipient_email: z.email().max(320).nullable().optional(),
  lines: Lines.optional().describe('Replaces every line'),
});
export type QuoteUpdateInput = z.infer<typeof QuoteUpdate>;

/** A line of the live totals: its numbers only (the editor sends what its grid holds). */
export const TotalsLine = z.strictObject({
  quantity: DecimalInput,
  unit_price: DecimalInput,
  discount: Discount.nullable().optional(),
  tax_rate: DecimalInput.nullable().optional(),
});
export const QuoteTotalsInput = z.strictObject({
  currency: CurrencyCode,
  lines: z.array(TotalsLine).max(1000),
});

const Money = z.string().describe('A decimal in the quote’s currency, with its minor unit’s decimals');

export const QuoteLine = z
  .object({
    id: z.uuid(),
    position: z.number().int(),
    product_id: z.uuid().nullable(),
    sku: z.string().nullable(),
    description: z.string(),
    unit: z.string().nullable(),
    quantity: z.string(),
    unit_price: z.string(),
    discount: z.object({ kind: z.enum(['percent', 'amount']), value: z.string() }).nullable(),
    tax_rate: z.string(),
    gross: Money,
    discount_amount: Money,
    net: Money,
  })
  .meta({ id: 'QuoteLine' });

export const TaxGroup = z.object({ rate: z.string(), base: Money, tax: Money }).meta({ id: 'QuoteTaxGroup' });

export const QuoteTotals = z
  .object({
    currency: z.string(),
    lines: z.array(z.object({ gross: Money, discount: Money, net: Money, tax_rate: z.string() })),
    subtotal: Money,
    discount_total: Money,
    net_total: Money,
    taxes: z.array(TaxGroup),
    tax_total: Money,
    total: Money,
    max_discount_percent: z.string(),
    approval_required: z.boolean().describe("A line's discount is above the organization's threshold"),
  })
  .meta({ id: 'QuoteTotals' });

export const Quote = z
  .object({
    id: z.uuid(),
    number: z.string().describe('Q-<year>-<0001>, gap-free per organization; shared by the versions'),
    version: z.number().int(),
    status: z.enum(QUOTE_STATUSES),
    read_only: z.boolean().describe('Accepted, or superseded by a later version'),
    title: z.string(),
    opportunity_id: z.uuid().nullable(),
    contact_id: z.uuid().nullable(),
    company_id: z.uuid().nullable(),
    owner_id: z.uuid().nullable(),
    currency: z.string(),
    price_list_id: z.uuid().nullable(),
    valid_until: z.string(),
    terms: z.string().nullable(),
    notes: z.string().nullable(),
    recipient_email: z.string().nullable(),
    lines: z.array(QuoteLine),
    subtotal: Money,
    discount_total: Money,
    net_total: Money,
    taxes: z.array(TaxGroup),
    tax_total: Money,
    total: Money,
    max_discount_percent: z.string(),
    approval: z.object({
      required: z.boolean(),
      approved_by: z.uuid().nullable(),
      approved_at: z.string().nullable(),
    }),
    sent_at: z.string().nullable(),
    content_sha256: z.string().nullable(),
    pdf_sha256: z.string().nullable(),
    superseded_by: z.uuid().nullable(),
    acceptance: z
      .object({
        name: z.string(),
        at: z.string(),
        ip: z.string().nullable(),
        user_agent: z.string().nullable(),
        content_sha256: z.string().nullable(),
        pdf_sha256: z.string().nullable(),
      })
      .nullable(),
    rejection: z.object({ at: z.string(), reason: z.string().nullable() }).nullable(),
    expired_at: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    created_by: z.uuid().nullable(),
    updated_by: z.uuid().nullable(),
  })
  .meta({ id: 'Quote' });
export type QuoteView = z.infer<typeof Quote>;

export const QuoteSummary = Quote.omit({ lines: true, taxes: true }).meta({ id: 'QuoteSummary' });

export const QuoteListQuery = z.strictObject({
  opportunity_id: z.uuid().optional(),
  status: z.enum(QUOTE_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const QuoteSend = z
  .strictObject({
    to: z.email().max(320).optional().describe("Default: the quote's recipient, else its contact's e-mail"),
    message: z.string().max(5000).optional(),
  })
  .meta({ id: 'QuoteSend' });

export const QuoteSendResult = z
  .object({
    quote: Quote,
    public_url: z.string().describe('The signed link the customer opens (no sign-in)'),
  })
  .meta({ id: 'QuoteSendResult' });

export const SalesSettings = z
  .object({
    locale: z.string(),
    currency: z.string(),
    approval_discount_percent: z.string().nullable(),
    quote_validity_days: z.number().int(),
    default_terms: z.string().nullable(),
    address: z.string().nullable(),
  })
  .meta({ id: 'SalesSettings' });

export const SalesSettingsUpdate = z.strictObject({
  locale: z
    .string()
    .trim()
    .max(35)
    .refine((v) => {
      try {
        return Intl.getCanonicalLocales(v).length === 1;
      } catch {
        return false;
      }
    }, 'A BCP 47 language tag, such as en-US or de-DE')
    .optional(),
  currency: CurrencyCode.optional(),
  approval_discount_percent: DecimalInput.refine(
    (v) => Number(v) >= 0 && Number(v) <= 100,
    'Between 0 and 100',
  )
    .nullable()
    .optional(),
  quote_validity_days: z.number().int().min(1).max(3650).optional(),
  default_terms: z.string().max(10_000).nullable().optional(),
  address: z.string().max(1000).nullable().optional(),
});
