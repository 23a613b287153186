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

/** Closed deals keep their dates, and stages come in the order the user gives (the Maven file). */
const DIR = 'crm/maven-crm-sales-opportunities/';
const deals = parse(readShared(`${DIR}sales_pipeline.csv`), { columns: true, bom: true }) as Record<
  string,
  string
>[];

let t: TestApp;
let admin: { client: Client };

beforeAll(async () => {
  t = await startTestApp();
  admin = await signUp(t, 'Maven Closed Deals');
}, 120_000);
afterAll(() => t?.close());

describe('closed deals', () => {
  it('sets closed_at of won and lost deals from a column, and creates the stages in the order given', async () => {
    // The file's first row is Won: by first appearance Won would come before the open stages.
    expect(deals[0]!.deal_stage).toBe('Won');
    const up = await uploadCsv(
      t,
      admin.client,
      'opportunity',
      'sales_pipeline.csv',
      readShared(`${DIR}sales_pipeline.csv`),
    );
    expect(up.status, up.text).toBe(201);
    const closeDate = up.body.mapping.find((m: { header: string }) => m.header === 'close_date').index;
    const patched = await admin.client.patch(`/api/v1/imports/${up.body.id}`, {
      mapping: [{ index: closeDate, target: 'closed_at' }],
      options: {
        pipeline: 'Maven ordered',
        create_missing_stages: true,
        stage_order: ['Prospecting', 'Engaging', 'Won', 'Lost'],
      },
    });
    expect(patched.status, patched.text).toBe(200);
    await admin.client.post(`/api/v1/imports/${up.body.id}/start`);
    const done = await waitForImport(t, admin.client, up.body.id, 1_500_000);
    expect(done.progress).toMatchObject({ created: 8800, failed: 0 });

    const pipeline = (await admin.client.get('/api/v1/pipelines')).body.data.find(
      (p: { name: string }) => p.name === 'Maven ordered',
    );
    expect(pipeline.stages.map((s: { name: string; kind: string }) => [s.name, s.kind])).toEqual([
      ['Prospecting', 'open'],
      ['Engaging', 'open'],
      ['Won', 'won'],
      ['Lost', 'lost'],
    ]);

    // The first row of each stage (Prospecting deals come late in the file).
    const firsts = ['Won', 'Lost', 'Engaging', 'Prospecting'].map(
      (stage) => deals.findIndex((d) => d.deal_stage === stage) + 1,
    );
    const rows: { row_number: number; record_id: string }[] = [];
    for (const n of firsts)
      rows.push(
        (await admin.client.get(`/api/v1/imports/${up.body.id}/rows?after=${n - 1}&limit=1`)).body.data[0],
      );
    const seen = new Set<string>();
    for (const r of rows) {
      const deal = deals[r.row_number - 1]!;
      if (seen.has(deal.deal_stage!)) continue;
      seen.add(deal.deal_stage!);
      const opp = (await admin.client.get(`/api/v1/opportunities/${r.record_id}`)).body;
      if (deal.deal_stage === 'Won' || deal.deal_stage === 'Lost')
        expect(opp.closed_at?.slice(0, 10), `${deal.opportunity_id} ${deal.deal_stage}`).toBe(
          deal.close_date,
        );
      else expect(opp.closed_at).toBeNull();
    }
    expect(seen).toEqual(new Set(['Won', 'Lost', 'Engaging', 'Prospecting']));
  }, 1_800_000);
});
