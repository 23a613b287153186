import { CASES, holdsOwn, NO_IDS, rowsOf } from './isolation-cases.js';

// The isolation walk's cases for products' prices, price lists, quotes and the customer's
// public quote pages (issue 29). The product record routes come from RECORDS.

NO_IDS['GET /api/v1/sales-settings'] = "the caller's organization's sales settings; takes no id";
NO_IDS['PATCH /api/v1/sales-settings'] = "changes the caller's organization's sales settings; takes no id";
NO_IDS['POST /api/v1/quotes/totals'] = 'computes the totals of the numbers given; reads no record';
NO_IDS['GET /api/v1/public/quotes/:token'] =
  "public: takes a quote link's signed token (a secret, not an id)";
NO_IDS['GET /api/v1/public/quotes/:token/pdf'] =
  "public: takes a quote link's signed token (a secret, not an id)";
NO_IDS['GET /api/v1/public/quotes/:token/pay'] =
  "public: takes a quote link's signed token (a secret, not an id)";
NO_IDS['POST /api/v1/public/quotes/:token/accept'] =
  "public: takes a quote link's signed token (a secret, not an id)";
NO_IDS['POST /api/v1/public/quotes/:token/reject'] =
  "public: takes a quote link's signed token (a secret, not an id)";

CASES['GET /api/v1/products/:id/price'] = [
  {
    fields: { 'path.id': 'product', 'query.price_list_id': 'priceList' },
    send: (v) => ({
      url: `/api/v1/products/${v['path.id']}/price?price_list_id=${v['query.price_list_id']}&quantity=2`,
    }),
  },
];
CASES['GET /api/v1/price-lists'] = [
  { fields: {}, send: () => ({ url: '/api/v1/price-lists' }), holds: (r) => holdsOwn(r, 'priceList') },
];
CASES['POST /api/v1/price-lists'] = [
  {
    fields: {},
    ok: 201,
    send: () => ({ url: '/api/v1/price-lists', body: { name: 'Walk CHF', currency: 'CHF' } }),
  },
];
CASES['PATCH /api/v1/price-lists/:id'] = [
  {
    fields: { 'path.id': 'priceList' },
    send: (v) => ({ url: `/api/v1/price-lists/${v['path.id']}`, body: { name: 'Walk list' } }),
  },
];
CASES['GET /api/v1/price-lists/:id/prices'] = [
  {
    fields: { 'path.id': 'priceList', 'query.product_id': 'product' },
    send: (v) => ({ url: `/api/v1/price-lists/${v['path.id']}/prices?product_id=${v['query.product_id']}` }),
    holds: (r) => holdsOwn(r, 'price'),
  },
];
CASES['POST /api/v1/price-lists/:id/prices'] = [
  {
    fields: { 'path.id': 'priceList', 'body.product_id': 'product' },
    ok: 201,
    send: (v) => ({
      url: `/api/v1/price-lists/${v['path.id']}/prices`,
      body: { product_id: v['body.product_id'], unit_price: '9.5', min_quantity: '100' },
    }),
  },
];
CASES['DELETE /api/v1/price-lists/:id/prices/:priceId'] = [
  {
    fields: { 'path.id': 'priceList', 'path.priceId': 'price' },
    fresh: ['price'],
    ok: 204,
    send: (v) => ({ url: `/api/v1/price-lists/${v['path.id']}/prices/${v['path.priceId']}` }),
  },
];
CASES['GET /api/v1/quotes'] = [
  {
    fields: { 'query.opportunity_id': 'opportunity' },
    send: (v) => ({ url: `/api/v1/quotes?opportunity_id=${v['query.opportunity_id']}` }),
    holds: (r) => holdsOwn(r, 'quote'),
  },
];
CASES['POST /api/v1/quotes'] = [
  {
    fields: {
      'body.opportunity_id': 'opportunity',
      'body.price_list_id': 'priceList',
      'body.lines[].product_id': 'product',
    },
    ok: 201,
    send: (v) => ({
      url: '/api/v1/quotes',
      body: {
        opportunity_id: v['body.opportunity_id'],
        price_list_id: v['body.price_list_id'],
        lines: [{ product_id: v['body.lines[].product_id'], quantity: '1' }],
      },
    }),
  },
];
CASES['GET /api/v1/quotes/:id'] = [
  { fields: { 'path.id': 'quote' }, send: (v) => ({ url: `/api/v1/quotes/${v['path.id']}` }) },
];
CASES['PATCH /api/v1/quotes/:id'] = [
  {
    fields: { 'path.id': 'quote', 'body.price_list_id': 'priceList', 'body.lines[].product_id': 'product' },
    fresh: ['quote'],
    send: (v) => ({
      url: `/api/v1/quotes/${v['path.id']}`,
      body: {
        price_list_id: v['body.price_list_id'],
        lines: [{ product_id: v['body.lines[].product_id'], quantity: '3' }],
      },
    }),
  },
];
CASES['POST /api/v1/quotes/:id/approve'] = [
  // The walk's quotes have no discount: their owner is told no approval is needed.
  {
    fields: { 'path.id': 'quote' },
    ok: 409,
    send: (v) => ({ url: `/api/v1/quotes/${v['path.id']}/approve` }),
  },
];
CASES['POST /api/v1/quotes/:id/send'] = [
  {
    fields: { 'path.id': 'quote' },
    fresh: ['quote'],
    send: (v) => ({ url: `/api/v1/quotes/${v['path.id']}/send`, body: { to: 'walk-customer@example.com' } }),
  },
];
CASES['GET /api/v1/quotes/:id/pdf'] = [
  { fields: { 'path.id': 'quote' }, send: (v) => ({ url: `/api/v1/quotes/${v['path.id']}/pdf` }) },
];

