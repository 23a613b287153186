import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  defaultPipeline,
  expectProblem,
  expectStatus,
  newDeal,
  sharedPath,
  signUp,
  startTestApp,
  type TestApp,
} from './kit/index.js';

// Meta Lead Ads and the Conversions API for CRM (issue 31), with Meta's real webhook payloads
// (../shared/data/webhooks/meta/) signed as Meta signs them, and a local server speaking the
// Graph API's wire format: lead fetches (`GET /v21.0/{leadgen_id}`, the documented lead response),
// CAPI posts (`POST /v21.0/{dataset}/events`, checked for its hashing) and `debug_token`.

const meta = (name: string) => readFileSync(sharedPath(`webhooks/meta/${name}`), 'utf8');
const APP_SECRET = 'test-app-secret-0123456789';
const PAGE_TOKEN = 'EAAPageToken-abcdef-1234';
const CAPI_TOKEN = 'EAACapiToken-zyxw-9876';
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const sign = (body: string, secret = APP_SECRET) =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

type Posted = { path: string; query: URLSearchParams; body: string };

/** The Graph API as Meta documents it: leads by id, CAPI events, debug_token. */
class Graph {
  server: Server;
  port = 0;
  posted: Posted[] = [];
  fetched: string[] = [];
  /** A leadgen id's answers: the lead (the documented response with its ids), or an error. */
  leads = new Map<string, () => { status: number; body: unknown }>();
  tokens = new Map<string, unknown>();
  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://graph');
        const body = Buffer.concat(chunks).toString('utf8');
        const send = (status: number, json: unknown) =>
          res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
        const m = /^\/v21\.0\/([^/]+)(\/events)?$/.exec(url.pathname);
        if (!m)
          return send(404, { error: { message: 'Unknown path', type: 'GraphMethodException', code: 100 } });
        if (m[1] === 'debug_token') {
          if (url.searchParams.get('access_token') !== `1234567890|${APP_SECRET}`)
            return send(400, { error: { message: 'Invalid app token', type: 'OAuthException', code: 190 } });
          return send(
            200,
            this.tokens.get(url.searchParams.get('input_token') ?? '') ?? { data: { is_valid: false } },
          );
        }
        if (m[2]) {
          if (url.searchParams.get('access_token') !== CAPI_TOKEN)
            return send(400, {
              error: { message: 'Invalid OAuth access token', type: 'OAuthException', code: 190 },
            });
          this.posted.push({ path: url.pathname, query: url.searchParams, body });
          return send(200, { events_received: 1, messages: [], fbtrace_id: 'AbCdEf' });
        }
        if (url.searchParams.get('access_token') !== PAGE_TOKEN)
          return send(400, {
            error: { message: 'Invalid OAuth access token', type: 'OAuthException', code: 190 },
          });
        this.fetched.push(m[1]!);
        const answer = this.leads.get(m[1]!);
        if (!answer)
          return send(400, {
            error: {
              message: `Unsupported get request. Object with ID '${m[1]}' does not exist`,
              type: 'GraphMethodException',
              code: 100,
            },
          });
        const { status, body: out } = answer();
        return send(status, out);
      });
    });
  }
  start() {
    return new Promise<void>((resolve) =>
      this.server.listen(0, '127.0.0.1', () => {
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      }),
    );
  }
  close() {
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
  /** The documented lead response with this lead's ids (and another e-mail when asked). */
  serveLead(leadgenId: string, extra: { email?: string; campaign_id?: string; campaign_name?: string } = {}) {
    const text = meta('graph-lead-response.meta-docs.json')
      .replace('<LEAD_ID>', leadgenId)
      .replace('<AD_ID>', '6045')
      .replace('<FORM_ID>', '172036835026334');
    const lead = JSON.parse(text);
    if (extra.email) lead.field_data.find((f: { name: string }) => f.name === 'email').values = [extra.email];
    if (extra.campaign_id)
      Object.assign(lead, {
        campaign_id: extra.campaign_id,
        adset_id: '7788',
        campaign_name: extra.campaign_name,
      });
    this.leads.set(leadgenId, () => ({ status: 200, body: lead }));
  }
}

const graph = new Graph();
let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;
let stranger: Awaited<ReturnType<typeof signUp>>;
let hookPath: string;
let pageId: string;

