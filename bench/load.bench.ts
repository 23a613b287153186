/**
 * Load benchmark (issue 18, "throughput on the same machine"): Cairn's HTTP API against a bare
 * Fastify + pg floor running the same SQL on the same data (`load.floor.ts`,
 * `../shared/PERFORMANCE.md`'s recipe), both driven by autocannon at 1, 10, 50 and 200
 * connections: a contact read by id, the default list (page of 50) and a filtered page (owner +
 * tag + 90 days, newest first). Prints req/s, p50/p99, errors and Cairn/floor ratios, and rewrites
 * its section of bench/RESULTS.md.
 *
 *   npx tsx bench/load.bench.ts [--contacts=100000] [--duration=10] [--connections=1,10,50,200]
 *                               [--workers=1] [--reuse] [--url=postgres://postgres@127.0.0.1:5432]
 *                               [--cases=read,default,filtered] [--no-write] [--node-flags="..."]
 *
 * Cairn runs as `cairn serve` (compiled, `node server/dist/main.js serve --workers N`), its own
 * process; the floor its own; autocannon runs in this process, on the same cores (as the floor
 * figures of PERFORMANCE.md were taken). Goal: >= 0.7x the floor's req/s at 50 connections, p99 at
 * 200 connections within 2x the floor's, 0 errors. Exits 0 whatever the figures.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { PgDialect } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { openDatabase } from '../server/src/db/client.js';
import { migrate } from '../server/src/db/migrate.js';
import { type TenantContext, withTenant } from '../server/src/db/tenant.js';
import { listPage } from '../server/src/modules/records/record-list.service.js';
import {
  type ListQuery,
  ListQueryParams,
  parseListQueryParams,
} from '../server/src/platform/query/query.schema.js';
import { objectDef } from '../server/src/platform/registry/registry.service.js';
import { DOMAINS, FIRST_NAMES, LAST_NAMES, TAGS } from './names.js';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH_DIR, '..');
const RESULTS_FILE = path.join(BENCH_DIR, 'RESULTS.md');
const DB_NAME = 'cairn_load';
const ADMIN_EMAIL = 'admin@bench-load.test';
const PASSWORD = 'Bench-pass-1';
const OWNERS = 5;
const FILTER_TAGS = ['vip', 'lead', 'customer', 'partner'];

const args = process.argv.slice(2);
const arg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const CONTACTS = Number(arg('contacts') ?? 100_000);
const DURATION_S = Number(arg('duration') ?? 10);
const CONNECTIONS = (arg('connections') ?? '1,10,50,200').split(',').map(Number);
const WORKERS = Number(arg('workers') ?? 1);
const REUSE = args.includes('--reuse');
/** `--cases=read,default`: only the cases whose name starts with one of these. */
const CASES = arg('cases')?.split(',');
/** `--no-write`: print only, leave RESULTS.md alone (partial runs). */
const WRITE = !args.includes('--no-write');
/** `--node-flags="--cpu-prof --cpu-prof-dir=/tmp/prof"`: flags for Cairn's node process (profiling). */
const NODE_FLAGS = (arg('node-flags') ?? '').split(' ').filter(Boolean);
const SERVER_URL = (arg('url') ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/+$/, '');
const DB_URL = `${SERVER_URL}/${DB_NAME}`;

const log = (...parts: unknown[]) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...parts);
const int = (n: number) => Math.round(n).toLocaleString('en-US');

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

