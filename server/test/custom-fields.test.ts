import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { displayNameOf } from '../src/platform/registry/display-name.js';
import { addMember, signUp, startTestApp, type TestApp } from './harness.js';

let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;
beforeAll(async () => {
  t = await startTestApp();
  admin = await signUp(t, 'Fields Co');
});
afterAll(() => t?.close());

describe('the object registry', () => {
  it('describes each object and its fields, so clients build forms and filters from it', async () => {
    const res = await admin.client.get('/api/v1/objects');
    expect(res.status).toBe(200);
    const contact = res.body.data.find((o: { key: string }) => o.key === 'contact');
    const email = contact.fields.find((f: { key: string }) => f.key === 'email');
    expect(email).toMatchObject({
      type: 'email',
      storage: 'column',
      searchable: true,
      filterable: true,
      sortable: true,
    });
    expect((await admin.client.get('/api/v1/objects/nothing')).status).toBe(404);
  });

  it('says how each object names its records and which columns its table shows first', async () => {
    const res = await admin.client.get('/api/v1/objects');
    const display = Object.fromEntries(
      res.body.data.map((o: { key: string; display: unknown }) => [o.key, o.display]),
    );
    expect(display.contact).toEqual({
      fields: ['first_name', 'last_name'],
      fallback: ['email', 'phone'],
      empty: 'Unnamed contact',
      columns: ['first_name', 'last_name', 'email', 'phone', 'companies', 'tags', 'owner_id', 'created_at'],
    });
    expect(display.company).toMatchObject({ fields: ['name'], fallback: [] });
    expect(display.opportunity).toMatchObject({ fields: ['title'] });
    expect(display.task).toMatchObject({ fields: ['title'] });
    for (const object of res.body.data as {
      display: { fields: string[]; columns: string[] };
      fields: { key: string }[];
    }[]) {
      const keys = object.fields.map((f) => f.key);
      expect(keys).toEqual(expect.arrayContaining([...object.display.fields, ...object.display.columns]));
    }
    const company = await admin.client.get('/api/v1/objects/company');
    expect(company.body.display).toEqual(display.company);
  });

  it('names a contact by the registry rule that the search (SQL) and the events use too', async () => {
    const bodies = [
      { first_name: 'Ada', last_name: 'Zyxlovelace' },
      { emails: [{ value: 'zyxgrace@navy.test' }] },
      { phones: [{ number: '+1 202 555 0143' }], notes: 'zyx' },
    ];
    const made = [];
    for (const body of bodies) made.push((await admin.client.post('/api/v1/contacts', body)).body);
    const { body: description } = await admin.client.get('/api/v1/objects/contact');
    const names = made.map((c) => displayNameOf(description.display, c));
    expect(names).toEqual(['Ada Zyxlovelace', 'zyxgrace@navy.test', '+12025550143']);
    const search = await admin.client.get('/api/v1/search?q=zyx');
    const titles = new Map(search.body.data.map((h: { id: string; title: string }) => [h.id, h.title]));
    expect(made.slice(0, 2).map((c) => titles.get(c.id))).toEqual(names.slice(0, 2));
    const timeline = await admin.client.get(`/api/v1/contacts/${made[2].id}/timeline`);
    expect(JSON.stringify(timeline.body)).toContain('+12025550143');
  });
});

