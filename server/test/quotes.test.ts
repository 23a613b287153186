import { createHash } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  addMember,
  type Client,
  expectProblem,
  expectStatus,
  readShared,
  signUp,
  startTestApp,
  type TestApp,
  uploadCsv,
  waitForImport,
} from './kit/index.js';

// Sending renders a PDF and an import runs a job: more than the default on a busy machine.
vi.setConfig({ testTimeout: 120_000 });

type Admin = Awaited<ReturnType<typeof signUp>>;
let t: TestApp;
let admin: Admin;
let seller: Client;
let stranger: Admin;
let contactId: string;
let companyId: string;
let eurList: string;
let usdList: string;
let widget: { id: string; sku: string };
let hours: { id: string };

const year = new Date().getUTCFullYear();
const inDays = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function deal(client: Client, title: string, extra: Record<string, unknown> = {}) {
  return expectStatus(
    await client.post('/api/v1/opportunities', {
      title,
      currency: 'EUR',
      contact_id: contactId,
      company_id: companyId,
      ...extra,
    }),
    201,
  );
}

async function quote(client: Client, body: Record<string, unknown>) {
  return expectStatus(await client.post('/api/v1/quotes', body), 201, 'quote');
}

/** The raw bytes of a GET (inject), for PDFs. */
async function bytes(client: Client, url: string) {
  const res = await t.app.inject({ method: 'GET', url, headers: { cookie: client.cookieHeader } });
  return { status: res.statusCode, headers: res.headers, body: res.rawPayload, text: res.body };
}

beforeAll(async () => {
  t = await startTestApp();
  admin = await signUp(t, 'Quote Makers');
  seller = (await addMember(t, admin.client, 'user')).client;
  stranger = await signUp(t, 'Elsewhere');
  companyId = expectStatus(await admin.client.post('/api/v1/companies', { name: 'Globex' }), 201).id;
  contactId = expectStatus(
    await admin.client.post('/api/v1/contacts', {
      first_name: 'Hank',
      last_name: 'Scorpio',
      emails: [{ value: 'hank@globex.example' }],
      companies: [{ id: companyId }],
    }),
    201,
  ).id;
  eurList = expectStatus(
    await admin.client.post('/api/v1/price-lists', { name: 'Europe', currency: 'eur' }),
    201,
  ).id;
  usdList = expectStatus(
    await admin.client.post('/api/v1/price-lists', { name: 'US', currency: 'USD' }),
    201,
  ).id;
  widget = expectStatus(
    await admin.client.post('/api/v1/products', {
      sku: 'WID-1',
      name: 'Widget',
      unit: 'piece',
      tax_rate: '20',
    }),
    201,
  );
  hours = expectStatus(
    await admin.client.post('/api/v1/products', {
      sku: 'SVC-H',
      name: 'Consulting',
      unit: 'hour',
      fractional: true,
      tax_rate: '7',
    }),
    201,
  );
  for (const [product, price, min] of [
    [widget.id, '100', undefined],
    [widget.id, '90', '10'],
    [hours.id, '150.00', undefined],
  ] as const)
    expectStatus(
      await admin.client.post(`/api/v1/price-lists/${eurList}/prices`, {
        product_id: product,
        unit_price: price,
        ...(min ? { min_quantity: min } : {}),
      }),
      201,
    );
}, 240_000);
afterAll(() => t?.close());

