import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, signUp, startTestApp, type TestApp } from './harness.js';
import { expectProblem, expectStatus } from './kit/checks.js';

// Issue 20's lists: one sortable Name column for contacts, and a contact list filtered by company.

let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;
let stranger: Awaited<ReturnType<typeof signUp>>;
const companies: Record<string, string> = {};
const q = (value: unknown) => encodeURIComponent(JSON.stringify(value));

beforeAll(async () => {
  t = await startTestApp();
  admin = await signUp(t, 'Names Co');
  stranger = await signUp(t, 'Elsewhere');
  for (const name of ['Globex', 'Initech']) {
    companies[name] = expectStatus(await admin.client.post('/api/v1/companies', { name }), 201).id;
  }
  const people: [string | null, string | null, string, string[]][] = [
    ['Zoe', 'Adams', 'zoe@x.example', ['Globex']],
    ['Ada', 'Zimmer', 'ada@x.example', ['Globex', 'Initech']],
    [null, 'Mono', 'mono@x.example', ['Initech']],
    ['Bob', null, 'bob@x.example', []],
  ];
  for (const [first, last, email, links] of people) {
    expectStatus(
      await admin.client.post('/api/v1/contacts', {
        first_name: first,
        last_name: last,
        emails: [{ value: email }],
        companies: links.map((n, i) => ({ id: companies[n], primary: i === 0 })),
      }),
      201,
    );
  }
}, 60_000);
afterAll(() => t?.close());

const emails = (body: { data: { email: string }[] }) => body.data.map((c) => c.email);

describe('the Name column', () => {
  it('is a read-only, sortable field of contacts in the registry', async () => {
    const contact = expectStatus(await admin.client.get('/api/v1/objects/contact'), 200);
    const name = contact.fields.find((f: { key: string }) => f.key === 'name');
    expect(name).toMatchObject({ label: 'Name', type: 'text', sortable: true, read_only: true });
  });

  it('shows first and last name as one value, sorted as shown, page after page', async () => {
    const res = expectStatus(await admin.client.get('/api/v1/contacts?sort=name:asc&fields=name,email'), 200);
    expect(res.data.map((c: { name: string }) => c.name)).toEqual(['Ada Zimmer', 'Bob', 'Mono', 'Zoe Adams']);
    const first = expectStatus(
      await admin.client.get('/api/v1/contacts?sort=name:desc&limit=2&fields=name'),
      200,
    );
    expect(first.data.map((c: { name: string }) => c.name)).toEqual(['Zoe Adams', 'Mono']);
    const next = expectStatus(
      await admin.client.get(
        `/api/v1/contacts?sort=name:desc&limit=2&fields=name&cursor=${first.next_cursor}`,
      ),
      200,
    );
    expect(next.data.map((c: { name: string }) => c.name)).toEqual(['Bob', 'Ada Zimmer']);
  });

  it('is not written: a body naming it is refused', async () => {
    expectProblem(await admin.client.post('/api/v1/contacts', { name: 'Whole Name' }), 400);
  });

  it('is hidden from a role that may not read a last name (it would show it)', async () => {
    expectStatus(
      await admin.client.post('/api/v1/roles', {
        key: 'first_names_only',
        name: 'First names only',
        objects: { contact: { rights: ['read'], scope: 'all', fields: { last_name: 'hidden' } } },
        default_access: { rights: ['read'], scope: 'all' },
      }),
      201,
    );
    const member = await addMember(t, admin.client, 'user');
    expectStatus(
      await admin.client.patch(`/api/v1/members/${member.userId}`, { role: 'first_names_only' }),
      204,
    );
    const seen = expectStatus(await member.client.get('/api/v1/objects/contact'), 200);
    expect(seen.fields.map((f: { key: string }) => f.key)).not.toContain('name');
    expectProblem(await member.client.get('/api/v1/contacts?sort=name'), 400, 'invalid_query');
    expectProblem(await member.client.get('/api/v1/contacts?fields=name'), 400, 'invalid_query');
  });

  it('saves in a view as a column', async () => {
    expectStatus(
      await admin.client.post('/api/v1/views', {
        object: 'contact',
        name: 'By name',
        columns: ['name', 'email', 'companies'],
        query: { sort: [{ field: 'name', direction: 'asc' }] },
      }),
      201,
    );
  });
});

describe('filtering contacts by company', () => {
  it('keeps the contacts linked to a company, or to one of several', async () => {
    const globex = { field: 'companies', op: 'eq', value: companies.Globex };
    const res = expectStatus(await admin.client.get(`/api/v1/contacts?filter=${q(globex)}&sort=email`), 200);
    expect(emails(res)).toEqual(['ada@x.example', 'zoe@x.example']);
    const either = { field: 'companies', op: 'in', value: [companies.Globex, companies.Initech] };
    const all = expectStatus(await admin.client.get(`/api/v1/contacts?filter=${q(either)}&sort=email`), 200);
    expect(emails(all)).toEqual(['ada@x.example', 'mono@x.example', 'zoe@x.example']);
    const count = expectStatus(await admin.client.get(`/api/v1/contacts/count?filter=${q(globex)}`), 200);
    expect(count).toMatchObject({ count: 2 });
  });

  it('keeps those not linked to it, and those linked to no company', async () => {
    const notInitech = { field: 'companies', op: 'neq', value: companies.Initech };
    const res = expectStatus(
      await admin.client.get(`/api/v1/contacts?filter=${q(notInitech)}&sort=email`),
      200,
    );
    expect(emails(res)).toEqual(['bob@x.example', 'zoe@x.example']);
    const none = { field: 'companies', op: 'isEmpty' };
    expect(emails(expectStatus(await admin.client.get(`/api/v1/contacts?filter=${q(none)}`), 200))).toEqual([
      'bob@x.example',
    ]);
    const some = { field: 'companies', op: 'isNotEmpty' };
    expect(
      emails(expectStatus(await admin.client.get(`/api/v1/contacts?filter=${q(some)}&sort=email`), 200)),
    ).toHaveLength(3);
  });

  it("finds nothing with another organization's company, and refuses a value that is not an id", async () => {
    const theirs = expectStatus(await stranger.client.post('/api/v1/companies', { name: 'Globex' }), 201).id;
    const res = expectStatus(
      await admin.client.get(`/api/v1/contacts?filter=${q({ field: 'companies', op: 'eq', value: theirs })}`),
      200,
    );
    expect(res.data).toEqual([]);
    const bad = expectProblem(
      await admin.client.get(
        `/api/v1/contacts?filter=${q({ field: 'companies', op: 'eq', value: 'Globex' })}`,
      ),
      400,
      'invalid_query',
    );
    expect(bad.path).toBe('filter.value');
    expectProblem(
      await admin.client.get(
        `/api/v1/contacts?filter=${q({ field: 'companies', op: 'contains', value: 'x' })}`,
      ),
      400,
      'invalid_query',
    );
  });
});
