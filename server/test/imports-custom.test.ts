import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../src/db/tenant.js';
import { runImport as runImportJob } from '../src/modules/imports/import-runner.service.js';
import { events } from '../src/platform/events/event.schema.js';
import {
  type Client,
  expectProblem,
  expectStatus,
  queueWithoutJob,
  signUp,
  startTestApp,
  type TestApp,
  uploadCsv,
  waitForImport,
} from './kit/index.js';

/**
 * Issue 21's done-means, the import half: a user defines a Property object with a relation to
 * companies, imports 500 properties from a CSV and filters them by a custom field, without code.
 */

let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;
let other: Awaited<ReturnType<typeof signUp>>;
const companies: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestApp();
  [admin, other] = await Promise.all([signUp(t, 'Estates Co'), signUp(t, 'Other Co')]);
  for (const name of ['Acme Realty', 'Bay Homes', 'City Lets'])
    companies[name] = expectStatus(await admin.client.post('/api/v1/companies', { name }), 201).id;
  expectStatus(
    await admin.client.post('/api/v1/objects', {
      key: 'property',
      label_singular: 'Property',
      label_plural: 'Properties',
      icon: 'home',
    }),
    201,
  );
  const fields = [
    { label: 'Reference', key: 'ref', type: 'text' },
    { label: 'City', type: 'text' },
    { label: 'Rooms', type: 'number' },
    {
      label: 'Kind',
      type: 'select',
      options: [
        { value: 'house', label: 'House' },
        { value: 'flat', label: 'Flat' },
      ],
    },
    { label: 'Owner company', key: 'company', type: 'relation', relation: { object: 'company' } },
  ];
  for (const f of fields) expectStatus(await admin.client.post('/api/v1/objects/property/fields', f), 201);
}, 300_000);
afterAll(() => t?.close());

const CITIES = ['Porto', 'Lyon', 'Graz', 'Ghent'];
const OWNERS = ['Acme Realty', 'bay homes', 'City Lets'];

/** The generated file: 500 properties, row 10 with a wrong number, 20 an unknown kind, 30 an unknown company. */
function propertiesCsv(): string {
  const lines = ['Name,Ref,City,Rooms,Kind,Owner company'];
  for (let i = 1; i <= 500; i++) {
    const rooms = i === 10 ? 'many' : String((i % 5) + 1);
    const kind = i === 20 ? 'castle' : i % 2 ? 'House' : 'flat';
    const owner = i === 30 ? 'Nowhere Ltd' : OWNERS[i % 3];
    lines.push(`Property ${i},P-${i},${CITIES[i % 4]},${rooms},${kind},${owner}`);
  }
  return `${lines.join('\n')}\n`;
}

type Row = {
  row_number: number;
  outcome: string;
  record_id: string | null;
  problems: { code: string; column: string | null }[];
};

async function rowsOf(client: Client, id: string): Promise<Row[]> {
  const out: Row[] = [];
  let after = 0;
  for (;;) {
    const page = expectStatus(await client.get(`/api/v1/imports/${id}/rows?after=${after}&limit=200`), 200);
    out.push(...page.data);
    if (page.next_after === null) return out;
    after = page.next_after;
  }
}

async function runImport(csv: string, name: string, patch: Record<string, unknown>, object = 'property') {
  const up = await uploadCsv(t, admin.client, object, name, csv);
  expect(up.status, up.text).toBe(201);
  expectStatus(await admin.client.patch(`/api/v1/imports/${up.body.id}`, patch), 200);
  expectStatus(await admin.client.post(`/api/v1/imports/${up.body.id}/start`), 200);
  const done = await waitForImport(t, admin.client, up.body.id);
  return { id: up.body.id as string, up: up.body, done };
}

async function listProperties(filter: unknown) {
  const all: { id: string; name: string; custom: Record<string, unknown>; archived_at: string | null }[] = [];
  let cursor: string | null = null;
  do {
    const page: { data: typeof all; next_cursor: string | null } = expectStatus(
      await admin.client.post('/api/v1/records/property/query', {
        filter,
        limit: 200,
        ...(cursor ? { cursor } : {}),
      }),
      200,
    );
    all.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor);
  return all;
}

const importEvents = (importId: string) =>
  withTenant(t.services.database, { orgId: admin.orgId, actor: { type: 'system', id: null } }, (scope) =>
    scope.tx
      .select({ type: events.type, subjectId: events.subjectId })
      .from(events)
      .where(
        and(eq(events.orgId, admin.orgId), eq(events.actorType, 'import'), eq(events.actorId, importId)),
      ),
  );

