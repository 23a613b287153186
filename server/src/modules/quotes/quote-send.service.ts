import { createHash } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError, conflict } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { organizationName } from '../organizations/organization.service.js';
import type { QuoteView } from './quote.dto.js';
import { quotes } from './quote.schema.js';
import { assertEditable, type QuoteRow, quoteRowIn, quoteViewIn } from './quote.service.js';
import { linkExpiryOf, signQuoteLink } from './quote-link.js';
import { renderQuotePdf } from './quote-pdf.js';
import { salesSettingsIn } from './sales-settings.service.js';

/** The queue of a sent quote's expiry, due the day after its validity date. */
export const QUOTE_EXPIRE_QUEUE = 'quote.expire';
type ExpireJob = { org_id: string; quote_id: string };

const today = () => new Date().toISOString().slice(0, 10);

/**
 * The SHA-256 of a quote version's content: its canonical JSON (the customer, lines and totals
 * in a fixed key order), what an acceptance records as the exact version accepted.
 */
export function contentHashOf(
  quote: QuoteView,
  customer: { contact: string | null; company: string | null },
) {
  const canonical = JSON.stringify({
    number: quote.number,
    version: quote.version,
    title: quote.title,
    currency: quote.currency,
    valid_until: quote.valid_until,
    customer: { company: customer.company, contact: customer.contact },
    lines: quote.lines.map((l) => ({
      description: l.description,
      sku: l.sku,
      unit: l.unit,
      quantity: l.quantity,
      unit_price: l.unit_price,
      discount: l.discount,
      tax_rate: l.tax_rate,
      net: l.net,
    })),
    subtotal: quote.subtotal,
    discount_total: quote.discount_total,
    taxes: quote.taxes,
    tax_total: quote.tax_total,
    total: quote.total,
    terms: quote.terms,
    notes: quote.notes,
  });
  return createHash('sha256').update(canonical).digest('hex');
}

/** The PDF of a quote version: the one sent (byte for byte) once sent, else rendered now. */
export async function quotePdfIn(
  scope: TenantScope,
  row: QuoteRow,
  orgName: string,
): Promise<{ filename: string; content: Buffer }> {
  const filename = `${row.number}${row.version > 1 ? `-v${row.version}` : ''}.pdf`;
  if (row.sentPdf) return { filename, content: Buffer.from(row.sentPdf, 'base64') };
  return { filename, content: await renderPdf(scope, row, new Date(), orgName) };
}

/** The organization's name (read outside a tenant transaction: the organizations table is global). */
export const orgNameOf = async (services: Services, orgId: string) =>
  (await organizationName(services, orgId)) ?? 'Cairn';

async function renderPdf(scope: TenantScope, row: QuoteRow, at: Date, orgName: string): Promise<Buffer> {
  const settings = await salesSettingsIn(scope);
  const view = await quoteViewIn(scope, row);
  return renderQuotePdf(view, {
    organization: { name: orgName, address: settings.address },
    locale: settings.locale,
    customer: { contact: row.contactName, company: row.companyName, email: row.recipientEmail },
    at,
  });
}

export async function getQuotePdf(services: Services, ctx: TenantContext, id: string) {
  const orgName = await orgNameOf(services, ctx.orgId);
  return withTenant(
    services.database,
    ctx,
    async (scope) => quotePdfIn(scope, await quoteRowIn(scope, id), orgName),
    { readOnly: true },
  );
}

/**
 * Approves a draft whose discount is above the organization's threshold (admins): who and when
 * are noted on it; a change of its lines withdraws the approval.
 * @throws 409 `approval_not_required`, `invalid_state` (not a draft), `quote_accepted`, `quote_superseded`
 */
export async function approveQuote(services: Services, ctx: TenantContext, id: string): Promise<QuoteView> {
  return withTenant(services.database, ctx, async (scope) => {
    const row = await quoteRowIn(scope, id, true);
    assertEditable(row);
    if (row.status !== 'draft') throw conflict('Only a draft is approved', undefined, 'invalid_state');
    const view = await quoteViewIn(scope, row);
    if (!view.approval.required)
      throw conflict("This quote's discounts need no approval", undefined, 'approval_not_required');
    if (row.approvedAt) return view;
    const [updated] = await scope.tx
      .update(quotes)
      .set({ approvedBy: ctx.actor.id, approvedAt: new Date().toISOString() })
      .where(and(eq(quotes.orgId, ctx.orgId), eq(quotes.id, id)))
      .returning();
    await emitEvent(scope, services.jobs, {
      type: 'quote.approved',
      subject: { object: 'quote', id },
      data: { name: `${row.number} ${row.title}`, max_discount_percent: view.max_discount_percent },
      related: row.opportunityId ? [{ object: 'opportunity', id: row.opportunityId }] : [],
    });
    return quoteViewIn(scope, updated!);
  });
}

/** The public link of a sent quote version. */
export const publicUrlOf = (services: Services, row: QuoteRow) =>
  `${services.config.baseUrl}/api/v1/public/quotes/${signQuoteLink(services.config.secret, {
    orgId: row.orgId,
    quoteId: row.id,
    expiresAt: linkExpiryOf(row.validUntil),
  })}`;

/**
 * Sends a draft: its PDF is rendered and kept (what the customer downloads and accepts), the
 * hashes of its content and PDF noted, its status `sent`, its expiry scheduled, and an e-mail with
 * the PDF and the public link goes through the sending layer (SMTP, or the local outbox). A sent
 * quote is sent again as it was (same PDF). @throws 409 `approval_required`, `quote_accepted`,
 * `quote_superseded`, `invalid_state`; 422 `quote_empty`, `validity_past`, `no_recipient`
 */