describe('products', () => {
  it('are a registry object: listed, searched, exported and on their timeline like every record', async () => {
    const def = expectStatus(await admin.client.get('/api/v1/objects/product'), 200);
    expect(def.fields.map((f: { key: string }) => f.key)).toEqual(
      expect.arrayContaining(['sku', 'name', 'unit', 'fractional', 'active', 'tax_rate']),
    );
    const found = expectStatus(await admin.client.get('/api/v1/products?q=widg&fields=sku,name'), 200);
    expect(found.data.map((p: { sku: string }) => p.sku)).toEqual(['WID-1']);
    // Through the trigram index (migration 0046): a typo finds it, a SKU fragment too, and another
    // organization's product of the same name is never a candidate.
    expectStatus(
      await stranger.client.post('/api/v1/products', { sku: 'WID-STRANGER', name: 'Widget elsewhere' }),
      201,
    );
    const typo = expectStatus(await admin.client.get('/api/v1/products?q=widgt&fields=sku'), 200);
    expect(typo.data.map((p: { sku: string }) => p.sku)).toContain('WID-1');
    const bySku = expectStatus(await admin.client.get('/api/v1/products?q=wid-&fields=sku'), 200);
    expect(bySku.data.map((p: { sku: string }) => p.sku)).not.toContain('WID-STRANGER');
    expect(bySku.data.map((p: { sku: string }) => p.sku)).toContain('WID-1');
    const csv = await admin.client.get('/api/v1/products/export');
    expect(csv.status).toBe(200);
    expect(csv.text).toContain('WID-1');
    const timeline = expectStatus(await admin.client.get(`/api/v1/products/${widget.id}/timeline`), 200);
    expect(timeline.data.map((e: { type: string }) => e.type)).toContain('product.created');
  });

  it('refuse a SKU another product of the organization has (409 sku_taken), not one of another organization', async () => {
    expectProblem(await admin.client.post('/api/v1/products', { sku: 'WID-1', name: 'Again' }), 409, {
      code: 'sku_taken',
      path: 'body.sku',
    });
    expectProblem(
      await admin.client.patch(`/api/v1/products/${hours.id}`, { sku: 'WID-1' }),
      409,
      'sku_taken',
    );
    expectStatus(await stranger.client.post('/api/v1/products', { sku: 'WID-1', name: 'Theirs' }), 201);
    expectProblem(await stranger.client.get(`/api/v1/products/${widget.id}`), 404);
  });
});

describe('price lists', () => {
  it('are one per currency, the first the default, and price by quantity tier and validity', async () => {
    expectProblem(await admin.client.post('/api/v1/price-lists', { name: 'Again', currency: 'EUR' }), 409, {
      code: 'currency_taken',
      path: 'body.currency',
    });
    expectProblem(await seller.post('/api/v1/price-lists', { name: 'Mine', currency: 'GBP' }), 403);
    const lists = expectStatus(await admin.client.get('/api/v1/price-lists'), 200).data;
    expect(lists.find((l: { id: string }) => l.id === eurList)).toMatchObject({
      is_default: true,
      price_count: 3,
    });
    const price = (q: string) =>
      admin.client.get(`/api/v1/products/${widget.id}/price?price_list_id=${eurList}&${q}`);
    expect(expectStatus(await price('quantity=1'), 200).unit_price).toBe('100');
    expect(expectStatus(await price('quantity=12'), 200).unit_price).toBe('90');
    expectStatus(
      await admin.client.post(`/api/v1/price-lists/${eurList}/prices`, {
        product_id: widget.id,
        unit_price: '80',
        valid_from: inDays(30),
      }),
      201,
    );
    expect(expectStatus(await price('quantity=1'), 200).unit_price).toBe('100');
    expect(expectStatus(await price(`quantity=1&date=${inDays(31)}`), 200).unit_price).toBe('80');
  });
});

