import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Client, expectProblem, expectStatus, signUp, startTestApp, type TestApp } from './kit/index.js';

// Sending a quote renders its PDF: more than the default on a busy machine.
vi.setConfig({ testTimeout: 120_000 });

type Admin = Awaited<ReturnType<typeof signUp>>;
let t: TestApp;
let admin: Admin;
let stranger: Admin;
let client: Client;
let eurList: string;
let usdList: string;
let widget: { id: string };
let hours: { id: string };
let warehouse: { id: string };

const year = new Date().getUTCFullYear();
const today = () => new Date().toISOString().slice(0, 10);

async function product(body: Record<string, unknown>, prices: [string, string][]) {
  const p = expectStatus(await client.post('/api/v1/products', body), 201);
  for (const [list, price] of prices)
    expectStatus(
      await client.post(`/api/v1/price-lists/${list}/prices`, { product_id: p.id, unit_price: price }),
      201,
    );
  return p as { id: string; name: string };
}

async function deal(title: string, currency = 'EUR') {
  return expectStatus(await client.post('/api/v1/opportunities', { title, currency }), 201) as {
    id: string;
  };
}

/** A quote of a new deal with these lines, sent and accepted online by the customer. */
async function acceptedQuote(title: string, lines: Record<string, unknown>[], currency = 'EUR') {
  const opp = await deal(title, currency);
  const q = expectStatus(await client.post('/api/v1/quotes', { opportunity_id: opp.id, lines }), 201);
  const sent = expectStatus(
    await client.post(`/api/v1/quotes/${q.id}/send`, { to: 'buyer@example.com' }),
    200,
  );
  const path = new URL(sent.public_url).pathname;
  expectStatus(await t.client().post(`${path}/accept`, { name: 'Bea Buyer' }), 200);
  return { quote: q as { id: string; total: string }, opp };
}

async function stockOf(productId: string) {
  const rows = expectStatus(
    await client.get(`/api/v1/stock?product_id=${productId}&warehouse_id=${warehouse.id}`),
    200,
  ).data;
  return rows[0] as { on_hand: string; reserved: string; available: string } | undefined;
}

async function adjust(productId: string, change: string, reason = 'counted') {
  return client.post('/api/v1/stock/adjustments', {
    warehouse_id: warehouse.id,
    product_id: productId,
    change,
    reason,
  });
}

beforeAll(async () => {
  t = await startTestApp();
  admin = await signUp(t, 'Order Takers');
  stranger = await signUp(t, 'Elsewhere Orders');
  client = admin.client;
  eurList = expectStatus(
    await client.post('/api/v1/price-lists', { name: 'Europe', currency: 'EUR' }),
    201,
  ).id;
  usdList = expectStatus(await client.post('/api/v1/price-lists', { name: 'US', currency: 'USD' }), 201).id;
  widget = await product({ sku: 'W-1', name: 'Widget', unit: 'piece', tax_rate: '20' }, [
    [eurList, '100'],
    [usdList, '110'],
  ]);
  hours = await product({ sku: 'H-1', name: 'Consulting', unit: 'hour', fractional: true }, [
    [eurList, '150'],
  ]);
  warehouse = expectStatus(await client.post('/api/v1/warehouses', { name: 'Main' }), 201);
}, 240_000);
afterAll(() => t?.close());

describe('line items on a deal', () => {
  it("price products from the deal's list, and the amount follows their net total when asked; a quote copies them", async () => {
    const opp = await deal('Lines deal');
    const set = expectStatus(
      await client.put(`/api/v1/opportunities/${opp.id}/lines`, {
        amount_from_lines: true,
        lines: [
          { product_id: widget.id, quantity: '3', discount: { kind: 'percent', value: '10' } },
          { product_id: hours.id, quantity: '1.5' },
        ],
      }),
      200,
    );
    expect(set).toMatchObject({
      currency: 'EUR',
      price_list_id: eurList,
      amount_from_lines: true,
      subtotal: '525.00',
      discount_total: '30.00',
      net_total: '495.00',
      amount: 495,
    });
    expect(set.lines.map((l: { unit_price: string; net: string }) => [l.unit_price, l.net])).toEqual([
      ['100', '270.00'],
      ['150', '225.00'],
    ]);
    expect(expectStatus(await client.get(`/api/v1/opportunities/${opp.id}`), 200).amount).toBe(495);
    // Without the flag the amount stays where the user put it.
    expectStatus(await client.patch(`/api/v1/opportunities/${opp.id}`, { amount: 1000 }), 200);
    expectStatus(
      await client.put(`/api/v1/opportunities/${opp.id}/lines`, {
        amount_from_lines: false,
        lines: [{ product_id: widget.id, quantity: '1' }],
      }),
      200,
    );
    expect(expectStatus(await client.get(`/api/v1/opportunities/${opp.id}`), 200).amount).toBe(1000);
    const q = expectStatus(await client.post('/api/v1/quotes', { opportunity_id: opp.id }), 201);
    expect(q.lines).toEqual([
      expect.objectContaining({
        product_id: widget.id,
        quantity: '1',
        unit_price: '100',
        description: 'Widget',
      }),
    ]);
    expect(q.price_list_id).toBe(eurList);
  });

  it('refuse negative or fractional quantities, unknown products and another tenant’s deal', async () => {
    const opp = await deal('Bad lines');
    const put = (lines: unknown[]) => client.put(`/api/v1/opportunities/${opp.id}/lines`, { lines });
    expectProblem(await put([{ product_id: widget.id, quantity: '-1' }]), 400, 'negative_quantity');
    expectProblem(await put([{ product_id: widget.id, quantity: '1.5' }]), 400, 'fractional_quantity');
    expectProblem(
      await put([{ product_id: '0190f0f0-0000-7000-8000-000000000000', quantity: '1' }]),
      422,
      'reference_not_found',
    );
    expectProblem(await stranger.client.put(`/api/v1/opportunities/${opp.id}/lines`, { lines: [] }), 404);
    expect(expectStatus(await client.get(`/api/v1/opportunities/${opp.id}/lines`), 200).lines).toEqual([]);
  });
});

