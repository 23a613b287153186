/**
 * Workflows benchmark (issue 24): N trigger events (default 10,000) -> the issue's 3-step workflow
 * (add a tag, update a field, call a webhook on a local receiver), on the PostgreSQL server (database
 * `cairn_bench_workflows`, recreated each run). The events come from the bulk tag action through
 * the real HTTP API (one `contact.updated` per contact, dispatched through the outbox); the
 * workflow runs on pg-boss workers in this process, as in production. Prints:
 *   - events/s: N over the time from the first bulk request to the last run completed
 *   - p50 / p95 trigger-to-first-action latency: the event's time to the first step's commit
 *   - the webhook step: signed POSTs received by the local receiver (an HTTP server in this
 *     process, on 127.0.0.1, which the operator's allow-list lets the SSRF guard reach), and as
 *     the floor, the same receiver taking N unsigned POSTs straight from this process (50 at once)
 *   - the CPU the run took, per event: this process's (HTTP API, workers, receiver: one thread)
 *     and the bench database's PostgreSQL backends' (read from /proc when the server runs on this
 *     machine), figures a loaded machine shifts less than the rates
 * (goal: >= 500 events/s and p95 < 1 s).
 *
 *   npx tsx bench/workflows.bench.ts [--n=200] [--url=postgres://host:port]
 *
 * Rewrites its section of bench/RESULTS.md. Exits 0 whatever the figures.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { loadConfig } from '../server/src/config.js';
import { openDatabase } from '../server/src/db/client.js';
import { createServices } from '../server/src/runtime.js';
import { signUpBench, startBenchServer } from './bench-server.js';
import { commitOf, loadAverageNote, writeResultsSection } from './machine.js';

const args = process.argv.slice(2);
const arg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const N = Number(arg('n') ?? 10_000);
const SERVER_URL = (arg('url') ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/+$/, '');
const DB_NAME = 'cairn_bench_workflows';
const BULK = 1000;
// The per-organization cap would otherwise skip most of the bench's runs.
process.env.WORKFLOW_ORG_RUNS_PER_MINUTE = String(10 * N + 1000);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

/** The local receiver: counts the POSTs (and distinct webhook-ids) it answers 200 to. */
async function startReceiver() {
  const ids = new Set<string>();
  let posts = 0;
  const http = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      posts++;
      const id = req.headers['webhook-id'];
      if (typeof id === 'string') ids.add(id);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    posts: () => posts,
    ids: () => ids.size,
    reset: () => {
      posts = 0;
      ids.clear();
    },
    close: () => new Promise<void>((resolve) => http.close(() => resolve())),
  };
}

/** The floor: N plain POSTs of a similar body to the receiver, 50 at a time, a new connection each. */
async function receiverFloor(url: string, n: number): Promise<number> {
  const body = JSON.stringify({
    type: 'workflow.webhook',
    record: { first_name: 'Bench', pad: 'x'.repeat(600) },
  });
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < n) {
        next++;
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', connection: 'close' },
          body,
        });
        await res.text();
      }
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

/** CPU ticks (1/100 s) so far of each PostgreSQL backend on the bench database, when /proc shows them. */
async function backendTicks(raw: pg.Client): Promise<Map<number, number>> {
  const { rows } = await raw.query<{ pid: number }>(
    'select pid from pg_stat_activity where datname = current_database()',
  );
  const ticks = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks.set(pid, Number(fields[11]) + Number(fields[12]));
    } catch {
      // Another machine's server, or a backend gone: not counted.
    }
  }
  return ticks;
}

