/**
 * Capacity bench (issue 30): how many users at once one machine carries. A realistic mix (lists,
 * search, record pages, timelines, creates, updates, board reads and moves, a standard report) for
 * `--users` concurrent users, each a keep-alive connection with its own session, against `--serve`
 * `cairn serve` processes and one `cairn worker`, all on the PostgreSQL server behind PgBouncer
 * (Debian's package, session mode, started here from a temporary config), while a contact import
 * of `--import-rows` rows runs in the background on the worker. Prints throughput, p50/p95/p99 per
 * route, errors by status, CPU and peak memory of each process, and rewrites its section of
 * bench/RESULTS.md.
 *
 *   npx tsx bench/capacity.bench.ts [--users=200] [--duration=30] [--serve=2] [--contacts=3000]
 *     [--deals=200] [--import-rows=20000] [--url=postgres://postgres@127.0.0.1:5432] [--no-build] [--no-write]
 *
 * autocannon drives each serve process with its share of the users (as a load balancer would);
 * per-route latency comes from autocannon's own response timing. Exits 0 whatever the figures.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { openDatabase } from '../server/src/db/client.js';
import { migrate } from '../server/src/db/migrate.js';
import { commitOf, loadAverageNote, writeResultsSection } from './machine.js';
import { FIRST_NAMES, LAST_NAMES } from './names.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const arg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const USERS = Number(arg('users') ?? 200);
const DURATION_S = Number(arg('duration') ?? 30);
const SERVE = Number(arg('serve') ?? 2);
const CONTACTS = Number(arg('contacts') ?? 3000);
const DEALS = Number(arg('deals') ?? 200);
const IMPORT_ROWS = Number(arg('import-rows') ?? 20_000);
const SERVER_URL = (arg('url') ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/+$/, '');
const DB = 'cairn_capacity';
const PASSWORD = 'Bench-pass-1';
const EMAIL = 'admin@bench-capacity.test';
/** Sessions the users share (one user signed in this many times: the guard counts per user). */
const SESSIONS = Math.min(USERS, 25);

