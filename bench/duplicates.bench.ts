/**
 * Duplicates benchmark (issue 18): one tenant with 1,000,000 contacts on the PostgreSQL server
 * (database `cairn_bench_dups`, recreated each run), many sharing a last name (the ~200 last names of
 * bench/names.ts, so blocks of about 5,000), with planted duplicates: 2% share an e-mail up to its `+tag`, 2% a
 * phone, and first names with near spellings (Jon / John / Jonathan...).
 *
 * Measures, through Cairn's real HTTP API on loopback:
 *   - the full background scan (the `duplicates.refresh` job's work, run in this process), and
 *     meanwhile `/health` and a contact read every 100 ms from a second client: their worst and
 *     p95 latency say whether the scan blocks other requests;
 *   - the first page of duplicate groups, single client, warm: target p95 < 200 ms;
 *   - the refresh after 1,000 contacts change (their events' consumer marks them, the job
 *     recomputes them);
 * and, as the floor in the same run, `select count(*)` over the tenant's contacts (one pass).
 *
 *   npx tsx bench/duplicates.bench.ts [--contacts=1000000] [--n=200] [--url=postgres://host:port]
 *
 * Prints the figures and rewrites its section of bench/RESULTS.md (not with --contacts below
 * 1,000,000). Exits 0 whatever the figures.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { refreshDuplicates } from '../server/src/modules/merges/duplicate-scan.service.js';
import { signUpBench, startBenchServer } from './bench-server.js';
import { commitOf, loadAverageNote } from './machine.js';
import { DOMAINS, FIRST_NAMES, LAST_NAMES } from './names.js';

const args = process.argv.slice(2);
const arg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const N = Number(arg('n') ?? 200);
const CONTACTS = Number(arg('contacts') ?? 1_000_000);
const SERVER_URL = (arg('url') ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/+$/, '');
const DB_NAME = 'cairn_bench_dups';
const CHUNK = 100_000;
const RESULTS_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'RESULTS.md');
/** Near spellings of a first name, so similar names exist in every block. */
const VARIANTS = ['', 'n', 'h', 'a', 'e'];

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};
const fmt = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0));
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const log = (...parts: unknown[]) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...parts);
const pgArray = (xs: readonly string[]) => `array[${xs.map((x) => `'${x.replace(/'/g, "''")}'`).join(',')}]`;

