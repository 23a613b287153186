import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../src/db/tenant.js';
import { expectProblem, expectStatus, signUp, startTestApp, type TestApp } from './kit/index.js';

let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;
let other: Awaited<ReturnType<typeof signUp>>;

beforeAll(async () => {
  t = await startTestApp();
  [admin, other] = await Promise.all([signUp(t, 'Counting Co'), signUp(t, 'Other Co')]);
}, 60_000);
afterAll(() => t?.close());

const filterOf = (node: unknown) => encodeURIComponent(JSON.stringify(node));

describe('a list’s total count', () => {
  it('counts the contacts a list shows: archived left out, narrowed by filter and q, not another tenant’s', async () => {
    const c = admin.client;
    for (const [first_name, lead_status] of [
      ['Grace', 'new'],
      ['Gracie', 'qualified'],
      ['Alan', 'new'],
    ])
      expectStatus(await c.post('/api/v1/contacts', { first_name, last_name: 'Counted', lead_status }), 201);
    const gone = expectStatus(await c.post('/api/v1/contacts', { first_name: 'Archived' }), 201);
    expectStatus(await c.post(`/api/v1/contacts/${gone.id}/archive`), 200);
    expectStatus(
      await other.client.post('/api/v1/contacts', { first_name: 'Grace', last_name: 'Other' }),
      201,
    );

    expect(expectStatus(await c.get('/api/v1/contacts/count'), 200)).toEqual({
      count: 3,
      exact: true,
      cap: 10_000,
    });
    const filter = filterOf({ field: 'lead_status', op: 'eq', value: 'new' });
    expect(expectStatus(await c.get(`/api/v1/contacts/count?filter=${filter}`), 200).count).toBe(2);
    const list = expectStatus(await c.get(`/api/v1/contacts?filter=${filter}`), 200);
    expect(list.data).toHaveLength(2);
    expect(expectStatus(await c.get('/api/v1/contacts/count?q=grace'), 200).count).toBe(
      expectStatus(await c.get('/api/v1/contacts?q=grace'), 200).data.length,
    );
    const archived = filterOf({ field: 'archived_at', op: 'isNotEmpty' });
    expect(expectStatus(await c.get(`/api/v1/contacts/count?filter=${archived}`), 200).count).toBe(1);
  });

  it('answers bad input as problem+json naming the parameter', async () => {
    const c = admin.client;
    expectProblem(
      await c.get(`/api/v1/contacts/count?filter=${filterOf({ field: 'nope', op: 'eq', value: 1 })}`),
      400,
      {
        code: 'invalid_query',
      },
    );
    expectProblem(await c.get('/api/v1/contacts/count?filter=%7Bnot-json'), 400, {
      code: 'invalid_query',
      path: 'filter',
    });
    expectProblem(await c.get('/api/v1/contacts/count?limit=5'), 400);
    expect((await t.client().get('/api/v1/contacts/count')).status).toBe(401);
  });

  it('is exact up to 10,000 and then says there are more', async () => {
    // 10,001 companies in one statement (through the API this would take minutes).
    await withTenant(
      t.services.database,
      { orgId: admin.orgId, actor: { type: 'system', id: null } },
      ({ tx }) =>
        tx.execute(sql`insert into companies (org_id, name)
        select ${admin.orgId}::uuid, 'Bulk ' || i from generate_series(1, 10001) as i`),
    );
    expect(expectStatus(await admin.client.get('/api/v1/companies/count'), 200)).toEqual({
      count: 10_000,
      exact: false,
      cap: 10_000,
    });
    const one = filterOf({ field: 'name', op: 'eq', value: 'Bulk 17' });
    expect(expectStatus(await admin.client.get(`/api/v1/companies/count?filter=${one}`), 200)).toEqual({
      count: 1,
      exact: true,
      cap: 10_000,
    });
    // Free text considers at most 1,000 records (as the list does): then it says "1,000+".
    expect(expectStatus(await admin.client.get('/api/v1/companies/count?q=bulk'), 200)).toEqual({
      count: 1000,
      exact: false,
      cap: 1000,
    });
    expect(expectStatus(await other.client.get('/api/v1/companies/count'), 200).count).toBe(0);
  }, 60_000);

  it('counts every registry object: opportunities and a custom object’s records', async () => {
    const c = admin.client;
    expectStatus(await c.post('/api/v1/opportunities', { title: 'Counted deal' }), 201);
    expect(expectStatus(await c.get('/api/v1/opportunities/count'), 200).count).toBe(1);

    expectStatus(
      await c.post('/api/v1/objects', {
        key: 'shipment',
        label_singular: 'Shipment',
        label_plural: 'Shipments',
      }),
      201,
    );
    for (const name of ['North', 'South'])
      expectStatus(await c.post('/api/v1/records/shipment', { custom: { name } }), 201);
    expect(expectStatus(await c.get('/api/v1/records/shipment/count'), 200).count).toBe(2);
    expect(expectStatus(await c.get('/api/v1/records/shipment/count?q=north'), 200).count).toBe(1);
    // Another tenant has no such object.
    expectProblem(await other.client.get('/api/v1/records/shipment/count'), 404);
  });
});