// Deal line items, orders, warehouses and stock (issue 29, part two).
NO_IDS['GET /api/v1/exchange-rates'] = "the caller's organization's exchange rates; takes no id";
NO_IDS['PUT /api/v1/exchange-rates'] = "sets a rate of the caller's organization; takes no id";
NO_IDS['POST /api/v1/public/stripe/webhook'] =
  "public: Stripe's signed event (unsigned here: 409, no payment provider in the walk's app)";

const holdsProduct = (r: Parameters<typeof rowsOf>[0], v: Record<string, string>) =>
  rowsOf(r).some((row) => (row as unknown as { product_id: string }).product_id === v['query.product_id']);

CASES['GET /api/v1/opportunities/:id/lines'] = [
  {
    fields: { 'path.id': 'opportunity' },
    send: (v) => ({ url: `/api/v1/opportunities/${v['path.id']}/lines` }),
  },
];
CASES['PUT /api/v1/opportunities/:id/lines'] = [
  {
    fields: {
      'path.id': 'opportunity',
      'body.price_list_id': 'priceList',
      'body.lines[].product_id': 'product',
    },
    send: (v) => ({
      url: `/api/v1/opportunities/${v['path.id']}/lines`,
      body: {
        price_list_id: v['body.price_list_id'],
        lines: [{ product_id: v['body.lines[].product_id'], quantity: '1', unit_price: '5' }],
      },
    }),
  },
];
CASES['POST /api/v1/quotes/:id/order'] = [
  {
    fields: { 'path.id': 'acceptedQuote', 'body.warehouse_id': 'warehouse' },
    fresh: ['acceptedQuote'],
    ok: 201,
    send: (v) => ({
      url: `/api/v1/quotes/${v['path.id']}/order`,
      body: { warehouse_id: v['body.warehouse_id'] },
    }),
  },
];
CASES['GET /api/v1/orders'] = [
  {
    fields: { 'query.opportunity_id': 'orderDeal' },
    send: (v) => ({ url: `/api/v1/orders?opportunity_id=${v['query.opportunity_id']}` }),
    holds: (r) => rowsOf(r).length > 0,
  },
  { fields: {}, send: () => ({ url: '/api/v1/orders' }), holds: (r) => holdsOwn(r, 'order') },
];
CASES['GET /api/v1/orders/:id'] = [
  { fields: { 'path.id': 'order' }, send: (v) => ({ url: `/api/v1/orders/${v['path.id']}` }) },
];
CASES['POST /api/v1/orders/:id/fulfil'] = [
  {
    fields: { 'path.id': 'order', 'body.lines[].line_id': 'orderLine' },
    fresh: ['order'],
    send: (v) => ({
      url: `/api/v1/orders/${v['path.id']}/fulfil`,
      body: { lines: [{ line_id: v['body.lines[].line_id'], quantity: '1' }] },
    }),
  },
];
CASES['POST /api/v1/orders/:id/cancel'] = [
  {
    fields: { 'path.id': 'order' },
    fresh: ['order'],
    send: (v) => ({ url: `/api/v1/orders/${v['path.id']}/cancel` }),
  },
];
CASES['GET /api/v1/warehouses'] = [
  { fields: {}, send: () => ({ url: '/api/v1/warehouses' }), holds: (r) => holdsOwn(r, 'warehouse') },
];
CASES['POST /api/v1/warehouses'] = [
  {
    fields: {},
    ok: 201,
    send: (_v, ids) => ({ url: '/api/v1/warehouses', body: { name: `${ids.marker} new store` } }),
  },
];
CASES['GET /api/v1/stock'] = [
  {
    fields: { 'query.product_id': 'product', 'query.warehouse_id': 'warehouse' },
    send: (v) => ({
      url: `/api/v1/stock?product_id=${v['query.product_id']}&warehouse_id=${v['query.warehouse_id']}`,
    }),
    holds: holdsProduct,
  },
];
CASES['POST /api/v1/stock/adjustments'] = [
  {
    fields: { 'body.warehouse_id': 'warehouse', 'body.product_id': 'product' },
    send: (v) => ({
      url: '/api/v1/stock/adjustments',
      body: {
        warehouse_id: v['body.warehouse_id'],
        product_id: v['body.product_id'],
        change: '1',
        reason: 'walk',
      },
    }),
  },
];
CASES['GET /api/v1/stock/movements'] = [
  {
    fields: { 'query.product_id': 'product', 'query.warehouse_id': 'warehouse', 'query.order_id': 'order' },
    send: (v) => ({
      url: `/api/v1/stock/movements?product_id=${v['query.product_id']}&warehouse_id=${v['query.warehouse_id']}&order_id=${v['query.order_id']}`,
    }),
    holds: holdsProduct,
  },
];
CASES['POST /api/v1/quotes/:id/payment-link'] = [
  // The walk's app has no payment provider: its owner is told so, after the quote is found.
  {
    fields: { 'path.id': 'acceptedQuote' },
    ok: 409,
    send: (v) => ({ url: `/api/v1/quotes/${v['path.id']}/payment-link` }),
  },
];
