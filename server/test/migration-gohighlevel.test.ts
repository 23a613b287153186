import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenBucket } from '../src/modules/migrations/gohighlevel.client.js';
import {
  expectProblem,
  expectStatus,
  sharedPath,
  signUp,
  startTestApp,
  type TestApp,
  waitForImport,
} from './kit/index.js';

// GoHighLevel migration (issue 33) against a local server that replays the responses GoHighLevel's
// own OpenAPI documents give (../shared/data/gohighlevel/, read here at test time): their examples,
// made into several pages of contacts, with a 429 once and, for one token, a 401 mid-run.

type Doc = { components: { schemas: Record<string, any> } };
const doc = (name: string): Doc =>
  JSON.parse(readFileSync(sharedPath(`gohighlevel/${name}.openapi.json`), 'utf8'));

/** The documented example of a schema: its `example`, else its properties' examples. */
function example(d: Doc, schema: any, depth = 0): any {
  if (!schema || depth > 6) return undefined;
  if (schema.$ref) return example(d, d.components.schemas[schema.$ref.split('/').at(-1)], depth + 1);
  if (schema.example !== undefined) return schema.example;
  if (schema.type === 'array') {
    const item = example(d, schema.items, depth + 1);
    return item === undefined ? [] : [item];
  }
  if (schema.properties)
    return Object.fromEntries(
      Object.entries(schema.properties).flatMap(([k, v]) => {
        const value = example(d, v, depth + 1);
        return value === undefined ? [] : [[k, value]];
      }),
    );
  return undefined;
}

const contactsDoc = doc('contacts');
const oppDoc = doc('opportunities');
const usersDoc = doc('users');
const CONTACT = {
  ...example(contactsDoc, { $ref: '#/components/schemas/ContactsSearchSchema' }),
  ...example(contactsDoc, { $ref: '#/components/schemas/GetContectByIdSchema' }),
};
const OPPORTUNITY = example(oppDoc, { $ref: '#/components/schemas/SearchOpportunitiesResponseSchema' });
const PIPELINE = example(oppDoc, { $ref: '#/components/schemas/PipelinesResponseSchema' });
const USER = example(usersDoc, { $ref: '#/components/schemas/UserSuccessfulResponseDto' });
const LOCATION = 'loc1';
const TOTAL = 230;

/** The location's contacts: the documented one, varied (id, e-mail, phone) per record. */
const contacts = Array.from({ length: TOTAL }, (_, i) => ({
  ...CONTACT,
  id: `ghl-c-${String(i).padStart(4, '0')}`,
  email: `person${i}@ghl.example`,
  phone: `+1202555${String(1000 + i).slice(-4)}`,
  dateAdded: new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString(),
  assignedTo: USER.id,
}));
const opportunities = [0, 1, 2].map((i) => ({
  ...OPPORTUNITY,
  id: `ghl-o-${i}`,
  name: `${OPPORTUNITY.name} ${i}`,
  contactId: contacts[i]!.id,
  pipelineId: PIPELINE.id,
  pipelineStageId: i === 2 ? 'stage-b' : 'stage-a',
}));
// The documented pipeline's stages are untyped (`array`): two stages of the replay's own.
const pipelines = [
  {
    ...PIPELINE,
    stages: [
      { id: 'stage-a', name: 'Discovery' },
      { id: 'stage-b', name: 'Proposal' },
    ],
  },
];

type Replay = {
  url: string;
  requests: { path: string; headers: http.IncomingHttpHeaders }[];
  close(): Promise<void>;
};
const revoked = new Set<string>();

