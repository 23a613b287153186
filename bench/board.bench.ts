/**
 * Board benchmark: one tenant with 10,000 open opportunities in a pipeline of 8 stages, on the
 * PostgreSQL server (database `cairn_bench_board`, recreated each run). Measures through Cairn's
 * real HTTP API on loopback, single client, warm:
 *   - the board load (every column's first 20 cards + counts + sums), target p95 < 100 ms
 *   - a card move to another column after a random card, target p95 < 20 ms
 * and, as the floor in the same run, the bare SQL of counts + sums per stage.
 *
 *   npx tsx bench/board.bench.ts [--n=200] [--url=postgres://host:port]
 *
 * Prints the figures and rewrites its section of bench/RESULTS.md. Exits 0 whatever the figures.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { generateNKeysBetween } from 'fractional-indexing';
import pg from 'pg';
import { signUpBench, startBenchServer } from './bench-server.js';
import { commitOf, loadAverageNote, writeResultsSection } from './machine.js';

const args = process.argv.slice(2);
const arg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const N = Number(arg('n') ?? 200);
const SERVER_URL = (arg('url') ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/+$/, '');
const DB_NAME = 'cairn_bench_board';
const OPPORTUNITIES = 10_000;
const STAGES = 8;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const fmt = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1));

async function timed(n: number, warmup: number, fn: (i: number) => Promise<void>): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn(i);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(warmup + i);
    out.push(performance.now() - t0);
  }
  return out;
}

async function main() {
  const server = await startBenchServer(SERVER_URL, DB_NAME);
  const { base: BASE, dbUrl: DB_URL, version } = server;
  const me = await signUpBench(BASE, 'Board bench', 'bench@board.test');
  const { cookie } = me;
  const headers = { cookie, origin: BASE, 'content-type': 'application/json' };
  const pipeline = (await (
    await fetch(`${BASE}/api/v1/pipelines`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        name: 'Eight stages',
        stages: Array.from({ length: STAGES }, (_, i) => ({
          name: `Stage ${i + 1}`,
          probability: Math.round(((i + 1) * 100) / (STAGES + 1)),
        })),
      }),
    })
  ).json()) as { id: string; stages: { id: string }[] };

  // 10,000 open opportunities spread over the stages, ranked in each column.
  const t0 = performance.now();
  const orgId = me.orgId;
  const perStage = OPPORTUNITIES / STAGES;
  const raw = new pg.Client({ connectionString: DB_URL });
  await raw.connect();
  for (const [i, stage] of pipeline.stages.entries()) {
    const ranks = generateNKeysBetween(null, null, perStage);
    await raw.query(
      `insert into opportunities (org_id, title, amount, currency, owner_id, pipeline_id, stage_id, rank, stage_entered_at, created_by)
       select $1, 'Deal ' || ($4::int * 10000 + g), (random() * 100000)::numeric(18,2), case when g % 10 = 0 then 'USD' else 'EUR' end,
              $5, $2, $3, r.rank, now() - (random() * interval '60 days'), $5
         from unnest($6::text[]) with ordinality as r(rank, g)`,
      [orgId, pipeline.id, stage.id, i, me.userId, ranks],
    );
  }
  await raw.query('analyze opportunities');
  const loadS = (performance.now() - t0) / 1000;

  const boardMs = await timed(N, 20, async () => {
    const res = await fetch(`${BASE}/api/v1/pipelines/${pipeline.id}/board`, { headers: { cookie } });
    const body = (await res.json()) as { columns: { count: number }[] };
    if (res.status !== 200 || body.columns.reduce((n, c) => n + c.count, 0) !== OPPORTUNITIES)
      throw new Error(`board: ${res.status}`);
  });
  const floorMs = await timed(N, 20, async () => {
    await raw.query('begin');
    await raw.query(`select set_config('role', 'cairn_app', true), set_config('app.org_id', $1, true)`, [
      orgId,
    ]);
    await raw.query(
      `select stage_id, count(*), sum(amount) from opportunities where org_id = $1 and pipeline_id = $2 and archived_at is null and status = 'open' group by stage_id`,
      [orgId, pipeline.id],
    );
    await raw.query('commit');
  });
  const ids = (
    await raw.query('select id, stage_id from opportunities where org_id = $1 order by random() limit 400', [
      orgId,
    ])
  ).rows as {
    id: string;
    stage_id: string;
  }[];
  const moveMs = await timed(N, 20, async (i) => {
    const card = ids[i % ids.length]!;
    const to =
      pipeline.stages[
        (pipeline.stages.findIndex((s) => s.id === card.stage_id) + 1 + (i % (STAGES - 1))) % STAGES
      ]!.id;
    const after = ids[(i * 7 + 3) % ids.length]!;
    const res = await fetch(`${BASE}/api/v1/opportunities/${card.id}/move`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        stage_id: to,
        ...(after.stage_id === to && after.id !== card.id ? { after_id: after.id } : {}),
      }),
    });
    const moved = (await res.json()) as { stage: { id: string } };
    if (res.status !== 200) throw new Error(`move: ${res.status} ${JSON.stringify(moved)}`);
    card.stage_id = moved.stage.id;
  });
  await raw.end();
  await server.close();

  const rows = [
    ['board load (8 columns x 20 cards + counts + sums), API', boardMs, 100],
    ['floor: counts + sums per stage, bare SQL in a tenant transaction', floorMs, undefined],
    ['card move (one rank update + history + event), API', moveMs, 20],
  ] as const;
  const table = [
    '| measure | p50 ms | p95 ms | p99 ms | target |',
    '|---|---|---|---|---|',
    ...rows.map(
      ([label, xs, target]) =>
        `| ${label} | ${fmt(pct(xs, 50))} | ${fmt(pct(xs, 95))} | ${fmt(pct(xs, 99))} | ${target ? `p95 < ${target} ms: ${pct(xs, 95) < target ? 'PASS' : 'FAIL'}` : ''} |`,
    ),
  ].join('\n');
  const commit = commitOf();
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  const section = [
    '<!-- board:start -->',
    '## Board (issue 4)',
    '',
    `${new Date().toISOString().slice(0, 10)}, commit ${commit}; ${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB; PostgreSQL ${version}; Node ${process.version}; ${loadAverageNote()}.`,
    `${OPPORTUNITIES.toLocaleString('en-US')} open opportunities in ${STAGES} stages of one tenant (loaded in ${loadS.toFixed(1)} s); ${N} timed requests after 20 warm-up, one client, real HTTP on loopback.`,
    '',
    table,
    '<!-- board:end -->',
  ].join('\n');
  console.log(section);
  writeResultsSection('board', section);
}

await main();
process.exit(0);