beforeAll(async () => {
  await graph.start();
  t = await startTestApp({
    OUTBOUND_ALLOWED_HOSTS: '127.0.0.1',
    META_GRAPH_URL: `http://127.0.0.1:${graph.port}/v21.0`,
    META_RETRY_SCHEDULE_SECONDS: '60,60',
  });
  admin = await signUp(t, 'Lead Ads Co');
  stranger = await signUp(t, 'Elsewhere');
  const settings = expectStatus(
    await admin.client.patch('/api/v1/meta/settings', { app_id: '1234567890', app_secret: APP_SECRET }),
    200,
  );
  expect(settings.app_secret_set).toBe(true);
  expect(JSON.stringify(settings)).not.toContain(APP_SECRET);
  hookPath = new URL(settings.webhook_url).pathname;
  const page = expectStatus(
    await admin.client.post('/api/v1/meta/pages', {
      page_id: '138124712925158',
      name: 'Main page',
      access_token: PAGE_TOKEN,
    }),
    201,
  );
  pageId = page.id;
  expect(page.token.hint).toBe('••••1234');
  expect(JSON.stringify(page)).not.toContain(PAGE_TOKEN);
}, 120_000);
afterAll(async () => {
  await t?.close();
  await graph.close();
});

const deliver = (body: string, signature: string | null = sign(body)) =>
  t.app.inject({
    method: 'POST',
    url: hookPath,
    headers: {
      'content-type': 'application/json',
      ...(signature ? { 'x-hub-signature-256': signature } : {}),
    },
    payload: body,
  });

const leads = async () =>
  expectStatus(await admin.client.get('/api/v1/meta/leads?limit=200'), 200).data as any[];
const leadOf = async (leadgenId: string) => (await leads()).find((l) => l.leadgen_id === leadgenId);

