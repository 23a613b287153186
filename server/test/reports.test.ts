import { inflateSync } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import {
  addMember,
  type Client,
  defaultPipeline,
  expectProblem,
  expectStatus,
  newDeal,
  type Pipeline,
  postOk,
  useOrganization,
} from './kit/index.js';

// Issue 30: reports on the query language (any object, filter, two dimensions, date buckets in the
// organization's time zone and fiscal year, measures, field rights, an "other" bucket), saved and
// shared reports, the drill-down filter of every cell, CSV, standard reports and dashboards.

// The embedded database migrates slowly on a loaded machine.
vi.setConfig({ testTimeout: 120_000, hookTimeout: 300_000 });

/**
 * The text a PDF prints, one line per text operation: PDFKit's content streams are Flate-compressed
 * and write standard-font text as hex strings of WinAnsi bytes (`[<48656c6c6f> 0] TJ`).
 */
function pdfText(pdf: Buffer): string {
  const lines: string[] = [];
  const raw = pdf.toString('latin1');
  for (const m of raw.matchAll(/stream\r?\n/g)) {
    const from = m.index + m[0].length;
    const to = raw.indexOf('endstream', from);
    let content: string;
    try {
      content = inflateSync(pdf.subarray(from, to)).toString('latin1');
    } catch {
      continue; // not a compressed content stream (a font, an image)
    }
    for (const op of content.matchAll(/\[([^\]]*)\]\s*TJ/g))
      lines.push(
        [...op[1]!.matchAll(/<([0-9a-fA-F]*)>/g)]
          .map((h) => Buffer.from(h[1]!, 'hex').toString('latin1'))
          .join(''),
      );
  }
  return lines.join('\n');
}

/** The raw bytes of a GET (inject), for PDFs. */
async function bytes(client: Client, url: string) {
  const res = await org.t.app.inject({ method: 'GET', url, headers: { cookie: client.cookieHeader } });
  return { status: res.statusCode, headers: res.headers, body: res.rawPayload };
}

let pipeline: Pipeline;
const org = useOrganization('Reports Co', {
  prepare: async ({ admin }) => {
    expectStatus(
      await admin.client.patch('/api/v1/organization/settings', {
        time_zone: 'America/New_York',
        fiscal_year_start_month: 2,
      }),
      200,
    );
    pipeline = await defaultPipeline(admin.client);
  },
});
const stage = (name: string) => pipeline.stages.find((s) => s.name === name)!.id;
const run = (body: unknown, client = org.admin.client) => client.post('/api/v1/reports/run', body);