describe('importing a custom object', () => {
  let first: string;

  it('maps the columns to the object’s fields and previews the bad rows', async () => {
    const up = await uploadCsv(t, admin.client, 'property', 'properties.csv', propertiesCsv());
    expect(up.status, up.text).toBe(201);
    expect(up.body.mapping.map((m: { target: string | null }) => m.target)).toEqual([
      'custom.name',
      'custom.ref',
      'custom.city',
      'custom.rooms',
      'custom.kind',
      'custom.company',
    ]);
    const detail = expectStatus(await admin.client.get(`/api/v1/imports/${up.body.id}`), 200);
    expect(detail.targets.find((x: { key: string }) => x.key === 'custom.company')).toMatchObject({
      kind: 'reference',
      reference: { object: 'company' },
    });
    const preview = expectStatus(await admin.client.get(`/api/v1/imports/${up.body.id}/preview`), 200);
    const codes = preview.check.problems.map((p: { code: string; column: string; rows: number }) => [
      p.code,
      p.column,
      p.rows,
    ]);
    expect(codes).toEqual(
      expect.arrayContaining([
        ['invalid_number', 'Rooms', 1],
        ['unknown_option', 'Kind', 1],
        ['unknown_company', 'Owner company', 1],
      ]),
    );
    expect(preview.check.rows_failing).toBe(0);
  });

  it('imports 500 properties: bad values reported on their rows, one record.created event each', async () => {
    const { id, done } = await runImport(propertiesCsv(), 'properties.csv', {
      options: { match_field: 'ref' },
    });
    first = id;
    expect(done.status).toBe('completed');
    expect(done.progress).toMatchObject({ created: 500, failed: 0, updated: 0, skipped: 0 });
    const rows = await rowsOf(admin.client, id);
    const problemsOf = (n: number) =>
      rows.find((r) => r.row_number === n)!.problems.map((p) => [p.code, p.column]);
    expect(problemsOf(10)).toEqual([['invalid_number', 'Rooms']]);
    expect(problemsOf(20)).toEqual([['unknown_option', 'Kind']]);
    expect(problemsOf(30)).toEqual([['unknown_company', 'Owner company']]);
    expect(rows.filter((r) => r.problems.length > 0)).toHaveLength(3);
    const created = (await importEvents(id)).filter((e) => e.type === 'record.created');
    expect(created).toHaveLength(500);

    const row30 = expectStatus(
      await admin.client.get(`/api/v1/records/property/${rows.find((r) => r.row_number === 30)!.record_id}`),
      200,
    );
    expect(row30.custom).toMatchObject({ name: 'Property 30', city: 'Graz' });
    expect(row30.custom.company).toBeUndefined();
    const row4 = rows.find((r) => r.row_number === 4)!;
    expect(
      expectStatus(await admin.client.get(`/api/v1/records/property/${row4.record_id}`), 200).custom,
    ).toEqual({
      name: 'Property 4',
      ref: 'P-4',
      city: 'Porto',
      rooms: 5,
      kind: 'flat',
      company: companies['Bay Homes'],
    });
  });

  it('filters the imported records by a custom field and by the relation', async () => {
    const inGraz = await listProperties({ field: 'city', op: 'eq', value: 'Graz' });
    expect(inGraz).toHaveLength(125);
    expect(inGraz.every((r) => r.custom.city === 'Graz')).toBe(true);
    const acme = await listProperties({ field: 'company', op: 'eq', value: companies['Acme Realty'] });
    // i % 3 === 0 among 1..500 is 166 rows, one of which (30) named an unknown company.
    expect(acme).toHaveLength(165);
    const big = await listProperties({
      and: [
        { field: 'rooms', op: 'gte', value: 5 },
        { field: 'kind', op: 'eq', value: 'flat' },
      ],
    });
    expect(big.length).toBe(50);
  });

  it('a second file in overwrite mode updates the matched properties and creates the new ones; undo puts them back', async () => {
    const lines = ['Ref,City,Name'];
    for (let i = 1; i <= 50; i++) lines.push(`p-${i},Vienna,Property ${i}`);
    lines.push('P-9001,Vienna,Property 9001');
    const { id, done } = await runImport(`${lines.join('\n')}\n`, 'moves.csv', {
      dedup: 'overwrite',
      options: { match_field: 'ref' },
    });
    expect(done.progress).toMatchObject({ created: 1, updated: 50, failed: 0 });
    const rows = await rowsOf(admin.client, id);
    expect(rows[0]).toMatchObject({ outcome: 'updated' });
    expect(
      expectStatus(await admin.client.get(`/api/v1/imports/${id}/rows?limit=1`), 200).data[0].matched_by,
    ).toBe('field');
    expect(await listProperties({ field: 'city', op: 'eq', value: 'Vienna' })).toHaveLength(51);
    const updated = (await importEvents(id)).filter((e) => e.type === 'record.updated');
    expect(updated).toHaveLength(50);

    // The same file again in skip mode changes nothing.
    const again = await runImport(`${lines.join('\n')}\n`, 'moves.csv', { options: { match_field: 'ref' } });
    expect(again.done.progress).toMatchObject({ created: 0, updated: 0, skipped: 51 });

    expectStatus(await admin.client.post(`/api/v1/imports/${id}/revert`), 200);
    expect((await waitForImport(t, admin.client, id)).status).toBe('reverted');
    const vienna = await listProperties({ field: 'city', op: 'eq', value: 'Vienna' });
    expect(vienna).toHaveLength(0);
    const p1 = rows.find((r) => r.row_number === 1)!;
    expect(
      expectStatus(await admin.client.get(`/api/v1/records/property/${p1.record_id}`), 200).custom.city,
    ).toBe('Lyon');
  });

  it('undoing the first import archives every property it created, one record.archived event each', async () => {
    expectStatus(await admin.client.post(`/api/v1/imports/${first}/revert`), 200);
    expect((await waitForImport(t, admin.client, first)).status).toBe('reverted');
    expect(await listProperties({ field: 'city', op: 'eq', value: 'Graz' })).toHaveLength(0);
    const archived = (await importEvents(first)).filter((e) => e.type === 'record.archived');
    expect(archived).toHaveLength(500);
  });

  it('a required field left empty fails its row; a related property is found by its name', async () => {
    expectStatus(
      await admin.client.post('/api/v1/objects', {
        key: 'unit',
        label_singular: 'Unit',
        label_plural: 'Units',
      }),
      201,
    );
    expectStatus(
      await admin.client.post('/api/v1/objects/unit/fields', {
        label: 'Property',
        key: 'property',
        type: 'relation',
        relation: { object: 'property' },
      }),
      201,
    );
    const home = expectStatus(
      await admin.client.post('/api/v1/records/property', { custom: { name: 'Harbour House' } }),
      201,
    );
    const csv = 'Name,Property\nUnit 1,harbour house\n,Harbour House\nUnit 3,Nowhere\n';
    const { id, done } = await runImport(csv, 'units.csv', {}, 'unit');
    expect(done.progress).toMatchObject({ created: 2, failed: 1 });
    const rows = await rowsOf(admin.client, id);
    expect(rows[1]).toMatchObject({ outcome: 'failed' });
    expect(rows[1]!.problems.map((p) => p.code)).toContain('required');
    expect(rows[2]!.problems.map((p) => [p.code, p.column])).toEqual([['unknown_record', 'Property']]);
    const unit = expectStatus(await admin.client.get(`/api/v1/records/unit/${rows[0]!.record_id}`), 200);
    expect(unit.custom).toEqual({ name: 'Unit 1', property: home.id });
  });
});

