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
 * The import tells the truth before it runs: the preview checks every row of the Maven
 * sales_pipeline file as the run will (owners, companies, pipeline, stages, select options), and
 * its counts are the run's. Expected figures are computed from the files themselves.
 */
const DIR = 'crm/maven-crm-sales-opportunities/';
const table = (name: string) =>
  parse(readShared(`${DIR}${name}`), { columns: true, bom: true }) as Record<string, string>[];

let t: TestApp;
let admin: { client: Client; orgId: string; userId: string; email: string };
const deals = table('sales_pipeline.csv');
const products = table('products.csv').map((p) => p.product!);

type Checked = {
  code: string;
  column: string | null;
  effect: string;
  rows: number;
  values: { value: string }[];
};

beforeAll(async () => {
  t = await startTestApp();
  admin = await signUp(t, 'Maven Preview');
}, 120_000);
afterAll(() => t?.close());

/** One count per problem code, from the error report's lines. */
async function reportCounts(id: string) {
  const report = await admin.client.get(`/api/v1/imports/${id}/errors.csv`);
  const rows = parse(report.text, { columns: true }) as Record<string, string>[];
  const byCode: Record<string, Set<string>> = {};
  for (const r of rows) {
    byCode[r.code!] ??= new Set();
    byCode[r.code!]!.add(r.row!);
  }
  return Object.fromEntries(Object.entries(byCode).map(([code, set]) => [code, set.size]));
}

describe('import preview checks every row', () => {
  it('reports, before start, the Maven rows the run then fails or imports without a value, with the same counts', async () => {
    // A pipeline the sales team set up by hand, without a Lost stage; one company of the file exists.
    const pipeline = await admin.client.post('/api/v1/pipelines', {
      name: 'Maven',
      stages: [{ name: 'Prospecting' }, { name: 'Engaging' }, { name: 'Won', kind: 'won', probability: 100 }],
    });
    expect(pipeline.status, pipeline.text).toBe(201);
    const known = deals.find((d) => d.account)!.account!;
    expect((await admin.client.post('/api/v1/companies', { name: known })).status).toBe(201);
    const field = await admin.client.post('/api/v1/objects/opportunity/fields', {
      label: 'Product',
      type: 'select',
      options: products.map((p) => ({ value: p, label: p })),
    });
    expect(field.status, field.text).toBe(201);

    const up = await uploadCsv(
      t,
      admin.client,
      'opportunity',
      'sales_pipeline.csv',
      readShared(`${DIR}sales_pipeline.csv`),
    );
    expect(up.status, up.text).toBe(201);
    await admin.client.patch(`/api/v1/imports/${up.body.id}`, { options: { pipeline: 'Maven' } });

    const preview = await admin.client.get(`/api/v1/imports/${up.body.id}/preview?limit=200`);
    expect(preview.status, preview.text).toBe(200);
    const { check } = preview.body;
    const lost = deals.filter((d) => d.deal_stage === 'Lost');
    const placed = deals.filter((d) => d.deal_stage !== 'Lost');
    expect(check).toMatchObject({ rows_checked: 8800, total_rows: 8800, sampled: false });
    expect(check.rows_failing).toBe(lost.length);
    const byCode = Object.fromEntries(check.problems.map((p: Checked) => [p.code, p]));
    expect(byCode.unknown_stage).toMatchObject({
      column: 'deal_stage',
      effect: 'fails_row',
      rows: lost.length,
      values: [{ value: 'Lost', rows: lost.length }],
    });
    // Every agent is unknown here (the importer owns their deals): reported on the rows imported.
    expect(byCode.unknown_owner).toMatchObject({
      column: 'sales_agent',
      effect: 'loses_value',
      rows: placed.length,
    });
    expect(byCode.unknown_company).toMatchObject({
      column: 'account',
      effect: 'loses_value',
      rows: placed.filter((d) => d.account && d.account !== known).length,
    });
    // "GTXPro" is not the option "GTX Pro": on every row that has it, imported or not.
    expect(byCode.unknown_option).toMatchObject({
      column: 'product',
      rows: deals.filter((d) => !products.includes(d.product!)).length,
    });
    expect(byCode.unknown_option.values[0].value).toBe('GTXPro');
    // A deal without an account is a warning on its row, not only a count.
    expect(byCode.empty_reference).toMatchObject({
      column: 'account',
      rows: deals.filter((d) => !d.account).length,
    });
    // The rows shown carry the same problems: the first Lost deal says why it will fail.
    const firstLost = preview.body.rows.find(
      (r: { row_number: number }) => deals[r.row_number - 1]!.deal_stage === 'Lost',
    );
    expect(firstLost.problems.map((p: { code: string }) => p.code)).toContain('unknown_stage');

    await admin.client.post(`/api/v1/imports/${up.body.id}/start`);
    const done = await waitForImport(t, admin.client, up.body.id, 1_500_000);
    expect(done.status, done.error).toBe('completed');
    expect(done.progress).toMatchObject({
      failed: check.rows_failing,
      created: 8800 - check.rows_failing,
      with_problems: check.rows_with_problems,
    });
    expect(await reportCounts(up.body.id)).toEqual(
      Object.fromEntries(check.problems.map((p: Checked) => [p.code, p.rows])),
    );
    const withoutAccount = await admin.client.get(
      `/api/v1/imports/${up.body.id}/rows?problem=empty_reference&limit=200`,
    );
    expect(withoutAccount.body.data).toHaveLength(200);
    for (const r of withoutAccount.body.data as { row_number: number }[])
      expect(deals[r.row_number - 1]!.account).toBe('');
  }, 1_800_000);

  it('says every row will fail when the pipeline named does not exist', async () => {
    const up = await uploadCsv(
      t,
      admin.client,
      'opportunity',
      'sales_pipeline.csv',
      readShared(`${DIR}sales_pipeline.csv`),
    );
    await admin.client.patch(`/api/v1/imports/${up.body.id}`, { options: { pipeline: 'Nowhere' } });
    const { check } = (await admin.client.get(`/api/v1/imports/${up.body.id}/preview`)).body;
    expect(check.rows_failing).toBe(8800);
    expect(check.problems[0]).toMatchObject({ code: 'unknown_pipeline', effect: 'fails_row', rows: 8800 });
    // With create_missing_stages nothing fails: the pipeline and its stages will be made.
    await admin.client.patch(`/api/v1/imports/${up.body.id}`, {
      options: { pipeline: 'Nowhere', create_missing_stages: true },
    });
    const created = (await admin.client.get(`/api/v1/imports/${up.body.id}/preview`)).body.check;
    expect(created.rows_failing).toBe(0);
  }, 120_000);
});