const log = (...parts: unknown[]) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...parts);
const pick = <T>(a: readonly T[]) => a[Math.floor(Math.random() * a.length)]!;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(check: () => Promise<boolean>, what: string, ms = 120_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} not ready in ${ms} ms`);
}

/** CPU seconds of `pid` and its children so far (Linux /proc, 10 ms ticks). */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
  } catch {
    return 0;
  }
}
/** Resident memory of `pid`, MB. */
function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

const children: ChildProcess[] = [];
function start(name: string, command: string, argv: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(command, argv, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.on('data', (d: Buffer) => process.stderr.write(`[${name}] ${d}`));
  child.stdout?.resume();
  children.push(child);
  return child;
}

/** PgBouncer (session mode: Cairn's prepared statements, advisory locks and LISTEN need it). */
async function startPgBouncer(clients: number): Promise<number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-pgbouncer-'));
  chmodSync(dir, 0o777);
  const port = await freePort();
  const server = new URL(SERVER_URL);
  writeFileSync(path.join(dir, 'userlist.txt'), `"${server.username || 'postgres'}" ""\n`);
  writeFileSync(
    path.join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `${DB} = host=${server.hostname} port=${server.port || 5432} dbname=${DB}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${path.join(dir, 'userlist.txt')}`,
      'pool_mode = session',
      'log_connections = 0',
      'log_disconnections = 0',
      'max_client_conn = 2000',
      `default_pool_size = ${clients}`,
      `max_db_connections = ${clients}`,
      'ignore_startup_parameters = extra_float_digits,statement_timeout,application_name',
      `logfile = ${path.join(dir, 'pgbouncer.log')}`,
      `pidfile = ${path.join(dir, 'pgbouncer.pid')}`,
    ].join('\n'),
  );
  // It will not run as root: as the database's system user then.
  const asUser = process.getuid?.() === 0 ? ['-u', 'postgres'] : [];
  start('pgbouncer', '/usr/sbin/pgbouncer', [...asUser, path.join(dir, 'pgbouncer.ini')]);
  await waitFor(
    () =>
      new Promise((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => resolve(s.end() && true));
        s.on('error', () => resolve(false));
      }),
    'pgbouncer',
  );
  return port;
}

type Op = {
  route: string;
  weight: number;
  make: () => { method: 'GET' | 'POST' | 'PATCH'; path: string; body?: unknown };
};

function mix(ids: { contacts: string[]; deals: string[]; stages: string[]; pipeline: string }): Op[] {
  const contact = () => pick(ids.contacts);
  return [
    {
      route: 'GET /contacts (list)',
      weight: 18,
      make: () => ({ method: 'GET', path: '/api/v1/contacts?limit=50' }),
    },
    {
      route: 'GET /search',
      weight: 12,
      make: () => ({ method: 'GET', path: `/api/v1/search?q=${pick(LAST_NAMES)}` }),
    },
    {
      route: 'GET /contacts/:id (page)',
      weight: 15,
      make: () => ({ method: 'GET', path: `/api/v1/contacts/${contact()}` }),
    },
    {
      route: 'GET /contacts/:id/timeline',
      weight: 10,
      make: () => ({ method: 'GET', path: `/api/v1/contacts/${contact()}/timeline` }),
    },
    {
      route: 'POST /contacts (create)',
      weight: 8,
      make: () => ({
        method: 'POST',
        path: '/api/v1/contacts',
        body: {
          first_name: pick(FIRST_NAMES),
          last_name: pick(LAST_NAMES),
          emails: [{ value: `${randomBytes(6).toString('hex')}@cap.test` }],
        },
      }),
    },
    {
      route: 'PATCH /contacts/:id (update)',
      weight: 10,
      make: () => ({
        method: 'PATCH',
        path: `/api/v1/contacts/${contact()}`,
        body: { job_title: pick(['CEO', 'CTO', 'Buyer', 'Engineer']) },
      }),
    },
    {
      route: 'GET /pipelines/:id/board',
      weight: 8,
      make: () => ({ method: 'GET', path: `/api/v1/pipelines/${ids.pipeline}/board` }),
    },
    {
      route: 'POST /opportunities/:id/move (board)',
      weight: 12,
      make: () => ({
        method: 'POST',
        path: `/api/v1/opportunities/${pick(ids.deals)}/move`,
        body: { stage_id: pick(ids.stages) },
      }),
    },
    {
      route: 'GET /reports/standard (pipeline)',
      weight: 7,
      make: () => ({ method: 'GET', path: '/api/v1/reports/standard?report=pipeline_by_stage' }),
    },
  ];
}

async function api(base: string, cookie: string, method: string, url: string, body?: unknown) {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: { cookie, origin: base, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : undefined;
}

async function signIn(base: string): Promise<string> {
  const res = await fetch(`${base}/api/auth/sign-in/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: base },
    body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
  });
  if (!res.ok) throw new Error(`sign-in: ${res.status} ${await res.text()}`);
  return res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
}

/** Uploads a contact CSV of `rows` rows and starts its import. @returns the import id */
async function startImport(base: string, cookie: string, rows: number, tag: string): Promise<string> {
  const lines = ['First name,Last name,Email,Job title'];
  for (let i = 0; i < rows; i++)
    lines.push(
      `${pick(FIRST_NAMES)},${pick(LAST_NAMES)},${tag}${i}.${randomBytes(3).toString('hex')}@import.test,Buyer`,
    );
  const form = new FormData();
  form.append('file', new Blob([`${lines.join('\n')}\n`], { type: 'text/csv' }), `${tag}.csv`);
  const up = await fetch(`${base}/api/v1/imports?object=contact`, {
    method: 'POST',
    headers: { cookie, origin: base },
    body: form,
  });
  if (up.status !== 201) throw new Error(`import upload: ${up.status} ${await up.text()}`);
  const { id } = (await up.json()) as { id: string };
  await api(base, cookie, 'POST', `/api/v1/imports/${id}/start`);
  return id;
}

