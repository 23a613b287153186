/**
 * Contacts benchmark: 2,000,000 contacts (one tenant with 1,000,000, 1,000 tenants with 1,000 each)
 * in a PostgreSQL server database of its own, then list, search and read latencies measured both as
 * the SQL Cairn runs (in a tenant transaction) and through Cairn's real HTTP API on loopback.
 *
 *   npx tsx bench/contacts.bench.ts [--reuse] [--n=200] [--budget=60] [--url=postgres://host:port]
 *
 * `--reuse` keeps `cairn_bench` when it already holds the data (otherwise it is dropped and
 * recreated). `--budget` caps the seconds one case may take on one path: a case whose warm-up
 * median times N would exceed it runs fewer timed requests (at least 30), and says so.
 * Prints the figures and rewrites its section of bench/RESULTS.md. Exits 0 whatever the figures.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { type SQL, sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { buildApp } from '../server/src/app.js';
import { loadConfig } from '../server/src/config.js';
import { type Database, openDatabase } from '../server/src/db/client.js';
import { migrate } from '../server/src/db/migrate.js';
import { type TenantContext, withTenant } from '../server/src/db/tenant.js';
import { listPage } from '../server/src/modules/records/record-list.service.js';
import type { ListQuery } from '../server/src/platform/query/query.schema.js';
import { objectDef } from '../server/src/platform/registry/registry.service.js';
import type { ObjectDef } from '../server/src/platform/registry/registry.types.js';
import { STANDARD_OBJECTS } from '../server/src/platform/registry/standard-objects.js';
import { createServices } from '../server/src/runtime.js';
import { signUpByFetch } from '../server/test/kit/sign-up.js';
import { loadAverageNote } from './machine.js';
import { DOMAINS, FIRST_NAMES, LAST_NAMES, NAME_FRAGMENTS, REGIONS, TAGS } from './names.js';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const RESULTS_FILE = path.join(BENCH_DIR, 'RESULTS.md');
const PLANS_FILE = path.join(BENCH_DIR, 'contacts.plans.txt');
const DB_NAME = 'cairn_bench';
const ADMIN_EMAIL = 'admin@bench-big.test';
const PASSWORD = 'Bench-pass-1';
const args = process.argv.slice(2);
const arg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
/** `--scale=0.01` for a quick smoke run (RESULTS.md is then left alone). */
const SCALE = Number(arg('scale') ?? 1);
const BIG_CONTACTS = Math.round(1_000_000 * SCALE);
const SMALL_TENANTS = Math.max(1, Math.round(1_000 * SCALE));
const SMALL_CONTACTS = 1_000; // each
const BIG_OWNERS = 20;
const CHUNK = 100_000;
const WARMUP = 20;
const MIN_N = 30;
const FILTER_TAGS = ['vip', 'lead', 'customer', 'partner'];

const REUSE = args.includes('--reuse');
const N = Number(arg('n') ?? 200);
const BUDGET_MS = Number(arg('budget') ?? 60) * 1000;
/** The PostgreSQL server, without a database name. */
const SERVER_URL = (arg('url') ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/+$/, '');
const DB_URL = `${SERVER_URL}/${DB_NAME}`;

const log = (...parts: unknown[]) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...parts);
const fmt = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0));
const int = (n: number) => Math.round(n).toLocaleString('en-US');

// ---------------------------------------------------------------------------------------------
// Environment

type Environment = {
  date: string;
  commit: string;
  cpu: string;
  cores: number;
  ramGb: number;
  postgres: string;
  node: string;
};

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    return line?.split(':')[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  } catch {
    return os.cpus()[0]?.model ?? 'unknown';
  }
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: BENCH_DIR, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

// ---------------------------------------------------------------------------------------------
// Database creation and data

/** Drops and recreates cairn_bench (only that database), unless --reuse finds it loaded. */
async function prepareDatabase(): Promise<{ reused: boolean }> {
  const admin = new pg.Client({ connectionString: `${SERVER_URL}/postgres` });
  await admin.connect();
  try {
    const exists =
      (await admin.query('select 1 from pg_database where datname = $1', [DB_NAME])).rowCount! > 0;
    if (REUSE && exists && (await isLoaded())) return { reused: true };
    if (exists) await admin.query(`drop database ${DB_NAME} with (force)`);
    await admin.query(`create database ${DB_NAME}`);
    return { reused: false };
  } finally {
    await admin.end();
  }
}

