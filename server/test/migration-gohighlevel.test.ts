import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../src/db/tenant.js';
import { TokenBucket } from '../src/modules/migrations/gohighlevel.client.js';
import { runGhlMigration } from '../src/modules/migrations/gohighlevel.jobs.js';
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
const fieldsDoc = doc('custom-fields');
const CONTACT = {
  ...example(contactsDoc, { $ref: '#/components/schemas/ContactsSearchSchema' }),
  ...example(contactsDoc, { $ref: '#/components/schemas/GetContectByIdSchema' }),
};
const OPPORTUNITY = example(oppDoc, { $ref: '#/components/schemas/SearchOpportunitiesResponseSchema' });
const PIPELINE = example(oppDoc, { $ref: '#/components/schemas/PipelinesResponseSchema' });
const USER = example(usersDoc, { $ref: '#/components/schemas/UserSuccessfulResponseDto' });
const FIELD = example(fieldsDoc, { $ref: '#/components/schemas/ICustomField' });
const NOTE = example(contactsDoc, { $ref: '#/components/schemas/GetNoteSchema' });
const TASK = example(contactsDoc, { $ref: '#/components/schemas/TaskSchema' });
const LOCATION = 'loc1';
const TOTAL = 230;

/** The location's custom fields: the documented one, as a text, a date, an option and a file field. */
const fields = [
  {
    ...FIELD,
    id: 'cf-pet',
    name: 'Pet name',
    fieldKey: 'contact.pet_name',
    dataType: 'TEXT',
    objectKey: 'contact',
  },
  {
    ...FIELD,
    id: 'cf-born',
    name: 'Born',
    fieldKey: 'contact.born_on',
    dataType: 'DATE',
    objectKey: 'contact',
  },
  {
    ...FIELD,
    id: 'cf-file',
    name: 'Contract',
    fieldKey: 'contact.contract',
    dataType: 'FILE_UPLOAD',
    objectKey: 'contact',
  },
  {
    ...FIELD,
    id: 'cf-size',
    name: 'Deal size',
    fieldKey: 'opportunity.deal_size',
    dataType: 'SINGLE_OPTIONS',
    objectKey: 'opportunity',
    options: [
      { key: 'small', label: 'Small' },
      { key: 'large', label: 'Large' },
    ],
  },
];