describe('the report engine', () => {
  it('groups deals by stage and owner, sums their amounts, and each cell drills down to its list', async () => {
    const c = org.admin.client;
    await newDeal(c, 'A1', { amount: 100 });
    await newDeal(c, 'A2', { amount: 300 });
    const moved = await newDeal(c, 'B1', { amount: 50 });
    expectStatus(
      await c.post(`/api/v1/opportunities/${moved.id}/move`, { stage_id: stage('Proposal') }),
      200,
    );
    const res = expectStatus(
      await run({
        object: 'opportunity',
        filter: { field: 'status', op: 'eq', value: 'open' },
        group_by: [{ field: 'stage_id' }, { field: 'owner_id' }],
        measure: { op: 'sum', field: 'amount' },
      }),
      200,
    );
    expect(res.cells.map((x: any) => [x.keys[0].label, x.value, x.count])).toEqual([
      ['Lead in', 400, 2],
      ['Proposal', 50, 1],
    ]);
    expect(res.cells[0].keys[1].value).toBe(org.admin.userId);
    expect(res.cells[0].keys[1].label).not.toBe(org.admin.userId);
    expect(res.total).toEqual({ value: 450, count: 3 });
    // The drill-down filter is one the list accepts and selects exactly the cell's records.
    const list = expectStatus(
      await c.post('/api/v1/opportunities/query', { filter: res.cells[0].filter }),
      200,
    );
    expect(list.data.map((d: { title: string }) => d.title).sort()).toEqual(['A1', 'A2']);
  });

  it('buckets dates in the organization time zone and fiscal quarters, and measures avg/min/max/distinct', async () => {
    const c = org.admin.client;
    const byMonth = expectStatus(
      await run({ object: 'opportunity', group_by: [{ field: 'created_at', bucket: 'month' }] }),
      200,
    );
    const now = new Date().toLocaleString('sv-SE', { timeZone: 'America/New_York' }).slice(0, 7);
    expect(byMonth.cells.map((x: any) => x.keys[0].value)).toEqual([`${now}-01`]);
    expect(byMonth.time_zone).toBe('America/New_York');
    const list = expectStatus(
      await c.post('/api/v1/opportunities/query', { filter: byMonth.cells[0].filter }),
      200,
    );
    expect(list.data).toHaveLength(byMonth.cells[0].count);
    // Fiscal year from February: a quarter starts in Feb, May, Aug or Nov.
    const byQuarter = expectStatus(
      await run({ object: 'opportunity', group_by: [{ field: 'created_at', bucket: 'quarter' }] }),
      200,
    );
    expect(['02', '05', '08', '11']).toContain(byQuarter.cells[0].keys[0].value.slice(5, 7));
    for (const [op, value] of [
      ['avg', 150],
      ['min', 50],
      ['max', 300],
    ] as const) {
      const r = expectStatus(await run({ object: 'opportunity', measure: { op, field: 'amount' } }), 200);
      expect(r.total.value, op).toBe(value);
    }
    const distinct = expectStatus(
      await run({ object: 'opportunity', measure: { op: 'distinct_count', field: 'stage_id' } }),
      200,
    );
    expect(distinct.total.value).toBe(2);
  });

  it('works for a custom object and its custom fields', async () => {
    const c = org.admin.client;
    expectStatus(
      await c.post('/api/v1/objects', { key: 'ticket', label_singular: 'Ticket', label_plural: 'Tickets' }),
      201,
      'custom object',
    );
    const field = expectStatus(
      await c.post('/api/v1/objects/ticket/fields', {
        key: 'severity',
        label: 'Severity',
        type: 'select',
        options: [
          { value: 'low', label: 'Low' },
          { value: 'high', label: 'High' },
        ],
      }),
      201,
      'custom field',
    );
    expect(field.key).toBe('severity');
    for (const severity of ['low', 'high', 'high'])
      await postOk(c, '/api/v1/records/ticket', { custom: { name: `T ${severity}`, severity } });
    const res = expectStatus(await run({ object: 'ticket', group_by: [{ field: 'severity' }] }), 200);
    expect(res.cells.map((x: any) => [x.keys[0].value, x.keys[0].label, x.count])).toEqual([
      ['high', 'High', 2],
      ['low', 'Low', 1],
    ]);
    const list = expectStatus(
      await c.post('/api/v1/records/ticket/query', { filter: res.cells[0].filter }),
      200,
    );
    expect(list.data).toHaveLength(2);
  });

  it('caps the groups with an "other" bucket and a note', async () => {
    const res = expectStatus(
      await run({ object: 'opportunity', group_by: [{ field: 'title' }], limit: 2 }),
      200,
    );
    expect(res.truncated).toBe(true);
    expect(res.groups).toBe(3);
    expect(res.cells).toHaveLength(3);
    expect(res.cells[2]).toMatchObject({ other: true, count: 1, filter: null });
    expect(res.note).toContain('Other');
  });

  it('refuses unknown fields, sums of text, and a field hidden from the role, naming the path', async () => {
    expectProblem(await run({ object: 'opportunity', group_by: [{ field: 'nope' }] }), 400, {
      code: 'invalid_query',
      path: 'body.group_by[0].field',
    });
    expectProblem(await run({ object: 'opportunity', measure: { op: 'sum', field: 'title' } }), 400, {
      path: 'body.measure.field',
    });
    expectProblem(await run({ object: 'nothing' }), 404);
    expectStatus(
      await org.admin.client.post('/api/v1/roles', {
        key: 'no_amounts',
        name: 'No amounts',
        objects: { opportunity: { rights: ['read'], scope: 'all', fields: { amount: 'hidden' } } },
        default_access: { rights: ['read'], scope: 'all' },
      }),
      201,
    );
    const member = await addMember(org.t, org.admin.client, 'user');
    expectStatus(
      await org.admin.client.patch(`/api/v1/members/${member.userId}`, { role: 'no_amounts' }),
      204,
    );
    expectProblem(
      await run({ object: 'opportunity', measure: { op: 'sum', field: 'amount' } }, member.client),
      400,
      {
        path: 'body.measure.field',
      },
    );
    expectProblem(await run({ object: 'opportunity', group_by: [{ field: 'amount' }] }, member.client), 400, {
      path: 'body.group_by[0].field',
    });
    expectStatus(await run({ object: 'opportunity', group_by: [{ field: 'stage_id' }] }, member.client), 200);
  });
});