describe("Meta's verification handshake", () => {
  it('answers hub.challenge for the verify token, 403 otherwise, 404 for an unknown endpoint', async () => {
    const { verify_token } = expectStatus(await admin.client.get('/api/v1/meta/settings'), 200);
    const ok = await t.app.inject({
      method: 'GET',
      url: `${hookPath}?hub.mode=subscribe&hub.verify_token=${verify_token}&hub.challenge=1158201444`,
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toBe('1158201444');
    const bad = await t.app.inject({
      method: 'GET',
      url: `${hookPath}?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1`,
    });
    expectProblem(
      { status: bad.statusCode, headers: bad.headers, body: bad.json() },
      403,
      'verify_token_mismatch',
    );
    const unknown = await t.app.inject({
      method: 'GET',
      url: `${hookPath.slice(0, -3)}xyz?hub.mode=subscribe`,
    });
    expect(unknown.statusCode).toBe(404);
  });
});

describe('a signed leadgen delivery', () => {
  it('refuses a forged or missing signature with 403, keeps it in the ledger and creates nothing', async () => {
    const body = meta('leadgen-webhook.fbsamples-postman.raw.json');
    const forged = await deliver(body, sign(body, 'not-the-app-secret'));
    expect(forged.statusCode).toBe(403);
    expect(forged.json().code).toBe('invalid_signature');
    const missing = await deliver(body, null);
    expect(missing.statusCode).toBe(403);
    const tampered = await deliver(body.replace('233370042045345', '233370042045346'), sign(body));
    expect(tampered.statusCode).toBe(403);
    const ledger = expectStatus(await admin.client.get('/api/v1/meta/deliveries'), 200).data;
    expect(
      ledger
        .slice(0, 3)
        .map((d: { signature: string }) => d.signature)
        .sort(),
    ).toEqual(['invalid', 'invalid', 'missing']);
    expect(ledger[0].raw_body).toContain('leadgen');
    expect(await leads()).toHaveLength(0);
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    if (metrics.statusCode === 200)
      expect(metrics.body).toMatch(/cairn_meta_webhook_refused_total\{signature="invalid"\} [1-9]/);
  });

  it('fetches the lead from the Graph API and makes a contact with source META; a replayed delivery makes no duplicate', async () => {
    graph.serveLead('233370042045345');
    const body = meta('leadgen-webhook.fbsamples-postman.raw.json');
    const first = await deliver(body);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({
      received: true,
      leads_queued: 1,
      leads_seen: 0,
      messages_stored: 0,
    });
    const again = await deliver(body);
    expect(again.json()).toMatchObject({
      received: true,
      leads_queued: 0,
      leads_seen: 1,
      messages_stored: 0,
    });
    await t.drain();
    await t.drain();
    expect(graph.fetched.filter((id) => id === '233370042045345')).toHaveLength(1);
    const lead = await leadOf('233370042045345');
    expect(lead).toMatchObject({
      status: 'created',
      record_object: 'contact',
      form_id: '172036835026334',
      ad_id: '6045',
    });
    expect(lead.error).toBe('unmapped_questions');
    expect(lead.error_detail).toContain('car_make');
    const contact = expectStatus(await admin.client.get(`/api/v1/contacts/${lead.record_id}`), 200);
    expect(contact).toMatchObject({
      first_name: 'Joe',
      last_name: 'Example',
      email: 'joe@example.com',
      source: 'meta',
    });
    const search = expectStatus(await admin.client.get('/api/v1/contacts?q=joe@example.com'), 200);
    expect(search.data.filter((c: { email: string }) => c.email === 'joe@example.com')).toHaveLength(1);
    // A replay of the delivery by hand, and of the created lead, make nothing new.
    const delivery = expectStatus(await admin.client.get('/api/v1/meta/deliveries'), 200).data.find(
      (d: { leads_queued: number }) => d.leads_queued === 1,
    );
    expect(
      expectStatus(await admin.client.post(`/api/v1/meta/deliveries/${delivery.id}/replay`, {}), 200),
    ).toEqual({
      leads_queued: 0,
      leads_seen: 1,
    });
    expectProblem(
      await admin.client.post(`/api/v1/meta/leads/${lead.id}/replay`, {}),
      409,
      'already_created',
    );
    await t.drain();
    expect(graph.fetched.filter((id) => id === '233370042045345')).toHaveLength(1);
  });

  it('handles a batch of two changes in one entry, one lead each, deduplicated by e-mail', async () => {
    const page = expectStatus(
      await admin.client.post('/api/v1/meta/pages', { page_id: '123123123', access_token: PAGE_TOKEN }),
      201,
    );
    graph.serveLead('123123123123', { email: 'ann@example.com' });
    graph.serveLead('123123123124', { email: 'ann@example.com' });
    const res = await deliver(meta('leadgen-webhook.meta-docs-two-changes.json'));
    expect(res.json()).toMatchObject({ received: true, leads_queued: 2, leads_seen: 0, messages_stored: 0 });
    await t.drain();
    const a = await leadOf('123123123123');
    const b = await leadOf('123123123124');
    expect([a.status, b.status].sort()).toEqual(['created', 'matched']);
    expect(a.record_id).toBe(b.record_id);
    expect(a.adset_id).toBe('12312312312');
    expectStatus(await admin.client.delete(`/api/v1/meta/pages/${page.id}`), 204);
  });

  it('records a Graph fetch failure as a visible failure with its code, retried when transient', async () => {
    let calls = 0;
    graph.leads.set('900000000000001', () => {
      calls++;
      return calls === 1
        ? {
            status: 500,
            body: { error: { message: 'An unknown error occurred', type: 'OAuthException', code: 1 } },
          }
        : {
            status: 400,
            body: { error: { message: 'Error validating access token', type: 'OAuthException', code: 190 } },
          };
    });
    const body = JSON.stringify({
      object: 'page',
      entry: [
        {
          id: '138124712925158',
          time: 1,
          changes: [
            { field: 'leadgen', value: { leadgen_id: '900000000000001', page_id: '138124712925158' } },
          ],
        },
      ],
    });
    expect((await deliver(body)).statusCode).toBe(200);
    await t.drain();
    expect(await leadOf('900000000000001')).toMatchObject({
      status: 'retrying',
      error: 'graph_1',
      attempts: 1,
    });
    await t.drain({ delayed: true });
    const failed = await leadOf('900000000000001');
    expect(failed).toMatchObject({ status: 'failed', error: 'graph_190', attempts: 2, record_id: null });
    expect(failed.error_detail).toContain('Error validating access token');
    // Replayed by hand once the token is fixed: the lead arrives once.
    graph.serveLead('900000000000001', { email: 'late@example.com' });
    expectStatus(await admin.client.post(`/api/v1/meta/leads/${failed.id}/replay`, {}), 200);
    await t.drain();
    expect(await leadOf('900000000000001')).toMatchObject({ status: 'created', error: 'unmapped_questions' });
  });

  it('fails a lead whose form changed (none of the mapped questions answered) with form_changed', async () => {
    graph.leads.set('900000000000002', () => ({
      status: 200,
      body: {
        id: '900000000000002',
        form_id: '1',
        field_data: [{ name: 'favourite_colour', values: ['blue'] }],
      },
    }));
    const body = JSON.stringify({
      object: 'page',
      entry: [
        {
          id: '138124712925158',
          time: 1,
          changes: [
            { field: 'leadgen', value: { leadgen_id: '900000000000002', page_id: '138124712925158' } },
          ],
        },
      ],
    });
    await deliver(body);
    await t.drain();
    expect(await leadOf('900000000000002')).toMatchObject({
      status: 'failed',
      error: 'form_changed',
      record_id: null,
    });
  });
});

describe('a lead into a custom object, and the Conversions API', () => {
  it('makes a Case with its campaign, and sends a hashed CAPI event when the case is qualified', async () => {
    expectStatus(
      await admin.client.post('/api/v1/objects', {
        key: 'case',
        label_singular: 'Case',
        label_plural: 'Cases',
      }),
      201,
    );
    for (const f of [
      { label: 'E-mail', key: 'email', type: 'email' },
      { label: 'Phone', key: 'phone', type: 'phone' },
      { label: 'Source', key: 'lead_source', type: 'text' },
      { label: 'Campaign', key: 'campaign', type: 'text' },
      { label: 'Ad', key: 'ad', type: 'text' },
      {
        label: 'Stage',
        key: 'stage',
        type: 'status',
        statuses: {
          statuses: [
            { value: 'new', label: 'New' },
            { value: 'qualified', label: 'Qualified' },
          ],
        },
      },
    ])
      expectStatus(await admin.client.post('/api/v1/objects/case/fields', f), 201);
    expectProblem(
      await admin.client.post('/api/v1/meta/pages', {
        page_id: '444444444444',
        access_token: PAGE_TOKEN,
        object: 'case',
        field_mapping: { email: 'no_such_field' },
      }),
      400,
      { code: 'unknown_field', path: 'body.field_mapping.email' },
    );
    expectStatus(
      await admin.client.post('/api/v1/meta/pages', {
        page_id: '444444444444',
        name: 'Surrogacy page',
        access_token: PAGE_TOKEN,
        object: 'case',
        field_mapping: {
          email: 'email',
          full_name: 'name',
          source: 'lead_source',
          campaign_id: 'campaign',
          ad_id: 'ad',
        },
      }),
      201,
    );
    expectStatus(
      await admin.client.patch('/api/v1/meta/settings', {
        capi_dataset_id: '555000111',
        capi_access_token: CAPI_TOKEN,
        lead_event_source: 'Cairn CRM',
        stage_mapping: [
          { value: 'lead_received', event_name: 'Lead' },
          { value: 'qualified', event_name: 'Qualified Lead' },
        ],
      }),
      200,
    );
    graph.serveLead('444444444444', {
      email: ' Case.Person@Example.COM ',
      campaign_id: '120200000001',
      campaign_name: 'Spring',
    });
    expect((await deliver(meta('leadgen-webhook.app-dashboard-test.raw.json'))).json().leads_queued).toBe(1);
    await t.drain();
    await t.drain();
    const lead = await leadOf('444444444444');
    expect(lead, JSON.stringify(lead)).toMatchObject({
      status: 'created',
      record_object: 'case',
      campaign_id: '120200000001',
    });
    const rec = expectStatus(await admin.client.get(`/api/v1/records/case/${lead.record_id}`), 200);
    expect(rec.custom).toMatchObject({
      lead_source: 'META',
      campaign: '120200000001',
      ad: '6045',
      email: 'case.person@example.com',
    });
    // The first lead stage went out on arrival.
    expect(graph.posted.map((p) => JSON.parse(p.body).data[0].event_name)).toEqual(['Lead']);

    expectStatus(
      await admin.client.patch(`/api/v1/records/case/${lead.record_id}`, { custom: { stage: 'qualified' } }),
      200,
    );
    await t.drain();
    await t.drain();
    expect(graph.posted).toHaveLength(2);
    const sent = graph.posted[1]!;
    expect(sent.path).toBe('/v21.0/555000111/events');
    // lead_id is Meta's lead id as a JSON number, however wide.
    expect(sent.body).toContain('"lead_id":444444444444');
    const event = JSON.parse(sent.body).data[0];
    expect(event).toMatchObject({
      event_name: 'Qualified Lead',
      action_source: 'system_generated',
      event_id: '444444444444.Qualified Lead',
      custom_data: { event_source: 'crm', lead_event_source: 'Cairn CRM' },
      user_data: { em: [sha256('case.person@example.com')] },
    });
    expect(Math.abs(event.event_time - Date.now() / 1000)).toBeLessThan(600);
    // Qualified again: the same event id, sent once.
    expectStatus(
      await admin.client.patch(`/api/v1/records/case/${lead.record_id}`, { custom: { stage: 'new' } }),
      200,
    );
    expectStatus(
      await admin.client.patch(`/api/v1/records/case/${lead.record_id}`, { custom: { stage: 'qualified' } }),
      200,
    );
    await t.drain();
    expect(graph.posted).toHaveLength(2);
    const log = expectStatus(await admin.client.get('/api/v1/meta/capi-events'), 200).data;
    expect(log.map((e: { status: string }) => e.status)).toEqual(['sent', 'sent']);
    expect(log[0].payload).not.toContain(CAPI_TOKEN);
  });

  it("sends a contact lead's opportunity stage with its phone hashed as E.164 digits", async () => {
    const contact = expectStatus(
      await admin.client.post('/api/v1/contacts', {
        first_name: 'Pia',
        emails: [{ value: 'pia@example.com' }],
        phones: [{ number: '+1 (650) 555-1234' }],
      }),
      201,
    );
    // The contact came from a lead: the ledger knows its leadgen id.
    const pipeline = await defaultPipeline(admin.client);
    await t.services.database.raw.query(
      `insert into meta_leads (org_id, delivery_id, leadgen_id, page_id, status, record_object, record_id)
       select org_id, id, '1234567890123456789', '138124712925158', 'created', 'contact', $1 from meta_deliveries
        where org_id = $2 limit 1`,
      [contact.id, admin.orgId],
    );
    expectStatus(
      await admin.client.patch('/api/v1/meta/settings', {
        stage_mapping: [{ value: pipeline.stages[1]!.name, event_name: 'Opportunity' }],
      }),
      200,
    );
    const deal = await newDeal(admin.client, 'Pia deal', { contact_id: contact.id });
    expectStatus(
      await admin.client.post(`/api/v1/opportunities/${deal.id}/move`, { stage_id: pipeline.stages[1]!.id }),
      200,
    );
    await t.drain();
    await t.drain();
    const sent = graph.posted.at(-1)!;
    expect(sent.body).toContain('"lead_id":1234567890123456789');
    expect(JSON.parse(sent.body).data[0].user_data.ph).toEqual([sha256('16505551234')]);
  });
});

describe('a lead form mapped on its own, and the ledger in pages', () => {
  it("routes one form's leads to Cases while the page's other forms still make contacts", async () => {
    // The Main page makes contacts; its form 172036835026334 is a case intake form.
    expectProblem(
      await admin.client.patch(`/api/v1/meta/pages/${pageId}`, {
        forms: [{ form_id: '172036835026334', object: 'case', field_mapping: { email: 'nope' } }],
      }),
      400,
      { code: 'unknown_field', path: 'body.forms[0].field_mapping.email' },
    );
    expectProblem(
      await admin.client.patch(`/api/v1/meta/pages/${pageId}`, {
        forms: [
          { form_id: '172036835026334', object: 'case', field_mapping: {} },
          { form_id: '172036835026334', object: 'contact', field_mapping: {} },
        ],
      }),
      400,
      { path: 'body.forms[1].form_id' },
    );
    expectProblem(
      await admin.client.patch(`/api/v1/meta/pages/${pageId}`, {
        forms: [{ form_id: '172036835026334', object: 'invoice', field_mapping: {} }],
      }),
      400,
      { code: 'unknown_object', path: 'body.forms[0].object' },
    );
    const page = expectStatus(
      await admin.client.patch(`/api/v1/meta/pages/${pageId}`, {
        forms: [
          {
            form_id: '172036835026334',
            name: 'Intake form',
            object: 'case',
            field_mapping: { email: 'email', full_name: 'name', source: 'lead_source' },
          },
        ],
      }),
      200,
    );
    expect(page.object).toBe('contact');
    expect(page.forms).toEqual([
      {
        form_id: '172036835026334',
        name: 'Intake form',
        object: 'case',
        field_mapping: { email: 'email', full_name: 'name', source: 'lead_source' },
        owner_id: null,
      },
    ]);
    const body = meta('leadgen-webhook.app-dashboard-test.raw.json')
      .replaceAll('"444444444444"', '"138124712925158"')
      .replace('"leadgen_id": "138124712925158"', '"leadgen_id": "8800000000001"');
    graph.serveLead('8800000000001', { email: 'form.intake@example.com' });
    expect((await deliver(body)).json().leads_queued).toBe(1);
    await t.drain();
    await t.drain();
    const lead = await leadOf('8800000000001');
    expect(lead, JSON.stringify(lead)).toMatchObject({
      status: 'created',
      record_object: 'case',
      form_id: '172036835026334',
    });
    const rec = expectStatus(await admin.client.get(`/api/v1/records/case/${lead.record_id}`), 200);
    expect(rec.custom).toMatchObject({ email: 'form.intake@example.com', lead_source: 'META' });

    // The form unmapped: the page's own target (a contact) again.
    expect(
      expectStatus(await admin.client.patch(`/api/v1/meta/pages/${pageId}`, { forms: [] }), 200).forms,
    ).toEqual([]);
    graph.serveLead('8800000000002', { email: 'form.contact@example.com' });
    expect((await deliver(body.replace('"8800000000001"', '"8800000000002"'))).json().leads_queued).toBe(1);
    await t.drain();
    await t.drain();
    expect(await leadOf('8800000000002')).toMatchObject({ status: 'created', record_object: 'contact' });
  });

  it('pages the ledger newest first with a cursor, each row once', async () => {
    const all = await leads();
    expect(all.length).toBeGreaterThanOrEqual(3);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { data: { id: string }[]; next_cursor: string | null } = expectStatus(
        await admin.client.get(`/api/v1/meta/leads?limit=2${cursor ? `&cursor=${cursor}` : ''}`),
        200,
      );
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((l) => l.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual(all.map((l) => l.id));
    const deliveries = expectStatus(await admin.client.get('/api/v1/meta/deliveries?limit=1'), 200);
    expect(deliveries.data).toHaveLength(1);
    expect(deliveries.next_cursor).toEqual(expect.any(String));
    const older = expectStatus(
      await admin.client.get(`/api/v1/meta/deliveries?limit=1&cursor=${deliveries.next_cursor}`),
      200,
    );
    expect(older.data[0].id).not.toBe(deliveries.data[0].id);
    expectProblem(await admin.client.get('/api/v1/meta/capi-events?cursor=bm9wZQ'), 400, {
      path: 'query.cursor',
    });
  });
});

describe('the daily page token check', () => {
  it("records an expiring and an expired token (Graph's debug_token) and alerts the admins", async () => {
    const soon = Math.floor(Date.now() / 1000) + 2 * 86_400;
    graph.tokens.set(PAGE_TOKEN, {
      data: {
        app_id: '1234567890',
        type: 'PAGE',
        application: 'Cairn',
        data_access_expires_at: soon + 86_400 * 60,
        expires_at: soon,
        is_valid: true,
        scopes: ['leads_retrieval'],
      },
    });
    const checked = expectStatus(await admin.client.post('/api/v1/meta/pages/check-tokens', {}), 200).data;
    expect(checked.map((p: { token: { status: string } }) => p.token.status)).toContain('expiring');
    graph.tokens.set(PAGE_TOKEN, {
      data: { app_id: '1234567890', type: 'PAGE', expires_at: 1_600_000_000, is_valid: false },
    });
    const again = expectStatus(await admin.client.post('/api/v1/meta/pages/check-tokens', {}), 200).data;
    expect(again[0].token.status).toBe('expired');
    const notes = expectStatus(await admin.client.get('/api/v1/notifications'), 200);
    expect(JSON.stringify(notes)).toContain('access token of the Facebook page');
    await t.drain();
  });
});

describe('tenancy', () => {
  it("another organization's pages, leads and deliveries are 404 and invisible", async () => {
    expectStatus(await stranger.client.get(`/api/v1/meta/pages/${pageId}`), 404);
    const lead = (await leads())[0];
    expectStatus(await stranger.client.get(`/api/v1/meta/leads/${lead.id}`), 404);
    expectStatus(await stranger.client.post(`/api/v1/meta/leads/${lead.id}/replay`, {}), 404);
    expect(expectStatus(await stranger.client.get('/api/v1/meta/leads'), 200).data).toHaveLength(0);
  });
});
