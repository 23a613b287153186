import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Client,
  PASSWORD,
  readShared,
  signUp,
  startTestApp,
  type TestApp,
  uniqueEmail,
  uploadCsv,
  waitForImport,
} from './kit/index.js';

/**
 * The Maven "CRM + Sales + Opportunities" set, imported as a new customer would: accounts as
 * companies (subsidiary_of as parent), then sales_pipeline as 8,800 opportunities on a pipeline
 * whose stages come from the file, owners from sales_teams. Its known dirt is reported, not
 * hidden. Expected figures are computed from the files themselves.
 */
const DIR = 'crm/maven-crm-sales-opportunities/';
const table = (name: string) =>
  parse(readShared(`${DIR}${name}`), { columns: true, bom: true }) as Record<string, string>[];

let t: TestApp;
let admin: { client: Client; orgId: string; userId: string; email: string };
const accounts = table('accounts.csv');
const deals = table('sales_pipeline.csv');
const teams = table('sales_teams.csv');
/** Agents of the Central office become members; the others stay unknown (reported per row). */
const members = teams.filter((a) => a.regional_office === 'Central').map((a) => a.sales_agent!);

beforeAll(async () => {
  t = await startTestApp();
  admin = await signUp(t, 'Maven Analytics');
  for (const name of members) {
    const invited = await admin.client.post('/api/v1/invitations', {
      email: uniqueEmail('agent'),
      role: 'user',
    });
    const accepted = await t
      .client()
      .post(`/api/v1/invitations/${invited.body.id}/accept`, { name, password: PASSWORD });
    expect(accepted.status, accepted.text).toBe(200);
  }
}, 120_000);
afterAll(() => t?.close());