async function isLoaded(): Promise<boolean> {
  const c = new pg.Client({ connectionString: DB_URL });
  await c.connect();
  try {
    const r = await c.query(
      `select (select count(*) from contacts)::int as contacts,
              (select count(*) from users where email = $1)::int as admins`,
      [ADMIN_EMAIL],
    );
    return r.rows[0].contacts === BIG_CONTACTS + SMALL_TENANTS * SMALL_CONTACTS && r.rows[0].admins === 1;
  } catch {
    return false;
  } finally {
    await c.end();
  }
}

type SetupTimings = { step: string; ms: number; rows?: number }[];

/**
 * Creates the tenants, owners, custom fields, tags, contacts and contact_emails. The big tenant
 * (`bigOrgId`, created through the sign-up API) gets 1,000,000 contacts and 20 owners; 1,000 other
 * tenants get 1,000 contacts and 1..10 owners each. Rows are generated server-side
 * (INSERT ... SELECT FROM generate_series) in chunks of 100,000.
 */
async function loadData(database: Database, bigOrgId: string, timings: SetupTimings): Promise<void> {
  await database.withConnection(async (conn) => {
    const step = async (name: string, text: string, params?: unknown[]) => {
      const t = performance.now();
      await conn.query(text, params);
      timings.push({ step: name, ms: performance.now() - t });
    };
    await conn.query('select setseed(0.4242)');
    await step(
      'tenants, owners, custom fields, tags',
      `
      create temp table bench_orgs (idx int primary key, org_id uuid not null, n_owners int not null);
      insert into bench_orgs values (0, '${bigOrgId}', ${BIG_OWNERS});
      insert into bench_orgs select i, gen_random_uuid(), 1 + (i * 7) % 10 from generate_series(1, ${SMALL_TENANTS}) i;
      insert into organizations (id, name, slug, created_at)
        select org_id, 'Tenant ' || idx, 'bench-tenant-' || idx, now() - interval '3 years'
          from bench_orgs where idx > 0;
      create temp table bench_owners (org_idx int, no int, user_id uuid not null, primary key (org_idx, no));
      insert into bench_owners
        select o.idx, n, gen_random_uuid() from bench_orgs o, generate_series(0, o.n_owners - 1) n;
      insert into users (id, name, email, email_verified)
        select w.user_id,
               (${pgArray(FIRST_NAMES)})[1 + (w.org_idx * 31 + w.no * 7) % ${FIRST_NAMES.length}] || ' ' ||
               (${pgArray(LAST_NAMES)})[1 + (w.org_idx * 17 + w.no * 13) % ${LAST_NAMES.length}],
               'owner' || w.no || '.t' || w.org_idx || '@bench.test', true
          from bench_owners w;
      insert into members (organization_id, user_id, role)
        select o.org_id, w.user_id, 'user' from bench_owners w join bench_orgs o on o.idx = w.org_idx;
      insert into custom_fields (org_id, object, key, label, type, options, position)
        select o.org_id, 'contact', f.key, f.label, f.type, f.options::jsonb, f.pos
          from bench_orgs o,
               (values ('score', 'Score', 'number', null, 0),
                       ('tier', 'Tier', 'select',
                        '[{"value":"gold","label":"Gold"},{"value":"silver","label":"Silver"},{"value":"bronze","label":"Bronze"}]', 1),
                       ('region', 'Region', 'text', null, 2)) as f(key, label, type, options, pos);
      insert into tags (org_id, name) select o.org_id, t from bench_orgs o, unnest(${pgArray(TAGS)}) t;
      `,
    );
    // One statement per chunk: the contacts, then their contact_emails rows from RETURNING.
    const insertChunk = `
      with s as materialized (
        select g,
               case when $3::int = 0 then 0 else (g - 1) / ${SMALL_CONTACTS} + 1 end as oi,
               random() as r_fn, random() as r_ln, random() as r_dom, random() as r_ph, random() as r_nt,
               random() as r_t1, random() as r_d2, random() as r_d3, random() as r_own, random() as r_cr,
               random() as r_up, random() as r_sc, random() as r_ti, random() as r_re
          from generate_series($1::int, $2::int) g
      ), x as (
        select s.*,
               ($4::text[])[1 + floor(r_fn * ${FIRST_NAMES.length})::int] as fn,
               ($5::text[])[1 + floor(r_ln * ${LAST_NAMES.length})::int] as ln,
               '+1555' || lpad(floor(r_ph * 10000000)::int::text, 7, '0') as phone,
               floor(r_nt * 4)::int as nt, floor(r_t1 * 30)::int as t1,
               1 + floor(r_d2 * 14)::int as d2, 15 + floor(r_d3 * 15)::int as d3,
               now() - r_cr * interval '3 years' as created_at
          from s
      ), ins as (
        insert into contacts (org_id, first_name, last_name, email, emails, phone, phones, tags, owner_id,
                              source, custom, created_at, updated_at)
        select o.org_id, x.fn, x.ln, e.email,
               jsonb_build_array(jsonb_build_object('value', e.email, 'primary', true)),
               x.phone,
               jsonb_build_array(jsonb_build_object('e164', x.phone, 'raw', x.phone, 'primary', true)),
               case x.nt
                 when 0 then '{}'::text[]
                 when 1 then array[($6::text[])[1 + x.t1]]
                 when 2 then array[($6::text[])[1 + x.t1], ($6::text[])[1 + (x.t1 + x.d2) % 30]]
                 else array[($6::text[])[1 + x.t1], ($6::text[])[1 + (x.t1 + x.d2) % 30],
                            ($6::text[])[1 + (x.t1 + x.d3) % 30]]
               end,
               w.user_id, 'import',
               jsonb_build_object('score', floor(x.r_sc * 100)::int,
                                  'tier', (array['gold', 'silver', 'bronze'])[1 + floor(x.r_ti * 3)::int],
                                  'region', ($8::text[])[1 + floor(x.r_re * ${REGIONS.length})::int]),
               x.created_at, x.created_at + (now() - x.created_at) * x.r_up
          from x
          join bench_orgs o on o.idx = x.oi
          join bench_owners w on w.org_idx = x.oi and w.no = floor(x.r_own * o.n_owners)::int
          cross join lateral (
            select lower(x.fn || '.' || x.ln || x.g || '@' || ($7::text[])[1 + floor(x.r_dom * ${DOMAINS.length})::int])
              as email
          ) e
        returning org_id, id, email
      )
      insert into contact_emails (org_id, contact_id, email, active) select org_id, id, email, true from ins`;
    const vocab = [FIRST_NAMES, LAST_NAMES, TAGS, DOMAINS, REGIONS];
    const total = BIG_CONTACTS + SMALL_TENANTS * SMALL_CONTACTS;
    const t0 = performance.now();
    for (const [kind, count] of [
      [0, BIG_CONTACTS],
      [1, SMALL_TENANTS * SMALL_CONTACTS],
    ] as const) {
      for (let start = 1; start <= count; start += CHUNK) {
        const end = Math.min(count, start + CHUNK - 1);
        const t = performance.now();
        await conn.query(insertChunk, [start, end, kind, ...vocab]);
        const ms = performance.now() - t;
        log(
          `  contacts ${kind === 0 ? 'big tenant' : 'small tenants'} ${int(end)}/${int(count)}:`,
          `${int((end - start + 1) / (ms / 1000))} rows/s`,
        );
      }
    }
    timings.push({
      step: 'contacts + contact_emails (INSERT ... SELECT)',
      ms: performance.now() - t0,
      rows: total,
    });
    await step('VACUUM (ANALYZE) contacts, contact_emails', 'vacuum (analyze) contacts, contact_emails');
    await step('ANALYZE (whole database)', 'analyze');
  });
}