describe('orders', () => {
  it("convert an accepted quote once: lines copied, numbered gap-free, the deal won with the total in the organization's currency at the dated rate", async () => {
    expectProblem(
      await client
        .post('/api/v1/quotes', { opportunity_id: (await deal('Draft')).id })
        .then(async (r) => client.post(`/api/v1/quotes/${r.body.id}/order`, {})),
      409,
      'quote_not_accepted',
    );
    expectStatus(await adjust(widget.id, '10', 'delivery received'), 200);
    const { quote, opp } = await acceptedQuote('Convert me', [{ product_id: widget.id, quantity: '2' }]);
    // EUR to the organization's USD needs a rate of the day.
    expectProblem(await client.post(`/api/v1/quotes/${quote.id}/order`, {}), 422, 'no_exchange_rate');
    expectStatus(
      await client.put('/api/v1/exchange-rates', { currency: 'EUR', valid_on: '2020-01-01', rate: '1.5' }),
      200,
    );
    expectStatus(
      await client.put('/api/v1/exchange-rates', { currency: 'EUR', valid_on: today(), rate: '1.1' }),
      200,
    );
    const first = expectStatus(await client.post(`/api/v1/quotes/${quote.id}/order`, {}), 201);
    expect(first).toMatchObject({
      number: `O-${year}-0001`,
      status: 'open',
      quote_id: quote.id,
      currency: 'EUR',
      total: '240.00',
      org_currency: 'USD',
      exchange_rate: '1.1',
      rate_on: today(),
      org_total: '264.00',
      warehouse_id: warehouse.id,
    });
    expect(first.lines).toEqual([
      expect.objectContaining({
        product_id: widget.id,
        quantity: '2',
        fulfilled_quantity: '0',
        net: '200.00',
      }),
    ]);
    const again = expectStatus(await client.post(`/api/v1/quotes/${quote.id}/order`, {}), 200);
    expect(again.id).toBe(first.id);
    const won = expectStatus(await client.get(`/api/v1/opportunities/${opp.id}`), 200);
    expect(won).toMatchObject({ status: 'won', amount: 264, currency: 'USD' });
    expect(await stockOf(widget.id)).toMatchObject({ on_hand: '10', reserved: '2', available: '8' });
    const list = expectStatus(await client.get('/api/v1/orders?status=open'), 200).data;
    expect(list.map((o: { id: string }) => o.id)).toContain(first.id);
    expectProblem(await stranger.client.get(`/api/v1/orders/${first.id}`), 404);
    expectProblem(await stranger.client.post(`/api/v1/quotes/${quote.id}/order`, {}), 404);
  });

  it('fulfil in parts (stock leaves the warehouse), refuse more than ordered, and cancel releasing the rest', async () => {
    const { quote } = await acceptedQuote('Deliver me', [{ product_id: widget.id, quantity: '3' }]);
    const order = expectStatus(await client.post(`/api/v1/quotes/${quote.id}/order`, {}), 201);
    const before = (await stockOf(widget.id))!;
    const line = order.lines[0].id;
    const part = expectStatus(
      await client.post(`/api/v1/orders/${order.id}/fulfil`, { lines: [{ line_id: line, quantity: '1' }] }),
      200,
    );
    expect(part.status).toBe('partly_fulfilled');
    expect(part.lines[0].fulfilled_quantity).toBe('1');
    expect(await stockOf(widget.id)).toMatchObject({
      on_hand: String(Number(before.on_hand) - 1),
      reserved: String(Number(before.reserved) - 1),
    });
    const fulfil = (quantity: unknown) =>
      client.post(`/api/v1/orders/${order.id}/fulfil`, { lines: [{ line_id: line, quantity }] });
    expectProblem(await fulfil('5'), 400, 'over_fulfilment');
    expectProblem(await fulfil('-1'), 400, 'negative_quantity');
    expectProblem(await fulfil('0.5'), 400, 'fractional_quantity');
    const cancelled = expectStatus(await client.post(`/api/v1/orders/${order.id}/cancel`), 200);
    expect(cancelled.status).toBe('cancelled');
    expect(await stockOf(widget.id)).toMatchObject({
      on_hand: String(Number(before.on_hand) - 1),
      reserved: String(Number(before.reserved) - 3),
    });
    expectProblem(await client.post(`/api/v1/orders/${order.id}/cancel`), 409, 'order_cancelled');
    expectProblem(await fulfil('1'), 409, 'order_cancelled');
    const ledger = expectStatus(await client.get(`/api/v1/stock/movements?order_id=${order.id}`), 200).data;
    expect(ledger.map((m: { kind: string }) => m.kind).sort()).toEqual([
      'fulfilment',
      'release',
      'reservation',
    ]);
    const timeline = expectStatus(await client.get(`/api/v1/products/${widget.id}/timeline`), 200);
    expect(timeline.data.map((e: { type: string }) => e.type)).toEqual(
      expect.arrayContaining(['stock.adjusted', 'stock.reserved', 'stock.fulfilled', 'stock.released']),
    );
  });

  it('a full delivery fulfils the order', async () => {
    const { quote } = await acceptedQuote('All at once', [{ product_id: widget.id, quantity: '1' }]);
    const order = expectStatus(await client.post(`/api/v1/quotes/${quote.id}/order`, {}), 201);
    const done = expectStatus(await client.post(`/api/v1/orders/${order.id}/fulfil`, {}), 200);
    expect(done.status).toBe('fulfilled');
    expect(done.fulfilled_at).toEqual(expect.any(String));
    expectProblem(await client.post(`/api/v1/orders/${order.id}/cancel`), 409, 'order_fulfilled');
  });
});