describe('resume', () => {
  it('an interrupted import of a custom object resumes from its checkpoint, matching rows of the batches before', async () => {
    const lines = ['Name,Ref,City'];
    for (let i = 0; i < 120; i++) lines.push(`Flat ${i},R-${i % 100},Bern`);
    const up = await uploadCsv(t, admin.client, 'property', 'resume.csv', `${lines.join('\n')}\n`);
    expectStatus(
      await admin.client.patch(`/api/v1/imports/${up.body.id}`, { options: { match_field: 'ref' } }),
      200,
    );
    // Queued without a job (as a crashed worker leaves it): two batches, a "crash", then the rest.
    await queueWithoutJob(t, admin.orgId, up.body.id);
    expect(await runImportJob(t.services, admin.orgId, up.body.id, { batchRows: 25, maxBatches: 2 })).toBe(
      'interrupted',
    );
    const half = expectStatus(await admin.client.get(`/api/v1/imports/${up.body.id}`), 200);
    expect(half.progress).toMatchObject({ rows_done: 50, created: 50 });
    expect(await runImportJob(t.services, admin.orgId, up.body.id, { batchRows: 25 })).toBe('completed');
    const done = expectStatus(await admin.client.get(`/api/v1/imports/${up.body.id}`), 200);
    // Rows 101-120 repeat the references of rows 1-20: skipped, not created twice.
    expect(done.progress).toMatchObject({ rows_done: 120, created: 100, skipped: 20, failed: 0 });
    expect(await listProperties({ field: 'city', op: 'eq', value: 'Bern' })).toHaveLength(100);
  });
});

