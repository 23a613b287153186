import { Decimal } from 'decimal.js';
import { and, eq } from 'drizzle-orm';
import type Stripe from 'stripe';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import { AppError } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { minorUnitOf } from '../currencies/minor-units.js';
import { markQuotePaidIn, stripeOf } from '../quotes/quote-payment.service.js';
import { orders } from './order.schema.js';

const invalidSignature = () =>
  new AppError(400, 'invalid_signature', 'The Stripe-Signature header does not verify this payload');

/**
 * Stripe's webhook: the payload is verified with Stripe's signature scheme (`Stripe-Signature`,
 * HMAC-SHA256 of `<t>.<payload>` with the endpoint's secret, 5 minutes' tolerance:
 * https://docs.stripe.com/webhooks#verify-events) by the official library. A
 * `checkout.session.completed` whose session is paid marks its quote paid, and its order when
 * the quote became one. Other events are acknowledged and ignored; a repeat changes nothing.
 * @throws 400 `invalid_signature`; 409 `payments_not_configured`
 */
export async function receiveStripeEvent(
  services: Services,
  payload: string,
  signature: string | undefined,
): Promise<{ received: true; handled: boolean }> {
  const secret = services.config.stripe?.webhookSecret;
  const stripe = stripeOf(services.config);
  if (!secret || !signature) throw invalidSignature();
  let event: Stripe.Event;
  try {
    event = stripe.webhooks.constructEvent(payload, signature, secret);
  } catch {
    throw invalidSignature();
  }
  if (event.type !== 'checkout.session.completed') return { received: true, handled: false };
  const session = event.data.object;
  const orgId = session.metadata?.org_id;
  const quoteId = session.metadata?.quote_id ?? session.client_reference_id;
  if (!orgId || !quoteId || session.payment_status !== 'paid' || !/^[0-9a-f-]{36}$/i.test(orgId))
    return { received: true, handled: false };
  const ctx: TenantContext = { orgId, actor: { type: 'system', id: null } };
  return withTenant(services.database, ctx, async (scope) => {
    const currency = (session.currency ?? 'usd').toUpperCase();
    const amount = new Decimal(session.amount_total ?? 0)
      .div(new Decimal(10).pow(minorUnitOf(currency)))
      .toFixed(minorUnitOf(currency));
    const paid = await markQuotePaidIn(scope, services, quoteId, session.id, amount);
    if (!paid) return { received: true as const, handled: false };
    const [order] = await scope.tx
      .select()
      .from(orders)
      .where(and(eq(orders.orgId, orgId), eq(orders.quoteId, quoteId)))
      .for('update');
    if (order && !order.paidAt) {
      await scope.tx
        .update(orders)
        .set({ paidAt: paid.paidAt })
        .where(and(eq(orders.orgId, orgId), eq(orders.id, order.id)));
      await emitEvent(scope, services.jobs, {
        type: 'order.paid',
        subject: { object: 'order', id: order.id },
        data: { name: `${order.number} ${order.title}`, session_id: session.id, amount, currency },
        related: order.opportunityId ? [{ object: 'opportunity', id: order.opportunityId }] : [],
      });
    }
    return { received: true as const, handled: true };
  });
}
