import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Res, startTestApp, type TestApp } from './harness.js';
import {
  addFilterCases,
  addTaskFilterCases,
  CASES,
  type Case,
  FILTER,
  FILTER_IDS,
  FILTER_STORED,
  type Ids,
  judging,
  type Kind,
  LINK_ROUTES,
  NO_IDS,
  NOWHERE,
  objectOfRoute,
  RECORDS,
  type Req,
  type Tenant,
  WALK_OBJECT,
} from './isolation-cases.js';
import './isolation-access-cases.js';
import './isolation-custom-cases.js';
import './isolation-lead-cases.js';
import './isolation-files-cases.js';
import './isolation-sales-cases.js';
import './isolation-workflow-cases.js';
import './isolation-scheduling-cases.js';
import './isolation-report-cases.js';
import './isolation-conversation-cases.js';
import './isolation-message-template-cases.js';
import './isolation-operator-cases.js';
import './isolation-sequence-cases.js';
import './isolation-meta-cases.js';
import './isolation-broadcast-cases.js';
import './isolation-handoff-cases.js';
import './isolation-ops-cases.js';
import { isolationWorld } from './isolation-world.js';
import { uploadFile } from './kit/files.js';
import { uploadCsv } from './kit/imports.js';

/**
 * The tenant-isolation walk. Every entry of the route table has a case in isolation-cases.ts (or a reasoned
 * entry in NO_IDS), and every id-bearing field of its schema (path and query parameters and body fields
 * whose schema is a uuid or a list of uuids, read from the OpenAPI document the routes produce, and
 * the id fields a list filter accepts, read from the object registry) is tried with the other
 * tenant's id. For each case:
 * - positive controls: tenant B's request with B's own ids succeeds, and so does tenant A's with A's;
 * - for each id-bearing field, B's request with A's id in that one field (B's own ids everywhere
 *   else) is refused exactly as an id that exists nowhere is (404 for a path id; 404 or 422 naming
 *   the field for a reference in a body), or, for a list filter, answers without any of A's records;
 *   no refusal carries anything of A's;
 * - nothing of A's changes while B tries all of that.
 * A route added without a case fails the first test below.
 */

let t: TestApp;
const heldImports = new Set<string>();
let A: Tenant;
let B: Tenant;