function pgArray(values: readonly string[]): string {
  return `array[${values.map((v) => `'${v.replace(/'/g, "''")}'`).join(',')}]::text[]`;
}

// ---------------------------------------------------------------------------------------------
// HTTP

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

function cookieOf(res: Response): string {
  return res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
}

async function postJson(baseUrl: string, route: string, body: unknown): Promise<Response> {
  return fetch(`${baseUrl}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: baseUrl },
    body: JSON.stringify(body),
  });
}

async function getJson(baseUrl: string, route: string, cookie: string): Promise<unknown> {
  const res = await fetch(`${baseUrl}${route}`, { headers: { cookie } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${route} -> ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

// ---------------------------------------------------------------------------------------------
// Measurement

type Stats = {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  /** Statements sent to PostgreSQL per request (BEGIN, set_config, COMMIT included), all pools. */
  queries: number;
  /** The request index of the slowest timed call (to explain it). */
  slowest: number;
  note?: string;
};

/** Counts every statement any pg client of this process sends (the server's pool included). */
let queryCount = 0;
{
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    queryCount++;
    return original.apply(this, args);
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** 20 warm-up calls (fewer when slow), then N timed calls (fewer when N would exceed the budget). */
async function measure(label: string, fn: (i: number) => Promise<unknown>): Promise<Stats> {
  const warm: number[] = [];
  const start = performance.now();
  let i = 0;
  while (warm.length < WARMUP && (warm.length < 3 || performance.now() - start < BUDGET_MS / 4)) {
    const t = performance.now();
    await fn(i++);
    warm.push(performance.now() - t);
  }
  const warmMedian = percentile(
    [...warm].sort((a, b) => a - b),
    0.5,
  );
  const n = Math.min(N, Math.max(MIN_N, Math.floor(BUDGET_MS / Math.max(warmMedian, 0.001))));
  const times: number[] = [];
  let slowest = i;
  let slowestMs = -1;
  const queriesBefore = queryCount;
  for (let k = 0; k < n; k++) {
    const t = performance.now();
    await fn(i);
    const ms = performance.now() - t;
    if (ms > slowestMs) [slowest, slowestMs] = [i, ms];
    times.push(ms);
    i++;
  }
  const queries = (queryCount - queriesBefore) / n;
  times.sort((a, b) => a - b);
  const stats: Stats = {
    n,
    queries,
    slowest,
    p50: percentile(times, 0.5),
    p95: percentile(times, 0.95),
    p99: percentile(times, 0.99),
    ...(warm.length < WARMUP || n < N ? { note: `warm-up ${warm.length}, N=${n} (budget)` } : {}),
  };
  log(
    `  ${label}: N=${n} p50 ${fmt(stats.p50)} p95 ${fmt(stats.p95)} p99 ${fmt(stats.p99)} ms,`,
    `${queries.toFixed(1)} statements/request, slowest #${slowest} ${fmt(slowestMs)} ms`,
  );
  return stats;
}