type RouteStats = { times: number[]; errors: number };
const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function main() {
  log(
    `capacity bench: ${USERS} users, ${DURATION_S} s, ${SERVE} serve + 1 worker, PgBouncer, ${CONTACTS} contacts`,
  );
  if (!args.includes('--no-build')) {
    log('building the server (npm run build -w server)');
    execFileSync('npm', ['run', 'build', '-w', 'server'], { cwd: ROOT, stdio: 'ignore' });
  }
  const admin = new pg.Client({ connectionString: `${SERVER_URL}/postgres` });
  await admin.connect();
  await admin.query(`drop database if exists ${DB} with (force)`);
  await admin.query(`create database ${DB}`);
  const pgVersion = (await admin.query('show server_version')).rows[0].server_version as string;
  await admin.end();
  {
    const database = await openDatabase({ databaseUrl: `${SERVER_URL}/${DB}`, poolSize: 2 });
    await migrate(database);
    await database.close();
  }
  // Each process: a pool of 10, pg-boss's 4, and a LISTEN connection; session mode holds them all.
  const bouncer = await startPgBouncer((SERVE + 1) * 16 + 4);
  const dbUrl = `postgres://${new URL(SERVER_URL).username || 'postgres'}@127.0.0.1:${bouncer}/${DB}`;
  const ports = await Promise.all(Array.from({ length: SERVE }, () => freePort()));
  const base = `http://127.0.0.1:${ports[0]}`;
  const env = {
    DATABASE_URL: dbUrl,
    HOST: '127.0.0.1',
    BASE_URL: base,
    SECRET: randomBytes(32).toString('hex'),
    LOG_LEVEL: 'warn',
    API_RATE_LIMIT_PER_MINUTE: '1000000000',
    SIGN_IN_PER_IP_PER_MINUTE: '100000',
    QUEUE_SCHEMA: 'pgboss_capacity',
  };
  const serves = ports.map((port, i) =>
    start(`serve${i + 1}`, process.execPath, ['server/dist/main.js', 'serve'], {
      ...env,
      PORT: String(port),
    }),
  );
  for (const port of ports)
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/ready`)).ok, `serve :${port}`);
  const worker = start('worker', process.execPath, ['server/dist/main.js', 'worker'], env);

  const signedUp = await fetch(`${base}/api/v1/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: base },
    body: JSON.stringify({
      organization_name: 'Capacity',
      name: 'Ada Admin',
      email: EMAIL,
      password: PASSWORD,
    }),
  });
  if (signedUp.status !== 202) throw new Error(`sign-up: ${signedUp.status} ${await signedUp.text()}`);
  const cookies: string[] = [];
  for (let i = 0; i < SESSIONS; i++) cookies.push(await signIn(base));
  const cookie = cookies[0]!;
  // Thousands of reads a minute by one user pass the guard's budgets: raised for the bench's admin.
  const unlimited = { warn: 100_000_000, block: 100_000_000, window_seconds: 600 };
  await api(base, cookie, 'PUT', '/api/v1/guard/settings', {
    role: 'admin',
    budgets: { read: unlimited, denied: unlimited },
  });

  log(`seeding ${CONTACTS} contacts (an import on the worker) and ${DEALS} deals`);
  const seedImport = await startImport(base, cookie, CONTACTS, 'seed');
  await waitFor(
    async () => (await api(base, cookie, 'GET', `/api/v1/imports/${seedImport}`)).status === 'completed',
    'seed import',
    600_000,
  );
  const pipelines = await api(base, cookie, 'GET', '/api/v1/pipelines');
  const pipeline = pipelines.data[0];
  const stages = (pipeline.stages as { id: string; kind?: string; type?: string }[])
    .filter((s) => (s.kind ?? s.type ?? 'open') === 'open')
    .map((s) => s.id);
  const deals: string[] = [];
  for (let i = 0; i < DEALS; i += 10) {
    const made = await Promise.all(
      Array.from({ length: Math.min(10, DEALS - i) }, (_, k) =>
        api(base, cookie, 'POST', '/api/v1/opportunities', {
          title: `Deal ${i + k}`,
          amount: 1000 + k,
          currency: 'EUR',
        }),
      ),
    );
    deals.push(...made.map((d: { id: string }) => d.id));
  }
  const listed = await api(base, cookie, 'GET', '/api/v1/contacts?limit=200');
  const contacts = (listed.data as { id: string }[]).map((c) => c.id);
  const ops = mix({
    contacts,
    deals,
    stages: stages.length > 0 ? stages : [pipeline.stages[0].id],
    pipeline: pipeline.id,
  });
  const weighted = ops.flatMap((op) => Array.from({ length: op.weight }, () => op));

  // Warm-up, then the measured run with an import going on in the background.
  const stats = new Map<string, RouteStats>(ops.map((o) => [o.route, { times: [], errors: 0 }]));
  const statuses = new Map<number, number>();
  let pending: { route: string; status: number } | null = null;
  const drive = (port: number, connections: number, seconds: number, record: boolean) => {
    const instance = autocannon({
      url: `http://127.0.0.1:${port}`,
      connections,
      duration: seconds,
      timeout: 30,
      requests: [
        {
          setupRequest: (req: Record<string, unknown>, context: Record<string, unknown>) => {
            const op = pick(weighted);
            const chosen = op.make();
            const headers: Record<string, string> = { cookie: pick(cookies), origin: base };
            if (chosen.body !== undefined) headers['content-type'] = 'application/json';
            context.routeName = op.route;
            return {
              ...req,
              method: chosen.method,
              path: chosen.path,
              headers,
              ...(chosen.body !== undefined ? { body: JSON.stringify(chosen.body) } : {}),
            };
          },
          onResponse: (status: number, _body: string, context: Record<string, unknown>) => {
            pending = { route: String(context.routeName), status };
          },
        },
      ],
    } as autocannon.Options);
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (!record || !pending) return;
      const s = stats.get(pending.route);
      if (s) {
        s.times.push(ms);
        if (status >= 400) s.errors++;
      }
      if (status >= 400) statuses.set(status, (statuses.get(status) ?? 0) + 1);
      pending = null;
    });
    return instance;
  };
  log('warming up (5 s)');
  await Promise.all(ports.map((port) => drive(port, Math.max(1, Math.floor(USERS / SERVE / 4)), 5, false)));
  const importId = await startImport(base, cookie, IMPORT_ROWS, 'background');
  const pids = [
    ...serves.map((s, i) => [`serve ${i + 1}`, s.pid!] as const),
    ['worker', worker.pid!] as const,
    ['pgbouncer', children[0]!.pid!] as const,
  ];
  const cpu0 = new Map(pids.map(([n, pid]) => [n, cpuSeconds(pid)]));
  const peak = new Map(pids.map(([n]) => [n, 0]));
  const sampler = setInterval(() => {
    for (const [n, pid] of pids) peak.set(n, Math.max(peak.get(n)!, rssMb(pid)));
  }, 500);
  log(`measuring: ${USERS} users for ${DURATION_S} s, an import of ${IMPORT_ROWS} rows in the background`);
  const results = await Promise.all(
    ports.map((port) => drive(port, Math.ceil(USERS / SERVE), DURATION_S, true)),
  );
  clearInterval(sampler);
  const cpu = pids.map(([n, pid]) => ({
    name: n,
    cpuPct: ((cpuSeconds(pid) - cpu0.get(n)!) / DURATION_S) * 100,
    rss: peak.get(n)!,
  }));
  const imported = await api(base, cookie, 'GET', `/api/v1/imports/${importId}`);
  const total = results.reduce((a, r) => a + r.requests.total, 0);
  const errors = results.reduce((a, r) => a + r.errors + r.timeouts + r.non2xx, 0);
  const rows = [...stats].map(([route, s]) => {
    const sorted = [...s.times].sort((a, b) => a - b);
    return {
      route,
      n: sorted.length,
      p50: percentile(sorted, 50),
      p95: percentile(sorted, 95),
      p99: percentile(sorted, 99),
      errors: s.errors,
    };
  });
  const all = rows.flatMap((r) => stats.get(r.route)!.times).sort((a, b) => a - b);
  const report = render({
    total,
    errors,
    rps: total / DURATION_S,
    rows,
    overall: { p50: percentile(all, 50), p95: percentile(all, 95), p99: percentile(all, 99) },
    cpu,
    statuses: [...statuses].map(([s, n]) => `${s}x${n}`).join(' ') || 'none',
    imported: `${imported.status}, ${imported.progress.rows_done.toLocaleString('en-US')} of ${IMPORT_ROWS.toLocaleString('en-US')} rows`,
    pgVersion,
  });
  console.log(`\n${report}`);
  if (!args.includes('--no-write')) writeResultsSection('capacity', report);
}