describe('quote totals', () => {
  it('are exact decimals rounded half-even per line to the currency’s minor unit, tax per rate', async () => {
    const totals = expectStatus(
      await seller.post('/api/v1/quotes/totals', {
        currency: 'EUR',
        lines: [
          { quantity: '1', unit_price: '0.125', tax_rate: '20' }, // 0.125 -> 0.12 (half to even)
          { quantity: '1', unit_price: '0.135', tax_rate: '20' }, // 0.135 -> 0.14
          { quantity: '3', unit_price: '33.33', discount: { kind: 'percent', value: '10' }, tax_rate: '7' },
          { quantity: '0.1', unit_price: '0.1' }, // 0.01
        ],
      }),
      200,
    );
    expect(totals.lines.map((l: { net: string }) => l.net)).toEqual(['0.12', '0.14', '89.99', '0.01']);
    expect(totals).toMatchObject({
      subtotal: '100.26',
      discount_total: '10.00',
      net_total: '90.26',
      taxes: [
        { rate: '0', base: '0.01', tax: '0.00' },
        { rate: '7', base: '89.99', tax: '6.30' },
        { rate: '20', base: '0.26', tax: '0.05' },
      ],
      tax_total: '6.35',
      total: '96.61',
    });
    const yen = expectStatus(
      await seller.post('/api/v1/quotes/totals', {
        currency: 'JPY',
        lines: [{ quantity: '3', unit_price: '333.5' }],
      }),
      200,
    );
    expect(yen.total).toBe('1000'); // 1000.5 -> 1000
    const dinar = expectStatus(
      await seller.post('/api/v1/quotes/totals', {
        currency: 'KWD',
        lines: [{ quantity: '1', unit_price: '1.2345' }],
      }),
      200,
    );
    expect(dinar.total).toBe('1.234');
  });

  it('refuse bad lines with a code and the line’s path', async () => {
    const bad = (line: Record<string, unknown>) =>
      seller.post('/api/v1/quotes/totals', {
        currency: 'EUR',
        lines: [{ quantity: '1', unit_price: '10', ...line }],
      });
    expectProblem(await bad({ quantity: '-1' }), 400, {
      code: 'negative_quantity',
      path: 'body.lines[0].quantity',
    });
    expectProblem(await bad({ discount: { kind: 'percent', value: '101' } }), 400, {
      code: 'discount_over_100',
      path: 'body.lines[0].discount.value',
    });
    expectProblem(await bad({ discount: { kind: 'amount', value: '10.01' } }), 400, 'discount_above_line');
    expectProblem(await bad({ unit_price: '1e5' }), 400);
    expectProblem(await seller.post('/api/v1/quotes/totals', { currency: 'XYZ', lines: [] }), 400);
  });
});

