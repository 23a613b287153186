import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, signUp, startTestApp, type TestApp } from './harness.js';

/** Saved views after they are made: changed by their owner, shared, deleted. */
let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;
let colleague: Awaited<ReturnType<typeof addMember>>;

beforeAll(async () => {
  t = await startTestApp();
  admin = await signUp(t, 'Views Co');
  colleague = await addMember(t, admin.client, 'user');
  for (const [first_name, lead_status] of [
    ['Ada', 'qualified'],
    ['Grace', 'new'],
    ['Linus', 'qualified'],
  ] as const) {
    await admin.client.post('/api/v1/contacts', { first_name, lead_status });
  }
});
afterAll(() => t?.close());

const namesOfViews = async (client: typeof admin.client) =>
  (await client.get('/api/v1/views?object=contact')).body.data.map((v: { name: string }) => v.name);

describe('saved views', () => {
  it("an update changes the view's name, query and columns, and sharing shows it to colleagues", async () => {
    const made = await colleague.client.post('/api/v1/views', { object: 'contact', name: 'Top' });
    expect(made.status, made.text).toBe(201);
    expect(await namesOfViews(admin.client)).not.toContain('Top');
    const res = await colleague.client.patch(`/api/v1/views/${made.body.id}`, {
      name: 'Qualified leads',
      query: {
        filter: { field: 'lead_status', op: 'eq', value: 'qualified' },
        sort: [{ field: 'first_name', direction: 'desc' }],
      },
      columns: ['first_name', 'lead_status'],
      visibility: 'shared',
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({
      name: 'Qualified leads',
      columns: ['first_name', 'lead_status'],
      visibility: 'shared',
    });
    expect(await namesOfViews(admin.client)).toContain('Qualified leads');
    // The stored query is what the list runs.
    const listed = await admin.client.post('/api/v1/contacts/query', {
      ...res.body.query,
      fields: res.body.columns,
    });
    expect(listed.body.data.map((c: { first_name: string }) => c.first_name)).toEqual(['Linus', 'Ada']);
  });

  it('a deleted view is gone from the list and cannot be read or changed', async () => {
    const made = await colleague.client.post('/api/v1/views', { object: 'contact', name: 'Short-lived' });
    expect(await namesOfViews(colleague.client)).toContain('Short-lived');
    const res = await colleague.client.delete(`/api/v1/views/${made.body.id}`);
    expect(res.status, res.text).toBe(204);
    expect(await namesOfViews(colleague.client)).not.toContain('Short-lived');
    expect((await colleague.client.patch(`/api/v1/views/${made.body.id}`, { name: 'Back' })).status).toBe(
      404,
    );
  });
});