/** The id-bearing fields of each operation in the app's own OpenAPI document. */
function idFieldsOfDocument(): Map<string, Set<string>> {
  const doc = t.app.swagger() as {
    paths: Record<
      string,
      Record<
        string,
        {
          parameters?: { in: string; name: string; schema: unknown }[];
          requestBody?: { content?: Record<string, { schema?: unknown }> };
        }
      >
    >;
    components?: { schemas?: Record<string, unknown> };
  };
  type S = {
    $ref?: string;
    format?: string;
    anyOf?: S[];
    oneOf?: S[];
    allOf?: S[];
    items?: S;
    properties?: Record<string, S>;
    additionalProperties?: S | boolean;
  };
  const deref = (s: S | undefined): S | undefined =>
    s?.$ref ? (doc.components?.schemas?.[s.$ref.split('/').pop()!] as S) : s;
  const walk = (schema: S | undefined, path: string, out: Set<string>, depth = 0) => {
    // A filter tree: its id fields depend on the object (see FILTER_IDS), not on this schema.
    if (schema?.$ref?.split('/').pop()?.startsWith('FilterNode')) return void out.add(FILTER);
    const s = deref(schema);
    if (!s || depth > 8) return;
    if (s.format === 'uuid') out.add(path);
    for (const x of [...(s.anyOf ?? []), ...(s.oneOf ?? []), ...(s.allOf ?? [])])
      walk(x, path, out, depth + 1);
    if (s.items) walk(s.items, `${path}[]`, out, depth + 1);
    for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${path}.${k}`, out, depth + 1);
    if (typeof s.additionalProperties === 'object') walk(s.additionalProperties, `${path}.*`, out, depth + 1);
  };
  const fields = new Map<string, Set<string>>();
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const out = new Set<string>();
      for (const param of op.parameters ?? []) {
        if (param.in === 'path' && ['object', 'index'].includes(param.name)) continue; // an object type, a column number
        // A custom field's key is tenant data; an operator plan's and a template's are the install's.
        if (
          param.in === 'path' &&
          param.name === 'key' &&
          !path.startsWith('/api/v1/operator/') &&
          !path.startsWith('/api/v1/templates/')
        )
          out.add('path.key');
        // A filter tree as JSON (the inbox's `filter` is a choice of three words, not a tree).
        if (param.name === 'filter' && !(param.schema as { enum?: unknown })?.enum) out.add(FILTER);
        walk(param.schema as S, `${param.in}.${param.name}`, out);
      }
      walk(op.requestBody?.content?.['application/json']?.schema as S, 'body', out);
      fields.set(`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`, out);
    }
  }
  return fields;
}

async function send(tn: Tenant, method: string, req: Req): Promise<Res> {
  if (req.file) {
    const [object, id] = [...new URL(req.url, 'http://x').searchParams.values()];
    return (await uploadFile(
      t,
      tn.client,
      { object: object!, id: id! },
      req.file.name,
      req.file.content,
    )) as Res;
  }
  if (req.upload)
    return (await uploadCsv(
      t,
      tn.client,
      req.upload.object,
      'walk.csv',
      `First Name\n${tn.marker}\n`,
      req.upload.query,
    )) as Res;
  return tn.client.request(method as 'GET', req.url, req.body);
}

/** Everything of a tenant a user can see, to prove that nothing of A changed while B tried. */
async function stateOf(tn: Tenant, extraIds: Ids[]) {
  const c = tn.client;
  const get = async (url: string) => {
    const res = await c.get(url);
    return [res.status, res.body];
  };
  const out: Record<string, unknown> = {};
  for (const url of [
    '/api/v1/members',
    '/api/v1/invitations',
    '/api/v1/tags',
    '/api/v1/views?object=contact',
    '/api/v1/pipelines',
    '/api/v1/imports',
    '/api/v1/import-mappings',
    '/api/v1/api-keys',
    '/api/v1/objects/contact',
    '/api/v1/tasks?status=all&limit=200',
    '/api/v1/contacts/export?format=jsonl',
    '/api/v1/companies/export?format=jsonl',
    '/api/v1/opportunities/export?format=jsonl',
    '/api/v1/products/export?format=jsonl',
    '/api/v1/price-lists',
    `/api/v1/objects/${WALK_OBJECT}`,
    `/api/v1/records/${WALK_OBJECT}/export?format=jsonl`,
  ]) {
    out[url] = url.includes('export') ? (await c.get(url)).text : await get(url);
  }
  const byId: Record<string, string> = {
    contact: 'contacts',
    contact2: 'contacts',
    lead: 'contacts',
    company: 'companies',
    company2: 'companies',
    opportunity: 'opportunities',
    closed: 'opportunities',
    task: 'tasks',
    note: 'notes',
    import: 'imports',
    mapping: 'import-mappings',
    customRecord: `records/${WALK_OBJECT}`,
    file: 'files',
    product: 'products',
    quote: 'quotes',
  };
  for (const ids of [tn.ids, ...extraIds]) {
    for (const [kind, collection] of Object.entries(byId)) {
      const id = ids[kind as Kind];
      if (id) out[`${collection}/${id}`] = await get(`/api/v1/${collection}/${id}`);
    }
  }
  return out;
}

type Planned = { route: string; method: string; c: Case; fresh: { A: Ids; B: Ids } };
let plan: Planned[] = [];
let filterFieldCount = 0;

beforeAll(async () => {
  t = await startTestApp({}, (services) => {
    // Imports the walk must find still queued: their job is sent to start in an hour.
    const send = services.jobs.send.bind(services.jobs);
    services.jobs.send = (conn, name, data, options) =>
      send(
        conn,
        name,
        data,
        heldImports.has((data as { import_id?: string }).import_id ?? '')
          ? { ...options, startAfter: 3600 }
          : options,
      );
  });
  const { make, seed } = isolationWorld(t, heldImports);
  [A, B] = await Promise.all([seed('A'), seed('B')]);
  for (const object of RECORDS) filterFieldCount += await addFilterCases(A.client, object);
  filterFieldCount += await addFilterCases(A.client, {
    object: WALK_OBJECT,
    collection: `records/${WALK_OBJECT}`,
    kind: 'customRecord',
    route: '/api/v1/records/:object',
  });
  filterFieldCount += await addTaskFilterCases(A.client);
  plan = Object.entries(CASES).flatMap(([key, cases]) =>
    cases.map((c) => ({ route: key, method: key.split(' ')[0]!, c, fresh: { A: {}, B: {} } })),
  );
  // The fresh records of each case, a few cases at a time (the two tenants side by side).
  const needing = plan.filter((p) => p.c.fresh);
  for (let i = 0; i < needing.length; i += 4) {
    await Promise.all(
      needing.slice(i, i + 4).flatMap(({ c, fresh }) =>
        [A, B].map(async (tn) => {
          for (const kind of c.fresh!)
            Object.assign(fresh[tn.name], await make(tn, kind, { ...tn.ids, ...fresh[tn.name] }));
        }),
      ),
    );
  }
}, 600_000);
afterAll(() => t?.close());

const valuesFor = (c: Case, ids: Ids) =>
  Object.fromEntries(Object.entries(c.fields).map(([field, kind]) => [field, ids[kind]!]));

describe('tenant isolation across the whole route table', () => {
  it('every route of the route table has a case, and every id-bearing field of its schema is tried', () => {
    const documented = idFieldsOfDocument();
    const missing: string[] = [];
    for (const route of t.routes) {
      const key = `${route.method} ${route.url}`;
      if (NO_IDS[key] || LINK_ROUTES.includes(key)) {
        if (NO_IDS[key]) expect(documented.get(key)?.size ?? 0, `${key} is in NO_IDS but takes ids`).toBe(0);
        continue;
      }
      const cases = CASES[key];
      if (!cases) {
        missing.push(`${key}: no case`);
        continue;
      }
      const tried = new Set(cases.flatMap((c) => Object.keys(c.fields)));
      const fields = [...(documented.get(key) ?? [])];
      if (fields.includes(FILTER) && !FILTER_STORED[key]) {
        const object = objectOfRoute(route.url);
        if (!object || !FILTER_IDS[object]) missing.push(`${key}: takes a filter of an unknown object`);
        else fields.push(...FILTER_IDS[object]);
      }
      for (const field of fields.filter((f) => f !== FILTER))
        if (!tried.has(field)) missing.push(`${key}: ${field} never tried`);
    }
    expect(missing, 'add a case to CASES in isolation.test.ts').toEqual([]);
    const routes = new Set(t.routes.map((r) => `${r.method} ${r.url}`));
    expect(
      Object.keys(CASES).filter((k) => !routes.has(k)),
      'cases for routes that no longer exist',
    ).toEqual([]);
    expect(filterFieldCount).toBeGreaterThan(10);
  });

  it("tenant B is refused A's id in every id-bearing field, and nothing of A changes", async () => {
    const before = await stateOf(
      A,
      plan.map((p) => p.fresh.A),
    );
    const failures: string[] = [];
    for (const { route, method, c, fresh } of plan) {
      const idsOfA = { ...A.ids, ...fresh.A };
      const idsOfB = { ...B.ids, ...fresh.B };
      if (c.holds && Object.keys(c.fields).length === 0) {
        // A list with no id to give: B's own list holds nothing of A's.
        const res = await send(B, method, c.send({}, idsOfB));
        judging(A);
        if (res.status !== (c.ok ?? 200) || c.holds(res, {}))
          failures.push(`${route} -> ${res.status}: B's list shows A's record`);
        if (res.text.includes(A.marker)) failures.push(`${route}: B's list shows ${A.marker}`);
      }
      for (const field of Object.keys(c.fields)) {
        // B's own request, with A's id in this one field only.
        const mixed = { ...valuesFor(c, idsOfB), [field]: idsOfA[c.fields[field]!]! };
        const req = c.send(mixed, idsOfB);
        const res = await send(B, method, req);
        const label = `${route} ${field} -> ${res.status} ${res.text.slice(0, 200)}`;
        const sent = JSON.stringify(req);
        const leaks = [A.marker, A.email, ...Object.values(idsOfA)].filter(
          (s) => s && !sent.includes(s) && res.text.includes(s),
        );
        if (leaks.length > 0) failures.push(`${label}: leaked ${leaks.join(', ')}`);
        judging(A);
        if (c.holds && field.startsWith('filter.')) {
          if (res.status !== 200 || c.holds(res, mixed))
            failures.push(`${label}: a filter on A's id must answer 200 and select nothing`);
          continue;
        }
        if (c.holds && !field.startsWith('path.') && res.status === 200) {
          // A selection (a list's parameter, bulk ids): answered, without anything of A's.
          if (c.holds(res, mixed)) failures.push(`${label}: selected A's record`);
          continue;
        }
        // Refused exactly as an id that exists nowhere.
        const nowhere = await send(B, method, c.send({ ...mixed, [field]: NOWHERE }, idsOfB));
        const code = (r: Res) => `${r.status} ${(r.body as { code?: string } | undefined)?.code}`;
        const expected = field.startsWith('path.') ? [404] : [400, 403, 404, 422];
        if (!expected.includes(res.status)) failures.push(`${label}: expected ${expected.join(' or ')}`);
        else if (code(res) !== code(nowhere))
          failures.push(`${label}: differs from an unknown id (${code(nowhere)})`);
      }
    }
    expect(failures).toEqual([]);
    expect(
      await stateOf(
        A,
        plan.map((p) => p.fresh.A),
      ),
    ).toEqual(before);
  }, 120_000);

  it('the same requests succeed for their owner: B with its own ids, then A with its own', async () => {
    const failures: string[] = [];
    for (const { route, method, c, fresh } of plan) {
      for (const tn of [B, A]) {
        const ids = { ...tn.ids, ...fresh[tn.name] };
        const v = valuesFor(c, ids);
        judging(tn);
        const res = await send(tn, method, c.send(v, ids));
        const label = `${tn.name} ${route} ${Object.keys(c.fields).join(',')} -> ${res.status} ${res.text.slice(0, 300)}`;
        if (res.status !== (c.ok ?? 200)) failures.push(`${label}: expected ${c.ok ?? 200}`);
        else if (c.holds && !c.holds(res, v)) failures.push(`${label}: does not show the owner's record`);
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);

  it('an invitation link reveals nothing beyond what it grants, and cannot be taken by another signed-in user', async () => {
    const res = await t.client().get(`/api/v1/invitations/${A.ids.invitation}/preview`);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['email', 'expires_at', 'organization_name', 'role']);
    const members = (await A.client.get('/api/v1/members')).body;
    const taken = await B.client.post(`/api/v1/invitations/${A.ids.invitation}/accept`, {});
    expect(taken.status).toBeGreaterThanOrEqual(400);
    expect(taken.status).toBeLessThan(500);
    expect((await A.client.get('/api/v1/members')).body).toEqual(members);
  });
});
