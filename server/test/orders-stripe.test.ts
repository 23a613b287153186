import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Client, expectProblem, expectStatus, signUp, startTestApp, type TestApp } from './kit/index.js';

vi.setConfig({ testTimeout: 120_000 });

const WEBHOOK_SECRET = 'whsec_local_test_secret';

/**
 * A local server speaking Stripe's wire format for Checkout Sessions
 * (https://docs.stripe.com/api/checkout/sessions/create): a form-encoded POST with a Bearer key,
 * answered with the session object as JSON.
 */
type Seen = {
  auth: string | undefined;
  type: string | undefined;
  idempotency: string | undefined;
  form: URLSearchParams;
};
const seen: Seen[] = [];
let stripeServer: Server;

const read = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => resolve(body));
  });

let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;
let client: Client;
let widget: string;

beforeAll(async () => {
  stripeServer = createServer(async (req, res) => {
    const body = await read(req);
    if (req.method !== 'POST' || req.url !== '/v1/checkout/sessions') {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ error: { type: 'invalid_request_error', message: 'Unrecognized request URL' } }),
      );
      return;
    }
    const form = new URLSearchParams(body);
    seen.push({
      auth: req.headers.authorization,
      type: req.headers['content-type'],
      idempotency: req.headers['idempotency-key'] as string | undefined,
      form,
    });
    const id = `cs_test_${seen.length}`;
    res.writeHead(200, { 'content-type': 'application/json', 'request-id': `req_${seen.length}` });
    res.end(
      JSON.stringify({
        id,
        object: 'checkout.session',
        mode: 'payment',
        status: 'open',
        payment_status: 'unpaid',
        amount_total: Number(form.get('line_items[0][price_data][unit_amount]')),
        currency: form.get('line_items[0][price_data][currency]'),
        client_reference_id: form.get('client_reference_id'),
        metadata: { org_id: form.get('metadata[org_id]'), quote_id: form.get('metadata[quote_id]') },
        url: `https://checkout.stripe.com/c/pay/${id}`,
      }),
    );
  });
  await new Promise<void>((resolve) => stripeServer.listen(0, '127.0.0.1', resolve));
  const port = (stripeServer.address() as AddressInfo).port;
  t = await startTestApp({
    STRIPE_SECRET_KEY: 'sk_test_local',
    STRIPE_API_BASE: `http://127.0.0.1:${port}`,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
  });
  admin = await signUp(t, 'Paid Online');
  client = admin.client;
  const list = expectStatus(
    await client.post('/api/v1/price-lists', { name: 'US', currency: 'USD' }),
    201,
  ).id;
  widget = expectStatus(await client.post('/api/v1/products', { sku: 'P-1', name: 'Plan' }), 201).id;
  expectStatus(
    await client.post(`/api/v1/price-lists/${list}/prices`, { product_id: widget, unit_price: '49.99' }),
    201,
  );
}, 240_000);
afterAll(async () => {
  await t?.close();
  stripeServer?.close();
});

async function acceptedQuote() {
  const opp = expectStatus(
    await client.post('/api/v1/opportunities', { title: 'Pay me', currency: 'USD' }),
    201,
  );
  const q = expectStatus(
    await client.post('/api/v1/quotes', {
      opportunity_id: opp.id,
      lines: [{ product_id: widget, quantity: '2' }],
    }),
    201,
  );
  const sent = expectStatus(
    await client.post(`/api/v1/quotes/${q.id}/send`, { to: 'payer@example.com' }),
    200,
  );
  const path = new URL(sent.public_url).pathname;
  return { q, path };
}

function webhook(payload: string, signature: string) {
  return t.app.inject({
    method: 'POST',
    url: '/api/v1/public/stripe/webhook',
    payload,
    headers: { 'content-type': 'application/json', 'stripe-signature': signature },
  });
}

