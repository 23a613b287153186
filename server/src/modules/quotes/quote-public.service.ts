import { and, eq } from 'drizzle-orm';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError, conflict } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import type { QuoteView } from './quote.dto.js';
import { quotes } from './quote.schema.js';
import { type QuoteRow, quoteViewIn } from './quote.service.js';
import { readQuoteLink } from './quote-link.js';
import { quotePaymentLink } from './quote-payment.service.js';
import { expireQuoteIn, orgNameOf, quotePdfIn } from './quote-send.service.js';
import { salesSettingsIn } from './sales-settings.service.js';

/**
 * What the customer's page shows: the quote version, the organization's name and locale, and
 * whether it can be paid online (a payment provider is configured) and when it was paid.
 */
export type PublicQuote = {
  quote: QuoteView;
  organization: string;
  locale: string;
  payment: { enabled: boolean; paid_at: string | null };
};

const invalid = () =>
  new AppError(
    403,
    'link_invalid',
    'This link is not valid: it may have been changed or cut short. Ask the sender for a new one.',
  );

/**
 * Opens a link in its organization (the signed link is the only credential: it names the
 * organization, the quote version and the expiry) and runs `fn` on the locked quote row.
 * @throws 403 `link_invalid` (tampered, unknown), 410 `link_expired`, `quote_superseded`, `quote_expired`
 */
async function withLink<T>(
  services: Services,
  token: string,
  fn: (scope: TenantScope, row: QuoteRow, ctx: TenantContext) => Promise<T>,
): Promise<T> {
  const link = readQuoteLink(services.config.secret, token);
  if (!link) throw invalid();
  const ctx: TenantContext = { orgId: link.orgId, actor: { type: 'system', id: null } };
  const outcome = await withTenant(services.database, ctx, async (scope) => {
    const [row] = await scope.tx
      .select()
      .from(quotes)
      .where(and(eq(quotes.orgId, link.orgId), eq(quotes.id, link.quoteId)))
      .for('update');
    if (!row || row.status === 'draft') throw invalid();
    // An answered quote stays viewable (and a second click answers the same) past its date.
    if (row.status === 'accepted' || row.status === 'rejected') return { value: await fn(scope, row, ctx) };
    if (row.supersededBy)
      throw new AppError(
        410,
        'quote_superseded',
        'This quote was replaced by a newer version: ask the sender for its link.',
      );
    if (row.status === 'expired' || (await expireQuoteIn(services, scope, row)))
      return { expired: true as const };
    if (link.expiresAt * 1000 < Date.now()) throw new AppError(410, 'link_expired', 'This link has expired.');
    return { value: await fn(scope, row, ctx) };
  });
  // The expiry commits before the refusal is answered.
  if ('expired' in outcome)
    throw new AppError(410, 'quote_expired', 'This quote has expired: ask the sender for a new one.');
  return outcome.value;
}

/** The quote behind a link, as its customer sees it. */
export async function openPublicQuote(services: Services, token: string): Promise<PublicQuote> {
  const orgName = await orgNameOfLink(services, token);
  return withLink(services, token, (scope, row) => publicViewIn(services, scope, row, orgName));
}

/** The customer's view of `row`. */
const publicViewIn = async (
  services: Services,
  scope: TenantScope,
  row: QuoteRow,
  organization: string,
): Promise<PublicQuote> => ({
  quote: await quoteViewIn(scope, row),
  organization,
  locale: (await salesSettingsIn(scope)).locale,
  payment: { enabled: Boolean(services.config.stripe), paid_at: row.paidAt },
});

/**
 * Where the customer pays an accepted quote behind a link: its Stripe Checkout page (the payment
 * link made once per quote, `quotePaymentLink`), or the quote's own page when it is paid already.
 * @throws what `withLink` throws; 409 `quote_not_accepted`, `payments_not_configured`;
 *   424 `payment_provider_failed`
 */