async function waitFor(url: string, ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer in ${ms} ms`);
}

/** CPU seconds used so far by `pid` and its descendants (Linux /proc; clock ticks of 10 ms). */
function cpuSeconds(pid: number): number {
  let total = 0;
  const visit = (p: number) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / 100;
      for (const task of readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').split(' ').filter(Boolean)) {
        visit(Number(task));
      }
    } catch {
      // exited
    }
  };
  visit(pid);
  return total;
}

// ---------------------------------------------------------------------------------------------
// Data

async function createDatabase(): Promise<boolean> {
  const admin = new pg.Client({ connectionString: `${SERVER_URL}/postgres` });
  await admin.connect();
  try {
    const exists = (await admin.query('select 1 from pg_database where datname = $1', [DB_NAME])).rowCount;
    if (exists && REUSE) return false;
    await admin.query(`drop database if exists ${DB_NAME} with (force)`);
    await admin.query(`create database ${DB_NAME}`);
    return true;
  } finally {
    await admin.end();
  }
}

function pgArray(values: readonly string[]): string {
  return `array[${values.map((v) => `'${v.replace(/'/g, "''")}'`).join(',')}]::text[]`;
}

/** OWNERS members and CONTACTS contacts (0-3 of 30 tags, 3 years of created_at) in the tenant. */
async function seed(orgId: string): Promise<void> {
  const c = new pg.Client({ connectionString: DB_URL });
  await c.connect();
  try {
    await c.query('select setseed(0.4242)');
    await c.query(`
      create temp table load_owners as select n, gen_random_uuid() as user_id from generate_series(0, ${OWNERS - 1}) n;
      insert into users (id, name, email, email_verified)
        select user_id, 'Owner ' || n, 'owner' || n || '@bench-load.test', true from load_owners;
      insert into members (organization_id, user_id, role) select '${orgId}', user_id, 'user' from load_owners;
      insert into tags (org_id, name) select '${orgId}', t from unnest(${pgArray(TAGS)}) t on conflict do nothing;`);
    const chunk = 50_000;
    for (let start = 1; start <= CONTACTS; start += chunk) {
      const end = Math.min(CONTACTS, start + chunk - 1);
      await c.query(
        `with x as materialized (
           select g, ($3::text[])[1 + floor(random() * ${FIRST_NAMES.length})::int] as fn,
                  ($4::text[])[1 + floor(random() * ${LAST_NAMES.length})::int] as ln,
                  ($6::text[])[1 + floor(random() * ${DOMAINS.length})::int] as dom,
                  floor(random() * 4)::int as nt, floor(random() * 30)::int as t1,
                  1 + floor(random() * 14)::int as d2, 15 + floor(random() * 15)::int as d3,
                  floor(random() * ${OWNERS})::int as own,
                  now() - random() * interval '3 years' as created_at
             from generate_series($1::int, $2::int) g
         ), ins as (
           insert into contacts (org_id, first_name, last_name, email, emails, tags, owner_id, source,
                                 created_at, updated_at)
           select '${orgId}', fn, ln, lower(fn || '.' || ln || g || '@' || dom),
                  jsonb_build_array(jsonb_build_object('value', lower(fn || '.' || ln || g || '@' || dom), 'primary', true)),
                  case nt when 0 then '{}'::text[]
                          when 1 then array[($5::text[])[1 + t1]]
                          when 2 then array[($5::text[])[1 + t1], ($5::text[])[1 + (t1 + d2) % 30]]
                          else array[($5::text[])[1 + t1], ($5::text[])[1 + (t1 + d2) % 30], ($5::text[])[1 + (t1 + d3) % 30]]
                  end,
                  o.user_id, 'import', created_at, created_at
             from x join load_owners o on o.n = x.own
           returning org_id, id, email
         )
         insert into contact_emails (org_id, contact_id, email, active) select org_id, id, email, true from ins`,
        [start, end, FIRST_NAMES, LAST_NAMES, TAGS, DOMAINS],
      );
      log(`  contacts ${int(end)}/${int(CONTACTS)}`);
    }
    await c.query('vacuum (analyze) contacts, contact_emails, members, users');
  } finally {
    await c.end();
  }
}

// ---------------------------------------------------------------------------------------------
// Cases

type Statement = { text: string; params: unknown[] };
type Case = {
  name: string;
  /** Cairn's request paths, cycled. */
  cairn: string[];
  /** The floor's statements per variant (the same SQL Cairn runs for the data). */
  floor: Statement[][];
};

async function buildCases(orgId: string): Promise<Case[]> {
  const database = await openDatabase({ databaseUrl: DB_URL, poolSize: 2 });
  const ctx: TenantContext = { orgId, actor: { type: 'system', id: null } };
  const dialect = new PgDialect();
  try {
    const c = database.pool!;
    const ids = (
      await c.query(`select id from contacts where org_id = $1 order by random() limit 1000`, [orgId])
    ).rows as { id: string }[];
    const owners = (
      await c.query(
        `select m.user_id from members m where m.organization_id = $1 and m.role = 'user' order by 1`,
        [orgId],
      )
    ).rows.map((r) => r.user_id as string);
    const object = await withTenant(database, ctx, (s) => objectDef(s.tx, orgId, 'contact'));
    // The statements Cairn's list route runs, captured from its own listPage (execute intercepted).
    const capture = async (query: ListQuery): Promise<Statement[]> => {
      const statements: Statement[] = [];
      await withTenant(database, ctx, async (scope) => {
        const tx = new Proxy(scope.tx, {
          get(target, prop) {
            if (prop === 'execute') {
              return (q: Parameters<typeof target.execute>[0]) => {
                const { sql, params } = dialect.sqlToQuery(q as never);
                statements.push({ text: sql, params });
                return target.execute(q);
              };
            }
            const value = Reflect.get(target, prop, target);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        });
        await listPage({ ...scope, tx }, object, query);
      });
      return statements;
    };
    const listPath = (params: Record<string, string>) => `/api/v1/contacts?${new URLSearchParams(params)}`;
    const parse = (params: Record<string, string>) => parseListQueryParams(ListQueryParams.parse(params));

    const day = (d: Date) => d.toISOString().slice(0, 10);
    const today = new Date();
    const from = new Date(today.getTime() - 90 * 86_400_000);
    const filtered: Record<string, string>[] = [];
    for (const owner of owners) {
      for (const tag of FILTER_TAGS) {
        filtered.push({
          filter: JSON.stringify({
            and: [
              { field: 'owner_id', op: 'eq', value: owner },
              { field: 'tags', op: 'hasAny', value: [tag] },
              { field: 'created_at', op: 'between', value: [day(from), day(today)] },
            ],
          }),
          sort: '-created_at',
          limit: '50',
        });
      }
    }
    const defaultList = { limit: '50' };
    return [
      {
        name: 'read by id',
        cairn: ids.map((r) => `/api/v1/contacts/${r.id}`),
        floor: ids.map((r) => [
          { text: 'select * from contacts where org_id = $1 and id = $2', params: [orgId, r.id] },
        ]),
      },
      {
        name: 'default list (50)',
        cairn: [listPath(defaultList)],
        floor: [await capture(parse(defaultList))],
      },
      {
        name: 'filtered page (owner + tag + 90 days)',
        cairn: filtered.map(listPath),
        floor: await Promise.all(filtered.map((f) => capture(parse(f)))),
      },
    ];
  } finally {
    await database.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Load

type Run = {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** Answers other than 2xx by status, e.g. `503x98`. */
  statuses: string;
  cpuMsPerReq: number;
};

async function drive(
  base: string,
  paths: string[],
  connections: number,
  seconds: number,
  pid: number,
  cookie?: string,
) {
  let i = 0;
  const cpu0 = cpuSeconds(pid);
  const result = await autocannon({
    url: base,
    connections,
    duration: seconds,
    timeout: 20,
    headers: cookie ? { cookie } : {},
    requests: [
      {
        method: 'GET',
        setupRequest: (req) => ({ ...req, path: paths[i++ % paths.length]! }),
      },
    ],
  });
  const cpu = cpuSeconds(pid) - cpu0;
  const total = result.requests.total;
  return {
    rps: total / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
    statuses: Object.entries(
      (result as unknown as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {},
    )
      .filter(([code]) => !code.startsWith('2'))
      .map(([code, { count }]) => `${code}x${count}`)
      .join(' '),
    cpuMsPerReq: total > 0 ? (cpu * 1000) / total : 0,
  } satisfies Run;
}

function spawnLogged(command: string, argv: string[], env: NodeJS.ProcessEnv, name: string): ChildProcess {
  const child = spawn(command, argv, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.on('data', (d: Buffer) => process.stderr.write(`[${name}] ${d}`));
  child.stdout?.resume();
  return child;
}

async function main() {
  log(
    `load bench: ${int(CONTACTS)} contacts, ${DURATION_S} s per run, connections ${CONNECTIONS.join(', ')}, Cairn workers ${WORKERS}`,
  );
  log('building the server (npm run build -w server)');
  execFileSync('npm', ['run', 'build', '-w', 'server'], { cwd: ROOT, stdio: 'ignore' });
  const fresh = await createDatabase();
  {
    const database = await openDatabase({ databaseUrl: DB_URL, poolSize: 2 });
    await migrate(database);
    await database.close();
  }
  const cairnPort = await freePort();
  const cairnBase = `http://127.0.0.1:${cairnPort}`;
  const cairn = spawnLogged(
    process.execPath,
    [...NODE_FLAGS, 'server/dist/main.js', 'serve', ...(WORKERS > 1 ? ['--workers', String(WORKERS)] : [])],
    {
      DATABASE_URL: DB_URL,
      PORT: String(cairnPort),
      HOST: '127.0.0.1',
      BASE_URL: cairnBase,
      SECRET: randomBytes(32).toString('hex'),
      LOG_LEVEL: 'warn',
      API_RATE_LIMIT_PER_MINUTE: '1000000000',
      SIGN_IN_PER_IP_PER_MINUTE: '1000',
      QUEUE_SCHEMA: 'pgboss_load',
    },
    'cairn',
  );
  let floor: ChildProcess | undefined;
  try {
    await waitFor(`${cairnBase}/ready`);
    if (fresh) {
      // Sign-up signs no one in (issue 22): the sign-in below opens the session.
      const signedUp = await fetch(`${cairnBase}/api/v1/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: cairnBase },
        body: JSON.stringify({
          organization_name: 'Load',
          name: 'Ada Admin',
          email: ADMIN_EMAIL,
          password: PASSWORD,
        }),
      });
      if (signedUp.status !== 202) throw new Error(`sign-up: ${signedUp.status} ${await signedUp.text()}`);
    }
    const res = await fetch(`${cairnBase}/api/auth/sign-in/email`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: cairnBase },
      body: JSON.stringify({ email: ADMIN_EMAIL, password: PASSWORD }),
    });
    if (!res.ok) throw new Error(`sign-up/in: ${res.status} ${await res.text()}`);
    const cookie = res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const me = (await (await fetch(`${cairnBase}/api/v1/me`, { headers: { cookie } })).json()) as {
      organization: { id: string };
    };
    const orgId = me.organization.id;
    // A load run reads millions of records in minutes, past the guard's records-read budget for
    // any role (which would rightly stop the reader with 403s): the bench raises it for its admin.
    const unlimited = { warn: 1_000_000_000, block: 1_000_000_000, window_seconds: 600 };
    const budgetRes = await fetch(`${cairnBase}/api/v1/guard/settings`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', origin: cairnBase, cookie },
      body: JSON.stringify({ role: 'admin', budgets: { read: unlimited, denied: unlimited } }),
    });
    if (!budgetRes.ok) throw new Error(`guard budgets: ${budgetRes.status} ${await budgetRes.text()}`);
    if (fresh) {
      log(`seeding ${int(CONTACTS)} contacts`);
      await seed(orgId);
    }
    const cases = (await buildCases(orgId)).filter((c) => !CASES || CASES.some((p) => c.name.startsWith(p)));
    const planFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'cairn-load-')), 'statements.json');
    writeFileSync(
      planFile,
      JSON.stringify({
        orgId,
        databaseUrl: DB_URL,
        cases: Object.fromEntries(cases.map((c) => [c.name, c.floor])),
      }),
    );
    const floorPort = await freePort();
    const floorBase = `http://127.0.0.1:${floorPort}`;
    floor = spawnLogged(
      process.execPath,
      ['--import', 'tsx', 'bench/load.floor.ts', planFile, String(floorPort)],
      {},
      'floor',
    );
    await waitFor(`${floorBase}/${encodeURIComponent(cases[0]!.name)}/0`);
    // Both answer the same rows: the first variant of each case, compared by id.
    for (const c of cases) {
      const a = (await (await fetch(`${cairnBase}${c.cairn[0]}`, { headers: { cookie } })).json()) as {
        id?: string;
        data?: { id: string }[];
      };
      const b = (await (await fetch(`${floorBase}/${encodeURIComponent(c.name)}/0`)).json()) as {
        data: { id: string }[];
      };
      const ia = a.data ? a.data.map((r) => r.id) : [a.id];
      const ib = b.data.map((r) => r.id).slice(0, ia.length);
      if (JSON.stringify(ia) !== JSON.stringify(ib)) {
        throw new Error(`${c.name}: Cairn and the floor disagree (${ia.length} vs ${b.data.length} rows)`);
      }
    }
    const results: { case: string; connections: number; floor: Run; cairn: Run }[] = [];
    for (const c of cases) {
      const floorPaths = c.floor.map((_, i) => `/${encodeURIComponent(c.name)}/${i}`);
      log(`${c.name}: warm-up`);
      await drive(floorBase, floorPaths, 10, 2, floor.pid!);
      await drive(cairnBase, c.cairn, 10, 2, cairn.pid!, cookie);
      for (const connections of CONNECTIONS) {
        const f = await drive(floorBase, floorPaths, connections, DURATION_S, floor.pid!);
        const k = await drive(cairnBase, c.cairn, connections, DURATION_S, cairn.pid!, cookie);
        results.push({ case: c.name, connections, floor: f, cairn: k });
        log(
          `${c.name} @${connections}: floor ${int(f.rps)} req/s p50 ${f.p50} p99 ${f.p99} ms, ` +
            `Cairn ${int(k.rps)} req/s p50 ${k.p50} p99 ${k.p99} ms, errors ${k.errors} ${k.statuses}/${f.errors}, ` +
            `ratio ${(k.rps / f.rps).toFixed(2)}x`,
        );
      }
    }
    const report = render(results);
    console.log(`\n${report}`);
    if (WRITE) {
      writeSection(report);
      log(`wrote ${path.relative(process.cwd(), RESULTS_FILE)}`);
    }
  } finally {
    // Waits for both to exit (a profile asked with --node-flags is written on exit).
    const exited = (child: ChildProcess | undefined) =>
      child && child.exitCode === null
        ? new Promise<void>((resolve) => {
            child.once('exit', () => resolve());
            setTimeout(resolve, 15_000).unref();
          })
        : Promise.resolve();
    cairn.kill('SIGTERM');
    floor?.kill('SIGTERM');
    await Promise.all([exited(cairn), exited(floor)]);
  }
}

function commitOf(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function render(results: { case: string; connections: number; floor: Run; cairn: Run }[]): string {
  const lines: string[] = [];
  const load = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ');
  lines.push(`## Load against the floor (\`bench/${SECTION}\`)`, '');
  lines.push(
    `${new Date().toISOString().slice(0, 16)} UTC, commit ${commitOf()}, ${os.cpus().length} cores, ` +
      `Node ${process.version}, ${int(CONTACTS)} contacts in one tenant, ${DURATION_S} s per run, ` +
      `Cairn \`serve\` with ${WORKERS} worker${WORKERS > 1 ? 's' : ''} (pool of 10 each), the floor one process ` +
      '(pool of 10), autocannon in a third process on the same cores. Load average at the end: ' +
      `${load}.`,
    '',
    'Read with care: on a machine shared with other work (the load average above, on 2 cores) every ' +
      "figure is far below PERFORMANCE.md's quiet-machine floor (3,075 req/s for the read by id) and " +
      'varies from run to run; CPU ms per request of each server process is the steadier comparison. ' +
      'Cairn answers 503 `statement_timeout` to a request that waited longer than ' +
      '`STATEMENT_TIMEOUT_MS` (5 s) for one of its 10 pool connections; the floor waits without limit.',
    '',
  );
  lines.push(
    '| case | conns | floor req/s | floor p50 / p99 ms | Cairn req/s | Cairn p50 / p99 ms | Cairn / floor | p99 ratio | errors (Cairn / floor) | CPU ms/req (Cairn / floor) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const r of results) {
    lines.push(
      `| ${r.case} | ${r.connections} | ${int(r.floor.rps)} | ${r.floor.p50} / ${r.floor.p99} | ${int(r.cairn.rps)} | ` +
        `${r.cairn.p50} / ${r.cairn.p99} | ${(r.cairn.rps / r.floor.rps).toFixed(2)}x | ` +
        `${(r.cairn.p99 / Math.max(1, r.floor.p99)).toFixed(2)}x | ` +
        `${r.cairn.errors}${r.cairn.statuses ? ` (${r.cairn.statuses})` : ''} / ${r.floor.errors} | ` +
        `${r.cairn.cpuMsPerReq.toFixed(2)} / ${r.floor.cpuMsPerReq.toFixed(2)} |`,
    );
  }
  const at = (n: number) => results.filter((r) => r.connections === n);
  const ok50 = at(50).every((r) => r.cairn.rps >= 0.7 * r.floor.rps);
  const ok200 = at(200).every((r) => r.cairn.p99 <= 2 * Math.max(1, r.floor.p99));
  const errors = results.reduce((n, r) => n + r.cairn.errors, 0);
  lines.push(
    '',
    `Goals: >= 0.7x the floor's req/s at 50 connections: ${at(50).length ? (ok50 ? 'PASS' : 'FAIL') : 'not run'}; ` +
      `p99 at 200 connections within 2x the floor's: ${at(200).length ? (ok200 ? 'PASS' : 'FAIL') : 'not run'}; ` +
      `0 errors: ${errors === 0 ? 'PASS' : `FAIL (${errors})`}.`,
  );
  return lines.join('\n');
}

// A run with --workers=N > 1 keeps its own section next to the one-process run.
const SECTION = WORKERS > 1 ? `load.bench.ts --workers=${WORKERS}` : 'load.bench.ts';
const START = `<!-- ${SECTION}:start -->`;
const END = `<!-- ${SECTION}:end -->`;

/** Replaces this benchmark's section of RESULTS.md (other sections stay). */
function writeSection(report: string): void {
  const current = existsSync(RESULTS_FILE) ? readFileSync(RESULTS_FILE, 'utf8') : '# Benchmark results\n';
  const section = `${START}\n${report}\n${END}`;
  const a = current.indexOf(START);
  const b = current.indexOf(END);
  const next =
    a !== -1 && b > a
      ? current.slice(0, a) + section + current.slice(b + END.length)
      : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(RESULTS_FILE, next);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