function render(r: {
  total: number;
  errors: number;
  rps: number;
  rows: { route: string; n: number; p50: number; p95: number; p99: number; errors: number }[];
  overall: { p50: number; p95: number; p99: number };
  cpu: { name: string; cpuPct: number; rss: number }[];
  statuses: string;
  imported: string;
  pgVersion: string;
}): string {
  const f = (n: number) => Math.round(n).toLocaleString('en-US');
  return [
    '<!-- capacity:start -->',
    '## Capacity (`bench/capacity.bench.ts`, issue 30)',
    '',
    `${new Date().toISOString().slice(0, 10)}, commit ${commitOf()}, PostgreSQL ${r.pgVersion} behind PgBouncer (session mode), ` +
      `${SERVE} \`cairn serve\` + 1 \`cairn worker\`, ${os.cpus().length} cores; ${loadAverageNote()}.`,
    '',
    `**${USERS} concurrent users** for ${DURATION_S} s (each a keep-alive connection, ${SESSIONS} sessions), ` +
      `${CONTACTS.toLocaleString('en-US')} contacts and ${DEALS} deals seeded, a contact import in the background ` +
      `(${r.imported} at the end): **${f(r.rps)} requests/s**, ${f(r.total)} requests, **${r.errors} errors** ` +
      `(statuses >= 400: ${r.statuses}); overall p50 ${f(r.overall.p50)} ms, p95 ${f(r.overall.p95)} ms, p99 ${f(r.overall.p99)} ms.`,
    '',
    '| route | requests | p50 ms | p95 ms | p99 ms | errors |',
    '|---|---:|---:|---:|---:|---:|',
    ...r.rows.map(
      (x) => `| ${x.route} | ${f(x.n)} | ${f(x.p50)} | ${f(x.p95)} | ${f(x.p99)} | ${x.errors} |`,
    ),
    '',
    '| process | CPU (% of one core) | peak RSS MB |',
    '|---|---:|---:|',
    ...r.cpu.map((c) => `| ${c.name} | ${f(c.cpuPct)} | ${f(c.rss)} |`),
    '<!-- capacity:end -->',
  ].join('\n');
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(async () => {
    // Cairn's processes first (they close their connections), PgBouncer once they are gone.
    const [bouncer, ...cairn] = children;
    for (const child of cairn) child.kill('SIGTERM');
    await Promise.all(cairn.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)));
    bouncer?.kill('SIGTERM');
  });