describe('Stripe payment link', () => {
  it("creates a Checkout Session for an accepted quote's total in Stripe's wire format, once; the signed webhook marks the quote and its order paid", async () => {
    const { q, path } = await acceptedQuote();
    expectProblem(await client.post(`/api/v1/quotes/${q.id}/payment-link`), 409, 'quote_not_accepted');
    expectStatus(await t.client().post(`${path}/accept`, { name: 'Pat Payer' }), 200);
    const link = expectStatus(await client.post(`/api/v1/quotes/${q.id}/payment-link`), 200);
    expect(link).toMatchObject({ quote_id: q.id, session_id: 'cs_test_1', paid_at: null });
    expect(link.url).toBe('https://checkout.stripe.com/c/pay/cs_test_1');
    expect(seen).toHaveLength(1);
    const request = seen[0]!;
    expect(request.auth).toBe('Bearer sk_test_local');
    expect(request.type).toContain('application/x-www-form-urlencoded');
    expect(request.idempotency).toBe(`cairn-quote-${q.id}`);
    expect(Object.fromEntries(request.form)).toMatchObject({
      mode: 'payment',
      client_reference_id: q.id,
      'line_items[0][quantity]': '1',
      'line_items[0][price_data][currency]': 'usd',
      'line_items[0][price_data][unit_amount]': '9998',
      'metadata[quote_id]': q.id,
      'metadata[org_id]': admin.orgId,
    });
    // Asked again: the same link, no second session.
    expect(expectStatus(await client.post(`/api/v1/quotes/${q.id}/payment-link`), 200).url).toBe(link.url);
    expect(seen).toHaveLength(1);

    const order = expectStatus(await client.post(`/api/v1/quotes/${q.id}/order`, {}), 201);
    expect(order.paid_at).toBeNull();
    const payload = JSON.stringify({
      id: 'evt_test_1',
      object: 'event',
      type: 'checkout.session.completed',
      data: {
        object: {
          id: 'cs_test_1',
          object: 'checkout.session',
          payment_status: 'paid',
          status: 'complete',
          amount_total: 9998,
          currency: 'usd',
          client_reference_id: q.id,
          metadata: { org_id: admin.orgId, quote_id: q.id },
        },
      },
    });
    const stripe = new Stripe('sk_test_local');
    const signature = stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET });
    // A tampered payload or another secret's signature is refused.
    const forged = stripe.webhooks.generateTestHeaderString({ payload, secret: 'whsec_other' });
    expectProblem(await webhookRes(payload, forged), 400, 'invalid_signature');
    expectProblem(await webhookRes(payload.replace('9998', '1'), signature), 400, 'invalid_signature');
    const first = await webhook(payload, signature);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({ received: true, handled: true });
    const paid = expectStatus(await client.get(`/api/v1/orders/${order.id}`), 200);
    expect(paid.paid_at).toEqual(expect.any(String));
    // A second delivery changes nothing.
    expect((await webhook(payload, signature)).statusCode).toBe(200);
    expect(expectStatus(await client.get(`/api/v1/orders/${order.id}`), 200).paid_at).toBe(paid.paid_at);
    const again = expectStatus(await client.post(`/api/v1/quotes/${q.id}/payment-link`), 200);
    expect(again.paid_at).toBe(paid.paid_at);
    const timeline = expectStatus(
      await client.get(`/api/v1/opportunities/${q.opportunity_id}/timeline`),
      200,
    );
    expect(timeline.data.map((e: { type: string }) => e.type)).toEqual(
      expect.arrayContaining(['quote.paid', 'order.paid', 'order.created']),
    );
  });
});

describe("the customer's payment from the quote's own page", () => {
  it('offers to pay once accepted, sends the customer to Checkout and back to the page, which shows the payment', async () => {
    const { q, path } = await acceptedQuote();
    const html = { accept: 'text/html' };
    // Not accepted yet: no payment offered, and the pay link refuses.
    expect((await t.client().get(path, html)).text).not.toContain('/pay"');
    expectProblem(await t.client().get(`${path}/pay`), 409, 'quote_not_accepted');
    expectStatus(await t.client().post(`${path}/accept`, { name: 'Pat Payer' }), 200);
    const page = (await t.client().get(path, html)).text;
    expect(page).toMatch(/<a class="button accept" href="[^"]+\/pay">Pay \$99\.98 now<\/a>/);

    const before = seen.length;
    const pay = await t.app.inject({ method: 'GET', url: `${path}/pay` });
    expect(pay.statusCode).toBe(303);
    const session = `cs_test_${before + 1}`;
    expect(pay.headers.location).toBe(`https://checkout.stripe.com/c/pay/${session}`);
    // The customer comes back to this very page (the signed link), never to a page behind sign-in.
    const form = Object.fromEntries(seen.at(-1)!.form);
    expect(form.success_url).toBe(`${new URL(path, String(form.cancel_url)).href}?paid=1`);
    expect(new URL(String(form.cancel_url)).pathname).toBe(path);
    // Paying twice reuses the one session.
    expect((await t.app.inject({ method: 'GET', url: `${path}/pay` })).headers.location).toBe(
      pay.headers.location,
    );
    expect(seen.length).toBe(before + 1);
    expect((await t.client().get(`${path}?paid=1`, html)).text).toContain('your payment is being confirmed');

    const payload = JSON.stringify({
      id: `evt_${session}`,
      object: 'event',
      type: 'checkout.session.completed',
      data: {
        object: {
          id: session,
          object: 'checkout.session',
          payment_status: 'paid',
          status: 'complete',
          amount_total: 9998,
          currency: 'usd',
          client_reference_id: q.id,
          metadata: { org_id: admin.orgId, quote_id: q.id },
        },
      },
    });
    const signature = new Stripe('sk_test_local').webhooks.generateTestHeaderString({
      payload,
      secret: WEBHOOK_SECRET,
    });
    expect((await webhook(payload, signature)).statusCode).toBe(200);
    const paid = (await t.client().get(path, html)).text;
    expect(paid).toMatch(/Paid on /);
    expect(paid).not.toContain('/pay"');
    // Once paid, the pay link leads back to the page.
    expect((await t.app.inject({ method: 'GET', url: `${path}/pay` })).headers.location).toContain('?paid=1');
  });
});

/** The webhook's answer as the kit's problem checker reads it. */
async function webhookRes(payload: string, signature: string) {
  const res = await webhook(payload, signature);
  return { status: res.statusCode, body: res.json(), text: res.body, headers: res.headers };
}
