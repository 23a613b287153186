import { sql } from 'drizzle-orm';
import {
  date,
  foreignKey,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  text,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';
import { auditColumns, idColumn, isoTimestamp } from '../../db/columns.js';
import { organizations } from '../../platform/auth/auth.schema.js';

/** An organization's sales settings (issue 29): its locale and currency, the approval threshold. */
export const salesSettings = pgTable('sales_settings', {
  orgId: uuid('org_id')
    .primaryKey()
    .references(() => organizations.id, { onDelete: 'cascade' }),
  /** BCP 47 tag numbers and dates are written in on quotes and their PDF: `en-US`, `de-DE`. */
  locale: text('locale').notNull().default('en-US'),
  /** The organization's own currency (ISO 4217). */
  currency: text('currency').notNull().default('USD'),
  /** A quote with a line discounted more than this percentage needs an admin's approval to be sent; null: never. */
  approvalDiscountPercent: numeric('approval_discount_percent', { precision: 7, scale: 4 }),
  /** How long a new quote is valid, days. */
  quoteValidityDays: integer('quote_validity_days').notNull().default(30),
  defaultTerms: text('default_terms'),
  /** Printed on the PDF under the organization's name. */
  address: text('address'),
  updatedAt: isoTimestamp('updated_at').notNull().defaultNow(),
});

/**
 * The last quote number given per organization and year: the row is locked (insert ... on
 * conflict do update) by the transaction that creates a quote, so numbers are gap-free (a
 * rolled-back quote rolls its number back) and never given twice.
 */
export const quoteCounters = pgTable(
  'quote_counters',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    year: integer('year').notNull(),
    last: integer('last').notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.year] })],
);

/**
 * One version of a quote. Versions of a quote share its `number`; editing a sent quote makes the
 * next version and leaves the former one read-only (`superseded_by`). Money is numeric (exact),
 * rounded to the currency's minor unit (quote-totals.ts).
 */
export const quotes = pgTable(
  'quotes',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    number: text('number').notNull(),
    version: integer('version').notNull().default(1),
    /** draft, sent, accepted, rejected, expired. */
    status: text('status').notNull().default('draft'),
    title: text('title').notNull(),
    opportunityId: uuid('opportunity_id'),
    contactId: uuid('contact_id'),
    companyId: uuid('company_id'),
    /** The customer's names as they were when the quote was made (printed on it). */
    contactName: text('contact_name'),
    companyName: text('company_name'),
    ownerId: uuid('owner_id'),
    currency: text('currency').notNull(),
    priceListId: uuid('price_list_id'),
    validUntil: date('valid_until', { mode: 'string' }).notNull(),
    terms: text('terms'),
    notes: text('notes'),
    recipientEmail: text('recipient_email'),
    subtotal: numeric('subtotal', { precision: 20, scale: 4 }).notNull().default('0'),
    discountTotal: numeric('discount_total', { precision: 20, scale: 4 }).notNull().default('0'),
    taxTotal: numeric('tax_total', { precision: 20, scale: 4 }).notNull().default('0'),
    total: numeric('total', { precision: 20, scale: 4 }).notNull().default('0'),
    taxes: jsonb('taxes')
      .$type<{ rate: string; base: string; tax: string }[]>()
      .notNull()
      .default(sql`'[]'::jsonb`),
    maxDiscountPercent: numeric('max_discount_percent', { precision: 9, scale: 4 }).notNull().default('0'),
    approvedBy: uuid('approved_by'),
    approvedAt: isoTimestamp('approved_at'),
    sentAt: isoTimestamp('sent_at'),
    sentBy: uuid('sent_by'),
    /** SHA-256 (hex) of the sent version's canonical JSON, and of its PDF as sent. */
    contentSha256: text('content_sha256'),
    pdfSha256: text('pdf_sha256'),
    /** The PDF as sent, base64: what the customer downloads and accepts, byte for byte. */
    sentPdf: text('sent_pdf'),
    supersededBy: uuid('superseded_by'),
    acceptedName: text('accepted_name'),
    acceptedAt: isoTimestamp('accepted_at'),
    acceptedIp: text('accepted_ip'),
    acceptedUserAgent: text('accepted_user_agent'),
    rejectedAt: isoTimestamp('rejected_at'),
    rejectedReason: text('rejected_reason'),
    expiredAt: isoTimestamp('expired_at'),
    /** Stripe Checkout: the session of the accepted quote's payment link, its URL, when it was paid. */
    paymentSessionId: text('payment_session_id'),
    paymentUrl: text('payment_url'),
    paidAt: isoTimestamp('paid_at'),
    ...auditColumns(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    unique('quotes_number_version_key').on(t.orgId, t.number, t.version),
    index('quotes_created_idx').on(t.orgId, t.createdAt.desc(), t.id.desc()),
    index('quotes_opportunity_idx').on(t.orgId, t.opportunityId),
  ],
);

/** A line of a quote version: a product's (copied at the time) or free text. */
export const quoteLines = pgTable(
  'quote_lines',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    quoteId: uuid('quote_id').notNull(),
    position: integer('position').notNull(),
    /** The product it was copied from (kept as a reference only: the line holds its own copy). */
    productId: uuid('product_id'),
    sku: text('sku'),
    description: text('description').notNull(),
    unit: text('unit'),
    quantity: numeric('quantity', { precision: 18, scale: 6 }).notNull(),
    unitPrice: numeric('unit_price', { precision: 18, scale: 6 }).notNull(),
    /** percent or amount; null: none. */
    discountKind: text('discount_kind'),
    discountValue: numeric('discount_value', { precision: 18, scale: 6 }),
    taxRate: numeric('tax_rate', { precision: 7, scale: 4 }).notNull().default('0'),
    gross: numeric('gross', { precision: 20, scale: 4 }).notNull(),
    discount: numeric('discount', { precision: 20, scale: 4 }).notNull(),
    net: numeric('net', { precision: 20, scale: 4 }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    index('quote_lines_quote_idx').on(t.orgId, t.quoteId, t.position),
    foreignKey({
      name: 'quote_lines_quote_fk',
      columns: [t.orgId, t.quoteId],
      foreignColumns: [quotes.orgId, quotes.id],
    }).onDelete('cascade'),
  ],
);