async function replay(): Promise<Replay> {
  const requests: Replay['requests'] = [];
  let served429 = false;
  let contactPages = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push({ path: url.pathname + url.search, headers: req.headers });
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    const token = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
    if (req.headers.version !== '2021-07-28') return send(400, { message: 'Version header missing' });
    if (!token) return send(401, { message: 'Invalid JWT' });
    if (url.pathname === '/users/') return send(200, { users: [USER] });
    if (url.pathname === '/opportunities/pipelines') return send(200, { pipelines });
    if (url.pathname === '/contacts/') {
      const page = (contactPages.get(token) ?? 0) + 1;
      contactPages.set(token, page);
      // A revoked token: the second page is refused.
      if (revoked.has(token) && page >= 2) return send(401, { statusCode: 401, message: 'Invalid JWT' });
      if (!served429 && page === 2) {
        served429 = true;
        contactPages.set(token, page - 1);
        return send(429, { message: 'Too many requests' }, { 'retry-after': '1' });
      }
      const after = url.searchParams.get('startAfterId');
      const start = after ? contacts.findIndex((c) => c.id === after) + 1 : 0;
      const limit = Number(url.searchParams.get('limit') ?? 20);
      const list = contacts.slice(start, start + limit);
      return send(200, { contacts: list, count: contacts.length });
    }
    if (url.pathname === '/opportunities/search') {
      const after = url.searchParams.get('startAfterId');
      const start = after ? opportunities.findIndex((o) => o.id === after) + 1 : 0;
      const list = opportunities.slice(start, start + 2);
      const last = list.at(-1);
      const more = start + 2 < opportunities.length;
      return send(200, {
        opportunities: list,
        meta: {
          total: opportunities.length,
          startAfterId: more ? last?.id : undefined,
          startAfter: more ? Date.parse(String(last?.createdAt)) || 1 : undefined,
          nextPageUrl: more ? `http://x/opportunities/search?startAfterId=${last?.id}` : null,
        },
      });
    }
    send(404, { message: 'Not found' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((r) => server.close(() => r())),
    // Reset per-token page counters between runs.
    ...{ reset: () => (contactPages = new Map()) },
  };
}

describe('GoHighLevel migration', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<typeof signUp>>;
  let ghl: Replay;
  const body = (extra: Record<string, unknown> = {}) => ({
    token: 'tok-good',
    location_id: LOCATION,
    base_url: ghl.url,
    ...extra,
  });

  beforeAll(async () => {
    ghl = await replay();
    t = await startTestApp({ OUTBOUND_ALLOWED_HOSTS: '127.0.0.1' });
    admin = await signUp(t, 'GHL Co');
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await ghl?.close();
  });

  it('the token bucket lets 100 requests through per 10 s, no more', async () => {
    let now = 0;
    const bucket = new TokenBucket(100, 10_000, () => now);
    for (let i = 0; i < 100; i++) await bucket.take();
    let took = false;
    const next = bucket.take().then(() => (took = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(took).toBe(false);
    now += 100; // one token's worth of time
    await next;
    expect(took).toBe(true);
  });

  it('a dry run reports what would be created, matched and skipped, and writes nothing', async () => {
    // A contact already in Cairn with the e-mail of the third GoHighLevel contact: matched.
    expectStatus(
      await admin.client.post('/api/v1/contacts', {
        first_name: 'Known',
        emails: [{ value: 'person2@ghl.example' }],
      }),
      201,
    );
    const res = await admin.client.post('/api/v1/migrations/gohighlevel', body());
    const report = expectStatus(res, 200);
    expect(report.dry_run).toBe(true);
    expect(report.read).toMatchObject({ contacts: TOTAL, opportunities: 3, users: 1, pipelines: 1 });
    expect(report.objects.contact).toMatchObject({ created: TOTAL - 1, matched: 1, skipped: 0 });
    expect(report.objects.contact.reasons).toMatchObject({ 'matched: e-mail': 1 });
    expect(report.objects.opportunity).toMatchObject({ created: 3 });
    expect(report.objects.stage).toMatchObject({ created: 2 });
    expect(report.objects.member.skipped).toBe(1); // the documented user is not a member
    // Fields Cairn has no place for are listed (and, for contacts, kept in notes).
    const fields = report.unplaced_fields.map((f: { field: string }) => f.field);
    expect(fields).toEqual(expect.arrayContaining(['timezone', 'country']));
    // Paging (several pages of 100), the headers, one 429 retried after its Retry-After.
    expect(report.requests.retried_429).toBe(1);
    const pages = ghl.requests.filter((r) => r.path.startsWith('/contacts/'));
    expect(pages.length).toBeGreaterThanOrEqual(3);
    expect(pages[0]!.headers.authorization).toBe('Bearer tok-good');
    expect(pages[0]!.headers.version).toBe('2021-07-28');
    expect(ghl.requests.some((r) => r.path.includes('startAfterId=ghl-c-0099'))).toBe(true);
    const list = expectStatus(await admin.client.get('/api/v1/imports'), 200);
    expect(list.data).toHaveLength(0);
  }, 60_000);

  it('a token revoked mid-migration is a clear 422 and nothing is written', async () => {
    revoked.add('tok-revoked');
    const res = await admin.client.post(
      '/api/v1/migrations/gohighlevel',
      body({ token: 'tok-revoked', dry_run: false }),
    );
    expectProblem(res, 422, { code: 'token_revoked', path: 'body.token' });
    const list = expectStatus(await admin.client.get('/api/v1/imports'), 200);
    expect(list.data).toHaveLength(0);
  }, 60_000);

  it('a private address that is not allow-listed is refused', async () => {
    const res = await admin.client.post(
      '/api/v1/migrations/gohighlevel',
      body({ base_url: 'http://10.0.0.1/' }),
    );
    expectProblem(res, 422, { code: 'source_unreachable' });
  }, 30_000);

  it('a run imports as ordinary imports (matched, not doubled), then reverts', async () => {
    const res = await admin.client.post('/api/v1/migrations/gohighlevel', body({ dry_run: false }));
    const report = expectStatus(res, 201);
    expect(Object.keys(report.import_ids).sort()).toEqual(['company', 'contact', 'opportunity']);
    for (const id of Object.values(report.import_ids) as string[]) {
      const done = await waitForImport(t, admin.client, id);
      expect(done.status, JSON.stringify(done)).toBe('completed');
    }
    const contact = await waitForImport(t, admin.client, report.import_ids.contact);
    expect(contact.progress).toMatchObject({ created: TOTAL - 1, updated: 1, failed: 0 });
    const opp = await waitForImport(t, admin.client, report.import_ids.opportunity);
    expect(opp.progress).toMatchObject({ created: 3, failed: 0 });
    // The imported contact keeps GoHighLevel's fields Cairn has no place for in its notes.
    const rows = expectStatus(
      await admin.client.get(`/api/v1/imports/${report.import_ids.contact}/rows?limit=10`),
      200,
    );
    const row = rows.data.find((r: { cells: string[] }) => r.cells.includes('person5@ghl.example'));
    const c = expectStatus(await admin.client.get(`/api/v1/contacts/${row.record_id}`), 200);
    expect(c.notes).toContain('timezone: Asia/Calcutta');
    expect(c.tags).toEqual(expect.arrayContaining(CONTACT.tags.map((x: string) => x.toLowerCase())));

    // Again as a dry run: everything is matched by its GoHighLevel id.
    const again = expectStatus(await admin.client.post('/api/v1/migrations/gohighlevel', body()), 200);
    // The contact matched by e-mail was given its GoHighLevel id too.
    expect(again.objects.contact.reasons['matched: GoHighLevel id (imported before)']).toBe(TOTAL);
    expect(again.objects.opportunity).toMatchObject({ created: 0, matched: 3 });
    expect(again.objects.stage).toMatchObject({ created: 0, matched: 2 });

    // The validation report: counts per object and samples compared field by field.
    const check = expectStatus(
      await admin.client.post('/api/v1/migrations/gohighlevel/validate', { ...body(), sample: 3 }),
      200,
    );
    expect(check.counts.contact).toEqual({ source: TOTAL, in_cairn: TOTAL, missing: 0 });
    expect(check.counts.opportunity).toEqual({ source: 3, in_cairn: 3, missing: 0 });
    const first = check.samples.find((x: { source_id: string }) => x.source_id === 'ghl-c-0000');
    expect(first.fields.filter((f: { same: boolean }) => !f.same)).toEqual([]);
    expect(first.fields.map((f: { field: string }) => f.field)).toEqual([
      'first_name',
      'last_name',
      'email',
      'phone',
      'tags',
    ]);
    // The contact matched by e-mail kept its own first name (update_empty): shown as a difference.
    const known = check.samples.find((x: { source_id: string }) => x.source_id === 'ghl-c-0002');
    expect(known.fields.find((f: { field: string }) => f.field === 'first_name')).toMatchObject({
      cairn: 'Known',
      same: false,
    });

    // Revertible through the import's own revert.
    expectStatus(await admin.client.post(`/api/v1/imports/${report.import_ids.opportunity}/revert`), 200);
    const reverted = await waitForImport(t, admin.client, report.import_ids.opportunity);
    expect(reverted.status).toBe('reverted');
  }, 240_000);

  it('a member without settings:manage is refused; bad input is a 400 naming the field', async () => {
    expectProblem(await admin.client.post('/api/v1/migrations/gohighlevel', { location_id: LOCATION }), 400, {
      path: 'body.token',
    });
    // A token is an HTTP header value: one it could not be sent as is a 400, not a failed request.
    expectProblem(
      await admin.client.post('/api/v1/migrations/gohighlevel', { location_id: LOCATION, token: 'pit-é 🙂' }),
      400,
      { path: 'body.token' },
    );
    // A host that does not resolve: the source is unreachable, a 422 with its code.
    expectProblem(
      await admin.client.post('/api/v1/migrations/gohighlevel', {
        location_id: LOCATION,
        token: 'pit-abc',
        base_url: 'https://no-such-host.invalid/',
      }),
      422,
      { code: 'source_unreachable' },
    );
  });
});