describe('bad input', () => {
  it('refuses an unknown object, another tenant’s object, and a bad match field', async () => {
    const refused = async (client: Client, object: string) => {
      const res = await uploadCsv(t, client, object, 'x.csv', 'Name\nA\n');
      return { status: res.status, code: res.body?.code };
    };
    expect(await refused(admin.client, 'spaceship')).toEqual({ status: 404, code: 'not_found' });
    expect(await refused(other.client, 'property')).toEqual({ status: 404, code: 'not_found' });

    const up = await uploadCsv(t, admin.client, 'property', 'x.csv', 'Name\nA\n');
    expectProblem(
      await admin.client.patch(`/api/v1/imports/${up.body.id}`, { options: { match_field: 'company' } }),
      400,
      {
        code: 'unknown_field',
        path: 'body.options.match_field',
      },
    );
    const contacts = await uploadCsv(t, admin.client, 'contact', 'x.csv', 'Email\na@example.com\n');
    expectProblem(
      await admin.client.patch(`/api/v1/imports/${contacts.body.id}`, { options: { match_field: 'email' } }),
      400,
      { code: 'unknown_field' },
    );
  });
});

describe('a many-to-many relation column', () => {
  beforeAll(async () => {
    expectStatus(
      await admin.client.post('/api/v1/objects', {
        key: 'listing',
        label_singular: 'Listing',
        label_plural: 'Listings',
      }),
      201,
    );
    expectStatus(
      await admin.client.post('/api/v1/objects/listing/fields', {
        label: 'Listed by',
        key: 'listed_by',
        type: 'relation',
        relation: { object: 'company', many: true },
      }),
      201,
    );
  });

  const csv =
    'Name,Listed by\nLinked 1,Acme Realty; bay homes\nLinked 2,City Lets;Nowhere Ltd; Acme Realty\nLinked 3,\n';

  it('names several companies separated by ";", and the preview counts the names found nowhere', async () => {
    const up = await uploadCsv(t, admin.client, 'listing', 'listings.csv', csv);
    expect(up.status, up.text).toBe(201);
    expect(up.body.mapping.map((m: { target: string | null }) => m.target)).toEqual([
      'custom.name',
      'custom.listed_by',
    ]);
    const detail = expectStatus(await admin.client.get(`/api/v1/imports/${up.body.id}`), 200);
    expect(detail.targets.find((x: { key: string }) => x.key === 'custom.listed_by')).toMatchObject({
      kind: 'reference',
      multiple: true,
      reference: { object: 'company', by: 'names or ids separated by ;' },
    });
    const preview = expectStatus(await admin.client.get(`/api/v1/imports/${up.body.id}/preview`), 200);
    expect(preview.check.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'unknown_company', column: 'Listed by', rows: 1 }),
      ]),
    );
  });

  it('links each record to the companies found, and reports each name found nowhere on its row', async () => {
    const { id, done } = await runImport(csv, 'listings.csv', {}, 'listing');
    expect(done.status).toBe('completed');
    expect(done.progress).toMatchObject({ created: 3, failed: 0 });
    const rows = await rowsOf(admin.client, id);
    const row2 = rows.find((r) => r.row_number === 2)!;
    expect(row2.problems).toEqual([
      expect.objectContaining({ code: 'unknown_company', column: 'Listed by', value: 'Nowhere Ltd' }),
    ]);
    expect(rows.filter((r) => r.problems.length > 0)).toHaveLength(1);
    const linked = async (n: number) => {
      const record = expectStatus(
        await admin.client.get(`/api/v1/records/listing/${rows.find((r) => r.row_number === n)!.record_id}`),
        200,
      );
      return ((record.custom.listed_by ?? []) as { name: string }[]).map((c) => c.name).sort();
    };
    expect(await linked(1)).toEqual(['Acme Realty', 'Bay Homes']);
    expect(await linked(2)).toEqual(['Acme Realty', 'City Lets']);
    expect(await linked(3)).toEqual([]);
    const created = (await importEvents(id)).filter((e) => e.type === 'record.created');
    expect(created).toHaveLength(3);
  });
});

