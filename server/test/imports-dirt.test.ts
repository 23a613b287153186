import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Client,
  readShared,
  signUp,
  startTestApp,
  type TestApp,
  uploadCsv,
  waitForImport,
} from './kit/index.js';

/**
 * Dirt is reported where it is: the Maven files' misspellings ("technolgy", "GTXPro") are flagged
 * with what they probably mean, and the user can map them in the mapping step.
 */
const DIR = 'crm/maven-crm-sales-opportunities/';
const table = (name: string) =>
  parse(readShared(`${DIR}${name}`), { columns: true, bom: true }) as Record<string, string>[];
const accounts = table('accounts.csv');
const deals = table('sales_pipeline.csv');
const products = table('products.csv').map((p) => p.product!);
/** The sectors meant: the file's own, "technolgy" being "technology" misspelt. */
const sectors = [...new Set(accounts.map((a) => (a.sector === 'technolgy' ? 'technology' : a.sector!)))];

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
}, 120_000);
afterAll(() => t?.close());

type Checked = { code: string; values: { value: string; rows: number; suggestion?: string }[] };

async function upload(client: Client, object: string, name: string) {
  const up = await uploadCsv(t, client, object, name, readShared(`${DIR}${name}`));
  expect(up.status, up.text).toBe(201);
  return up.body.id as string;
}

describe('probable misspellings', () => {
  it('flags "technolgy" as a misspelling of the option "technology", and a correction maps it', async () => {
    const { client } = await signUp(t, 'Sector Select');
    const field = await client.post('/api/v1/objects/company/fields', {
      label: 'Sector',
      type: 'select',
      options: sectors.map((s) => ({ value: s, label: s })),
    });
    expect(field.status, field.text).toBe(201);
    const id = await upload(client, 'company', 'accounts.csv');
    const typo = accounts.filter((a) => a.sector === 'technolgy').length;
    expect(typo).toBeGreaterThan(0);
    const { check } = (await client.get(`/api/v1/imports/${id}/preview`)).body;
    const unknown = check.problems.find((p: Checked) => p.code === 'unknown_option');
    expect(unknown).toMatchObject({
      column: 'sector',
      rows: typo,
      values: [{ value: 'technolgy', rows: typo, suggestion: 'technology' }],
    });

    // Mapped in the mapping step: nothing is lost, and the companies get "technology".
    const patched = await client.patch(`/api/v1/imports/${id}`, {
      options: { corrections: { sector: { technolgy: 'technology' } } },
    });
    expect(patched.status, patched.text).toBe(200);
    const corrected = (await client.get(`/api/v1/imports/${id}/preview`)).body.check;
    expect(corrected.problems.find((p: Checked) => p.code === 'unknown_option')).toBeUndefined();
    await client.post(`/api/v1/imports/${id}/start`);
    const done = await waitForImport(t, client, id);
    expect(done.progress).toMatchObject({ created: accounts.length, failed: 0 });
    const technology = await client.get(
      `/api/v1/companies?limit=200&filter=${encodeURIComponent(
        JSON.stringify({ field: 'sector', op: 'eq', value: 'technology' }),
      )}`,
    );
    expect(technology.body.data).toHaveLength(accounts.filter((a) => a.sector!.startsWith('techn')).length);
  });

  it('flags a text value close to one other rows use, and an option close to the one meant (GTXPro, GTX Pro)', async () => {
    const { client } = await signUp(t, 'Sector Text');
    expect(
      (await client.post('/api/v1/objects/company/fields', { label: 'Sector', type: 'text' })).status,
    ).toBe(201);
    // The accounts file with its first seven "technolgy" rows cleaned up: the five left are flagged.
    let cleaned = 0;
    const partly = readShared(`${DIR}accounts.csv`)
      .toString()
      .replace(/,technolgy,/g, (m) => (cleaned++ < 7 ? ',technology,' : m));
    const up = await uploadCsv(t, client, 'company', 'accounts-partly-cleaned.csv', partly);
    const { check } = (await client.get(`/api/v1/imports/${up.body.id}/preview`)).body;
    expect(check.misspellings).toEqual([
      {
        column: 'sector',
        value: 'technolgy',
        rows: accounts.filter((a) => a.sector === 'technolgy').length - 7,
        suggestion: 'technology',
        suggestion_rows: 7,
      },
    ]);
    // Countries one letter apart are different countries: Iraq is not flagged as Iran.
    const customers = await uploadCsv(
      t,
      client,
      'company',
      'customers-1000.csv',
      readShared('crm/datablist-samples/customers-1000.csv'),
    );
    const countries = (await client.get(`/api/v1/imports/${customers.body.id}/preview`)).body.check;
    expect(countries.misspellings).toEqual([]);

    expect(
      (
        await client.post('/api/v1/objects/opportunity/fields', {
          label: 'Product',
          type: 'select',
          options: products.map((p) => ({ value: p, label: p })),
        })
      ).status,
    ).toBe(201);
    const deal = await upload(client, 'opportunity', 'sales_pipeline.csv');
    const preview = (await client.get(`/api/v1/imports/${deal}/preview?limit=5`)).body;
    const gtx = preview.check.problems.find((p: Checked) => p.code === 'unknown_option');
    expect(gtx.values).toEqual([
      { value: 'GTXPro', rows: deals.filter((d) => d.product === 'GTXPro').length, suggestion: 'GTX Pro' },
    ]);
    // On the row itself too.
    const second = preview.rows[1];
    expect(deals[1]!.product).toBe('GTXPro');
    expect(second.problems).toContainEqual(
      expect.objectContaining({ code: 'unknown_option', value: 'GTXPro', suggestion: 'GTX Pro' }),
    );
  });
});