async function main() {
  const server = await startBenchServer(SERVER_URL, DB_NAME);
  const { base: BASE, dbUrl: DB_URL, version, services } = server;
  const { orgId, cookie } = await signUpBench(BASE, 'Duplicates bench', 'bench@dups.test');
  const get = async (url: string) => {
    const res = await fetch(`${BASE}${url}`, { headers: { cookie } });
    if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<Record<string, unknown>>;
  };

  // The contacts, generated server-side: e-mail and phone shared by 2% each (the e-mail with a
  // +tag, since an exact e-mail is unique among active contacts).
  const raw = new pg.Client({ connectionString: DB_URL });
  await raw.connect();
  const tLoad = performance.now();
  await raw.query('select setseed(0.18)');
  for (let start = 1; start <= CONTACTS; start += CHUNK) {
    const end = Math.min(CONTACTS, start + CHUNK - 1);
    await raw.query(
      `with x as (
         select g, (${pgArray(FIRST_NAMES)})[1 + floor(random() * ${FIRST_NAMES.length})::int]
                  || (${pgArray(VARIANTS)})[1 + floor(random() * ${VARIANTS.length})::int] as fn,
                (${pgArray(LAST_NAMES)})[1 + floor(random() * ${LAST_NAMES.length})::int] as ln,
                case when g % 50 = 0 then g - 1 else g end as phone_no
           from generate_series($2::int, $3::int) g),
       ins as (
         insert into contacts (org_id, first_name, last_name, email, emails, phone, phones, source)
         select $1, fn, ln, e.email, jsonb_build_array(jsonb_build_object('value', e.email, 'primary', true)),
                p.phone, jsonb_build_array(jsonb_build_object('e164', p.phone, 'raw', p.phone, 'primary', true)), 'import'
           from x
           cross join lateral (select case when g % 50 = 1 then g - 1 else g end as mail_no) m
           -- The mailbox is a function of its number alone, so contact g (g % 50 = 1) gets contact
           -- g - 1's address with a +tag: the same mailbox once the tag is dropped.
           cross join lateral (select 'c' || m.mail_no || (case when g % 50 = 1 then '+crm' else '' end) || '@'
                 || (${pgArray(DOMAINS)})[1 + m.mail_no % ${DOMAINS.length}] as email) e
           cross join lateral (select '+1555' || lpad(phone_no::text, 7, '0') as phone) p
         returning org_id, id, email)
       insert into contact_emails (org_id, contact_id, email, active) select org_id, id, email, true from ins`,
      [orgId, start, end],
    );
    log(`contacts ${int(end)}/${int(CONTACTS)}`);
  }
  await raw.query('vacuum (analyze) contacts, contact_emails');
  const loadS = (performance.now() - tLoad) / 1000;
  const tFloor = performance.now();
  await raw.query('select count(*) from contacts where org_id = $1', [orgId]);
  const floorMs = performance.now() - tFloor;

  // The full scan, while a second client reads /health and a contact every 100 ms.
  const probe = { health: [] as number[], read: [] as number[], errors: 0, running: true };
  const [someContact] = (await raw.query('select id from contacts where org_id = $1 limit 1', [orgId])).rows;
  const prober = (async () => {
    while (probe.running) {
      for (const [url, into] of [
        ['/health', probe.health],
        [`/api/v1/contacts/${someContact.id}`, probe.read],
      ] as const) {
        const t0 = performance.now();
        try {
          await get(url);
          into.push(performance.now() - t0);
        } catch {
          probe.errors++;
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  log('full scan...');
  const tScan = performance.now();
  await refreshDuplicates(services, orgId, 'contact');
  const scanS = (performance.now() - tScan) / 1000;
  probe.running = false;
  await prober;
  const counts = (
    await raw.query(
      `select (select count(*) from duplicate_keys where org_id = $1)::int as keys,
              (select count(*) from duplicate_pairs where org_id = $1)::int as pairs,
              (select count(distinct (rank, key)) from duplicate_pairs where org_id = $1)::int as groups`,
      [orgId],
    )
  ).rows[0] as { keys: number; pairs: number; groups: number };
  log(
    `scan ${scanS.toFixed(1)} s: ${int(counts.keys)} keys, ${int(counts.pairs)} pairs, ${int(counts.groups)} groups`,
  );

  // The first page, warm.
  for (let i = 0; i < 20; i++) await get('/api/v1/contacts/duplicates?limit=50');
  const firstPage: number[] = [];
  let cursor = '';
  const deeper: number[] = [];
  for (let i = 0; i < N; i++) {
    let t0 = performance.now();
    const page = await get('/api/v1/contacts/duplicates?limit=50');
    firstPage.push(performance.now() - t0);
    // And a page further in (the 20th), following cursors.
    if (i < 20) {
      t0 = performance.now();
      const next = await get(`/api/v1/contacts/duplicates?limit=50${cursor ? `&cursor=${cursor}` : ''}`);
      deeper.push(performance.now() - t0);
      cursor = encodeURIComponent(String(next.next_cursor ?? page.next_cursor ?? ''));
    }
  }

  // 1,000 contacts renamed through the record events' path: marked dirty, then refreshed.
  await raw.query(
    `insert into duplicate_dirty (org_id, object, record_id)
     select $1, 'contact', id from contacts where org_id = $1 order by id desc limit 1000`,
    [orgId],
  );
  await raw.query(
    `update contacts set first_name = first_name || 'y' where org_id = $1 and id in (
       select record_id from duplicate_dirty where org_id = $1)`,
    [orgId],
  );
  const tRefresh = performance.now();
  await refreshDuplicates(services, orgId, 'contact');
  const refreshMs = performance.now() - tRefresh;
  await raw.end();

  const commit = commitOf();
  const target = (ms: number, limit: number) => `p95 < ${limit} ms: ${ms < limit ? 'PASS' : 'FAIL'}`;
  const row = (label: string, xs: number[], goal: string) =>
    `| ${label} | ${xs.length} | ${fmt(pct(xs, 50))} | ${fmt(pct(xs, 95))} | ${fmt(Math.max(...xs))} | ${goal} |`;
  const section = [
    '<!-- duplicates:start -->',
    '## Duplicates (`bench/duplicates.bench.ts`, issue 18)',
    '',
    `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, commit ${commit}; ${os.cpus()[0]?.model ?? 'unknown'}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB; PostgreSQL ${version}; Node ${process.version}; ${loadAverageNote()}.`,
    `One tenant, ${int(CONTACTS)} contacts in ${LAST_NAMES.length} last names (blocks of about ${int(CONTACTS / LAST_NAMES.length)}), loaded in ${loadS.toFixed(0)} s. Floor: one \`count(*)\` pass over the tenant's contacts, ${fmt(floorMs)} ms.`,
    '',
    `Full background scan: **${scanS.toFixed(1)} s** (${int(CONTACTS / scanS)} contacts/s; ${int(counts.keys)} keys, ${int(counts.pairs)} pairs, ${int(counts.groups)} groups). Refresh of 1,000 changed contacts: ${fmt(refreshMs)} ms.`,
    '',
    '| measure, ms | n | p50 | p95 | max | target |',
    '|---|---:|---:|---:|---:|---|',
    row('first page of 50 groups, API', firstPage, target(pct(firstPage, 95), 200)),
    row('a page further in (cursor), API', deeper, ''),
    row(
      '`/health` during the full scan',
      probe.health,
      `max < 1000 ms: ${Math.max(...probe.health) < 1000 ? 'PASS' : 'FAIL'}`,
    ),
    row('contact read during the full scan, API', probe.read, `${probe.errors} errors`),
    '<!-- duplicates:end -->',
  ].join('\n');
  console.log(section);
  if (CONTACTS >= 1_000_000) {
    const current = existsSync(RESULTS_FILE) ? readFileSync(RESULTS_FILE, 'utf8') : '# Benchmark results\n';
    const pattern = /<!-- duplicates:start -->[\s\S]*<!-- duplicates:end -->/;
    writeFileSync(
      RESULTS_FILE,
      pattern.test(current) ? current.replace(pattern, section) : `${current.trimEnd()}\n\n${section}\n`,
    );
  }
  await server.close();
}

await main();
process.exit(0);