describe('stock', () => {
  it('never goes below zero: adjustments with a reason, and two orders racing for the last unit (one gets a 409)', async () => {
    const gadget = await product({ sku: 'G-1', name: 'Gadget' }, [[eurList, '10']]);
    expectProblem(await adjust(gadget.id, '-1'), 409, 'insufficient_stock');
    expectProblem(await adjust(gadget.id, '0.5'), 400, 'fractional_quantity');
    expectProblem(
      await client.post('/api/v1/stock/adjustments', {
        warehouse_id: warehouse.id,
        product_id: gadget.id,
        change: '1',
      }),
      400,
    );
    expectStatus(await adjust(gadget.id, '1', 'last one found'), 200);
    const a = await acceptedQuote('Race A', [{ product_id: gadget.id, quantity: '1' }]);
    const b = await acceptedQuote('Race B', [{ product_id: gadget.id, quantity: '1' }]);
    const results = await Promise.all(
      [a, b].map(({ quote }) => client.post(`/api/v1/quotes/${quote.id}/order`, {})),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    const refused = results.find((r) => r.status === 409)!;
    expect(String(refused.headers['content-type'])).toContain('application/problem+json');
    expect(refused.body.code).toBe('insufficient_stock');
    expect(await stockOf(gadget.id)).toMatchObject({ on_hand: '1', reserved: '1', available: '0' });
    // The refused conversion left nothing behind: no order, the deal still open, the number unused.
    const loser = [a, b][results.indexOf(refused)]!;
    expect(expectStatus(await client.get(`/api/v1/opportunities/${loser.opp.id}`), 200).status).toBe('open');
    const numbers = expectStatus(await client.get('/api/v1/orders?limit=200'), 200).data.map(
      (o: { number: string }) => Number(o.number.slice(-4)),
    );
    expect(numbers.sort((x: number, y: number) => x - y)).toEqual(
      numbers.map((_: number, i: number) => i + 1),
    );
    const ledger = expectStatus(
      await client.get(`/api/v1/stock/movements?product_id=${gadget.id}`),
      200,
    ).data;
    expect(ledger.map((m: { kind: string; reason: string | null }) => [m.kind, m.reason])).toEqual([
      ['reservation', null],
      ['adjustment', 'last one found'],
    ]);
  });

  it('goes below zero for a product that allows back-orders', async () => {
    const later = await product({ sku: 'B-1', name: 'Backordered', backorders: true }, [[eurList, '5']]);
    const { quote } = await acceptedQuote('Back-order', [{ product_id: later.id, quantity: '4' }]);
    expectStatus(await client.post(`/api/v1/quotes/${quote.id}/order`, {}), 201);
    expect(await stockOf(later.id)).toMatchObject({ on_hand: '0', reserved: '4', available: '-4' });
  });
});