describe('a second file in update_empty mode, on many-to-many and multi-select fields', () => {
  beforeAll(async () => {
    expectStatus(
      await admin.client.post('/api/v1/objects', {
        key: 'showing',
        label_singular: 'Showing',
        label_plural: 'Showings',
      }),
      201,
    );
    const fields = [
      { label: 'Listed by', key: 'listed_by', type: 'relation', relation: { object: 'company', many: true } },
      {
        label: 'Features',
        type: 'multi_select',
        options: ['garden', 'garage', 'pool'].map((value) => ({ value, label: value })),
      },
    ];
    for (const f of fields) expectStatus(await admin.client.post('/api/v1/objects/showing/fields', f), 201);
  });

  /** Each showing's companies (by name) and features, as the records API shows them. */
  async function showings(): Promise<Record<string, { listed_by: string[]; features: string[] }>> {
    const page = expectStatus(await admin.client.post('/api/v1/records/showing/query', { limit: 200 }), 200);
    const out: Record<string, { listed_by: string[]; features: string[] }> = {};
    for (const { id } of page.data as { id: string }[]) {
      const { custom } = expectStatus(await admin.client.get(`/api/v1/records/showing/${id}`), 200);
      out[custom.name] = {
        listed_by: ((custom.listed_by ?? []) as { name: string }[]).map((c) => c.name).sort(),
        features: [...((custom.features ?? []) as string[])].sort(),
      };
    }
    return out;
  }

  const first = {
    'Showing A': { listed_by: ['Acme Realty'], features: ['garden'] },
    'Showing B': { listed_by: [], features: [] },
    'Showing C': { listed_by: ['Bay Homes'], features: [] },
    'Showing D': { listed_by: [], features: ['pool'] },
  };
  let fill: string;

  it('fills the links and options of the records that have none, and leaves the others as they are', async () => {
    const created = await runImport(
      'Name,Listed by,Features\nShowing A,Acme Realty,garden\nShowing B,,\nShowing C,Bay Homes,\nShowing D,,pool\n',
      'showings.csv',
      {},
      'showing',
    );
    expect(created.done.progress).toMatchObject({ created: 4, failed: 0 });
    expect(await showings()).toEqual(first);

    const second = await runImport(
      [
        'Name,Listed by,Features',
        'Showing A,City Lets; Bay Homes,pool',
        'Showing B,City Lets;Acme Realty,garage',
        'Showing C,City Lets,garden',
        'Showing D,Acme Realty,garden;garage',
        '',
      ].join('\n'),
      'showings-2.csv',
      { dedup: 'update_empty', options: { match_field: 'name' } },
      'showing',
    );
    fill = second.id;
    expect(second.done.progress).toMatchObject({ created: 0, updated: 3, skipped: 1, failed: 0 });
    expect(await showings()).toEqual({
      'Showing A': { listed_by: ['Acme Realty'], features: ['garden'] },
      'Showing B': { listed_by: ['Acme Realty', 'City Lets'], features: ['garage'] },
      'Showing C': { listed_by: ['Bay Homes'], features: ['garden'] },
      'Showing D': { listed_by: ['Acme Realty'], features: ['pool'] },
    });
    const rows = await rowsOf(admin.client, fill);
    expect(rows.map((r) => r.outcome)).toEqual(['skipped', 'updated', 'updated', 'updated']);
  });

  it('undoing that import empties again what it filled', async () => {
    expectStatus(await admin.client.post(`/api/v1/imports/${fill}/revert`), 200);
    expect((await waitForImport(t, admin.client, fill)).status).toBe('reverted');
    expect(await showings()).toEqual(first);
  });

  it('in overwrite mode a row’s links replace the record’s, and an empty cell leaves them', async () => {
    const { done } = await runImport(
      'Name,Listed by\nShowing A,City Lets; Bay Homes\nShowing C,\n',
      'showings-3.csv',
      { dedup: 'overwrite', options: { match_field: 'name' } },
      'showing',
    );
    expect(done.progress).toMatchObject({ updated: 1, skipped: 1, failed: 0 });
    const after = await showings();
    expect(after['Showing A']).toEqual({ listed_by: ['Bay Homes', 'City Lets'], features: ['garden'] });
    expect(after['Showing C']).toEqual(first['Showing C']);
  });
});