describe('custom fields', () => {
  it('an admin adds fields; values are validated against them on every write', async () => {
    const budget = await admin.client.post('/api/v1/objects/contact/fields', {
      label: 'Budget',
      type: 'currency',
    });
    expect(budget.status).toBe(201);
    expect(budget.body).toMatchObject({
      key: 'budget',
      storage: 'custom',
      origin: 'custom',
      filterable: true,
    });
    await admin.client.post('/api/v1/objects/contact/fields', {
      label: 'Stage of life',
      type: 'select',
      options: [
        { value: 'student', label: 'Student' },
        { value: 'retired', label: 'Retired' },
      ],
    });
    const ok = await admin.client.post('/api/v1/contacts', {
      first_name: 'Valid',
      custom: { budget: { amount: 1200.5, currency: 'EUR' }, stage_of_life: 'student' },
    });
    expect(ok.status).toBe(201);
    expect(ok.body.custom).toEqual({ budget: { amount: 1200.5, currency: 'EUR' }, stage_of_life: 'student' });
    const bad = await admin.client.post('/api/v1/contacts', {
      first_name: 'Invalid',
      custom: { budget: { amount: 'lots', currency: 'EUR' }, stage_of_life: 'toddler' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      'body.custom.budget',
      'body.custom.stage_of_life',
    ]);
    const edit = await admin.client.patch(`/api/v1/contacts/${ok.body.id}`, {
      custom: { stage_of_life: 'retired' },
    });
    expect(edit.body.custom).toEqual({
      budget: { amount: 1200.5, currency: 'EUR' },
      stage_of_life: 'retired',
    });
  });

  it('refuses a key that collides with a standard field, and a select without options', async () => {
    const clash = await admin.client.post('/api/v1/objects/contact/fields', { label: 'Email', type: 'text' });
    expect(clash.status).toBe(409);
    expect(clash.body.path).toBe('body.key');
    const noOptions = await admin.client.post('/api/v1/objects/company/fields', {
      label: 'Tier',
      type: 'select',
    });
    expect(noOptions.status).toBe(400);
    expect(noOptions.body.path).toBe('body.options');
  });

  it('renames and reorders; retiring keeps the data but refuses writes; purging removes the values', async () => {
    await admin.client.post('/api/v1/objects/company/fields', { label: 'Revenue', type: 'number' });
    const company = await admin.client.post('/api/v1/companies', { name: 'Keeps', custom: { revenue: 42 } });
    const renamed = await admin.client.patch('/api/v1/objects/company/fields/revenue', {
      label: 'Annual revenue',
      position: 5,
    });
    expect(renamed.body).toMatchObject({ key: 'revenue', label: 'Annual revenue' });
    expect((await admin.client.delete('/api/v1/objects/company/fields/revenue')).status).toBe(409);
    expect((await admin.client.post('/api/v1/objects/company/fields/revenue/retire')).body.retired).toBe(
      true,
    );
    expect((await admin.client.get(`/api/v1/companies/${company.body.id}`)).body.custom).toEqual({
      revenue: 42,
    });
    const write = await admin.client.patch(`/api/v1/companies/${company.body.id}`, {
      custom: { revenue: 1 },
    });
    expect(write.status).toBe(400);
    expect(write.body.errors[0]).toMatchObject({ path: 'body.custom.revenue', code: 'retired_field' });
    expect((await admin.client.delete('/api/v1/objects/company/fields/revenue')).status).toBe(204);
    expect((await admin.client.get(`/api/v1/companies/${company.body.id}`)).body.custom).toEqual({});
  });

  it('unretiring a field brings it back: its values kept and writable again', async () => {
    await admin.client.post('/api/v1/objects/company/fields', { label: 'Headcount', type: 'number' });
    const company = await admin.client.post('/api/v1/companies', {
      name: 'Comeback',
      custom: { headcount: 7 },
    });
    await admin.client.post('/api/v1/objects/company/fields/headcount/retire');
    const back = await admin.client.post('/api/v1/objects/company/fields/headcount/unretire');
    expect(back.status, back.text).toBe(200);
    expect(back.body).toMatchObject({ key: 'headcount', retired: false });
    const write = await admin.client.patch(`/api/v1/companies/${company.body.id}`, {
      custom: { headcount: 8 },
    });
    expect(write.status, write.text).toBe(200);
    expect((await admin.client.get(`/api/v1/companies/${company.body.id}`)).body.custom).toEqual({
      headcount: 8,
    });
    expect((await admin.client.delete('/api/v1/objects/company/fields/headcount')).status).toBe(409);
  });

  it('checks relation and user values against the tenant', async () => {
    const field = await admin.client.post('/api/v1/objects/contact/fields', {
      label: 'Account',
      type: 'relation',
      relation: { object: 'company' },
    });
    expect(field.body).toMatchObject({ key: 'account', relation: { object: 'company' } });
    await admin.client.post('/api/v1/objects/contact/fields', { label: 'Referrer', type: 'user' });
    const company = await admin.client.post('/api/v1/companies', { name: 'Linked Ltd' });
    const ok = await admin.client.post('/api/v1/contacts', {
      first_name: 'Rel',
      custom: { account: company.body.id, referrer: admin.userId },
    });
    expect(ok.status).toBe(201);
    const bad = await admin.client.post('/api/v1/contacts', {
      first_name: 'Rel',
      custom: {
        account: '00000000-0000-4000-8000-000000000000',
        referrer: '00000000-0000-4000-8000-000000000001',
      },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      'body.custom.account',
      'body.custom.referrer',
    ]);
    const filtered = await admin.client.get(
      `/api/v1/contacts?filter=${encodeURIComponent(JSON.stringify({ field: 'account', op: 'eq', value: company.body.id }))}`,
    );
    expect(filtered.body.data.map((c: { first_name: string }) => c.first_name)).toEqual(['Rel']);
  });

  it('only admins manage fields', async () => {
    const user = await addMember(t, admin.client, 'user');
    const res = await user.client.post('/api/v1/objects/contact/fields', { label: 'Nope', type: 'text' });
    expect(res.status).toBe(403);
  });
});

describe('tags', () => {
  it('are kept lower-case and unique, autocomplete, and rename or merge across records', async () => {
    const a = await admin.client.post('/api/v1/contacts', { first_name: 'T1', tags: ['Hot Lead'] });
    const b = await admin.client.post('/api/v1/contacts', { first_name: 'T2', tags: ['hot lead', 'warm'] });
    expect(b.body.tags).toEqual(['hot lead', 'warm']);
    const suggest = await admin.client.get('/api/v1/tags?q=ho');
    expect(suggest.body.data.map((x: { name: string }) => x.name)).toEqual(['hot lead']);
    const warm = (await admin.client.get('/api/v1/tags?q=warm')).body.data[0];
    const merged = await admin.client.patch(`/api/v1/tags/${warm.id}`, { name: 'HOT LEAD' });
    expect(merged.body).toMatchObject({ merged: true, name: 'hot lead', records: 1 });
    expect((await admin.client.get(`/api/v1/contacts/${b.body.id}`)).body.tags).toEqual(['hot lead']);
    const hot = (await admin.client.get('/api/v1/tags?q=hot')).body.data[0];
    const renamed = await admin.client.patch(`/api/v1/tags/${hot.id}`, { name: 'Qualified' });
    expect(renamed.body).toMatchObject({ merged: false, records: 2 });
    expect((await admin.client.get(`/api/v1/contacts/${a.body.id}`)).body.tags).toEqual(['qualified']);
    const timeline = await admin.client.get(`/api/v1/contacts/${a.body.id}/timeline`);
    expect(timeline.body.data[0].description).toBe('Ada Admin changed the tags of contact T1');
  });
});