export async function publicPaymentUrl(services: Services, token: string): Promise<string> {
  const found = await withLink(services, token, async (_scope, row, ctx) => ({
    id: row.id,
    status: row.status,
    paidAt: row.paidAt,
    ctx,
  }));
  if (found.status !== 'accepted')
    throw conflict('Accept the quote before paying it', undefined, 'quote_not_accepted');
  if (found.paidAt) return `/api/v1/public/quotes/${encodeURIComponent(token)}?paid=1`;
  return (await quotePaymentLink(services, found.ctx, found.id)).url;
}

const orgNameOfLink = async (services: Services, token: string) => {
  const link = readQuoteLink(services.config.secret, token);
  return link ? orgNameOf(services, link.orgId) : 'Cairn';
};

/** The PDF behind a link: the one sent, byte for byte. */
export async function publicQuotePdf(services: Services, token: string) {
  const orgName = await orgNameOfLink(services, token);
  return withLink(services, token, async (scope, row) => quotePdfIn(scope, row, orgName));
}

export type Answer = {
  name?: string | undefined;
  reason?: string | undefined;
  ip: string | null;
  userAgent: string | null;
};

/**
 * The customer accepts the quote by typing their name: name, time, IP address, user agent and the
 * SHA-256 of the exact version and PDF are recorded; the version is then immutable and its owner
 * notified (`quote.accepted`). A second acceptance answers the first one unchanged (idempotent).
 * @throws 409 `quote_rejected`, and `withLink`'s refusals
 */
export async function acceptPublicQuote(
  services: Services,
  token: string,
  answer: Answer,
): Promise<PublicQuote> {
  const orgName = await orgNameOfLink(services, token);
  return withLink(services, token, async (scope, found, ctx) => {
    let row = found;
    if (row.status === 'rejected') throw conflict('This quote was declined', undefined, 'quote_rejected');
    if (row.status === 'sent') {
      const now = new Date().toISOString();
      const [updated] = await scope.tx
        .update(quotes)
        .set({
          status: 'accepted',
          acceptedName: answer.name!,
          acceptedAt: now,
          acceptedIp: answer.ip,
          acceptedUserAgent: answer.userAgent?.slice(0, 500) ?? null,
          updatedAt: now,
        })
        .where(and(eq(quotes.orgId, ctx.orgId), eq(quotes.id, row.id)))
        .returning();
      row = updated!;
      await emitEvent(scope, services.jobs, {
        type: 'quote.accepted',
        subject: { object: 'quote', id: row.id },
        data: {
          name: `${row.number} ${row.title}`,
          accepted_by: answer.name!,
          owner_id: row.ownerId,
          total: row.total,
          currency: row.currency,
          content_sha256: row.contentSha256,
          pdf_sha256: row.pdfSha256,
        },
        related: row.opportunityId ? [{ object: 'opportunity', id: row.opportunityId }] : [],
      });
    }
    return publicViewIn(services, scope, row, orgName);
  });
}

/** The customer declines, with a reason; idempotent. @throws 409 `quote_accepted` */
export async function rejectPublicQuote(
  services: Services,
  token: string,
  answer: Answer,
): Promise<PublicQuote> {
  const orgName = await orgNameOfLink(services, token);
  return withLink(services, token, async (scope, found, ctx) => {
    let row = found;
    if (row.status === 'accepted')
      throw conflict('This quote was already accepted', undefined, 'quote_accepted');
    if (row.status === 'sent') {
      const now = new Date().toISOString();
      const [updated] = await scope.tx
        .update(quotes)
        .set({ status: 'rejected', rejectedAt: now, rejectedReason: answer.reason ?? null, updatedAt: now })
        .where(and(eq(quotes.orgId, ctx.orgId), eq(quotes.id, row.id)))
        .returning();
      row = updated!;
      await emitEvent(scope, services.jobs, {
        type: 'quote.rejected',
        subject: { object: 'quote', id: row.id },
        data: { name: `${row.number} ${row.title}`, reason: answer.reason ?? null, owner_id: row.ownerId },
        related: row.opportunityId ? [{ object: 'opportunity', id: row.opportunityId }] : [],
      });
    }
    return publicViewIn(services, scope, row, orgName);
  });
}