describe('quotes', () => {
  it('are made from a deal: contact, company, currency and price list copied, products at their list price, numbered gap-free', async () => {
    const opp = await deal(seller, 'Globex rollout');
    const q = await quote(seller, {
      opportunity_id: opp.id,
      lines: [
        { product_id: widget.id, quantity: '12' },
        { product_id: hours.id, quantity: '2.5' },
        { description: 'Travel', quantity: '1', unit_price: '99.90', tax_rate: '0' },
      ],
    });
    expect(q).toMatchObject({
      status: 'draft',
      version: 1,
      currency: 'EUR',
      price_list_id: eurList,
      contact_id: contactId,
      company_id: companyId,
      recipient_email: 'hank@globex.example',
    });
    expect(q.number).toMatch(new RegExp(`^Q-${year}-\\d{4}$`));
    expect(q.lines.map((l: { unit_price: string; net: string }) => [l.unit_price, l.net])).toEqual([
      ['90', '1080.00'],
      ['150', '375.00'],
      ['99.9', '99.90'],
    ]);
    expect(q.total).toBe('1797.15'); // 1554.90 net + 216.00 + 26.25 tax
    const next = await quote(seller, { opportunity_id: opp.id });
    const n = (s: string) => Number(s.split('-')[2]);
    expect(n(next.number)).toBe(n(q.number) + 1);
    // A refused quote gives no number away.
    expectProblem(
      await seller.post('/api/v1/quotes', {
        opportunity_id: opp.id,
        lines: [{ product_id: widget.id, quantity: '-2' }],
      }),
      400,
      'negative_quantity',
    );
    const after = await quote(seller, { opportunity_id: opp.id });
    expect(n(after.number)).toBe(n(next.number) + 1);
  });

  it('refuse a price list in another currency, fractions of whole units, and lose nothing on a refused edit', async () => {
    const opp = await deal(seller, 'Strict deal');
    expectProblem(
      await seller.post('/api/v1/quotes', { opportunity_id: opp.id, price_list_id: usdList }),
      422,
      {
        code: 'currency_mismatch',
        path: 'body.price_list_id',
      },
    );
    const q = await quote(seller, {
      opportunity_id: opp.id,
      lines: [{ product_id: widget.id, quantity: '2' }],
    });
    expectProblem(
      await seller.patch(`/api/v1/quotes/${q.id}`, { lines: [{ product_id: widget.id, quantity: '1.5' }] }),
      400,
      {
        code: 'fractional_quantity',
        path: 'body.lines[0].quantity',
      },
    );
    expectProblem(
      await seller.patch(`/api/v1/quotes/${q.id}`, {
        lines: [{ product_id: widget.id, quantity: '1', discount: { kind: 'amount', value: '150' } }],
      }),
      400,
      'discount_above_line',
    );
    expect(expectStatus(await seller.get(`/api/v1/quotes/${q.id}`), 200)).toEqual(q);
    expectProblem(await stranger.client.get(`/api/v1/quotes/${q.id}`), 404);
    expectProblem(
      await stranger.client.post('/api/v1/quotes', { opportunity_id: opp.id }),
      422,
      'reference_not_found',
    );
  });

  it('need an admin’s approval above the discount threshold before they are sent (who and when noted)', async () => {
    expectStatus(
      await admin.client.patch('/api/v1/sales-settings', { approval_discount_percent: '15' }),
      200,
    );
    const opp = await deal(seller, 'Discounted deal');
    const q = await quote(seller, {
      opportunity_id: opp.id,
      lines: [{ product_id: widget.id, quantity: '1', discount: { kind: 'percent', value: '20' } }],
    });
    expect(q.approval).toEqual({ required: true, approved_by: null, approved_at: null });
    expectProblem(await seller.post(`/api/v1/quotes/${q.id}/send`, {}), 409, 'approval_required');
    expectProblem(await seller.post(`/api/v1/quotes/${q.id}/approve`), 403);
    const approved = expectStatus(await admin.client.post(`/api/v1/quotes/${q.id}/approve`), 200);
    expect(approved.approval.approved_by).toBe(admin.userId);
    expect(approved.approval.approved_at).toBeTruthy();
    expectStatus(await seller.post(`/api/v1/quotes/${q.id}/send`, {}), 200);
    expectStatus(
      await admin.client.patch('/api/v1/sales-settings', { approval_discount_percent: null }),
      200,
    );
  });

  it('are sent with their PDF through the mail layer; a later price change never changes them; editing makes a new version', async () => {
    const opp = await deal(seller, 'PDF deal');
    const q = await quote(seller, {
      opportunity_id: opp.id,
      terms: 'Payment within 30 days.',
      lines: [{ product_id: widget.id, quantity: '3' }],
    });
    const draftPdf = await bytes(seller, `/api/v1/quotes/${q.id}/pdf`);
    expect(draftPdf.status).toBe(200);
    expect(draftPdf.body.subarray(0, 5).toString()).toBe('%PDF-');
    const sent = expectStatus(await seller.post(`/api/v1/quotes/${q.id}/send`, {}), 200);
    expect(sent.quote.status).toBe('sent');
    expect(sent.public_url).toMatch(/\/api\/v1\/public\/quotes\/[\w-]+\.[\w-]+$/);
    const pdf = await bytes(seller, `/api/v1/quotes/${q.id}/pdf`);
    expect(sha256(pdf.body)).toBe(sent.quote.pdf_sha256);
    const outbox = expectStatus(await admin.client.get('/api/v1/system-mail'), 200).data;
    const mail = outbox.find(
      (m: { kind: string; subject: string }) => m.kind === 'quote' && m.subject.includes(q.number),
    );
    expect(mail.to).toBe('hank@globex.example');
    expect(mail.text).toContain(sent.public_url);
    expect(mail.attachments).toEqual([
      {
        filename: `${q.number}.pdf`,
        content_type: 'application/pdf',
        size: pdf.body.length,
        sha256: sent.quote.pdf_sha256,
      },
    ]);
    // A new list price leaves the sent quote as it was.
    expectStatus(
      await admin.client.post(`/api/v1/price-lists/${eurList}/prices`, {
        product_id: widget.id,
        unit_price: '500',
        min_quantity: '2',
      }),
      201,
    );
    expect(expectStatus(await seller.get(`/api/v1/quotes/${q.id}`), 200).total).toBe(sent.quote.total);
    // Editing the sent quote makes version 2; version 1 is read-only and its link superseded.
    const v2 = expectStatus(await seller.patch(`/api/v1/quotes/${q.id}`, { notes: 'Now with notes' }), 200);
    expect(v2).toMatchObject({
      number: q.number,
      version: 2,
      status: 'draft',
      notes: 'Now with notes',
      total: q.total,
    });
    const v1 = expectStatus(await seller.get(`/api/v1/quotes/${q.id}`), 200);
    expect(v1).toMatchObject({ status: 'sent', read_only: true, superseded_by: v2.id });
    expectProblem(await seller.patch(`/api/v1/quotes/${q.id}`, { notes: 'x' }), 409, 'quote_superseded');
    const page = await t.client().get(new URL(sent.public_url).pathname, { accept: 'text/html' });
    expect(page.status).toBe(410);
    expect(page.text).toContain('quote_superseded');
  });
});