/** The location's contacts: the documented one, varied (id, e-mail, phone) per record. */
const contacts = Array.from({ length: TOTAL }, (_, i) => ({
  ...CONTACT,
  id: `ghl-c-${String(i).padStart(4, '0')}`,
  email: `person${i}@ghl.example`,
  phone: `+1202555${String(1000 + i).slice(-4)}`,
  dateAdded: new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString(),
  assignedTo: USER.id,
  customFields: [
    { id: 'cf-pet', value: `Rex ${i}` },
    { id: 'cf-born', value: '1990-05-17T00:00:00.000Z' },
    { id: 'cf-file', value: 'https://files.example/contract.pdf' },
  ],
}));
const opportunities = [0, 1, 2].map((i) => ({
  ...OPPORTUNITY,
  id: `ghl-o-${i}`,
  name: `${OPPORTUNITY.name} ${i}`,
  contactId: contacts[i]!.id,
  pipelineId: PIPELINE.id,
  pipelineStageId: i === 2 ? 'stage-b' : 'stage-a',
  customFields: [{ id: 'cf-size', fieldValue: 'Large' }],
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
/** The first two contacts have a note and a task each (the documented ones). */
const notesOf = (contactId: string) =>
  ['ghl-c-0000', 'ghl-c-0001'].includes(contactId) ? [{ ...NOTE, id: `note-${contactId}`, contactId }] : [];
const tasksOf = (contactId: string) =>
  ['ghl-c-0000', 'ghl-c-0001'].includes(contactId)
    ? [{ ...TASK, id: `task-${contactId}`, contactId, assignedTo: USER.id }]
    : [];

type Replay = {
  url: string;
  requests: { path: string; headers: http.IncomingHttpHeaders }[];
  close(): Promise<void>;
};
const revoked = new Set<string>();

async function replay(): Promise<Replay> {
  const requests: Replay['requests'] = [];
  let served429 = false;
  const contactPages = new Map<string, number>();
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
    const objectKey = /^\/custom-fields\/object-key\/(\w+)$/.exec(url.pathname)?.[1];
    if (objectKey) return send(200, { fields: fields.filter((f) => f.objectKey === objectKey), folders: [] });
    const perContact = /^\/contacts\/([\w-]+)\/(notes|tasks)$/.exec(url.pathname);
    if (perContact)
      return send(
        200,
        perContact[2] === 'notes' ? { notes: notesOf(perContact[1]!) } : { tasks: tasksOf(perContact[1]!) },
      );
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
    t = await startTestApp({ OUTBOUND_ALLOWED_HOSTS: '127.0.0.1', GHL_REQUESTS_PER_10S: '10000' });
    admin = await signUp(t, 'GHL Co');
  }, 180_000);
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

  /** Starts a migration and runs its job; @returns the migration as the API shows it afterwards. */
  const migrate = async (extra: Record<string, unknown> = {}) => {
    const started = expectStatus(await admin.client.post('/api/v1/migrations/gohighlevel', body(extra)), 202);
    expect(started.status).toBe('queued');
    await t.drain();
    return expectStatus(await admin.client.get(`/api/v1/migrations/gohighlevel/${started.id}`), 200);
  };

  it('a dry run runs in the background and reports what would be created, matched and skipped, writing nothing', async () => {
    // A contact already in Cairn with the e-mail of the third GoHighLevel contact: matched.
    expectStatus(
      await admin.client.post('/api/v1/contacts', {
        first_name: 'Known',
        emails: [{ value: 'person2@ghl.example' }],
      }),
      201,
    );
    const m = await migrate();
    expect(m.status, JSON.stringify(m.error)).toBe('completed');
    // The token is write-only: masked in the API, sealed at rest.
    expect(m.token).toBe('••••good');
    expect(JSON.stringify(m)).not.toContain('tok-good');
    const stored = await withTenant(
      t.services.database,
      { orgId: admin.orgId, actor: { type: 'system', id: null } },
      ({ conn }) => conn.query('select token_sealed from ghl_migrations where id = $1', [m.id]),
    );
    const sealed = (stored.rows[0] as { token_sealed: string }).token_sealed;
    expect(sealed).toMatch(/^v1\./);
    expect(sealed).not.toContain('tok-good');
    expect(m.progress.contacts).toEqual({ read: TOTAL, pages: 3, done: true });
    const report = m.report;
    expect(report.dry_run).toBe(true);
    expect(report.read).toMatchObject({
      contacts: TOTAL,
      opportunities: 3,
      users: 1,
      pipelines: 1,
      custom_fields: 4,
      notes: 2,
      tasks: 2,
    });
    expect(report.objects.contact).toMatchObject({ created: TOTAL - 1, matched: 1, skipped: 0 });
    expect(report.objects.contact.reasons).toMatchObject({ 'matched: e-mail': 1 });
    expect(report.objects.opportunity).toMatchObject({ created: 3 });
    expect(report.objects.stage).toMatchObject({ created: 2 });
    expect(report.objects.member.skipped).toBe(1); // the documented user is not a member: listed
    expect(report.objects.custom_field).toMatchObject({ created: 3, skipped: 1 });
    expect(report.objects.note).toMatchObject({ created: 2 });
    expect(report.objects.task).toMatchObject({ created: 2 });
    // Fields Cairn has no place for are listed (and, for contacts, kept in notes).
    const fieldNames = report.unplaced_fields.map((f: { field: string }) => f.field);
    expect(fieldNames).toEqual(
      expect.arrayContaining(['timezone', 'country', 'customFields.contact.contract']),
    );
    // Paging (several pages of 100), the headers, one 429 retried after its Retry-After.
    expect(m.requests.retried_429).toBe(1);
    const pages = ghl.requests.filter((r) => r.path.startsWith('/contacts/?'));
    expect(pages.length).toBeGreaterThanOrEqual(3);
    expect(pages[0]!.headers.authorization).toBe('Bearer tok-good');
    expect(pages[0]!.headers.version).toBe('2021-07-28');
    expect(ghl.requests.some((r) => r.path.includes('startAfterId=ghl-c-0099'))).toBe(true);
    const list = expectStatus(await admin.client.get('/api/v1/imports'), 200);
    expect(list.data).toHaveLength(0);
    const all = expectStatus(await admin.client.get('/api/v1/migrations/gohighlevel'), 200);
    expect(all.data.map((x: { id: string }) => x.id)).toContain(m.id);
  }, 120_000);

  it('a worker killed mid-read: the job run again goes on from the stored cursor', async () => {
    const started = expectStatus(
      await admin.client.post('/api/v1/migrations/gohighlevel', body({ notes_and_tasks: false })),
      202,
    );
    // What a worker killed after the second page of contacts leaves: status reading, the cursor
    // after ghl-c-0199, the first two pages stored (the job is still queued: pg-boss hands it out again).
    await t.drain();
    const ctx = { orgId: admin.orgId, actor: { type: 'system' as const, id: null } };
    await withTenant(t.services.database, ctx, async ({ conn }) => {
      await conn.query(
        `update ghl_migrations set status = 'reading', report = null, finished_at = null,
           cursors = cursors || jsonb_build_object('contacts', jsonb_build_object('done', false, 'pages', 2, 'read', 200, 'startAfterId', 'ghl-c-0199'),
             'opportunities', jsonb_build_object('done', false, 'pages', 0, 'read', 0))
         where id = $1`,
        [started.id],
      );
      await conn.query(
        `delete from ghl_migration_records where migration_id = $1 and (object = 'opportunities' or (object = 'contacts' and source_id > 'ghl-c-0199'))`,
        [started.id],
      );
    });
    const before = ghl.requests.length;
    await runGhlMigration(t.services, { org_id: admin.orgId, migration_id: started.id });
    const m = expectStatus(await admin.client.get(`/api/v1/migrations/gohighlevel/${started.id}`), 200);
    expect(m.status).toBe('completed');
    const again = ghl.requests.slice(before).filter((r) => r.path.startsWith('/contacts/?'));
    // One page read after the crash, from the cursor; none of the first two again.
    expect(again.map((r) => new URL(r.path, 'http://x').searchParams.get('startAfterId'))).toEqual([
      'ghl-c-0199',
    ]);
    expect(ghl.requests.slice(before).some((r) => r.path.startsWith('/users/'))).toBe(false);
    expect(m.progress.contacts).toEqual({ read: TOTAL, pages: 3, done: true });
    expect(m.report.read.contacts).toBe(TOTAL);
  }, 120_000);

  it('a private address that is not allow-listed stops the migration with a clear error', async () => {
    const m = await migrate({ base_url: 'http://10.0.0.1/' });
    expect(m.status).toBe('stopped');
    expect(m.error.code).toBe('source_unreachable');
  }, 30_000);

  it('a token revoked mid-migration stops it with a clear error; it resumes with a new token, imports (matched, not doubled), validates, reverts', async () => {
    revoked.add('tok-revoked');
    const m = await migrate({ token: 'tok-revoked', dry_run: false });
    expect(m.status).toBe('stopped');
    expect(m.error).toMatchObject({ code: 'token_revoked' });
    expect(m.error.message).toContain('refused the API token (401)');
    expect(m.progress.contacts).toMatchObject({ read: 100, pages: 1, done: false });
    expect(expectStatus(await admin.client.get('/api/v1/imports'), 200).data).toHaveLength(0);
    // Only a stopped or failed migration is resumed.
    const done = expectStatus(await admin.client.get('/api/v1/migrations/gohighlevel'), 200).data.find(
      (x: { status: string }) => x.status === 'completed',
    );
    expectProblem(await admin.client.post(`/api/v1/migrations/gohighlevel/${done.id}/resume`, {}), 409, {
      code: 'not_resumable',
    });

    const before = ghl.requests.length;
    const resumed = expectStatus(
      await admin.client.post(`/api/v1/migrations/gohighlevel/${m.id}/resume`, { token: 'tok-new2' }),
      202,
    );
    expect(resumed).toMatchObject({ status: 'queued', token: '••••new2', error: null });
    await t.drain();
    const after = expectStatus(await admin.client.get(`/api/v1/migrations/gohighlevel/${m.id}`), 200);
    expect(after.status, JSON.stringify(after.error)).toBe('completed');
    // Reading went on from the cursor with the new token: the first page was not read again.
    const contactPages = ghl.requests.slice(before).filter((r) => r.path.startsWith('/contacts/?'));
    expect(contactPages[0]!.path).toContain('startAfterId=ghl-c-0099');
    expect(contactPages[0]!.headers.authorization).toBe('Bearer tok-new2');
    const report = after.report;
    expect(Object.keys(after.import_ids).sort()).toEqual([
      'company',
      'contact',
      'note',
      'opportunity',
      'task',
    ]);
    for (const id of Object.values(after.import_ids) as string[]) {
      const imp = await waitForImport(t, admin.client, id);
      expect(imp.status, JSON.stringify(imp)).toBe('completed');
    }
    expect(report.read.contacts).toBe(TOTAL);
    const contact = await waitForImport(t, admin.client, after.import_ids.contact);
    expect(contact.progress).toMatchObject({ created: TOTAL - 1, updated: 1, failed: 0 });
    const opp = await waitForImport(t, admin.client, after.import_ids.opportunity);
    expect(opp.progress).toMatchObject({ created: 3, failed: 0 });
    expect((await waitForImport(t, admin.client, after.import_ids.note)).progress).toMatchObject({
      created: 2,
      failed: 0,
    });
    expect((await waitForImport(t, admin.client, after.import_ids.task)).progress).toMatchObject({
      created: 2,
      failed: 0,
    });
    // The imported contact: its custom values in the custom fields made for them, what has no
    // place (the file field, the timezone) in its notes.
    const rows = expectStatus(
      await admin.client.get(`/api/v1/imports/${after.import_ids.contact}/rows?limit=10`),
      200,
    );
    const row = rows.data.find((r: { cells: string[] }) => r.cells.includes('person5@ghl.example'));
    const c = expectStatus(await admin.client.get(`/api/v1/contacts/${row.record_id}`), 200);
    expect(c.notes).toContain('timezone: Asia/Calcutta');
    expect(c.notes).toContain('customFields.contact.contract: https://files.example/contract.pdf');
    expect(c.custom).toMatchObject({ pet_name: 'Rex 5', born_on: '1990-05-17' });
    expect(c.tags).toEqual(expect.arrayContaining(CONTACT.tags.map((x: string) => x.toLowerCase())));
    const fieldsOf = expectStatus(await admin.client.get('/api/v1/objects/opportunity'), 200);
    expect(fieldsOf.fields.find((f: { key: string }) => f.key === 'deal_size')).toMatchObject({
      type: 'select',
    });

    // Again as a dry run: everything is matched by its GoHighLevel id.
    const again = (await migrate()).report;
    expect(again.objects.contact.reasons['matched: GoHighLevel id (imported before)']).toBe(TOTAL);
    expect(again.objects.opportunity).toMatchObject({ created: 0, matched: 3 });
    expect(again.objects.stage).toMatchObject({ created: 0, matched: 2 });
    expect(again.objects.custom_field).toMatchObject({ created: 0, matched: 3 });
    expect(again.objects.note).toMatchObject({ created: 0, matched: 2 });
    expect(again.objects.task).toMatchObject({ created: 0, matched: 2 });

    // The validation report, with the stored token: counts per object and samples compared field by field.
    const check = expectStatus(
      await admin.client.post(`/api/v1/migrations/gohighlevel/${m.id}/validate`, { sample: 3 }),
      200,
    );
    expect(check.counts.contact).toEqual({ source: TOTAL, in_cairn: TOTAL, missing: 0 });
    expect(check.counts.opportunity).toEqual({ source: 3, in_cairn: 3, missing: 0 });
    // Every object the migration brings over is counted, source against Cairn.
    expect(check.counts).toMatchObject({
      pipeline: { source: 1, in_cairn: 1, missing: 0 },
      stage: { source: 2, in_cairn: 2, missing: 0 },
      note: { source: 2, in_cairn: 2, missing: 0 },
      task: { source: 2, in_cairn: 2, missing: 0 },
      // The file field has no Cairn type; the documented user is not a member.
      custom_field: { source: 4, in_cairn: 3, missing: 1 },
      member: { source: 1, in_cairn: 0, missing: 1 },
    });
    const tags = new Set(CONTACT.tags.map((x: string) => x.toLowerCase())).size;
    expect(check.counts.tag).toEqual({ source: tags, in_cairn: tags, missing: 0 });
    expect(check.counts.contact_tag.source).toBe(TOTAL * tags);
    expect(check.counts.company.source).toBeGreaterThan(0);
    expect(check.counts.company.missing).toBe(0);
    expect(check.source_of).toMatchObject({ contact: 'gohighlevel', note: 'migration', task: 'migration' });
    // What is missing is listed, with the reason.
    expect(
      check.mismatches.map((x: { object: string; source_id: string }) => `${x.object}:${x.source_id}`),
    ).toEqual(expect.arrayContaining([`member:${USER.id}`, 'custom_field:cf-file']));
    expect(check.mismatches.find((x: { object: string }) => x.object === 'custom_field').reason).toContain(
      'FILE_UPLOAD has no Cairn field',
    );
    expect(
      check.mismatches.filter(
        (x: { object: string }) => !['member', 'custom_field', 'contact_tag'].includes(x.object),
      ),
    ).toEqual([]);
    // Notes and tasks sampled field by field too, and the contacts' custom values.
    for (const object of ['note', 'task']) {
      const sampled = check.samples.filter((x: { object: string }) => x.object === object);
      expect(sampled).toHaveLength(2);
      for (const x of sampled) expect(x.fields.filter((f: { same: boolean }) => !f.same)).toEqual([]);
    }
    const first = check.samples.find((x: { source_id: string }) => x.source_id === 'ghl-c-0000');
    expect(first.fields.filter((f: { same: boolean }) => !f.same)).toEqual([]);
    // The contact matched by e-mail kept its own first name (update_empty): shown as a difference.
    const known = check.samples.find((x: { source_id: string }) => x.source_id === 'ghl-c-0002');
    expect(known.fields.find((f: { field: string }) => f.field === 'first_name')).toMatchObject({
      cairn: 'Known',
      same: false,
    });

    // Revertible through the import's own revert.
    expectStatus(await admin.client.post(`/api/v1/imports/${after.import_ids.opportunity}/revert`), 200);
    const reverted = await waitForImport(t, admin.client, after.import_ids.opportunity);
    expect(reverted.status).toBe('reverted');
    // The validation report now lists the reverted opportunities as missing.
    const afterRevert = expectStatus(
      await admin.client.post(`/api/v1/migrations/gohighlevel/${m.id}/validate`, { sample: 0 }),
      200,
    );
    expect(afterRevert.counts.opportunity).toEqual({ source: 3, in_cairn: 0, missing: 3 });
    expect(
      afterRevert.mismatches
        .filter((x: { object: string }) => x.object === 'opportunity')
        .map((x: { source_id: string; reason: string }) => [x.source_id, x.reason]),
    ).toEqual(['ghl-o-0', 'ghl-o-1', 'ghl-o-2'].map((id) => [id, 'not found in Cairn']));
  }, 240_000);

  it('a worker that dies after creating an import and before storing it: the run resumed creates no second import set', async () => {
    const importsNow = async () =>
      (expectStatus(await admin.client.get('/api/v1/imports?limit=200'), 200).data as { id: string }[]).map(
        (x) => x.id,
      );
    const before = await importsNow();
    const started = expectStatus(
      await admin.client.post(
        '/api/v1/migrations/gohighlevel',
        body({ dry_run: false, notes_and_tasks: false }),
      ),
      202,
    );
    // The worker runs the job and dies right after the contact import is created: the company
    // and contact imports exist, the migration has stored only the company's.
    await expect(
      runGhlMigration(
        t.services,
        { org_id: admin.orgId, migration_id: started.id },
        {
          importCreated: (object) => {
            if (object === 'contact') throw new Error('worker killed');
          },
        },
      ),
    ).rejects.toThrow('worker killed');
    const dead = expectStatus(await admin.client.get(`/api/v1/migrations/gohighlevel/${started.id}`), 200);
    expect(dead.status).toBe('reading');
    expect(Object.keys(dead.import_ids)).toEqual(['company']);
    const orphaned = (await importsNow()).filter((id) => !before.includes(id));
    expect(orphaned).toHaveLength(2);

    // pg-boss hands the job out again: the run re-plans and takes the imports it created.
    await t.drain();
    const m = expectStatus(await admin.client.get(`/api/v1/migrations/gohighlevel/${started.id}`), 200);
    expect(m.status, JSON.stringify(m.error)).toBe('completed');
    expect(Object.keys(m.import_ids).sort()).toEqual(['company', 'contact', 'opportunity']);
    const created = (await importsNow()).filter((id) => !before.includes(id));
    expect(created.sort()).toEqual(Object.values(m.import_ids).sort());
    expect(created).toEqual(expect.arrayContaining(orphaned));
    for (const id of created) expect((await waitForImport(t, admin.client, id)).status).toBe('completed');
    // Nothing doubled: one Cairn contact per GoHighLevel contact.
    const ctx = { orgId: admin.orgId, actor: { type: 'system' as const, id: null } };
    const counts = await withTenant(t.services.database, ctx, ({ conn }) =>
      conn.query(
        `select count(*)::int as n, count(distinct external_id)::int as distinct_ids from external_ids where org_id = $1 and object = 'contact'`,
        [admin.orgId],
      ),
    );
    expect(counts.rows[0]).toEqual({ n: TOTAL, distinct_ids: TOTAL });
  }, 120_000);

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
    // A host that does not resolve: the migration stops with the source unreachable.
    const m = await migrate({ token: 'pit-abc', base_url: 'https://no-such-host.invalid/' });
    expect(m).toMatchObject({ status: 'stopped', error: { code: 'source_unreachable' } });
    expectProblem(await admin.client.get(`/api/v1/migrations/gohighlevel/${crypto.randomUUID()}`), 404, {});
  });
});
