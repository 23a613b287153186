import { Decimal } from 'decimal.js';
import { and, eq } from 'drizzle-orm';
import Stripe from 'stripe';
import type { Config } from '../../config.js';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError, conflict } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { minorUnitOf } from '../currencies/minor-units.js';
import { quotes } from './quote.schema.js';
import { quoteRowIn } from './quote.service.js';
import { publicUrlOf } from './quote-send.service.js';

/**
 * The Stripe client (the official `stripe` package), pointed at `STRIPE_API_BASE` when set (a
 * local server speaking Stripe's wire format in tests). @throws 409 `payments_not_configured`
 */
export function stripeOf(config: Config): Stripe {
  if (!config.stripe)
    throw conflict(
      'No payment provider is configured (STRIPE_SECRET_KEY)',
      undefined,
      'payments_not_configured',
    );
  const base = config.stripe.apiBase ? new URL(config.stripe.apiBase) : null;
  return new Stripe(config.stripe.secretKey, {
    maxNetworkRetries: 1,
    telemetry: false,
    ...(base
      ? {
          host: base.hostname,
          port: base.port || (base.protocol === 'https:' ? 443 : 80),
          protocol: base.protocol === 'https:' ? 'https' : 'http',
        }
      : {}),
  });
}

export type PaymentLink = { quote_id: string; session_id: string; url: string; paid_at: string | null };

/**
 * The payment link of an accepted quote: a Stripe Checkout Session for its total (one line, in
 * the currency's minor units), made once (Stripe's idempotency key is the quote's id; the session
 * is kept on the quote). https://docs.stripe.com/api/checkout/sessions/create
 * @throws 404; 409 `quote_not_accepted`, `payments_not_configured`; 424 `payment_provider_failed`
 */
export async function quotePaymentLink(
  services: Services,
  ctx: TenantContext,
  id: string,
): Promise<PaymentLink> {
  const row = await withTenant(services.database, ctx, (scope) => quoteRowIn(scope, id), { readOnly: true });
  if (row.status !== 'accepted')
    throw conflict('Only an accepted quote can be paid', undefined, 'quote_not_accepted');
  if (row.paymentSessionId && row.paymentUrl)
    return { quote_id: id, session_id: row.paymentSessionId, url: row.paymentUrl, paid_at: row.paidAt };
  const stripe = stripeOf(services.config);
  const minor = new Decimal(row.total).times(new Decimal(10).pow(minorUnitOf(row.currency))).toFixed(0);
  // The customer comes back to the quote's own page (the signed link), where the payment shows.
  const back = publicUrlOf(services, row);
  const session = await stripe.checkout.sessions
    .create(
      {
        mode: 'payment',
        client_reference_id: id,
        ...(row.recipientEmail ? { customer_email: row.recipientEmail } : {}),
        line_items: [
          {
            quantity: 1,
            price_data: {
              currency: row.currency.toLowerCase(),
              unit_amount: Number(minor),
              product_data: { name: `${row.number} ${row.title}` },
            },
          },
        ],
        metadata: { org_id: ctx.orgId, quote_id: id },
        success_url: `${back}?paid=1`,
        cancel_url: back,
      },
      { idempotencyKey: `cairn-quote-${id}` },
    )
    .catch((error: unknown) => {
      throw new AppError(424, 'payment_provider_failed', 'Stripe refused to make the payment link', {
        detail: error instanceof Error ? error.message : String(error),
        cause: error,
      });
    });
  if (!session.url)
    throw new AppError(424, 'payment_provider_failed', 'Stripe answered a session without a URL');
  await withTenant(services.database, ctx, (scope) =>
    scope.tx
      .update(quotes)
      .set({ paymentSessionId: session.id, paymentUrl: session.url })
      .where(and(eq(quotes.orgId, ctx.orgId), eq(quotes.id, id))),
  );
  return { quote_id: id, session_id: session.id, url: session.url, paid_at: null };
}

/**
 * Marks the quote of a completed Checkout Session paid (once: a second delivery of the webhook
 * changes nothing). @returns the quote's id, or null when no quote holds this session
 */
export async function markQuotePaidIn(
  scope: TenantScope,
  services: Services,
  quoteId: string,
  sessionId: string,
  amount: string,
): Promise<{ id: string; paidAt: string; first: boolean } | null> {
  const [row] = await scope.tx
    .select()
    .from(quotes)
    .where(and(eq(quotes.orgId, scope.ctx.orgId), eq(quotes.id, quoteId)))
    .for('update');
  if (!row || row.paymentSessionId !== sessionId) return null;
  if (row.paidAt) return { id: row.id, paidAt: row.paidAt, first: false };
  const paidAt = new Date().toISOString();
  await scope.tx
    .update(quotes)
    .set({ paidAt })
    .where(and(eq(quotes.orgId, scope.ctx.orgId), eq(quotes.id, quoteId)));
  await emitEvent(scope, services.jobs, {
    type: 'quote.paid',
    subject: { object: 'quote', id: quoteId },
    data: { name: `${row.number} ${row.title}`, session_id: sessionId, amount, currency: row.currency },
    related: row.opportunityId ? [{ object: 'opportunity', id: row.opportunityId }] : [],
  });
  return { id: row.id, paidAt, first: true };
}