async function main() {
  const receiver = await startReceiver();
  const floorRate = await receiverFloor(receiver.url, Math.min(N, 5000));
  receiver.reset();
  const server = await startBenchServer(SERVER_URL, DB_NAME, {
    env: { OUTBOUND_ALLOWED_HOSTS: '127.0.0.1' },
  });
  const { base: BASE, dbUrl: DB_URL, version } = server;
  // The workers: a second set of services on the same database and queue, consuming jobs.
  const workerDb = await openDatabase({ databaseUrl: DB_URL, poolSize: 10 });
  const workers = await createServices({
    config: loadConfig({
      DATABASE_URL: DB_URL,
      SECRET: 'x'.repeat(40),
      LOG_LEVEL: 'warn',
      DATA_DIR: os.tmpdir(),
      BASE_URL: BASE,
      QUEUE_SCHEMA: 'pgboss_bench',
      OUTBOUND_ALLOWED_HOSTS: '127.0.0.1',
    }),
    database: workerDb,
  });
  await workers.jobs.start({ worker: true });

  const me = await signUpBench(BASE, 'Workflows bench', 'bench@workflows.test');
  const headers = { cookie: me.cookie, origin: BASE, 'content-type': 'application/json' };
  const post = async (url: string, body: unknown) => {
    const res = await fetch(`${BASE}${url}`, { method: 'POST', headers, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<Record<string, unknown>>;
  };
  const workflow = await post('/api/v1/workflows', {
    name: 'Bench: tag, qualify, call a webhook',
    object: 'contact',
    definition: {
      trigger: { type: 'tag_added', tag: 'bench' },
      start: 'tag',
      steps: [
        { id: 'tag', type: 'add_tag', tag: 'benched', next: ['status'] },
        { id: 'status', type: 'update_field', field: 'lead_status', value: 'qualified', next: ['hook'] },
        {
          id: 'hook',
          type: 'call_webhook',
          url: receiver.url,
          data: { note: 'Bench lead {{record.first_name}} qualified' },
        },
      ],
    },
  });
  await post(`/api/v1/workflows/${workflow.id}/activate`, {});

  const raw = new pg.Client({ connectionString: DB_URL });
  await raw.connect();
  await raw.query(
    `insert into contacts (org_id, first_name, last_name, owner_id)
     select $1, 'Bench', 'Lead ' || g, $2 from generate_series(1, $3::int) g`,
    [me.orgId, me.userId, N],
  );
  const ids = (
    await raw.query<{ id: string }>('select id from contacts where org_id = $1 order by id', [me.orgId])
  ).rows.map((r) => r.id);

  const ticks0 = await backendTicks(raw);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const started = Date.now();
  for (let i = 0; i < ids.length; i += BULK)
    await post('/api/v1/contacts/bulk', { ids: ids.slice(i, i + BULK), action: 'add_tags', tags: ['bench'] });
  const sent = performance.now() - t0;
  let completed = 0;
  for (;;) {
    const { rows } = await raw.query<{ done: number; open: number; failed: number }>(
      `select count(*) filter (where status = 'completed')::int as done,
              count(*) filter (where status in ('running', 'waiting'))::int as open,
              count(*) filter (where status in ('failed', 'skipped'))::int as failed
         from workflow_runs where org_id = $1`,
      [me.orgId],
    );
    completed = rows[0]!.done;
    if (completed + rows[0]!.failed >= N || Date.now() - started > 30 * 60_000) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const totalS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const nodeCpuS = (cpu.user + cpu.system) / 1e6;
  let pgTicks = 0;
  for (const [pid, t] of await backendTicks(raw)) pgTicks += t - (ticks0.get(pid) ?? 0);
  const pgCpu = ticks0.size > 0 ? `${((pgTicks * 10) / N).toFixed(2)} ms` : 'not measured (server elsewhere)';
  const { rows: latencies } = await raw.query<{ ms: number }>(
    `select extract(epoch from (s.finished_at - (r.trigger->'event'->>'occurred_at')::timestamptz)) * 1000 as ms
       from workflow_runs r join workflow_steps s on s.org_id = r.org_id and s.run_id = r.id and s.step_id = 'tag'
      where r.org_id = $1 and s.status = 'completed'`,
    [me.orgId],
  );
  const ms = latencies.map((r) => Number(r.ms));
  await raw.end();

  const rate = N / totalS;
  const commit = commitOf();
  const table = [
    '| measure | value | goal |',
    '|---|---|---|',
    `| runs completed | ${completed.toLocaleString('en-US')} of ${N.toLocaleString('en-US')} | all |`,
    `| events/s (first bulk request to last run completed) | ${rate.toFixed(0)} | >= 500 |`,
    `| trigger-to-first-action p50 | ${pct(ms, 50).toFixed(0)} ms | |`,
    `| trigger-to-first-action p95 | ${pct(ms, 95).toFixed(0)} ms | < 1000 ms |`,
    `| time to send the events (${Math.ceil(N / BULK)} bulk requests) | ${(sent / 1000).toFixed(1)} s | |`,
    `| webhook POSTs received (distinct webhook-ids) | ${receiver.posts().toLocaleString('en-US')} (${receiver.ids().toLocaleString('en-US')}) | ${N.toLocaleString('en-US')} (each once) |`,
    `| floor: plain POSTs/s to the same receiver from this process, 50 at once | ${floorRate.toFixed(0)} | |`,
    `| CPU per event: this process (API, workers, receiver) / PostgreSQL backends of the bench database | ${((nodeCpuS * 1000) / N).toFixed(2)} ms / ${pgCpu} | |`,
  ].join('\n');
  const section = [
    '<!-- workflows:start -->',
    '## Workflows (issue 24)',
    '',
    `${new Date().toISOString().slice(0, 10)}, commit ${commit}; ${os.cpus()[0]?.model ?? 'unknown'}, ${os.cpus().length} cores; PostgreSQL ${version}; Node ${process.version}; ${loadAverageNote()}.`,
    `${N.toLocaleString('en-US')} \`tag_added\` events (bulk tag, ${BULK} per request, real HTTP) -> add tag, update field, call_webhook (signed POST to a receiver on 127.0.0.1, allow-listed); pg-boss workers in the same process (step jobs of up to 500 runs: first steps on their own queue, 2 at once; later steps 3 at once; event dispatch 4 at once).`,
    '',
    table,
    '<!-- workflows:end -->',
  ].join('\n');
  console.log(section);
  writeResultsSection('workflows', section);
  await workers.jobs.stop(2000);
  await workerDb.close();
  await server.close();
  await receiver.close();
}

await main();
process.exit(0);
