import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, expectStatus, signUp, startTestApp, type TestApp } from './kit/index.js';

// Record numbers (issue 21): `CASE-00042`, per object per organization, gap-free under concurrent
// creates (a counter row locked in the creating transaction), never reused, shown and searchable.

let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;
let other: Awaited<ReturnType<typeof signUp>>;

type Rec = {
  id: string;
  number: number | null;
  number_label: string | null;
  custom: Record<string, unknown>;
};
const url = '/api/v1/records/matter';

beforeAll(async () => {
  t = await startTestApp();
  [admin, other] = await Promise.all([signUp(t, 'Numbers Inc'), signUp(t, 'Other Numbers')]);
  for (const c of [admin.client, other.client])
    expectStatus(
      await c.post('/api/v1/objects', {
        key: 'matter',
        label_singular: 'Matter',
        label_plural: 'Matters',
        numbering: { prefix: 'CASE-', digits: 5 },
      }),
      201,
    );
}, 300_000);
afterAll(() => t?.close());

describe('record numbers', () => {
  it('20 concurrent creates get 1..20: no gap, no duplicate', async () => {
    const created = await Promise.all(
      Array.from({ length: 20 }, (_, i) => admin.client.post(url, { custom: { name: `Matter ${i}` } })),
    );
    const numbers = created.map((r) => expectStatus<Rec>(r, 201).number!).sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const seven = created.map((r) => r.body as Rec).find((r) => r.number === 7)!;
    expect(seven.number_label).toBe('CASE-00007');
    // Stored as created: the record reads back with its number.
    expect(expectStatus<Rec>(await admin.client.get(`${url}/${seven.id}`), 200).number_label).toBe(
      'CASE-00007',
    );
  });

  it('another organization counts its own records from 1', async () => {
    const theirs = expectStatus<Rec>(await other.client.post(url, { custom: { name: 'Theirs' } }), 201);
    expect(theirs.number_label).toBe('CASE-00001');
  });

  it('a number is never reused: a deleted record’s number stays taken, a refused create takes none', async () => {
    const last = expectStatus<Rec>(await admin.client.post(url, { custom: { name: 'Last' } }), 201);
    expect(last.number).toBe(21);
    expect((await admin.client.request('DELETE', `${url}/${last.id}`)).status).toBe(204);
    expectProblem(await admin.client.post(url, { custom: {} }), 400); // the name is required
    expectProblem(
      await admin.client.post(url, {
        owner_id: '00000000-0000-4000-8000-000000000001',
        custom: { name: 'X' },
      }),
      422,
    );
    const next = expectStatus<Rec>(await admin.client.post(url, { custom: { name: 'Next' } }), 201);
    expect(next.number).toBe(22);
  });

  it('lists show, filter and sort by the number, and `q` finds a record by it', async () => {
    const page = expectStatus(await admin.client.get(`${url}?sort=number:asc&limit=3`), 200);
    expect(page.data.map((r: { number: number }) => r.number)).toEqual([1, 2, 3]);
    const filtered = expectStatus(
      await admin.client.get(
        `${url}?filter=${encodeURIComponent(JSON.stringify({ field: 'number', op: 'eq', value: 7 }))}`,
      ),
      200,
    );
    expect(filtered.data).toHaveLength(1);
    for (const q of ['CASE-00007', 'case-00007', '00007']) {
      const found = expectStatus(await admin.client.get(`${url}?q=${encodeURIComponent(q)}`), 200);
      expect(
        found.data.map((r: { number: number }) => r.number),
        q,
      ).toContain(7);
    }
    const global = expectStatus(await admin.client.get('/api/v1/search?q=CASE-00007'), 200);
    expect(JSON.stringify(global)).toContain('Matter');
    // The number is the system's: a write cannot set it.
    expectProblem(await admin.client.post(url, { number: 5, custom: { name: 'Forged' } }), 400);
  });

  it('turning numbers on numbers the existing records oldest first; the prefix can change; off keeps them', async () => {
    expectStatus(
      await admin.client.post('/api/v1/objects', { key: 'lot', label_singular: 'Lot', label_plural: 'Lots' }),
      201,
    );
    const lots: Rec[] = [];
    for (const name of ['First', 'Second', 'Third'])
      lots.push(expectStatus<Rec>(await admin.client.post('/api/v1/records/lot', { custom: { name } }), 201));
    expect(lots.every((l) => l.number === null && l.number_label === null)).toBe(true);
    const on = expectStatus(
      await admin.client.patch('/api/v1/objects/lot', { numbering: { prefix: 'LOT-', digits: 3 } }),
      200,
    );
    expect(on.custom_object.numbering).toEqual({ prefix: 'LOT-', digits: 3 });
    const numbered = await Promise.all(
      lots.map(async (l) => expectStatus<Rec>(await admin.client.get(`/api/v1/records/lot/${l.id}`), 200)),
    );
    expect(numbered.map((l) => l.number_label)).toEqual(['LOT-001', 'LOT-002', 'LOT-003']);
    expect(
      expectStatus<Rec>(await admin.client.post('/api/v1/records/lot', { custom: { name: 'Fourth' } }), 201)
        .number_label,
    ).toBe('LOT-004');
    expectStatus(
      await admin.client.patch('/api/v1/objects/lot', { numbering: { prefix: 'L', digits: 2 } }),
      200,
    );
    const found = expectStatus(await admin.client.get('/api/v1/records/lot?q=L02'), 200);
    expect(found.data.map((r: { custom: { name: string } }) => r.custom.name)).toContain('Second');
    expectStatus(await admin.client.patch('/api/v1/objects/lot', { numbering: null }), 200);
    const off = expectStatus<Rec>(await admin.client.get(`/api/v1/records/lot/${lots[0]!.id}`), 200);
    expect(off).toMatchObject({ number: 1, number_label: null });
    expectProblem(
      await admin.client.patch('/api/v1/objects/lot', { numbering: { prefix: 'bad prefix!' } }),
      400,
    );
  });
});