describe('online acceptance', () => {
  async function sentQuote(title: string) {
    const opp = await deal(seller, title);
    const q = await quote(seller, {
      opportunity_id: opp.id,
      lines: [{ product_id: hours.id, quantity: '4' }],
    });
    const sent = expectStatus(
      await seller.post(`/api/v1/quotes/${q.id}/send`, { to: 'buyer@globex.example' }),
      200,
    );
    return { id: q.id as string, opp, path: new URL(sent.public_url).pathname, sent };
  }

  it('shows a phone page with no script, and records the typed name, time, IP, user agent and hashes; a second click changes nothing', async () => {
    const { id, path, sent } = await sentQuote('Accept me');
    const customer = t.client({ ip: '203.0.113.7' });
    const page = await customer.get(path);
    expect(page.status).toBe(200);
    expect(String(page.headers['content-security-policy'])).toMatch(/default-src 'none'/);
    expect(String(page.headers['content-security-policy'])).not.toMatch(/script-src/);
    expect(page.text).not.toMatch(/<script/i);
    expect(page.text).toContain('name="viewport"');
    expect(page.text).toContain('€642.00'); // 4 h × 150 + 7 % tax, in the organization's locale (en-US)
    const pdf = await t.app.inject({ method: 'GET', url: `${path}/pdf` });
    expect(sha256(pdf.rawPayload)).toBe(sent.quote.pdf_sha256);

    const accepted = expectStatus(
      await customer.post(`${path}/accept`, { name: 'Hank Scorpio' }, { 'user-agent': 'PhoneBrowser/1.0' }),
      200,
    );
    expect(accepted.status).toBe('accepted');
    expect(accepted.quote.acceptance).toEqual({
      name: 'Hank Scorpio',
      at: expect.any(String),
      ip: '203.0.113.7',
      user_agent: 'PhoneBrowser/1.0',
      content_sha256: sent.quote.content_sha256,
      pdf_sha256: sent.quote.pdf_sha256,
    });
    const again = expectStatus(await customer.post(`${path}/accept`, { name: 'Someone Else' }), 200);
    expect(again.quote.acceptance).toEqual(accepted.quote.acceptance);
    expectProblem(
      await customer.post(`${path}/reject`, { reason: 'changed my mind' }),
      409,
      'quote_accepted',
    );
    expectProblem(await seller.patch(`/api/v1/quotes/${id}`, { notes: 'sneaky' }), 409, 'quote_accepted');
    expectProblem(await seller.post(`/api/v1/quotes/${id}/send`, {}), 409, 'quote_accepted');

    // The owner hears of it.
    await t.drain();
    const notes = expectStatus(await seller.get('/api/v1/notifications?limit=50'), 200).data;
    expect(
      notes.some(
        (n: { record: { id: string }; detail: string }) => n.record.id === id && n.detail === 'Accepted',
      ),
    ).toBe(true);
    const timeline = expectStatus(
      await seller.get(
        `/api/v1/opportunities/${(await seller.get(`/api/v1/quotes/${id}`)).body.opportunity_id}/timeline`,
      ),
      200,
    );
    expect(timeline.data.map((e: { type: string }) => e.type)).toContain('quote.accepted');
  });

  it('takes the page’s own form and answers with the page', async () => {
    const { path } = await sentQuote('Form accept');
    const res = await t.app.inject({
      method: 'POST',
      url: `${path}/reject`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'reason=Too+expensive',
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body).toContain('You declined this quote');
    // The answered quote's page still opens, without the forms.
    const page = await t.client().get(path);
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('<form');
  });

  it('refuses a tampered link and an expired quote with a clear page and code', async () => {
    const { id, path } = await sentQuote('Expire me');
    const token = path.split('/').pop()!;
    const [payload, signature] = token.split('.');
    const flipped = `${payload}.${signature!.startsWith('A') ? 'B' : 'A'}${signature!.slice(1)}`;
    const tampered = await t.client().get(`/api/v1/public/quotes/${flipped}`, { accept: 'text/html' });
    expect(tampered.status).toBe(403);
    expect(tampered.text).toContain('link_invalid');
    expectProblem(
      await t.client().post(`/api/v1/public/quotes/${flipped}/accept`, { name: 'Mallory' }),
      403,
      'link_invalid',
    );
    expectProblem(
      await t.client().post(`/api/v1/public/quotes/garbage/accept`, { name: 'Mallory' }),
      403,
      'link_invalid',
    );

    // Its validity date passes: the scheduled job expires it, and the link is refused.
    await t.services.database.raw.query(`update quotes set valid_until = current_date - 1 where id = $1`, [
      id,
    ]);
    await t.drain({ delayed: true });
    expect(expectStatus(await seller.get(`/api/v1/quotes/${id}`), 200).status).toBe('expired');
    const page = await t.client().get(path, { accept: 'text/html' });
    expect(page.status).toBe(410);
    expect(page.text).toContain('quote_expired');
    expectProblem(await t.client().post(`${path}/accept`, { name: 'Late Larry' }), 410, 'quote_expired');
    expectProblem(await t.client().get(path), 410, 'quote_expired'); // an API client gets problem+json
  });
});

describe('Maven sales data', () => {
  it('imports products.csv as products at their list price, and quotes a Maven deal with its product at that price', async () => {
    const org = await signUp(t, 'Maven Analytics');
    const list = expectStatus(
      await org.client.post('/api/v1/price-lists', { name: 'List prices', currency: 'USD' }),
      201,
    );
    const file = readShared('crm/maven-crm-sales-opportunities/products.csv');
    const products = parse(file, { columns: true, bom: true }) as {
      product: string;
      series: string;
      sales_price: string;
    }[];
    const up = await uploadCsv(t, org.client, 'product', 'products.csv', file);
    expect(up.status, up.text).toBe(201);
    const target = (h: string) => up.body.mapping.find((m: { header: string }) => m.header === h)?.target;
    expect([target('product'), target('series'), target('sales_price')]).toEqual([
      'name',
      'tags',
      'list_price',
    ]);
    await org.client.post(`/api/v1/imports/${up.body.id}/start`);
    const done = await waitForImport(t, org.client, up.body.id);
    expect(done.progress).toMatchObject({ created: products.length, failed: 0 });
    const listed = expectStatus(
      await org.client.get('/api/v1/products?fields=sku,name,tags&limit=50'),
      200,
    ).data;
    expect(listed.map((p: { name: string }) => p.name).sort()).toEqual(products.map((p) => p.product).sort());
    const gtxPro = listed.find((p: { name: string }) => p.name === 'GTX Pro');
    expect(gtxPro).toMatchObject({ sku: 'GTX-PRO', tags: ['gtx'] });
    // Importing the file again matches each product by its SKU: nothing doubles.
    const again = await uploadCsv(t, org.client, 'product', 'products.csv', file);
    await org.client.post(`/api/v1/imports/${again.body.id}/start`);
    expect((await waitForImport(t, org.client, again.body.id)).progress).toMatchObject({
      created: 0,
      skipped: products.length,
    });

    const deals = parse(readShared('crm/maven-crm-sales-opportunities/sales_pipeline.csv'), {
      columns: true,
      bom: true,
    }) as { opportunity_id: string; product: string; account: string; deal_stage: string }[];
    // The first deal in play whose product is spelled as in products.csv (the file's "GTXPro" is not).
    const names = new Set(products.map((p) => p.product));
    const row = deals.find((d) => names.has(d.product) && d.account && d.deal_stage === 'Engaging')!;
    expect(row).toBeDefined();
    const product = listed.find((p: { name: string }) => p.name === row.product);
    const opp = expectStatus(
      await org.client.post('/api/v1/opportunities', {
        title: `${row.opportunity_id} ${row.account}`,
        currency: 'USD',
      }),
      201,
    );
    const q = expectStatus(
      await org.client.post('/api/v1/quotes', {
        opportunity_id: opp.id,
        lines: [{ product_id: product.id, quantity: '1' }],
      }),
      201,
    );
    expect(q.price_list_id).toBe(list.id);
    const listPrice = products.find((p) => p.product === row.product)!.sales_price;
    expect(q.lines[0]).toMatchObject({ description: row.product, sku: product.sku, unit_price: listPrice });
    expect(q.total).toBe(`${listPrice}.00`);
  });
});