type Row = { case: string; path: 'SQL' | 'API'; stats: Stats; target?: { p95: number; text: string } };

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const env: Environment = {
    date: `${new Date().toISOString().replace('T', ' ').slice(0, 16)} UTC`,
    commit: gitCommit(),
    cpu: cpuModel(),
    cores: os.cpus().length,
    ramGb: Math.round(os.totalmem() / 2 ** 30),
    postgres: '',
    node: process.version,
  };
  const setupStart = performance.now();
  const timings: SetupTimings = [];

  log(`database ${DB_NAME} on ${SERVER_URL}${REUSE ? ' (--reuse)' : ''}`);
  let t = performance.now();
  const { reused } = await prepareDatabase();
  timings.push({
    step: reused ? 'reuse the loaded database' : 'drop + create database',
    ms: performance.now() - t,
  });

  t = performance.now();
  const database = await openDatabase({ databaseUrl: DB_URL });
  const applied = await migrate(database);
  timings.push({ step: `migrate (${applied.length} applied)`, ms: performance.now() - t });
  env.postgres = (
    (await database.raw.query<{ v: string }>('select current_setting($1) as v', ['server_version'])).rows[0]
      ?.v ?? 'unknown'
  ).split(' ')[0]!;

  // Cairn's real HTTP server on the same database.
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-'));
  const config = loadConfig({
    DATABASE_URL: DB_URL,
    SECRET: 'x'.repeat(40),
    LOG_LEVEL: 'warn',
    DATA_DIR: dataDir,
    BASE_URL: baseUrl,
    SIGN_IN_PER_IP_PER_MINUTE: '1000',
    API_RATE_LIMIT_PER_MINUTE: '1000000',
    ANON_RATE_LIMIT_PER_MINUTE: '1000000',
    QUEUE_SCHEMA: 'pgboss_bench',
  });
  const services = await createServices({ config });
  await services.jobs.start({ worker: false });
  const { app } = await buildApp(services);
  await app.listen({ port, host: '127.0.0.1' });
  log(`Cairn listening on ${baseUrl}`);

  let cookie: string;
  let bigOrgId: string;
  try {
    t = performance.now();
    if (!reused) {
      ({ cookie, orgId: bigOrgId } = await signUpByFetch(baseUrl, {
        organization_name: 'Big Tenant',
        name: 'Bench Admin',
        email: ADMIN_EMAIL,
        password: PASSWORD,
      }));
    } else {
      const res = await postJson(baseUrl, '/api/auth/sign-in/email', {
        email: ADMIN_EMAIL,
        password: PASSWORD,
      });
      if (res.status !== 200) throw new Error(`sign-in -> ${res.status}: ${await res.text()}`);
      cookie = cookieOf(res);
      const me = (await getJson(baseUrl, '/api/v1/me', cookie)) as { organization: { id: string } };
      bigOrgId = me.organization.id;
    }
    timings.push({
      step: reused ? 'sign in (API)' : 'sign up the big tenant (API)',
      ms: performance.now() - t,
    });

    if (!reused) await loadData(database, bigOrgId, timings);
    const setupMs = performance.now() - setupStart;
    log(`setup done in ${(setupMs / 1000).toFixed(1)} s`);

    const indexes = (
      await database.raw.query<{ indexname: string; indexdef: string }>(
        `select indexname, indexdef from pg_indexes where tablename = 'contacts' order by indexname`,
      )
    ).rows;
    const sizes = (
      await database.raw.query<{ table: string; total: string }>(
        `select pg_size_pretty(pg_total_relation_size('contacts')) as table,
                pg_size_pretty(pg_database_size(current_database())) as total`,
      )
    ).rows[0]!;
    log(`indexes on contacts: ${indexes.map((i) => i.indexname).join(', ')}`);

    // ------------------------------------------------------------------- inputs for the cases
    const ctx: TenantContext = { orgId: bigOrgId, actor: { type: 'system', id: null } };
    const owners = (
      await database.raw.query<{ user_id: string }>(
        `select m.user_id from members m where m.organization_id = $1 and m.role = 'user' order by m.user_id`,
        [bigOrgId],
      )
    ).rows.map((r) => r.user_id);
    const sample = (
      await database.raw.query<{
        id: string;
        created_at: string;
        first_name: string;
        last_name: string;
        phone: string;
      }>(
        `select id, created_at::text as created_at, first_name, last_name, phone
           from contacts tablesample bernoulli (0.1) repeatable (7)
          where org_id = $1 limit 1000`,
        [bigOrgId],
      )
    ).rows;
    const object: ObjectDef = await withTenant(database, ctx, (s) => objectDef(s.tx, bigOrgId, 'contact'));
    const customCount = object.fields.length - STANDARD_OBJECTS.contact!.fields.length;
    log(`registry: contact = standard fields + ${customCount} custom fields of the tenant`);

    const day = (d: Date) => d.toISOString().slice(0, 10);
    const today = new Date();
    const from = new Date(today.getTime() - 90 * 86_400_000);
    const filteredQuery = (i: number): ListQuery => ({
      filter: {
        and: [
          { field: 'owner_id', op: 'eq', value: owners[i % owners.length]! },
          {
            field: 'tags',
            op: 'hasAny',
            value: [FILTER_TAGS[Math.floor(i / owners.length) % FILTER_TAGS.length]!],
          },
          { field: 'created_at', op: 'between', value: [day(from), day(today)] },
        ],
      },
      sort: [{ field: 'created_at', direction: 'desc' }],
      limit: 50,
    });
    const pick = <T>(list: readonly T[], i: number) => list[(i * 7919) % list.length]!;
    const nameFragment = (i: number) => {
      if (i % 2 === 0) return NAME_FRAGMENTS[(i / 2) % NAME_FRAGMENTS.length]!;
      const s = pick(sample, i);
      const name = (i % 4 === 1 ? s.last_name : s.first_name).toLowerCase();
      return name.slice(0, Math.min(name.length, 4 + (i % 2)));
    };
    const emailFragment = (i: number) => {
      const s = pick(sample, i);
      return `${s.first_name}.${s.last_name}`.toLowerCase();
    };
    const phoneFragment = (i: number) => {
      const digits = pick(sample, i).phone.slice(5); // the 7 digits after +1555
      const len = 4 + (i % 3);
      const at = i % (digits.length - len + 1);
      return digits.slice(at, at + len);
    };

    // The SQL Cairn's list route runs: captured from Cairn's own listPage
    // (modules/records/record-list.service.ts), which builds it with compileListQuery from the same
    // registry entry (STANDARD_OBJECTS.contact + the tenant's custom fields), so a change of the
    // search design is measured as it is. Captured without running (execute is intercepted), then
    // replayed in the same kind of tenant transaction (withTenant, as cairn_app).
    const captureList = async (query: ListQuery, run = false): Promise<SQL[]> => {
      const statements: SQL[] = [];
      await withTenant(database, ctx, async (scope) => {
        const tx = new Proxy(scope.tx, {
          get(target, prop) {
            if (prop === 'execute') {
              return (q: SQL) => {
                statements.push(q);
                return run ? target.execute(q) : Promise.resolve({ rows: [] });
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
    const runSql = (statements: SQL[]) =>
      withTenant(database, ctx, async (s) => {
        let last: unknown;
        for (const q of statements) last = await s.tx.execute(q);
        return last as { rows: { id: string }[] };
      });
    const listUrl = (query: ListQuery) => {
      const p = new URLSearchParams();
      if (query.filter) p.set('filter', JSON.stringify(query.filter));
      if (query.sort)
        p.set('sort', query.sort.map((s) => (s.direction === 'desc' ? '-' : '') + s.field).join(','));
      if (query.q !== undefined) p.set('q', query.q);
      p.set('limit', String(query.limit ?? 50));
      return `/api/v1/contacts?${p}`;
    };
    const apiList = async (query: ListQuery) =>
      (await getJson(baseUrl, listUrl(query), cookie)) as { data: { id: string }[] };

    type ListCase = { name: string; query: (i: number) => ListQuery; target: { p95: number; text: string } };
    const listCases: ListCase[] = [
      {
        name: 'a. filtered page (owner + tag + 90 days, newest first)',
        query: filteredQuery,
        target: { p95: 50, text: 'p95 < 50 ms' },
      },
      {
        name: 'b1. q name fragment',
        query: (i) => ({ q: nameFragment(i), limit: 50 }),
        target: { p95: 100, text: 'p95 < 100 ms' },
      },
      {
        name: 'b2. q e-mail fragment',
        query: (i) => ({ q: emailFragment(i), limit: 50 }),
        target: { p95: 100, text: 'p95 < 100 ms' },
      },
      {
        name: 'b3. q phone fragment (4-6 digits)',
        query: (i) => ({ q: phoneFragment(i), limit: 50 }),
        target: { p95: 100, text: 'p95 < 100 ms' },
      },
    ];

    const rows: Row[] = [];
    const checks: string[] = [];
    const plans: string[] = [];
    const explain = async (label: string, statements: SQL[]) => {
      plans.push(`=== ${label}\n${await explainStatements(bigOrgId, statements)}`);
    };

    for (const lc of listCases) {
      log(lc.name);
      // Same rows from the API as from the SQL? (guards against measuring a different query)
      const probe = lc.query(0);
      const captured = await captureList(probe);
      const capturedRunning = await captureList(probe, true);
      const sameStatements =
        captured.length === capturedRunning.length &&
        captured.every((q, k) => sameQuery(q, capturedRunning[k]!));
      const [viaSql, viaApi] = [await runSql(captured), await apiList(probe)];
      const sqlIds = viaSql.rows.slice(0, 50).map((r) => r.id);
      const apiIds = viaApi.data.map((r) => r.id);
      const same = sqlIds.length === apiIds.length && sqlIds.every((id, k) => id === apiIds[k]);
      checks.push(
        `${lc.name}: ${same ? 'same' : 'DIFFERENT'} rows (${apiIds.length} on the first page)` +
          `${sameStatements ? '' : ', capture differs when run (statements depend on results)'}` +
          `${captured.length === 1 ? '' : `, ${captured.length} statements`}`,
      );
      await explain(`${lc.name} ${JSON.stringify(probe)}`, captured);
      const prepared: SQL[][] = [];
      for (let i = 0; i < WARMUP + N; i++) prepared.push(await captureList(lc.query(i)));
      const sqlStats = await measure('SQL', (i) => runSql(prepared[i % prepared.length]!));
      rows.push({ case: lc.name, path: 'SQL', stats: sqlStats, target: lc.target });
      const slow = lc.query(sqlStats.slowest);
      await explain(
        `${lc.name}, the slowest timed SQL request ${JSON.stringify(slow)}`,
        await captureList(slow),
      );
      rows.push({
        case: lc.name,
        path: 'API',
        stats: await measure('API', (i) => apiList(lc.query(i))),
        target: lc.target,
      });
    }

    log('c. single contact read');
    const readSql = (id: string) => sql`select * from contacts where org_id = ${bigOrgId} and id = ${id}`;
    await explain('c. single contact read', [readSql(sample[0]!.id)]);
    rows.push({
      case: 'c. single contact read',
      path: 'SQL',
      stats: await measure('SQL', (i) => runSql([readSql(pick(sample, i).id)])),
      target: { p95: 10, text: 'p95 < 10 ms' },
    });
    rows.push({
      case: 'c. single contact read',
      path: 'API',
      stats: await measure('API', (i) => getJson(baseUrl, `/api/v1/contacts/${pick(sample, i).id}`, cookie)),
      target: { p95: 10, text: 'p95 < 10 ms' },
    });

    log('d. keyset page floor');
    // contacts_created_idx is (org_id, created_at DESC, id DESC) (NULLS FIRST, PostgreSQL's default
    // for DESC and what Cairn's compiler writes): the floor is the bare keyset page in that order.
    const keysetSql = (s: { created_at: string; id: string }) =>
      sql`select * from contacts
           where org_id = ${bigOrgId} and archived_at is null
             and (created_at, id) < (${s.created_at}::timestamptz, ${s.id}::uuid)
           order by created_at desc, id desc limit 51`;
    const floorName = 'd. keyset page of 50 by (created_at, id) desc, raw SQL (floor)';
    log(floorName);
    await explain(floorName, [keysetSql(sample[0]!)]);
    rows.push({
      case: floorName,
      path: 'SQL',
      stats: await measure('SQL', (i) => runSql([keysetSql(pick(sample, i))])),
    });

    // ------------------------------------------------------------------- report
    const report = renderReport({ env, timings, setupMs, indexes, sizes, rows, checks, reused });
    console.log(`\n${report}`);
    if (SCALE === 1) writeSection(report);
    writeFileSync(
      PLANS_FILE,
      `# Plans of ${env.date} (auto_explain, analyze + buffers, nested statements; as cairn_app)\n\n${plans.join('\n')}`,
    );
    log(
      `wrote ${path.relative(process.cwd(), RESULTS_FILE)} and ${path.relative(process.cwd(), PLANS_FILE)}`,
    );
  } finally {
    await app.close();
    await services.jobs.stop();
    await services.database.close();
    await database.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Plans

const dialect = new PgDialect();

function sameQuery(a: SQL, b: SQL): boolean {
  const x = dialect.sqlToQuery(a);
  const y = dialect.sqlToQuery(b);
  return x.sql === y.sql && JSON.stringify(x.params) === JSON.stringify(y.params);
}

/**
 * Runs the statements in a tenant transaction as cairn_app (as withTenant does) with auto_explain
 * logging every plan, nested ones included (the search function's own query), analyzed.
 */
async function explainStatements(orgId: string, statements: SQL[]): Promise<string> {
  const client = new pg.Client({ connectionString: DB_URL });
  await client.connect();
  const notices: string[] = [];
  client.on('notice', (n) => notices.push(n.message ?? ''));
  try {
    await client.query(`load 'auto_explain'`);
    for (const setting of [
      'auto_explain.log_min_duration = 0',
      'auto_explain.log_analyze = on',
      'auto_explain.log_buffers = on',
      'auto_explain.log_nested_statements = on',
      'client_min_messages = log',
    ]) {
      await client.query(`set ${setting}`);
    }
    await client.query('begin');
    await client.query(`select set_config('role', 'cairn_app', true), set_config('app.org_id', $1, true)`, [
      orgId,
    ]);
    notices.length = 0;
    for (const statement of statements) {
      const q = dialect.sqlToQuery(statement);
      await client.query(q.sql, q.params);
    }
    await client.query('commit');
  } finally {
    await client.end();
  }
  return `${notices.filter((n) => !n.includes("set_config('role'")).join('\n\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Report

function renderReport(r: {
  env: Environment;
  timings: SetupTimings;
  setupMs: number;
  indexes: { indexname: string }[];
  sizes: { table: string; total: string };
  rows: Row[];
  checks: string[];
  reused: boolean;
}): string {
  const { env } = r;
  const lines: string[] = [];
  lines.push(`## Contacts (\`bench/contacts.bench.ts\`)`, '');
  lines.push(
    `Run ${env.date}, commit \`${env.commit}\` (working tree as it was), ${env.cpu}, ${env.cores} cores, ` +
      `${env.ramGb} GB RAM, PostgreSQL ${env.postgres} (server), Node ${env.node}; ${loadAverageNote()}.`,
    '',
  );
  lines.push(
    `Data: ${int(BIG_CONTACTS + SMALL_TENANTS * SMALL_CONTACTS)} contacts: one tenant with ${int(BIG_CONTACTS)} ` +
      `(${BIG_OWNERS} owners), ${int(SMALL_TENANTS)} tenants with ${int(SMALL_CONTACTS)} each (1-10 owners); ` +
      `0-3 tags of 30, 3 custom fields, created over 3 years; contacts table ${r.sizes.table}, ` +
      `database ${r.sizes.total}. Indexes on contacts (Cairn's migrations only): ` +
      `${r.indexes.map((i) => `\`${i.indexname}\``).join(', ')}.`,
    '',
  );
  lines.push('Setup:', '');
  lines.push('| step | time | rate |', '|---|---:|---:|');
  for (const s of r.timings) {
    lines.push(
      `| ${s.step} | ${(s.ms / 1000).toFixed(1)} s | ${s.rows ? `${int(s.rows / (s.ms / 1000))} rows/s` : ''} |`,
    );
  }
  lines.push(
    `| **total setup**${r.reused ? ' (reused)' : ''} | **${(r.setupMs / 1000).toFixed(1)} s** | ` +
      `${r.setupMs > 360_000 ? 'over 6 min' : ''} |`,
    '',
  );
  lines.push(
    `Latency, ms, single sequential client, warm (${WARMUP} warm-up, then N timed; SQL = the statement ` +
      `the API runs, in a tenant transaction as \`cairn_app\`; API = real HTTP on loopback, same process):`,
    '',
  );
  lines.push(
    '| case | path | N | p50 | p95 | p99 | statements/req | target | result |',
    '|---|---|---:|---:|---:|---:|---:|---|---|',
  );
  const verdict = (ok: boolean) => (ok ? 'PASS' : '**FAIL**');
  for (const row of r.rows) {
    const s = row.stats;
    lines.push(
      `| ${row.case} | ${row.path} | ${s.n} | ${fmt(s.p50)} | ${fmt(s.p95)} | ${fmt(s.p99)} | ` +
        `${s.queries.toFixed(1)} | ` +
        `${row.target?.text ?? (row.case.startsWith('d.') ? 'floor' : 'reference')} | ${row.target ? verdict(s.p95 < row.target.p95) : ''}` +
        `${s.note ? ` (${s.note})` : ''} |`,
    );
  }
  lines.push('', 'API / SQL (target API <= 2x SQL):', '');
  lines.push('| case | median ratio | p95 ratio | result |', '|---|---:|---:|---|');
  const cases = [...new Set(r.rows.map((x) => x.case))];
  for (const c of cases) {
    const s = r.rows.find((x) => x.case === c && x.path === 'SQL')?.stats;
    const a = r.rows.find((x) => x.case === c && x.path === 'API')?.stats;
    if (!s || !a) continue;
    const m = a.p50 / s.p50;
    const p = a.p95 / s.p95;
    lines.push(`| ${c} | ${m.toFixed(2)}x | ${p.toFixed(2)}x | ${verdict(m <= 2 && p <= 2)} |`);
  }
  lines.push('', `Same rows from the SQL as from the API (first request): ${r.checks.join('; ')}.`);
  lines.push(
    '',
    'statements/req: statements sent to PostgreSQL per request, BEGIN / set_config / COMMIT and the ' +
      'session check included. Query plans of this run (the first and the slowest request of each case): ' +
      '`bench/contacts.plans.txt`.',
  );
  return lines.join('\n');
}

const START = '<!-- contacts.bench.ts:start -->';
const END = '<!-- contacts.bench.ts:end -->';

/** Replaces this benchmark's section of RESULTS.md (other sections stay), creating the file if needed. */
function writeSection(report: string): void {
  const header =
    '# Benchmark results\n\nWritten by the scripts in `bench/` (see `bench/README.md`); each script ' +
    'rewrites its own section only.\n';
  const current = existsSync(RESULTS_FILE) ? readFileSync(RESULTS_FILE, 'utf8') : header;
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
