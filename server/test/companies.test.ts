import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, startTestApp, type TestApp, uniqueEmail } from './harness.js';

let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;
beforeAll(async () => {
  t = await startTestApp();
  admin = await signUp(t, 'Companies Co');
});
afterAll(() => t?.close());

describe('companies', () => {
  it('creates a company, deriving the domain from the website, with a structured address', async () => {
    const res = await admin.client.post('/api/v1/companies', {
      name: 'Initech',
      website: 'https://www.Initech.example/about',
      phone: '+1 (212) 555-0100',
      address: { street: '1 Main St', city: 'Austin', country: 'US' },
      size: '51-200',
      tags: ['prospect'],
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name: 'Initech',
      domain: 'initech.example',
      phone: '+12125550100',
      address: { street: '1 Main St', city: 'Austin', country: 'US' },
      size: '51-200',
      contact_count: 0,
    });
    const bad = await admin.client.post('/api/v1/companies', { name: 'X', size: 'huge' });
    expect(bad.status).toBe(400);
    expect(bad.body.path).toBe('body.size');
  });

  it('lists its contacts; a contact lists its companies; archiving the company only removes the links', async () => {
    const company = await admin.client.post('/api/v1/companies', { name: 'Umbrella' });
    const other = await admin.client.post('/api/v1/companies', { name: 'Aperture' });
    const contact = await admin.client.post('/api/v1/contacts', {
      first_name: 'Alice',
      emails: [{ value: uniqueEmail('alice') }],
      companies: [{ id: other.body.id }, { id: company.body.id, primary: true }],
    });
    expect(contact.body.companies).toEqual([
      { id: other.body.id, name: 'Aperture', primary: false },
      { id: company.body.id, name: 'Umbrella', primary: true },
    ]);
    const listed = await admin.client.get(`/api/v1/companies/${company.body.id}/contacts`);
    expect(listed.body.data.map((c: { id: string }) => c.id)).toEqual([contact.body.id]);
    expect((await admin.client.get(`/api/v1/companies/${company.body.id}`)).body.contact_count).toBe(1);

    const archived = await admin.client.post(`/api/v1/companies/${company.body.id}/archive`);
    expect(archived.body.archived_at).not.toBeNull();
    const after = await admin.client.get(`/api/v1/contacts/${contact.body.id}`);
    expect(after.status).toBe(200);
    expect(after.body.archived_at).toBeNull();
    expect(after.body.companies).toEqual([{ id: other.body.id, name: 'Aperture', primary: false }]);

    const timeline = await admin.client.get(`/api/v1/contacts/${contact.body.id}/timeline`);
    expect(timeline.body.data.map((e: { description: string }) => e.description)).toEqual([
      'Ada Admin removed the link between contact Alice and company Umbrella',
      'Ada Admin linked contact Alice to company Umbrella',
      'Ada Admin linked contact Alice to company Aperture',
      'Ada Admin created contact Alice',
    ]);
    const companyTimeline = await admin.client.get(`/api/v1/companies/${company.body.id}/timeline`);
    expect(companyTimeline.body.data.map((e: { type: string }) => e.type)).toEqual([
      'contact.company_unlinked',
      'company.archived',
      'contact.company_linked',
      'company.created',
    ]);
  });

  it('pages the timeline with a cursor, newest first, each entry once', async () => {
    const company = await admin.client.post('/api/v1/companies', { name: 'Pager' });
    for (let i = 0; i < 5; i++)
      await admin.client.patch(`/api/v1/companies/${company.body.id}`, { industry: `Industry ${i}` });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { data: { id: string }[]; next_cursor: string | null } } = await admin.client.get(
        `/api/v1/companies/${company.body.id}/timeline?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      seen.push(...page.body.data.map((e) => e.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toHaveLength(6);
    expect(new Set(seen).size).toBe(6);
    const bad = await admin.client.get(`/api/v1/companies/${company.body.id}/timeline?cursor=garbage`);
    expect(bad.status).toBe(400);
  });
});

describe('company lists a user acts on', () => {
  it('a bulk action tags and archives the chosen companies only', async () => {
    const ids: string[] = [];
    for (const name of ['Bulk One', 'Bulk Two', 'Bulk Three'])
      ids.push((await admin.client.post('/api/v1/companies', { name })).body.id);
    const tagged = await admin.client.post('/api/v1/companies/bulk', {
      ids: ids.slice(0, 2),
      action: 'add_tags',
      tags: ['key-account'],
    });
    expect(tagged.body).toEqual({ matched: 2, changed: 2 });
    const archived = await admin.client.post('/api/v1/companies/bulk', { ids: [ids[1]], action: 'archive' });
    expect(archived.body).toEqual({ matched: 1, changed: 1 });
    const list = await admin.client.get('/api/v1/companies?q=Bulk&fields=name,tags&sort=name:asc');
    expect(list.body.data.map((c: { name: string; tags: string[] }) => [c.name, c.tags])).toEqual([
      ['Bulk One', ['key-account']],
      ['Bulk Three', []],
    ]);
  });

  it('the CSV export has a row for each company the query selects', async () => {
    await admin.client.post('/api/v1/companies', { name: 'Exportable Ltd', industry: 'Shipping' });
    const res = await admin.client.get(
      '/api/v1/companies/export?format=csv&fields=name,industry&q=Exportable',
    );
    expect(res.status, res.text).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    const lines = res.text.trim().split(/\r?\n/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('Exportable Ltd');
    expect(lines[1]).toContain('Shipping');
  });

  it('a restored company is back in the list with its links', async () => {
    const company = await admin.client.post('/api/v1/companies', { name: 'Phoenix Works' });
    const contact = await admin.client.post('/api/v1/contacts', {
      first_name: 'Rhea',
      companies: [{ id: company.body.id }],
    });
    await admin.client.post(`/api/v1/companies/${company.body.id}/archive`);
    const names = async () =>
      (await admin.client.get('/api/v1/companies?q=Phoenix&fields=name')).body.data.map(
        (c: { name: string }) => c.name,
      );
    expect(await names()).toEqual([]);
    const restored = await admin.client.post(`/api/v1/companies/${company.body.id}/restore`);
    expect(restored.status, restored.text).toBe(200);
    expect(restored.body.archived_at).toBeNull();
    expect(await names()).toEqual(['Phoenix Works']);
    const read = await admin.client.get(`/api/v1/companies/${company.body.id}`);
    expect(read.body.archived_at).toBeNull();
    expect(contact.status).toBe(201);
  });
});

describe('companies by query and for good', () => {
  it('the query in a body selects like the URL list: filter, sort and fields', async () => {
    for (const [name, industry] of [
      ['Query Alpha', 'Mining'],
      ['Query Beta', 'Farming'],
      ['Query Gamma', 'Mining'],
    ])
      await admin.client.post('/api/v1/companies', { name, industry });
    const res = await admin.client.post('/api/v1/companies/query', {
      filter: {
        and: [
          { field: 'industry', op: 'eq', value: 'Mining' },
          { field: 'name', op: 'startsWith', value: 'Query' },
        ],
      },
      sort: [{ field: 'name', direction: 'desc' }],
      fields: ['name'],
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body.data.map((c: { name: string }) => c.name)).toEqual(['Query Gamma', 'Query Alpha']);
  });

  it('an admin deletes a company for good: it can no longer be read, and its contacts lose the link', async () => {
    const company = await admin.client.post('/api/v1/companies', { name: 'Gone for Good' });
    const contact = await admin.client.post('/api/v1/contacts', {
      first_name: 'Left',
      companies: [{ id: company.body.id }],
    });
    const res = await admin.client.delete(`/api/v1/companies/${company.body.id}`);
    expect(res.status, res.text).toBe(204);
    expect((await admin.client.get(`/api/v1/companies/${company.body.id}`)).status).toBe(404);
    expect((await admin.client.get(`/api/v1/contacts/${contact.body.id}`)).body.companies).toEqual([]);
  });
});
