/**
 * Reports benchmark (issue 30): one tenant with 1,000,000 contacts (lead statuses, sources and
 * owners spread, created over two years) and 100,000 opportunities (half of them won, closed over
 * the last two years, 10 owners), on the PostgreSQL server (database `cairn_bench_reports`,
 * recreated each run). Measures through Cairn's real HTTP API on loopback, single client, warm:
 *   - "won value by owner per month" (`POST /api/v1/reports/run`), target p95 < 200 ms
 *   - every standard report (`GET /api/v1/reports/standard?report=...`), target p95 < 300 ms
 *   - a ten-widget sales dashboard ("Sales overview": deal counts and values, won by owner per
 *     month, contacts by status, source and owner): its data (`GET /api/v1/dashboards/:id/data`)
 *     against 300 ms per widget
 *   - the floor: the won-by-owner grouping as raw SQL on the same database, same run
 *
 *   npx tsx bench/reports.bench.ts [--n=30] [--contacts=1000000] [--url=postgres://host:port]
 *
 * Prints the figures and rewrites its section of bench/RESULTS.md. Exits 0 whatever the figures.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { STANDARD_REPORT_KEYS } from '../server/src/modules/reports/standard-reports.js';
import { signUpBench, startBenchServer } from './bench-server.js';
import { commitOf, loadAverageNote, writeResultsSection } from './machine.js';

const args = process.argv.slice(2);
const arg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const N = Number(arg('n') ?? 30);
const CONTACTS = Number(arg('contacts') ?? 1_000_000);
const SERVER_URL = (arg('url') ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/+$/, '');
const DB_NAME = 'cairn_bench_reports';
const OPPORTUNITIES = 100_000;
const OWNERS = 10;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const fmt = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1));

/** Failed requests per measure: status (or `widget`) -> count. */
const failures = new Map<string, Map<string, number>>();
function failed(label: string, what: number | string) {
  const m = failures.get(label) ?? new Map<string, number>();
  m.set(String(what), (m.get(String(what)) ?? 0) + 1);
  failures.set(label, m);
}

/** Ten saved reports (deal counts and values, won by owner per month, contacts by status, owner and source). */
async function benchWidgets(base: string, headers: Record<string, string>) {
  const won = { field: 'status', op: 'eq', value: 'won' };
  const open = { field: 'status', op: 'eq', value: 'open' };
  const specs = [
    { object: 'opportunity', filter: open },
    { object: 'opportunity', filter: open, measure: { op: 'sum', field: 'amount' } },
    { object: 'opportunity', filter: won, measure: { op: 'sum', field: 'amount' } },
    { object: 'contact' },
    {
      object: 'opportunity',
      filter: open,
      group_by: [{ field: 'stage_id' }],
      measure: { op: 'sum', field: 'amount' },
    },
    {
      object: 'opportunity',
      filter: won,
      group_by: [{ field: 'closed_at', bucket: 'month' }, { field: 'owner_id' }],
      measure: { op: 'sum', field: 'amount' },
    },
    { object: 'opportunity', group_by: [{ field: 'status' }] },
    { object: 'contact', group_by: [{ field: 'lead_status' }] },
    { object: 'contact', group_by: [{ field: 'source' }] },
    { object: 'contact', group_by: [{ field: 'owner_id' }] },
  ];
  const widgets = [];
  for (const [i, spec] of specs.entries()) {
    const res = await fetch(`${base}/api/v1/reports`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: `Widget ${i + 1}`, spec }),
    });
    const report = (await res.json()) as { id: string };
    widgets.push({ id: `w${i + 1}`, report_id: report.id, x: 0, y: i * 4, w: 6, h: 4 });
  }
  return widgets;
}

async function timed(n: number, warmup: number, fn: () => Promise<void>): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

