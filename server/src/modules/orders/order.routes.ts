import { z } from 'zod';
import { checkedJsonText } from '../../platform/http/input.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { quotePaymentLink } from '../quotes/quote-payment.service.js';
import { Order, OrderConvert, OrderFulfil, OrderListQuery, OrderSummary } from './order.dto.js';
import { convertQuote, getOrder, listOrders } from './order.service.js';
import { cancelOrder, fulfilOrder } from './order-fulfilment.service.js';
import { receiveStripeEvent } from './order-payment.service.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem };
const IdParams = z.strictObject({ id: z.uuid() });
const tags = ['orders'];

/** Orders made from accepted quotes, their delivery and cancellation (issue 29). */
export function registerOrderRoutes(app: ApiApp, services: Services): void {
  app.post(
    '/quotes/:id/order',
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: 'convertQuoteToOrder',
        summary:
          "Convert an accepted quote to an order (lines copied, products reserved, the deal closed won with the order's total in the organization's currency); converting again answers the same order (200)",
        params: IdParams,
        body: OrderConvert,
        response: { 200: Order, 201: Order, ...errors },
      },
    },
    async (req, reply) => {
      const { order, created } = await convertQuote(services, req.tenant, req.params.id, req.body ?? {});
      return reply.code(created ? 201 : 200).send(order);
    },
  );
  app.get(
    '/orders',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'listOrders',
        summary: 'Orders, newest first (of a status, of a deal)',
        querystring: OrderListQuery,
        response: { 200: z.object({ data: z.array(OrderSummary) }), ...errors },
      },
    },
    async (req) => ({ data: await listOrders(services, req.tenant, req.query) }),
  );
  app.get(
    '/orders/:id',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'getOrder',
        summary: 'An order with its lines and what of them was delivered',
        params: IdParams,
        response: { 200: Order, ...errors },
      },
    },
    async (req) => getOrder(services, req.tenant, req.params.id),
  );
  app.post(
    '/orders/:id/fulfil',
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: 'fulfilOrder',
        summary:
          'Record a delivery (lines and quantities; none: everything left): stock leaves the warehouse; 400 `over_fulfilment` for more than a line has left',
        params: IdParams,
        body: OrderFulfil,
        response: { 200: Order, ...errors },
      },
    },
    async (req) => fulfilOrder(services, req.tenant, req.params.id, req.body ?? {}),
  );
  app.post(
    '/orders/:id/cancel',
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: 'cancelOrder',
        summary: 'Cancel an open or partly fulfilled order: what it still reserves is released',
        params: IdParams,
        response: { 200: Order, ...errors },
      },
    },
    async (req) => cancelOrder(services, req.tenant, req.params.id),
  );
  app.post(
    '/quotes/:id/payment-link',
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: 'createQuotePaymentLink',
        summary:
          'The payment link of an accepted quote: a Stripe Checkout Session for its total, made once; 409 `payments_not_configured` without STRIPE_SECRET_KEY, 424 `payment_provider_failed` when Stripe refuses',
        params: IdParams,
        response: {
          200: z.object({
            quote_id: z.uuid(),
            session_id: z.string(),
            url: z.string(),
            paid_at: z.string().nullable(),
          }),
          ...errors,
          424: Problem,
        },
      },
    },
    async (req) => quotePaymentLink(services, req.tenant, req.params.id),
  );
  // Stripe signs the raw bytes: this route reads its JSON body as a string.
  app.register(async (scoped) => {
    const api = scoped as unknown as ApiApp;
    api.removeContentTypeParser('application/json');
    api.addContentTypeParser(
      'application/json',
      { parseAs: 'buffer', bodyLimit: 262_144 },
      (_req, body, done) => {
        try {
          done(null, checkedJsonText(body as Buffer));
        } catch (error) {
          done(error as Error, undefined);
        }
      },
    );
    api.post(
      '/public/stripe/webhook',
      {
        config: { access: 'public' },
        schema: {
          tags,
          operationId: 'receiveStripeWebhook',
          summary:
            "Stripe's webhook, signed with Stripe-Signature; `checkout.session.completed` marks the quote (and its order) paid. 400 `invalid_signature` when it does not verify",
          body: z.string(),
          headers: z.object({ 'stripe-signature': z.string().max(2000).optional() }),
          response: {
            200: z.object({ received: z.literal(true), handled: z.boolean() }),
            400: Problem,
            409: Problem,
          },
        },
      },
      async (req) => receiveStripeEvent(services, req.body, req.headers['stripe-signature']),
    );
  });
}