describe('saved reports, CSV, standard reports and dashboards', () => {
  it('saves, shares with the organization or a role, exports CSV, and hides private ones', async () => {
    const c = org.admin.client;
    const member = await addMember(org.t, c, 'user');
    const made = expectStatus(
      await c.post('/api/v1/reports', {
        name: 'Value by stage',
        spec: {
          object: 'opportunity',
          group_by: [{ field: 'stage_id' }],
          measure: { op: 'sum', field: 'amount' },
        },
        view: 'bar',
      }),
      201,
    );
    expectProblem(await member.client.get(`/api/v1/reports/${made.id}`), 404);
    expectStatus(await c.patch(`/api/v1/reports/${made.id}`, { sharing: 'role', role_key: 'user' }), 200);
    const seen = expectStatus(await member.client.get(`/api/v1/reports/${made.id}/result`), 200);
    expect(seen.cells.length).toBeGreaterThan(0);
    expectProblem(await member.client.patch(`/api/v1/reports/${made.id}`, { name: 'Mine' }), 403);
    const csv = await c.get(`/api/v1/reports/${made.id}/export`);
    expect(csv.status).toBe(200);
    expect(String(csv.headers['content-type'])).toContain('text/csv');
    expect(csv.text.split('\r\n')[0]).toBe('Stage,Count,Sum of Amount');
    expect(csv.text).toContain('Lead in,');
    expectProblem(
      await c.post('/api/v1/reports', {
        name: 'Bad',
        spec: { object: 'opportunity', group_by: [{ field: 'nope' }] },
      }),
      400,
      { path: 'body.spec.group_by[0].field' },
    );
    // The same report as a PDF: its name, each stage's bar with its value, the total.
    const pdf = await bytes(c, `/api/v1/reports/${made.id}/pdf`);
    expect(pdf.status).toBe(200);
    expect(String(pdf.headers['content-type'])).toBe('application/pdf');
    expect(String(pdf.headers['content-disposition'])).toBe('attachment; filename="Value-by-stage.pdf"');
    const printed = pdfText(pdf.body);
    expect(printed).toContain('Value by stage');
    expect(printed).toContain('Sum of Amount by Stage');
    expect(printed).toContain('Lead in');
    expect(printed).toMatch(/Total: [\d,.]+ over \d+ records/);
    expectStatus(await c.delete(`/api/v1/reports/${made.id}`), 204);
    expectProblem(await c.get(`/api/v1/reports/${made.id}`), 404);
    expectProblem(await c.get(`/api/v1/reports/${made.id}/pdf`), 404);
  });

  it('answers the standard reports', async () => {
    const c = org.admin.client;
    const deal = await newDeal(c, 'Won one', { amount: 1000 });
    expectStatus(await c.post(`/api/v1/opportunities/${deal.id}/close`, { status: 'won' }), 200);
    const lost = await newDeal(c, 'Lost one', { amount: 10 });
    expectStatus(await c.post(`/api/v1/opportunities/${lost.id}/close`, { status: 'lost' }), 200);
    const pipe = expectStatus(await c.get('/api/v1/reports/standard?report=pipeline_by_stage'), 200);
    const leadIn = pipe.rows.find((r: any) => r.values.stage === 'Lead in');
    expect(leadIn.values).toMatchObject({ count: 2, value: 400 });
    const list = expectStatus(await c.post('/api/v1/opportunities/query', { filter: leadIn.filter }), 200);
    expect(list.data).toHaveLength(2);
    const win = expectStatus(await c.get('/api/v1/reports/standard?report=win_rate'), 200);
    expect(win.rows.at(-1).values).toMatchObject({ won: 1, lost: 1, win_rate: 50 });
    const cycle = expectStatus(await c.get('/api/v1/reports/standard?report=sales_cycle'), 200);
    expect(cycle.rows.at(-1).values.won).toBe(1);
    const funnel = expectStatus(await c.get('/api/v1/reports/standard?report=stage_funnel'), 200);
    expect(funnel.rows[0].values.stage).toBe('Lead in');
    expect(funnel.rows[0].values.reached).toBeGreaterThanOrEqual(5);
    const forecast = expectStatus(
      await c.get('/api/v1/reports/standard?report=forecast_by_close_month'),
      200,
    );
    expect(forecast.rows.length).toBeGreaterThan(0);
    for (const key of [
      'activity_by_member',
      'contacts_by_status',
      'contacts_by_owner',
      'contacts_by_source',
      'opportunities_by_status',
    ])
      expectStatus(await c.get(`/api/v1/reports/standard?report=${key}`), 200, key);
    expectProblem(await c.get('/api/v1/reports/standard?report=nope'), 400);
  });

  it('answers the case, sequence and inbox reports for any object with a status', async () => {
    const c = org.admin.client;
    expectStatus(
      await c.post('/api/v1/objects', { key: 'claim', label_singular: 'Claim', label_plural: 'Claims' }),
      201,
    );
    expectStatus(
      await c.post('/api/v1/objects/claim/fields', {
        key: 'stage',
        label: 'Stage',
        type: 'status',
        statuses: {
          statuses: [
            { value: 'new', label: 'New' },
            { value: 'qualified', label: 'Qualified' },
            { value: 'closed', label: 'Closed', kind: 'done' },
          ],
        },
      }),
      201,
    );
    const ids: string[] = [];
    for (const name of ['A', 'B', 'C'])
      ids.push((await postOk(c, '/api/v1/records/claim', { custom: { name: `Claim ${name}` } })).id);
    for (const id of ids.slice(0, 2))
      expectStatus(await c.patch(`/api/v1/records/claim/${id}`, { custom: { stage: 'qualified' } }), 200);

    const byStatus = expectStatus(
      await c.get('/api/v1/reports/standard?report=records_by_status&object=claim'),
      200,
    );
    expect(byStatus.rows.map((r: any) => [r.values.stage, r.values.count])).toEqual([
      ['Qualified', 2],
      ['New', 1],
    ]);
    const drilled = expectStatus(
      await c.post('/api/v1/records/claim/query', { filter: byStatus.rows[0].filter }),
      200,
    );
    expect(drilled.data).toHaveLength(2);
    const byOwner = expectStatus(
      await c.get('/api/v1/reports/standard?report=records_by_owner&object=claim'),
      200,
    );
    expect(byOwner.rows.reduce((n: number, r: any) => n + r.values.count, 0)).toBe(3);

    const time = expectStatus(
      await c.get('/api/v1/reports/standard?report=time_to_status&object=claim&to_status=qualified'),
      200,
    );
    expect(time.title).toBe('Claims: time from creation to Qualified');
    expect(time.rows).toHaveLength(1);
    expect(time.rows[0].values).toMatchObject({ created: 3, reached: 2 });
    expect(time.rows[0].values.avg_days).toBeGreaterThanOrEqual(0);
    expect(time.rows[0].values.avg_days).toBeLessThan(1);
    // The default target is the field's second status: the same answer.
    expect(
      expectStatus(await c.get('/api/v1/reports/standard?report=time_to_status&object=claim'), 200).rows,
    ).toEqual(time.rows);
    const drilledMonth = expectStatus(
      await c.post('/api/v1/records/claim/query', { filter: time.rows[0].filter }),
      200,
    );
    expect(drilledMonth.data).toHaveLength(3);
    expectProblem(
      await c.get('/api/v1/reports/standard?report=time_to_status&object=claim&to_status=nope'),
      400,
      { code: 'unknown_status', path: 'query.to_status' },
    );
    expectProblem(
      await c.get('/api/v1/reports/standard?report=records_by_status&object=claim&field=name'),
      400,
      { code: 'not_a_status_field', path: 'query.field' },
    );
    expectProblem(await c.get('/api/v1/reports/standard?report=records_by_status&object=nothing'), 404);

    const sequences = expectStatus(await c.get('/api/v1/reports/standard?report=sequence_performance'), 200);
    expect(sequences.columns.map((x: any) => x.key)).toContain('reply_rate');
    const inbox = expectStatus(await c.get('/api/v1/reports/standard?report=inbox_by_channel'), 200);
    expect(inbox.columns.map((x: any) => x.key)).toContain('median_hours');
  });

  it('draws a dashboard: widgets on a grid, one date range and filter applied to each', async () => {
    const c = org.admin.client;
    const report = expectStatus(
      await c.post('/api/v1/reports', {
        name: 'Deals by status',
        spec: { object: 'opportunity', group_by: [{ field: 'status' }] },
      }),
      201,
    );
    const board = expectStatus(
      await c.post('/api/v1/dashboards', {
        name: 'Sales',
        sharing: 'organization',
        widgets: [{ id: 'w1', report_id: report.id, view: 'pie', x: 0, y: 0, w: 6, h: 4 }],
        filters: { date_range: { preset: '30_days' }, filter: { field: 'status', op: 'eq', value: 'won' } },
      }),
      201,
    );
    const data = expectStatus(await c.get(`/api/v1/dashboards/${board.id}/data`), 200);
    expect(data.widgets[0].result.cells.map((x: any) => [x.keys[0].value, x.count])).toEqual([['won', 1]]);
    expect(data.widgets[0].view).toBe('pie');
    const old = expectStatus(
      await c.get(`/api/v1/dashboards/${board.id}/data?preset=custom&from=2000-01-01&to=2000-12-31`),
      200,
    );
    expect(old.widgets[0].result.cells).toEqual([]);
    // Printed: the dashboard's name, its range, the widget; an empty range prints why it is empty.
    const printed = pdfText((await bytes(c, `/api/v1/dashboards/${board.id}/pdf`)).body);
    expect(printed).toContain('Sales');
    expect(printed).toContain('Last 30 days');
    expect(printed).toContain('Deals by status');
    expect(printed).toMatch(/\nWon\n1\nTotal: 1 over 1 records/);
    const empty = await bytes(
      c,
      `/api/v1/dashboards/${board.id}/pdf?preset=custom&from=2000-01-01&to=2000-12-31`,
    );
    expect(empty.status).toBe(200);
    expect(pdfText(empty.body)).toContain('No records match this report.');
    // A removed report leaves its widget with a problem, not a 5xx.
    expectStatus(await c.delete(`/api/v1/reports/${report.id}`), 204);
    const after = expectStatus(await c.get(`/api/v1/dashboards/${board.id}/data`), 200);
    expect(after.widgets[0].problem).toMatchObject({ status: 404 });
    expect(pdfText((await bytes(c, `/api/v1/dashboards/${board.id}/pdf`)).body)).toContain('(not_found)');
    const member = await addMember(org.t, c, 'viewer');
    expect((await member.client.get('/api/v1/dashboards')).body.data.map((d: any) => d.name)).toContain(
      'Sales',
    );
    expectProblem(await member.client.delete(`/api/v1/dashboards/${board.id}`), 403);
  });
  it('starts every organization with the "Sales overview" dashboard, whose widgets all answer', async () => {
    const c = org.admin.client;
    await org.t.drain(); // the dashboard comes from the organization's creation event
    const boards = expectStatus(await c.get('/api/v1/dashboards'), 200).data;
    const overview = boards.find((d: any) => d.name === 'Sales overview');
    expect(overview).toMatchObject({ sharing: 'organization' });
    expect(overview.widgets).toHaveLength(10);
    const data = expectStatus(await c.get(`/api/v1/dashboards/${overview.id}/data`), 200);
    expect(data.widgets.filter((w: any) => w.problem !== null)).toEqual([]);
    const byName = new Map(data.widgets.map((w: any) => [w.name, w]));
    // The numbers are the records': the same count the report engine gives for open deals.
    const open = expectStatus(
      await c.post('/api/v1/reports/run', {
        object: 'opportunity',
        filter: { field: 'status', op: 'eq', value: 'open' },
      }),
      200,
    );
    expect((byName.get('Open deals') as any).result.total.count).toBe(open.total.count);
    expect(open.total.count).toBeGreaterThan(0);
    // Stages are labelled with their names, statuses with their labels; each bar drills down.
    const stages = (byName.get('Open pipeline by stage') as any).result.cells;
    expect(stages.length).toBeGreaterThan(0);
    for (const cell of stages) {
      expect(pipeline.stages.map((s) => s.name)).toContain(cell.keys[0].label);
      expect(cell.filter).not.toBeNull();
    }
    expect((byName.get('Deals by status') as any).view).toBe('pie');
    // Its reports are the organization's: a viewer sees them and may not delete them.
    const viewer = await addMember(org.t, c, 'viewer');
    const reports = expectStatus(await viewer.client.get('/api/v1/reports'), 200).data;
    expect(reports.map((r: any) => r.name)).toContain('Won value by owner per month');
    expectProblem(await viewer.client.delete(`/api/v1/dashboards/${overview.id}`), 403);
  });

  it('shows a single number with its change against the period before the date range', async () => {
    const c = org.admin.client;
    // Days in the organization's time zone (America/New_York).
    const day = (offset: number) =>
      new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York' }).format(
        new Date(Date.now() + offset * 86_400_000),
      );
    for (const [title, offset, amount] of [
      ['Closing today', 0, 300],
      ['Closing in 3 days', -3, 100],
      ['Closed 10 days ago', -10, 200],
    ] as const)
      await newDeal(c, title, { amount, expected_close_date: day(offset) });
    const report = expectStatus(
      await c.post('/api/v1/reports', {
        name: 'Value closing',
        spec: {
          object: 'opportunity',
          filter: { field: 'title', op: 'contains', value: 'Clos' },
          measure: { op: 'sum', field: 'amount' },
        },
        view: 'number',
      }),
      201,
    );
    const board = expectStatus(
      await c.post('/api/v1/dashboards', {
        name: 'This week',
        widgets: [{ id: 'n', report_id: report.id, x: 0, y: 0, w: 3, h: 2 }],
        filters: { date_range: { preset: '7_days' }, date_field: 'expected_close_date' },
      }),
      201,
    );
    const data = expectStatus(await c.get(`/api/v1/dashboards/${board.id}/data`), 200);
    expect(data.widgets[0].result.total).toEqual({ value: 400, count: 2 });
    expect(data.widgets[0].previous).toEqual({ value: 200, count: 1 });
    const printed = pdfText((await bytes(c, `/api/v1/dashboards/${board.id}/pdf`)).body);
    expect(printed).toContain('+100.0 % against the previous period');
    // Other views carry no previous period.
    const asTable = expectStatus(
      await c.patch(`/api/v1/dashboards/${board.id}`, {
        widgets: [{ id: 'n', report_id: report.id, view: 'table', x: 0, y: 0, w: 3, h: 2 }],
      }),
      200,
    );
    expect(asTable.id).toBe(board.id);
    expect(
      expectStatus(await c.get(`/api/v1/dashboards/${board.id}/data`), 200).widgets[0].previous,
    ).toBeNull();
  });
});

