import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../src/db/tenant.js';
import { compileListQuery } from '../src/platform/query/query.compiler.js';
import { objectDef } from '../src/platform/registry/registry.service.js';
import { expectStatus, signUp, startTestApp, type TestApp } from './kit/index.js';

// Issue 21: a filter on a custom object's select, multi-select or status field reads an index
// (record_select_values, migration 0055), not every record of the object, under the RLS policy.

let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;
let other: Awaited<ReturnType<typeof signUp>>;
const RECORDS = 10_000;

const option = (v: string) => ({ value: v, label: v });

beforeAll(async () => {
  t = await startTestApp();
  [admin, other] = await Promise.all([signUp(t, 'Listings Co'), signUp(t, 'Other Co')]);
  for (const who of [admin, other]) {
    expectStatus(
      await who.client.post('/api/v1/objects', {
        key: 'listing',
        label_singular: 'Listing',
        label_plural: 'Listings',
      }),
      201,
    );
    for (const field of [
      { key: 'tier', label: 'Tier', type: 'select', options: ['gold', 'silver', 'platinum'].map(option) },
      {
        key: 'features',
        label: 'Features',
        type: 'multi_select',
        options: ['pool', 'garden', 'lift'].map(option),
      },
    ])
      expectStatus(await who.client.post('/api/v1/objects/listing/fields', field), 201);
  }
  // Records written as the app writes them: in a tenant transaction as cairn_app (the triggers run there).
  await withTenant(
    t.services.database,
    { orgId: admin.orgId, actor: { type: 'system', id: null } },
    async (scope) => {
      const def = await objectDef(scope.tx, admin.orgId, 'listing');
      await scope.tx.execute(sql`
      insert into records (org_id, object_id, custom, search)
      select ${admin.orgId}::uuid, ${def.custom!.id}::uuid,
             jsonb_build_object('name', 'Listing ' || g,
               'tier', case when g % 1000 = 0 then 'platinum' when g % 2 = 0 then 'gold' else 'silver' end,
               'features', case when g % 3 = 0 then '["pool","garden"]'::jsonb when g % 3 = 1 then '["lift"]'::jsonb else '[]'::jsonb end),
             'listing ' || g
        from generate_series(1, ${RECORDS}) g`);
    },
  );
  await t.services.database.raw.query('analyze records');
  await t.services.database.raw.query('analyze record_select_values');
}, 600_000);
afterAll(() => t?.close());

async function count(client: typeof admin.client, filter: unknown): Promise<number> {
  let n = 0;
  let cursor: string | null = null;
  do {
    const page: { data: unknown[]; next_cursor: string | null } = expectStatus(
      await client.post('/api/v1/records/listing/query', {
        filter,
        limit: 200,
        ...(cursor ? { cursor } : {}),
      }),
      200,
    );
    n += page.data.length;
    cursor = page.next_cursor;
  } while (cursor);
  return n;
}

/** The plan of the list query the API compiles for `filter`, newest first, as cairn_app in the tenant. */
async function planOf(filter: unknown): Promise<string> {
  return withTenant(
    t.services.database,
    { orgId: admin.orgId, actor: { type: 'system', id: null } },
    async (scope) => {
      const def = await objectDef(scope.tx, admin.orgId, 'listing');
      const compiled = compileListQuery(def, { filter, limit: 50 }, { table: 'r' });
      const result = await scope.tx.execute<{ 'QUERY PLAN': string }>(sql`
      explain select r.id from records r
       where r.org_id = ${admin.orgId} and r.archived_at is null and ${compiled.where}
       order by ${compiled.orderBy} limit 51`);
      const rows = (
        Array.isArray(result) ? result : (result as { rows: { 'QUERY PLAN': string }[] }).rows
      ) as {
        'QUERY PLAN': string;
      }[];
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    },
  );
}

describe('filters on select fields of a custom object', () => {
  it('find the same records as the values say, for eq, in, hasAny and hasAll', async () => {
    expect(await count(admin.client, { field: 'tier', op: 'eq', value: 'platinum' })).toBe(RECORDS / 1000);
    expect(await count(admin.client, { field: 'tier', op: 'in', value: ['platinum', 'silver'] })).toBe(
      RECORDS / 2 + RECORDS / 1000,
    );
    const pools = Math.floor(RECORDS / 3);
    expect(await count(admin.client, { field: 'features', op: 'hasAny', value: ['pool'] })).toBe(pools);
    expect(await count(admin.client, { field: 'features', op: 'hasAll', value: ['pool', 'garden'] })).toBe(
      pools,
    );
    expect(await count(admin.client, { field: 'features', op: 'hasAll', value: ['pool', 'lift'] })).toBe(0);
    // The other organization's listings are not counted (it has none with these values).
    expect(await count(other.client, { field: 'tier', op: 'eq', value: 'platinum' })).toBe(0);
  });

  it('read the select values index for a rare value, as cairn_app under the RLS policy', async () => {
    const rare = await planOf({ field: 'tier', op: 'eq', value: 'platinum' });
    expect(rare).toContain('record_select_values_value_idx');
    const rareIn = await planOf({ field: 'tier', op: 'in', value: ['platinum'] });
    expect(rareIn).toContain('record_select_values_value_idx');
    expect(rare).not.toMatch(/Seq Scan on records/);
  });

  it('follow a record whose value changes, and leave out one deleted', async () => {
    const created = expectStatus(
      await admin.client.post('/api/v1/records/listing', {
        custom: { name: 'Fresh', tier: 'platinum', features: ['lift'] },
      }),
      201,
    );
    expect(await count(admin.client, { field: 'tier', op: 'eq', value: 'platinum' })).toBe(
      RECORDS / 1000 + 1,
    );
    expectStatus(
      await admin.client.patch(`/api/v1/records/listing/${created.id}`, {
        custom: { tier: 'gold', features: ['pool', 'garden'] },
      }),
      200,
    );
    expect(await count(admin.client, { field: 'tier', op: 'eq', value: 'platinum' })).toBe(RECORDS / 1000);
    const bothFeatures = await count(admin.client, {
      field: 'features',
      op: 'hasAll',
      value: ['pool', 'garden'],
    });
    expect(bothFeatures).toBe(Math.floor(RECORDS / 3) + 1);
    const deleted = await admin.client.delete(`/api/v1/records/listing/${created.id}`);
    expect(deleted.status).toBeLessThan(300);
    // A deleted record is no longer found by the filter.
    expect(await count(admin.client, { field: 'features', op: 'hasAll', value: ['pool', 'garden'] })).toBe(
      Math.floor(RECORDS / 3),
    );
  });
});