describe('Maven CRM import', () => {
  it('imports accounts as companies with their parents and reports the misspelled sector', async () => {
    const sectors = [
      'employment',
      'entertainment',
      'finance',
      'marketing',
      'medical',
      'retail',
      'services',
      'software',
      'technology',
      'telecommunications',
    ];
    const field = await admin.client.post('/api/v1/objects/company/fields', {
      label: 'Sector',
      type: 'select',
      options: sectors.map((s) => ({ value: s, label: s })),
    });
    expect(field.status, field.text).toBe(201);
    const up = await uploadCsv(t, admin.client, 'company', 'accounts.csv', readShared(`${DIR}accounts.csv`));
    expect(up.status, up.text).toBe(201);
    const target = (h: string) => up.body.mapping.find((m: { header: string }) => m.header === h)?.target;
    expect([target('account'), target('sector'), target('office_location'), target('subsidiary_of')]).toEqual(
      ['name', 'custom.sector', 'address.country', 'parent_company'],
    );
    for (const [index, type] of [
      [2, 'number'],
      [3, 'number'],
      [4, 'number'],
    ] as const) {
      const res = await admin.client.post(`/api/v1/imports/${up.body.id}/columns/${index}/field`, { type });
      expect(res.status, res.text).toBe(200);
    }
    await admin.client.post(`/api/v1/imports/${up.body.id}/start`);
    const done = await waitForImport(t, admin.client, up.body.id);
    expect(done.status).toBe('completed');
    expect(done.progress).toMatchObject({ created: accounts.length, failed: 0 });

    const misspelled = accounts.filter((a) => !sectors.includes(a.sector!)).length;
    const problems = await admin.client.get(
      `/api/v1/imports/${up.body.id}/rows?with_problems=true&limit=200`,
    );
    const codes = problems.body.data.flatMap(
      (r: { problems: { code: string; value: string }[] }) => r.problems,
    );
    expect(codes.filter((p: { code: string }) => p.code === 'unknown_option')).toHaveLength(misspelled);
    expect(misspelled).toBeGreaterThan(0);
    expect(codes.every((p: { value: string }) => p.value === 'technolgy')).toBe(true);

    const sub = accounts.find((a) => a.subsidiary_of)!;
    const row = (await admin.client.get(`/api/v1/imports/${up.body.id}/rows?limit=200`)).body.data[
      accounts.indexOf(sub)
    ];
    const company = (await admin.client.get(`/api/v1/companies/${row.record_id}`)).body;
    const parent = (await admin.client.get(`/api/v1/companies/${company.parent_id}`)).body;
    expect(parent.name).toBe(sub.subsidiary_of);
    expect(company.custom.year_established).toBe(Number(sub.year_established));
  });

  it('imports sales_pipeline as 8,800 opportunities on a pipeline built from its stages, with the dirt reported', async () => {
    const products = table('products.csv').map((p) => p.product!);
    await admin.client.post('/api/v1/objects/opportunity/fields', {
      label: 'Product',
      type: 'select',
      options: products.map((p) => ({ value: p, label: p })),
    });
    const up = await uploadCsv(
      t,
      admin.client,
      'opportunity',
      'sales_pipeline.csv',
      readShared(`${DIR}sales_pipeline.csv`),
    );
    expect(up.status, up.text).toBe(201);
    const target = (h: string) => up.body.mapping.find((m: { header: string }) => m.header === h)?.target;
    expect(
      ['opportunity_id', 'sales_agent', 'product', 'account', 'deal_stage', 'close_date', 'close_value'].map(
        target,
      ),
    ).toEqual([
      'external_id',
      'owner',
      'custom.product',
      'company',
      'stage',
      'expected_close_date',
      'amount',
    ]);
    const patched = await admin.client.patch(`/api/v1/imports/${up.body.id}`, {
      options: { pipeline: 'Maven', create_missing_stages: true },
    });
    expect(patched.status, patched.text).toBe(200);
    await admin.client.post(`/api/v1/imports/${up.body.id}/start`);
    const done = await waitForImport(t, admin.client, up.body.id, 1_500_000);
    expect(done.status, done.error).toBe('completed');
    expect(done.progress).toMatchObject({ total_rows: 8800, rows_done: 8800, created: 8800, failed: 0 });
    expect(done.empty_cells.account).toBe(deals.filter((d) => !d.account).length);
    expect(done.empty_cells.close_date).toBe(deals.filter((d) => !d.close_date).length);

    const pipelines = (await admin.client.get('/api/v1/pipelines')).body.data;
    const maven = pipelines.find((p: { name: string }) => p.name === 'Maven');
    expect(maven.stages.map((s: { name: string }) => s.name).sort()).toEqual([
      'Engaging',
      'Lost',
      'Prospecting',
      'Won',
    ]);
    expect(maven.stages.map((s: { kind: string }) => s.kind)).toEqual(['open', 'open', 'won', 'lost']);
    const board = (await admin.client.get(`/api/v1/pipelines/${maven.id}/board?include_closed=true`)).body;
    for (const column of board.columns)
      expect(column.count, column.stage.name).toBe(
        deals.filter((d) => d.deal_stage === column.stage.name).length,
      );

    // Dirt: products not in products.csv (GTXPro), sales agents who are not members.
    const report = await admin.client.get(`/api/v1/imports/${up.body.id}/errors.csv`);
    const lines = report.text.trim().split('\n').slice(1);
    const unknownProducts = deals.filter((d) => !products.includes(d.product!)).length;
    expect(unknownProducts).toBeGreaterThan(0);
    expect(lines.filter((l) => l.includes(',product,unknown_option,'))).toHaveLength(unknownProducts);
    expect(lines.filter((l) => l.includes(',sales_agent,unknown_owner,'))).toHaveLength(
      deals.filter((d) => !members.includes(d.sales_agent!)).length,
    );
    // A member's deal is theirs; an unknown agent's deal belongs to the importer.
    const rows = (await admin.client.get(`/api/v1/imports/${up.body.id}/rows?limit=200`)).body.data;
    const memberList =
      (await admin.client.get('/api/v1/members')).body.data ??
      (await admin.client.get('/api/v1/members')).body;
    for (const r of rows.slice(0, 50)) {
      const deal = deals[r.row_number - 1]!;
      const opp = (await admin.client.get(`/api/v1/opportunities/${r.record_id}`)).body;
      const owner = memberList.find((m: { user_id: string }) => m.user_id === opp.owner_id);
      expect(owner.name).toBe(members.includes(deal.sales_agent!) ? deal.sales_agent : 'Ada Admin');
      expect(opp.company?.name ?? '').toBe(deal.account);
      expect(opp.expected_close_date).toBe(deal.close_date || null);
    }
    // The last row's card is on top of its column, as if the deals had been created one by one.
    const lastDeal = deals.at(-1)!;
    const lastColumn = board.columns.find(
      (c: { stage: { name: string } }) => c.stage.name === lastDeal.deal_stage,
    );
    expect(lastColumn.cards[0].title).toBe(lastDeal.opportunity_id);

    // The same file again with every close value up by 100, in overwrite mode: each deal with a
    // value is updated (an event each), the others are left as they are; its undo puts them back.
    const raised = deals.map((d) => ({
      ...d,
      close_value: d.close_value ? String(Number(d.close_value) + 100) : '',
    }));
    const again = await uploadCsv(
      t,
      admin.client,
      'opportunity',
      'sales_pipeline-raised.csv',
      stringify(raised, { header: true }),
    );
    await admin.client.patch(`/api/v1/imports/${again.body.id}`, {
      dedup: 'overwrite',
      options: { pipeline: 'Maven', create_missing_stages: true },
    });
    await admin.client.post(`/api/v1/imports/${again.body.id}/start`);
    const withValue = deals.filter((d) => d.close_value).length;
    expect((await waitForImport(t, admin.client, again.body.id, 1_500_000)).progress).toMatchObject({
      created: 0,
      updated: withValue,
      skipped: 8800 - withValue,
      failed: 0,
    });
    const valued = rows.find((r: { row_number: number }) => deals[r.row_number - 1]!.close_value)!;
    const amount = Number(deals[valued.row_number - 1]!.close_value);
    const opp = async () => (await admin.client.get(`/api/v1/opportunities/${valued.record_id}`)).body;
    expect((await opp()).amount).toBe(amount + 100);
    const timeline = (await admin.client.get(`/api/v1/opportunities/${valued.record_id}/timeline`)).body.data;
    expect(
      timeline.find((e: { type: string }) => e.type === 'opportunity.updated').data.changes.amount,
    ).toEqual({ before: amount, after: amount + 100 });
    expect((await admin.client.post(`/api/v1/imports/${again.body.id}/revert`)).status).toBe(200);
    expect((await waitForImport(t, admin.client, again.body.id, 1_500_000)).status).toBe('reverted');
    expect(await opp()).toMatchObject({ amount, archived_at: null });

    // Undo: the 8,800 opportunities are archived and the board is empty again.
    expect((await admin.client.post(`/api/v1/imports/${up.body.id}/revert`)).status).toBe(200);
    const reverted = await waitForImport(t, admin.client, up.body.id, 1_500_000);
    expect(reverted.status).toBe('reverted');
    const after = (await admin.client.get(`/api/v1/pipelines/${maven.id}/board?include_closed=true`)).body;
    for (const column of after.columns) expect(column.count, column.stage.name).toBe(0);
    expect(
      (await admin.client.get(`/api/v1/opportunities/${rows[0].record_id}`)).body.archived_at,
    ).not.toBeNull();
  }, 1_800_000);
});
