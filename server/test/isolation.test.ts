import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, type Client, signUp, startTestApp, type TestApp, uniqueEmail } from './harness.js';
import { uploadCsv } from './import-helpers.js';

/**
 * The tenant-isolation suite. It walks the route table, so a route added later is covered
 * without anyone remembering: for every id-bearing route, a principal of tenant B using tenant
 * A's ids gets 404 (or 403), never 2xx, and tenant A's data is unchanged afterwards.
 */
let t: TestApp;
let adminA: Awaited<ReturnType<typeof signUp>>;
let adminB: Awaited<ReturnType<typeof signUp>>;
/** Real ids of tenant A, by the collection their route starts with (`/api/v1/<collection>/:id`). */
const idsOfA: Record<string, string> = {};
const idFor = (url: string) => idsOfA[url.split('/')[3]!];
let fieldKeyOfA = '';
/** Route parameters that name tenant data (an id of A must be refused) vs. ones that do not. */
const fill = (url: string) =>
  url.replace(/:([A-Za-z]+)/g, (_, p: string) =>
    p === 'object' ? 'contact' : p === 'key' ? fieldKeyOfA : p === 'index' ? '0' : idFor(url)!,
  );
const namesTenantData = (url: string) => /:(id|userId|key)\b/.test(url);

beforeAll(async () => {
  t = await startTestApp();
  adminA = await signUp(t, 'Tenant A');
  adminB = await signUp(t, 'Tenant B');
  const memberA = await addMember(t, adminA.client, 'user');
  const invitation = await adminA.client.post('/api/v1/invitations', { email: uniqueEmail(), role: 'user' });
  const contact = await adminA.client.post('/api/v1/contacts', {
    first_name: 'Only',
    last_name: 'A',
    emails: [{ value: uniqueEmail() }],
  });
  idsOfA.members = memberA.userId;
  idsOfA.invitations = invitation.body.id;
  idsOfA.contacts = contact.body.id;
  const company = await adminA.client.post('/api/v1/companies', { name: 'A Corp', tags: ['only-in-a'] });
  idsOfA.companies = company.body.id;
  idsOfA.tags = (await adminA.client.get('/api/v1/tags?q=only-in-a')).body.data[0].id;
  const pipelineOfA = (await adminA.client.get('/api/v1/pipelines')).body.data[0];
  idsOfA.pipelines = pipelineOfA.id;
  idsOfA.stages = pipelineOfA.stages[0].id;
  idsOfA.opportunities = (
    await adminA.client.post('/api/v1/opportunities', { title: 'A Corp deal' })
  ).body.id;
  idsOfA.tasks = (await adminA.client.post('/api/v1/tasks', { title: 'A task' })).body.id;
  idsOfA.notes = (
    await adminA.client.post('/api/v1/notes', {
      object: 'contact',
      id: contact.body.id,
      body: '<p>A note</p>',
    })
  ).body.id;
  idsOfA.views = (
    await adminA.client.post('/api/v1/views', { object: 'contact', name: 'A view', visibility: 'shared' })
  ).body.id;
  const importOfA = await uploadCsv(t, adminA.client, 'contact', 'a.csv', 'First Name,Notes\nOnly,x\n');
  idsOfA.imports = importOfA.body.id;
  idsOfA['import-mappings'] = (
    await adminA.client.post('/api/v1/import-mappings', { name: 'A mapping', import_id: importOfA.body.id })
  ).body.id;
  const mergedOfA = await adminA.client.post('/api/v1/contacts', { first_name: 'Merged', last_name: 'A' });
  idsOfA.merges = (
    await adminA.client.post('/api/v1/contacts/merge', {
      survivor_id: contact.body.id,
      merged_ids: [mergedOfA.body.id],
    })
  ).body.merge_id;
  const field = await adminA.client.post('/api/v1/objects/contact/fields', {
    label: 'Secret of A',
    type: 'text',
  });
  fieldKeyOfA = field.body.key;
});
afterAll(() => t?.close());

async function snapshotOfA(client: Client) {
  return {
    members: (await client.get('/api/v1/members')).body,
    invitations: (await client.get('/api/v1/invitations')).body,
    contact: (await client.get(`/api/v1/contacts/${idsOfA.contacts}`)).body,
    company: (await client.get(`/api/v1/companies/${idsOfA.companies}`)).body,
  };
}

describe('tenant isolation across every id-bearing route', () => {
  it('the route table has id-bearing routes to check', () => {
    expect(t.routes.filter((r) => r.url.includes(':')).length).toBeGreaterThan(3);
  });

  it("tenant B never reaches tenant A's records through any route", async () => {
    const before = await snapshotOfA(adminA.client);
    const idRoutes = t.routes.filter((r) => r.url.includes(':') && r.access !== 'public');
    for (const route of idRoutes) {
      if (/:(id|userId)\b/.test(route.url)) {
        expect(idFor(route.url), `no id of tenant A for ${route.url}: add one in beforeAll`).toBeDefined();
      }
      const url = fill(route.url);
      const body = route.method === 'GET' || route.method === 'DELETE' ? undefined : bodyFor(route.url);
      const res = await adminB.client.request(route.method as 'GET', url, body);
      if (namesTenantData(route.url)) {
        expect([403, 404], `${route.method} ${route.url} -> ${res.status} ${res.text}`).toContain(res.status);
      } else {
        expect(res.status, `${route.method} ${route.url}`).toBeLessThan(500);
      }
      // Echoing what the caller sent (the key in the URL) reveals nothing; anything else of A would.
      for (const secret of [adminA.email, fieldKeyOfA, 'only-in-a', 'A Corp'].filter(
        (x) => !url.includes(x),
      )) {
        expect(res.text, `${route.method} ${route.url} leaked ${secret}`).not.toContain(secret);
      }
    }
    expect(await snapshotOfA(adminA.client)).toEqual(before);
  });

  it('public routes that take an id reveal nothing beyond what their link grants', async () => {
    const res = await t.client().get(`/api/v1/invitations/${idsOfA.invitations}/preview`);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual([
      'email',
      'existing_user',
      'expires_at',
      'organization_name',
      'role',
    ]);
  });
});

/** A valid body for each mutating id-bearing route, so the refusal is about the tenant, not input. */
function bodyFor(url: string): unknown {
  if (url.startsWith('/api/v1/members/')) return { role: 'viewer' };
  if (url.startsWith('/api/v1/tags/')) return { name: 'renamed-by-b' };
  if (url.endsWith('/move')) return { stage_id: '00000000-0000-4000-8000-000000000000' };
  if (url.endsWith('/close')) return { status: 'lost' };
  if (url.endsWith('/stages/order')) return { stage_ids: ['00000000-0000-4000-8000-000000000000'] };
  if (url === '/api/v1/pipelines/:id/stages') return { name: 'B stage' };
  if (url === '/api/v1/objects/:object/fields') return { label: 'B field', type: 'text' };
  return {};
}