async function main() {
  // The worker runs too: a new organization's default dashboard comes from its creation event.
  const server = await startBenchServer(SERVER_URL, DB_NAME, { worker: true });
  const { base: BASE, dbUrl: DB_URL, version } = server;
  const me = await signUpBench(BASE, 'Reports bench', 'bench@reports.test');
  const { cookie } = me;
  const headers = { cookie, 'content-type': 'application/json', origin: BASE };
  const pipelines = (await (await fetch(`${BASE}/api/v1/pipelines`, { headers: { cookie } })).json()) as {
    data: { id: string; stages: { id: string; kind: string }[] }[];
  };
  const pipeline = pipelines.data[0]!;
  const open = pipeline.stages.filter((s) => s.kind === 'open').map((s) => s.id);
  const won = pipeline.stages.find((s) => s.kind === 'won')!.id;

  const t0 = performance.now();
  const raw = new pg.Client({ connectionString: DB_URL });
  await raw.connect();
  // Owners: users of their own (the report names them), the signed-up member first.
  const owners = [me.userId];
  for (let i = 1; i < OWNERS; i++) {
    const id = randomUUID();
    await raw.query('insert into users (id, name, email) values ($1, $2, $3)', [
      id,
      `Owner ${i}`,
      `owner${i}@reports.test`,
    ]);
    owners.push(id);
  }
  await raw.query(
    `insert into opportunities (org_id, title, amount, currency, owner_id, pipeline_id, stage_id, status, closed_at, rank, created_at, created_by)
     select $1, 'Deal ' || g, (random() * 100000)::numeric(18,2), 'EUR', ($2::uuid[])[1 + g % ${OWNERS}], $3,
            case when g % 2 = 0 then $4::uuid else ($5::uuid[])[1 + g % array_length($5::uuid[], 1)] end,
            case when g % 2 = 0 then 'won' else 'open' end,
            case when g % 2 = 0 then now() - (random() * interval '730 days') end,
            lpad(g::text, 8, '0'), now() - interval '740 days' + (random() * interval '10 days'), $6
       from generate_series(1, ${OPPORTUNITIES}) g`,
    [me.orgId, owners, pipeline.id, won, open, me.userId],
  );
  // Contacts: statuses, sources and owners spread, created over two years, in chunks of 100,000.
  for (let from = 1; from <= CONTACTS; from += 100_000) {
    await raw.query(
      `insert into contacts (org_id, first_name, last_name, email, emails, owner_id, source, lead_status, created_at, updated_at)
       select $1, 'First' || g, 'Last' || (g % 5000), 'person' || g || '@reports.example',
              jsonb_build_array(jsonb_build_object('value', 'person' || g || '@reports.example', 'primary', true)),
              ($2::uuid[])[1 + g % ${OWNERS}],
              (array['manual','import','form','website','referral'])[1 + g % 5],
              (array['new','working','qualified','unqualified'])[1 + g % 4],
              now() - (g % 730) * interval '1 day', now()
         from generate_series($3::int, $4::int) g`,
      [me.orgId, owners, from, Math.min(CONTACTS, from + 99_999)],
    );
  }
  await raw.query('vacuum analyze opportunities'); // as autovacuum would have by now
  await raw.query('vacuum analyze contacts');
  const floorMs = await timed(N, 3, async () => {
    await raw.query(
      `select owner_id, date_trunc('month', closed_at at time zone 'UTC') m, sum(amount), count(*)
         from opportunities where org_id = $1 and status = 'won' and archived_at is null group by 1, 2`,
      [me.orgId],
    );
  });
  await raw.end();
  const loadS = (performance.now() - t0) / 1000;

  const wonByOwnerMonth = {
    object: 'opportunity',
    filter: { field: 'status', op: 'eq', value: 'won' },
    group_by: [{ field: 'owner_id' }, { field: 'closed_at', bucket: 'month' }],
    measure: { op: 'sum', field: 'amount' },
    limit: 500,
  };
  const reportMs = await timed(N, 10, async () => {
    const res = await fetch(`${BASE}/api/v1/reports/run`, {
      method: 'POST',
      headers,
      body: JSON.stringify(wonByOwnerMonth),
    });
    const body = (await res.json()) as { total: { count: number } };
    if (res.status !== 200 || body.total.count !== OPPORTUNITIES / 2)
      throw new Error(`report: ${res.status}`);
  });
  const pipelineMs = await timed(N, 10, async () => {
    const res = await fetch(`${BASE}/api/v1/reports/standard?report=pipeline_by_stage`, {
      headers: { cookie },
    });
    await res.json();
    if (res.status !== 200) throw new Error(`pipeline report: ${res.status}`);
  });
  // Every standard report (time to status on contacts: from creation to "qualified").
  const keys = STANDARD_REPORT_KEYS;
  const standard: [string, number[], number][] = [];
  for (const key of keys) {
    if (key === 'pipeline_by_stage') continue;
    const extra = key === 'time_to_status' ? '&object=contact&to_status=qualified' : '';
    const label = `standard report: ${key}, API`;
    const ms = await timed(N, 3, async () => {
      const res = await fetch(`${BASE}/api/v1/reports/standard?report=${key}${extra}`, {
        headers: { cookie },
      });
      await res.json();
      // A 503 is the statement budget running out (the machine's load): counted, not fatal.
      if (res.status !== 200) failed(label, res.status);
    });
    standard.push([label, ms, 300]);
  }
  // A sales dashboard of ten widgets: all its widgets in one request.
  let overview: { id: string; name: string; widgets: unknown[] } | undefined;
  for (let i = 0; i < 4 && !overview; i++) {
    const boards = (await (await fetch(`${BASE}/api/v1/dashboards`, { headers: { cookie } })).json()) as {
      data: { id: string; name: string; widgets: unknown[] }[];
    };
    overview = boards.data.find((d) => d.name === 'Sales overview');
    if (!overview) await new Promise((r) => setTimeout(r, 500));
  }
  // A dashboard of the ten widgets the bench's organization would start with, if it has none.
  if (!overview) {
    const res = await fetch(`${BASE}/api/v1/dashboards`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        name: 'Sales overview',
        sharing: 'organization',
        widgets: await benchWidgets(BASE, headers),
      }),
    });
    overview = (await res.json()) as { id: string; name: string; widgets: unknown[] };
  }
  const dashboard = overview;
  const dashboardLabel = `dashboard "Sales overview", all ${dashboard.widgets.length} widgets in one request`;
  const dashboardMs = await timed(N, 3, async () => {
    const res = await fetch(`${BASE}/api/v1/dashboards/${dashboard.id}/data`, { headers: { cookie } });
    const body = (await res.json()) as { widgets: { problem: unknown }[] };
    if (res.status !== 200) failed(dashboardLabel, res.status);
    for (const w of body.widgets ?? []) if (w.problem) failed(dashboardLabel, 'widget');
  });
  await server.close();

  const rows = [
    ['"won value by owner per month" (10 owners x 24 months), API', reportMs, 200],
    ['the same grouping as raw SQL (floor)', floorMs, 200],
    ['standard report: pipeline_by_stage, API', pipelineMs, 300],
    ...standard,
    [dashboardLabel, dashboardMs, 300 * dashboard.widgets.length],
  ] as const;
  const table = [
    '| measure | p50 ms | p95 ms | p99 ms | errors | target |',
    '|---|---|---|---|---|---|',
    ...rows.map(([label, xs, target]) => {
      const errors = failures.get(label);
      const ok = pct(xs, 95) < target && !errors;
      return `| ${label} | ${fmt(pct(xs, 50))} | ${fmt(pct(xs, 95))} | ${fmt(pct(xs, 99))} | ${errors ? [...errors].map(([k, n]) => `${n} x ${k}`).join(', ') : 0} | p95 < ${target} ms: ${ok ? 'PASS' : 'FAIL'} |`;
    }),
  ].join('\n');
  const commit = commitOf();
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  const section = [
    '<!-- reports:start -->',
    '## Reports (issue 30)',
    '',
    `${new Date().toISOString().slice(0, 10)}, commit ${commit}; ${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB; PostgreSQL ${version}; Node ${process.version}; ${loadAverageNote()}.`,
    `${CONTACTS.toLocaleString('en-US')} contacts and ${OPPORTUNITIES.toLocaleString('en-US')} opportunities of one tenant, half the deals won (loaded in ${loadS.toFixed(1)} s); ${N} timed requests after warm-up, one client, real HTTP on loopback. The dashboard's target is 300 ms per widget, its widgets computed in one request.`,
    '',
    table,
    '<!-- reports:end -->',
  ].join('\n');
  console.log(section);
  writeResultsSection('reports', section);
}

await main();
process.exit(0);