describe('forecast categories', () => {
  it('follow the stage, are set by hand until the next move, and feed the forecast by close month and category', async () => {
    const c = org.admin.client;
    const a = await newDeal(c, 'FC lead', { amount: 100, expected_close_date: '2031-03-05' });
    expect(a.forecast_category).toBe('pipeline');
    const b = await newDeal(c, 'FC negotiation', {
      amount: 200,
      expected_close_date: '2031-03-10',
      stage_id: stage('Negotiation'),
    });
    expect(b.forecast_category).toBe('commit');
    const moved = expectStatus(
      await c.post(`/api/v1/opportunities/${a.id}/move`, { stage_id: stage('Proposal') }),
      200,
    );
    expect(moved.forecast_category).toBe('best_case');
    // Set by hand: kept until the next stage change.
    const set = expectStatus(
      await c.patch(`/api/v1/opportunities/${a.id}`, { forecast_category: 'commit' }),
      200,
    );
    expect(set.forecast_category).toBe('commit');
    expect(expectStatus(await c.get(`/api/v1/opportunities/${a.id}`), 200).forecast_category).toBe('commit');
    const won = await newDeal(c, 'FC won', { amount: 400, expected_close_date: '2031-03-20' });
    expect(
      expectStatus(await c.post(`/api/v1/opportunities/${won.id}/close`, { status: 'won' }), 200)
        .forecast_category,
    ).toBe('closed');
    const lost = await newDeal(c, 'FC lost', { amount: 800, expected_close_date: '2031-03-21' });
    expectStatus(await c.post(`/api/v1/opportunities/${lost.id}/close`, { status: 'lost' }), 200);
    expectProblem(await c.patch(`/api/v1/opportunities/${won.id}`, { forecast_category: 'commit' }), 422, {
      code: 'forecast_category_fixed',
      path: 'body.forecast_category',
    });
    expectProblem(await c.patch(`/api/v1/opportunities/${a.id}`, { forecast_category: 'maybe' }), 400);

    const forecast = expectStatus(
      await c.get('/api/v1/reports/standard?report=forecast_by_category&from=2031-03-01&to=2031-03-31'),
      200,
    );
    expect(
      forecast.rows.map((r: any) => [r.values.month, r.values.category, r.values.count, r.values.value]),
    ).toEqual([
      ['2031-03', 'Commit', 2, 300],
      ['2031-03', 'Closed', 1, 400],
    ]);
    expect(forecast.note).toContain('Omitted');
    const behind = expectStatus(
      await c.post('/api/v1/opportunities/query', { filter: forecast.rows[0].filter }),
      200,
    );
    expect(behind.data.map((d: any) => d.title).sort()).toEqual(['FC lead', 'FC negotiation']);
    // Any report groups by it too.
    const grouped = expectStatus(
      await run({
        object: 'opportunity',
        filter: { field: 'title', op: 'startsWith', value: 'FC ' },
        group_by: [{ field: 'forecast_category' }],
      }),
      200,
    );
    expect(Object.fromEntries(grouped.cells.map((x: any) => [x.keys[0].value, x.count]))).toEqual({
      commit: 2,
      closed: 1,
      omitted: 1,
    });
    // The next stage change resets it to the stage's.
    const back = expectStatus(
      await c.post(`/api/v1/opportunities/${a.id}/move`, { stage_id: stage('Qualified') }),
      200,
    );
    expect(back.forecast_category).toBe('pipeline');
  });
});