export async function sendQuote(
  services: Services,
  ctx: TenantContext,
  id: string,
  input: { to?: string | undefined; message?: string | undefined },
): Promise<{ quote: QuoteView; public_url: string }> {
  const org = await orgNameOf(services, ctx.orgId);
  const sent = await withTenant(services.database, ctx, async (scope) => {
    let row = await quoteRowIn(scope, id, true);
    assertEditable(row);
    if (row.status !== 'draft' && row.status !== 'sent')
      throw conflict(
        `A ${row.status} quote cannot be sent: edit it to make a new version`,
        undefined,
        'invalid_state',
      );
    const to = input.to ?? row.recipientEmail;
    if (!to)
      throw new AppError(422, 'no_recipient', 'Give the address to send the quote to', { path: 'body.to' });
    if (row.status === 'draft') {
      const view = await quoteViewIn(scope, row);
      if (view.lines.length === 0)
        throw new AppError(422, 'quote_empty', 'A quote without lines cannot be sent', { path: 'body' });
      if (row.validUntil < today())
        throw new AppError(422, 'validity_past', 'The quote’s validity date has passed: change it first', {
          path: 'body',
        });
      if (view.approval.required && !row.approvedAt)
        throw conflict(
          `A line is discounted ${view.max_discount_percent} %, above the threshold: an admin must approve the quote first`,
          undefined,
          'approval_required',
        );
      const at = new Date();
      const pdf = await renderPdf(scope, row, at, org);
      const [updated] = await scope.tx
        .update(quotes)
        .set({
          status: 'sent',
          sentAt: at.toISOString(),
          sentBy: ctx.actor.id,
          recipientEmail: to,
          sentPdf: pdf.toString('base64'),
          pdfSha256: createHash('sha256').update(pdf).digest('hex'),
          contentSha256: contentHashOf(view, { contact: row.contactName, company: row.companyName }),
          updatedAt: at.toISOString(),
          updatedBy: ctx.actor.id,
        })
        .where(and(eq(quotes.orgId, ctx.orgId), eq(quotes.id, id)))
        .returning();
      row = updated!;
      await services.jobs.send(
        scope.conn,
        QUOTE_EXPIRE_QUEUE,
        { org_id: ctx.orgId, quote_id: id } satisfies ExpireJob,
        { startAfter: new Date(linkExpiryOf(row.validUntil) * 1000) },
      );
    }
    await emitEvent(scope, services.jobs, {
      type: 'quote.sent',
      subject: { object: 'quote', id },
      data: { name: `${row.number} ${row.title}`, to, total: row.total, currency: row.currency },
      related: row.opportunityId ? [{ object: 'opportunity', id: row.opportunityId }] : [],
    });
    return { row, view: await quoteViewIn(scope, row), to };
  });
  const url = publicUrlOf(services, sent.row);
  await services.mailer.send({
    kind: 'quote',
    orgId: ctx.orgId,
    to: sent.to,
    subject: `Quote ${sent.row.number} from ${org}: ${sent.row.title}`,
    text: [
      input.message ?? `Hello,\n\nplease find our quote ${sent.row.number} attached.`,
      '',
      `View it, and accept or decline it online: ${url}`,
      `It is valid until ${sent.row.validUntil}.`,
      '',
      org,
    ].join('\n'),
    attachments: [
      {
        filename: `${sent.row.number}${sent.row.version > 1 ? `-v${sent.row.version}` : ''}.pdf`,
        contentType: 'application/pdf',
        content: Buffer.from(sent.row.sentPdf!, 'base64'),
      },
    ],
  });
  return { quote: sent.view, public_url: url };
}

/**
 * Expires a sent quote past its validity date (the job `sendQuote` schedules, and the public page
 * when it finds one): status `expired`, one `quote.expired` event. @returns whether it expired
 */
export async function expireQuoteIn(services: Services, scope: TenantScope, row: QuoteRow): Promise<boolean> {
  if (row.status !== 'sent' || row.validUntil >= today()) return false;
  const now = new Date().toISOString();
  await scope.tx
    .update(quotes)
    .set({ status: 'expired', expiredAt: now, updatedAt: now })
    .where(and(eq(quotes.orgId, scope.ctx.orgId), eq(quotes.id, row.id)));
  await emitEvent(scope, services.jobs, {
    type: 'quote.expired',
    subject: { object: 'quote', id: row.id },
    data: { name: `${row.number} ${row.title}`, valid_until: row.validUntil },
    related: row.opportunityId ? [{ object: 'opportunity', id: row.opportunityId }] : [],
  });
  return true;
}

/** Defines the expiry queue. */
export function defineQuoteJobs(services: Services): void {
  services.jobs.define<ExpireJob>({ name: QUOTE_EXPIRE_QUEUE, retryLimit: 5 }, async ({ data }) => {
    await withTenant(
      services.database,
      { orgId: data.org_id, actor: { type: 'system', id: null } },
      async (scope) => {
        const [row] = await scope.tx
          .select()
          .from(quotes)
          .where(and(eq(quotes.orgId, data.org_id), eq(quotes.id, data.quote_id)))
          .for('update');
        if (row) await expireQuoteIn(services, scope, row);
      },
    );
  });
}
