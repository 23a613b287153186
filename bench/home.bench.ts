/**
 * Home page benchmark (issue 20): one tenant with 100,000 contacts, 10,000 open opportunities of
 * the signed-in member over the default pipeline's stages, 2,000 of their tasks around today,
 * 100,000 events and 50 recently viewed records, on the PostgreSQL server (database
 * `cairn_bench_home`, recreated each run). Measures through Cairn's real HTTP API on loopback,
 * single client, warm: `GET /api/v1/home` (every widget's data in one call), target p95 < 200 ms;
 * and, as a floor in the same run, the bare SQL of the deals-by-stage sum in a tenant transaction.
 *
 *   npx tsx bench/home.bench.ts [--n=200] [--scale=1] [--url=postgres://host:port]
 *
 * `--scale=0.01` makes a quick smoke run (1,000 contacts, 100 deals) and leaves RESULTS.md alone.
 * Prints the figures and rewrites its section of bench/RESULTS.md. Exits 0 whatever the figures.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { signUpBench, startBenchServer } from './bench-server.js';
import { commitOf, loadAverageNote, writeResultsSection } from './machine.js';

const args = process.argv.slice(2);
const arg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const N = Number(arg('n') ?? 200);
const SCALE = Number(arg('scale') ?? 1);
const SERVER_URL = (arg('url') ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/+$/, '');
const DB_NAME = 'cairn_bench_home';
const CONTACTS = Math.round(100_000 * SCALE);
const OPPORTUNITIES = Math.round(10_000 * SCALE);
const TASKS = Math.max(20, Math.round(2_000 * SCALE));
const EVENTS = Math.round(100_000 * SCALE);
const TARGET_MS = 200;

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
  const me = await signUpBench(BASE, 'Home bench', 'bench@home.test');
  const { cookie, orgId, userId } = me;
  const headers = { cookie, origin: BASE, 'content-type': 'application/json' };
  const [pipeline] = (
    (await (await fetch(`${BASE}/api/v1/pipelines`, { headers })).json()) as {
      data: { id: string; stages: { id: string; kind: string }[] }[];
    }
  ).data;
  const open = pipeline!.stages.filter((s) => s.kind === 'open').map((s) => s.id);

  const t0 = performance.now();
  const raw = new pg.Client({ connectionString: DB_URL });
  await raw.connect();
  await raw.query(
    `insert into contacts (org_id, first_name, last_name, email, emails, owner_id, source, created_at, updated_at)
     select $1, 'First' || g, 'Last' || g, 'c' || g || '@home.test',
            jsonb_build_array(jsonb_build_object('value', 'c' || g || '@home.test', 'primary', true)),
            $2, 'import', now() - g * interval '1 minute', now()
       from generate_series(1, $3::int) g`,
    [orgId, userId, CONTACTS],
  );
  await raw.query(
    `insert into opportunities (org_id, title, amount, currency, owner_id, pipeline_id, stage_id, rank, created_by)
     select $1, 'Deal ' || g, (random() * 100000)::numeric(18,2), case when g % 10 = 0 then 'USD' else 'EUR' end,
            $2, $3, ($4::uuid[])[1 + g % array_length($4::uuid[], 1)], lpad(g::text, 8, '0'), $2
       from generate_series(1, $5::int) g`,
    [orgId, userId, pipeline!.id, open, OPPORTUNITIES],
  );
  await raw.query(
    `insert into tasks (org_id, title, due_at, all_day, assignee_id, created_by)
     select $1, 'Task ' || g, now() + ((g % 60) - 30) * interval '1 day', g % 2 = 0, $2, $2
       from generate_series(1, $3::int) g`,
    [orgId, userId, TASKS],
  );
  await raw.query(
    `insert into events (org_id, id, type, occurred_at, actor_type, actor_id, subject_object, subject_id, data)
     select $1, gen_random_uuid(), 'contact.updated', now() - g * interval '1 second', 'user', $2::text, 'contact',
            gen_random_uuid()::text, jsonb_build_object('name', 'Contact ' || g,
              'changes', jsonb_build_object('first_name', jsonb_build_object('before', 'A', 'after', 'B')))
       from generate_series(1, $3::int) g`,
    [orgId, userId, EVENTS],
  );
  await raw.query(
    `insert into recent_views (org_id, user_id, object, record_id, viewed_at)
     select org_id, $2, 'contact', id, now() - row_number() over () * interval '1 minute'
       from (select org_id, id from contacts where org_id = $1 limit 50) c`,
    [orgId, userId],
  );
  await raw.query('analyze');
  const loadS = (performance.now() - t0) / 1000;

  const homeMs = await timed(N, 20, async () => {
    const res = await fetch(`${BASE}/api/v1/home?tz=Europe/Paris`, { headers: { cookie } });
    const body = (await res.json()) as { deals: { count: number }; recent: unknown[] };
    if (res.status !== 200 || body.deals.count !== OPPORTUNITIES || body.recent.length !== 10)
      throw new Error(`home: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
  });
  const floorMs = await timed(N, 20, async () => {
    await raw.query('begin');
    await raw.query(`select set_config('role', 'cairn_app', true), set_config('app.org_id', $1, true)`, [
      orgId,
    ]);
    await raw.query(
      `select stage_id, currency, count(*), sum(amount) from opportunities
        where org_id = $1 and owner_id = $2 and status = 'open' and archived_at is null group by stage_id, currency`,
      [orgId, userId],
    );
    await raw.query('commit');
  });
  await raw.end();
  await server.close();

  const rows = [
    ['home page: every widget in one call (`GET /api/v1/home`), API', homeMs, TARGET_MS],
    [
      'floor: my open deals summed by stage and currency, bare SQL in a tenant transaction',
      floorMs,
      undefined,
    ],
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
    '<!-- home:start -->',
    '## Home page (issue 20)',
    '',
    `${new Date().toISOString().slice(0, 10)}, commit ${commit}; ${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB; PostgreSQL ${version}; Node ${process.version}; ${loadAverageNote()}.`,
    `One tenant: ${CONTACTS.toLocaleString('en-US')} contacts, ${OPPORTUNITIES.toLocaleString('en-US')} open opportunities and ${TASKS.toLocaleString('en-US')} tasks of the member, ${EVENTS.toLocaleString('en-US')} events, 50 recently viewed records (loaded in ${loadS.toFixed(1)} s); ${N} timed requests after 20 warm-up, one client, real HTTP on loopback.`,
    '',
    table,
    '<!-- home:end -->',
  ].join('\n');
  console.log(section);
  if (SCALE !== 1) {
    console.log(`(--scale=${SCALE}: a smoke run; RESULTS.md left alone)`);
    return;
  }
  writeResultsSection('home', section);
}

await main();
process.exit(0);
