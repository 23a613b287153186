/**
 * Reports benchmark (issue 30): one tenant with 100,000 opportunities (half of them won, closed
 * over the last two years, 10 owners), on the PostgreSQL server (database `cairn_bench_reports`,
 * recreated each run). Measures through Cairn's real HTTP API on loopback, single client, warm:
 *   - "won value by owner per month" (`POST /api/v1/reports/run`), target p95 < 200 ms
 *   - the standard pipeline-by-stage report, target p95 < 300 ms
 *
 *   npx tsx bench/reports.bench.ts [--n=100] [--url=postgres://host:port]
 *
 * Prints the figures and rewrites its section of bench/RESULTS.md. Exits 0 whatever the figures.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { signUpBench, startBenchServer } from './bench-server.js';
import { commitOf, loadAverageNote, writeResultsSection } from './machine.js';

const args = process.argv.slice(2);
const arg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const N = Number(arg('n') ?? 100);
const SERVER_URL = (arg('url') ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/+$/, '');
const DB_NAME = 'cairn_bench_reports';
const OPPORTUNITIES = 100_000;
const OWNERS = 10;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const fmt = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1));

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
  const server = await startBenchServer(SERVER_URL, DB_NAME);
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
  await raw.query('analyze opportunities');
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
  await server.close();

  const rows = [
    ['"won value by owner per month" (10 owners x 24 months), API', reportMs, 200],
    ['standard report: pipeline by stage, API', pipelineMs, 300],
  ] as const;
  const table = [
    '| measure | p50 ms | p95 ms | p99 ms | target |',
    '|---|---|---|---|---|',
    ...rows.map(
      ([label, xs, target]) =>
        `| ${label} | ${fmt(pct(xs, 50))} | ${fmt(pct(xs, 95))} | ${fmt(pct(xs, 99))} | p95 < ${target} ms: ${pct(xs, 95) < target ? 'PASS' : 'FAIL'} |`,
    ),
  ].join('\n');
  const commit = commitOf();
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  const section = [
    '<!-- reports:start -->',
    '## Reports (issue 30)',
    '',
    `${new Date().toISOString().slice(0, 10)}, commit ${commit}; ${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB; PostgreSQL ${version}; Node ${process.version}; ${loadAverageNote()}.`,
    `${OPPORTUNITIES.toLocaleString('en-US')} opportunities of one tenant, half won (loaded in ${loadS.toFixed(1)} s); ${N} timed requests after 10 warm-up, one client, real HTTP on loopback.`,
    '',
    table,
    '<!-- reports:end -->',
  ].join('\n');
  console.log(section);
  writeResultsSection('reports', section);
}

await main();
process.exit(0);
