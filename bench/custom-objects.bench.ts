/**
 * Custom objects benchmark (issue 21, "Speed"): one tenant with a custom object of 10 fields and
 * 1,000,000 records, and 1,000,000 contacts with the same values for comparison, on the
 * PostgreSQL server (database `cairn_bench_custom`, recreated each run). Through Cairn's real HTTP
 * API on loopback, single client, warm, the same query on both objects:
 *   - a filtered, sorted page (a select field `tier` = gold, newest first, 50 rows), p95 < 50 ms
 *   - the same filter sorted by a custom number field (`score`, highest first)
 *   - the same filter on a rare value (`tier` = platinum, 0.1% of the records: the select values'
 *     index, migration 0055)
 *   - `q` search by a last name (the trigram index), p95 < 100 ms
 * each within 1.5x of the contacts' figure; the floor in the same run: a keyset page of 50 by
 * (created_at desc, id desc) in raw SQL in a tenant transaction (as cairn_app), on both tables.
 * Then an import of as many records into a second object of the same fields through the API
 * (a CSV generated in the temporary directory and deleted after: never committed), >= 10,000 rows/s.
 *
 *   npx tsx bench/custom-objects.bench.ts [--records=1000000] [--n=100] [--url=postgres://host:port]
 *
 * Rows are generated server-side (INSERT ... SELECT FROM generate_series, in chunks of 100,000),
 * as the contacts bench does. Prints the figures and rewrites its section of bench/RESULTS.md
 * (only at 1,000,000 records). Exits 0 whatever the figures.
 */
import { createWriteStream, mkdtempSync, openAsBlob, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { signUpBench, startBenchServer } from './bench-server.js';
import { commitOf, loadAverageNote, writeResultsSection } from './machine.js';
import { FIRST_NAMES, LAST_NAMES, REGIONS } from './names.js';

const args = process.argv.slice(2);
const arg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const RECORDS = Number(arg('records') ?? 1_000_000);
const N = Number(arg('n') ?? 100);
const SERVER_URL = (arg('url') ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/+$/, '');
const DB_NAME = 'cairn_bench_custom';
const CHUNK = 100_000;
const OBJECT = 'listing';

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const fmt = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1));
const pgArray = (xs: readonly string[]) =>
  `array[${xs.map((x) => `'${x.replaceAll("'", "''")}'`).join(',')}]`;

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

/**
 * The values both objects get for row `g`: names, e-mail, region, tier, score (same seed, same SQL);
 * `g` is a bigint (g * 104729 passes the int range from g = 20,506 on).
 */
const VALUES = `
  select g,
         (${pgArray(FIRST_NAMES)})[1 + ((g * 7919) % ${FIRST_NAMES.length})::int] as fn,
         (${pgArray(LAST_NAMES)})[1 + ((g * 104729) % ${LAST_NAMES.length})::int] as ln,
         (${pgArray(REGIONS)})[1 + ((g * 31) % ${REGIONS.length})::int] as region,
         case when g % 1000 = 0 then 'platinum' else (array['gold', 'silver', 'bronze'])[1 + ((g * 13) % 3)::int] end as tier,
         (g * 7) % 1000 as score,
         now() - ((g * 37) % 1095) * interval '1 day' - (g % 86400) * interval '1 second' as created_at
    from generate_series($2::bigint, $3::bigint) g`;

type ImportView = { status: string; progress: Record<string, number> };

async function main() {
  const server = await startBenchServer(SERVER_URL, DB_NAME, { worker: true });
  const { base: BASE, dbUrl: DB_URL, version } = server;
  const me = await signUpBench(BASE, 'Custom objects bench', 'bench@custom.test');
  const headers = { cookie: me.cookie, origin: BASE, 'content-type': 'application/json' };
  const post = async (url: string, body: unknown) => {
    const res = await fetch(`${BASE}${url}`, { method: 'POST', headers, body: JSON.stringify(body) });
    const answer = (await res.json()) as Record<string, unknown>;
    if (res.status >= 300) throw new Error(`${url}: ${res.status} ${JSON.stringify(answer)}`);
    return answer;
  };
  // The object and its 10 fields, through the API (the display field `name` is the first).
  await post('/api/v1/objects', {
    key: OBJECT,
    label_singular: 'Listing',
    label_plural: 'Listings',
  });
  const tiers = ['gold', 'silver', 'bronze', 'platinum'].map((v) => ({ value: v, label: v }));
  const FIELDS = [
    { key: 'email', label: 'E-mail', type: 'email' },
    { key: 'region', label: 'Region', type: 'text' },
    { key: 'sku', label: 'SKU', type: 'text' },
    { key: 'tier', label: 'Tier', type: 'select', options: tiers },
    { key: 'score', label: 'Score', type: 'number' },
    { key: 'rooms', label: 'Rooms', type: 'number' },
    { key: 'listed_on', label: 'Listed on', type: 'date' },
    { key: 'active', label: 'Active', type: 'boolean' },
    { key: 'notes', label: 'Notes', type: 'long_text' },
  ];
  for (const field of FIELDS) await post(`/api/v1/objects/${OBJECT}/fields`, field);
  for (const field of [
    { key: 'tier', label: 'Tier', type: 'select', options: tiers },
    { key: 'score', label: 'Score', type: 'number' },
    { key: 'region', label: 'Region', type: 'text' },
  ])
    await post('/api/v1/objects/contact/fields', field);

  const raw = new pg.Client({ connectionString: DB_URL });
  await raw.connect();
  const { rows: found } = await raw.query<{ id: string }>(
    'select id from custom_objects where org_id = $1 and key = $2',
    [me.orgId, OBJECT],
  );
  const listingId = found[0]!.id;
  const load: { step: string; s: number }[] = [];
  const step = async (name: string, fn: () => Promise<void>) => {
    const t = performance.now();
    await fn();
    load.push({ step: name, s: (performance.now() - t) / 1000 });
  };
  await step(`${RECORDS.toLocaleString('en-US')} records`, async () => {
    for (let from = 1; from <= RECORDS; from += CHUNK) {
      const to = Math.min(RECORDS, from + CHUNK - 1);
      // The search text as the record engine writes it: the searchable fields lower-cased, in order.
      await raw.query(
        `insert into records (org_id, object_id, owner_id, custom, search, created_at, updated_at)
         select $1, $4, $5, c.custom,
                lower(concat_ws(' ', c.custom->>'name', c.custom->>'email', c.custom->>'region', c.custom->>'sku')),
                v.created_at, v.created_at
           from (${VALUES}) v,
                lateral (select jsonb_build_object(
                  'name', v.fn || ' ' || v.ln, 'email', lower(v.fn || '.' || v.ln || v.g || '@bench.test'),
                  'region', v.region, 'sku', 'SKU-' || v.g, 'tier', v.tier, 'score', v.score,
                  'rooms', 1 + v.g % 8, 'listed_on', to_char(v.created_at, 'YYYY-MM-DD'),
                  'active', v.g % 5 <> 0, 'notes', 'Listing ' || v.g) as custom) c`,
        [me.orgId, from, to, listingId, me.userId],
      );
      console.log(`records: ${to.toLocaleString('en-US')} (load average ${os.loadavg()[0]!.toFixed(1)})`);
    }
  });
  await step(`${RECORDS.toLocaleString('en-US')} contacts`, async () => {
    for (let from = 1; from <= RECORDS; from += CHUNK) {
      const to = Math.min(RECORDS, from + CHUNK - 1);
      await raw.query(
        `insert into contacts (org_id, first_name, last_name, email, emails, owner_id, custom, created_at, updated_at)
         select $1, v.fn, v.ln, lower(v.fn || '.' || v.ln || v.g || '@bench.test'),
                jsonb_build_array(jsonb_build_object('value', lower(v.fn || '.' || v.ln || v.g || '@bench.test'), 'primary', true)),
                $4, jsonb_build_object('tier', v.tier, 'score', v.score, 'region', v.region), v.created_at, v.created_at
           from (${VALUES}) v`,
        [me.orgId, from, to, me.userId],
      );
      console.log(`contacts: ${to.toLocaleString('en-US')} (load average ${os.loadavg()[0]!.toFixed(1)})`);
    }
  });
  await step('analyze', async () => {
    await raw.query('analyze records');
    await raw.query('analyze contacts');
  });

  const names = LAST_NAMES.slice(0, 50);
  const measure = (url: string, body: (i: number) => unknown) =>
    timed(N, 10, async (i) => {
      const answer = (await post(url, body(i))) as { data: unknown[] };
      if (answer.data.length === 0) throw new Error(`${url}: an empty page`);
    });
  const gold = { field: 'tier', op: 'eq', value: 'gold' };
  const platinum = { field: 'tier', op: 'eq', value: 'platinum' };
  const queries = [
    ['filtered page (tier = gold), newest first, 50 rows', () => ({ filter: gold, limit: 50 }), 50],
    [
      'filtered page (tier = platinum, 0.1% of the records), newest first, 50 rows',
      () => ({ filter: platinum, limit: 50 }),
      50,
    ],
    [
      'filtered page (tier = gold), by score (custom number), 50 rows',
      () => ({ filter: gold, sort: [{ field: 'score', direction: 'desc' }], limit: 50 }),
      50,
    ],
    ['q search by a last name, 50 rows', (i: number) => ({ q: names[i % names.length], limit: 50 }), 100],
  ] as const;
  const results: { label: string; custom: number[]; contacts: number[]; target: number }[] = [];
  for (const [label, body, target] of queries) {
    const custom = await measure(`/api/v1/records/${OBJECT}/query`, body);
    const contacts = await measure('/api/v1/contacts/query', body);
    results.push({ label, custom, contacts, target });
  }

  // The floor: a keyset page of 50 newest first in raw SQL, in a tenant transaction as cairn_app.
  const tenantPage = async (query: string, params: unknown[]) => {
    await raw.query('begin');
    await raw.query(`select set_config('role', 'cairn_app', true), set_config('app.org_id', $1, true)`, [
      me.orgId,
    ]);
    const { rows } = await raw.query(query, params);
    await raw.query('commit');
    if (rows.length === 0) throw new Error('the floor read an empty page');
  };
  const floorRecords = await timed(N, 10, () =>
    tenantPage(
      `select id, custom from records where org_id = $1 and object_id = $2 and archived_at is null
        order by created_at desc, id desc limit 50`,
      [me.orgId, listingId],
    ),
  );
  const floorContacts = await timed(N, 10, () =>
    tenantPage(
      `select id, first_name, last_name, custom from contacts where org_id = $1 and archived_at is null
        order by created_at desc, id desc limit 50`,
      [me.orgId],
    ),
  );
  // The plan of the rare-value filter as the API runs it: the select values' index or not.
  await raw.query('begin');
  await raw.query(`select set_config('role', 'cairn_app', true), set_config('app.org_id', $1, true)`, [
    me.orgId,
  ]);
  const { rows: planRows } = await raw.query<{ 'QUERY PLAN': string }>(
    `explain select r.id from records r where r.org_id = $1 and r.object_id = $2 and r.archived_at is null
       and exists (select 1 from record_select_values sv where sv.org_id = r.org_id and sv.record_id = r.id
                    and sv.object_id = r.object_id and sv.field_key = 'tier' and sv.value in ('platinum'))
     order by r.created_at desc, r.id desc limit 50`,
    [me.orgId, listingId],
  );
  await raw.query('commit');
  const plan = planRows.map((r) => r['QUERY PLAN']).join('\n');
  console.log(plan);
  const rareUsesIndex = plan.includes('record_select_values_value_idx');

  const table = [
    '| query (the same on both) | custom p50 ms | custom p95 ms | contacts p95 ms | ratio | target |',
    '|---|---|---|---|---|---|',
    ...results.map(({ label, custom, contacts, target }) => {
      const p95 = pct(custom, 95);
      const ratio = p95 / pct(contacts, 95);
      const pass = p95 < target && ratio <= 1.5;
      return `| ${label} | ${fmt(pct(custom, 50))} | ${fmt(p95)} | ${fmt(pct(contacts, 95))} | ${ratio.toFixed(2)}x | p95 < ${target} ms and <= 1.5x: ${pass ? 'PASS' : 'FAIL'} |`;
    }),
    `| floor: keyset page of 50 newest first, raw SQL in a tenant transaction | ${fmt(pct(floorRecords, 50))} | ${fmt(pct(floorRecords, 95))} | ${fmt(pct(floorContacts, 95))} | ${(pct(floorRecords, 95) / pct(floorContacts, 95)).toFixed(2)}x | (the floor) |`,
  ].join('\n');
  const importLine = (view: ImportView | undefined, importS: number) => {
    if (!view) return 'Import through the API: not measured yet (the run goes on with it).';
    const imported = view.progress.created ?? 0;
    const importRate = imported / importS;
    return `Import through the API of ${RECORDS.toLocaleString('en-US')} records of the same 10 fields into a second object (upload to done, ${view.status}: ${imported.toLocaleString('en-US')} created, ${(view.progress.failed ?? 0).toLocaleString('en-US')} failed): ${Math.round(importRate).toLocaleString('en-US')} rows/s in ${importS.toFixed(0)} s; target >= 10,000 rows/s: ${importRate >= 10_000 ? 'PASS' : 'FAIL'}.`;
  };
  const planLine = `The rare-value filter's plan (EXPLAIN as cairn_app): ${rareUsesIndex ? 'reads `record_select_values_value_idx`' : 'does NOT read `record_select_values_value_idx`'}.`;
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  const sectionOf = (view: ImportView | undefined, importS: number) =>
    [
      '<!-- custom-objects:start -->',
      '## Custom objects (issue 21)',
      '',
      `${new Date().toISOString().slice(0, 10)}, commit ${commitOf()}; ${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB; PostgreSQL ${version}; Node ${process.version}; ${loadAverageNote()}.`,
      `One tenant: a custom object of 10 fields with ${RECORDS.toLocaleString('en-US')} records and as many contacts with the same values (loaded: ${load.map((l) => `${l.step} ${l.s.toFixed(1)} s`).join(', ')}); ${N} timed requests per query after 10 warm-up, one client, real HTTP on loopback.`,
      '',
      table,
      '',
      importLine(view, importS),
      '',
      planLine,
      '<!-- custom-objects:end -->',
    ].join('\n');
  const publish = (view: ImportView | undefined, importS: number) => {
    const section = sectionOf(view, importS);
    console.log(section);
    if (RECORDS === 1_000_000) writeResultsSection('custom-objects', section);
  };
  // The queries' figures first (the import takes long on a busy machine), then again with the import's.
  publish(undefined, 0);
  // Import of as many records through the API into an object of the same fields.
  await post('/api/v1/objects', {
    key: 'listing_import',
    label_singular: 'Imported listing',
    label_plural: 'Imported listings',
  });
  for (const field of FIELDS) await post('/api/v1/objects/listing_import/fields', field);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-custom-bench-'));
  const csvPath = path.join(dir, 'listings.csv');
  const csv = createWriteStream(csvPath);
  const write = (line: string) =>
    csv.write(line) ? Promise.resolve() : new Promise<void>((r) => csv.once('drain', () => r()));
  await write('Name,E-mail,Region,SKU,Tier,Score,Rooms,Listed on,Active,Notes\n');
  for (let g = 1; g <= RECORDS; g++) {
    const fn = FIRST_NAMES[(g * 7919) % FIRST_NAMES.length]!;
    const ln = LAST_NAMES[(g * 104729) % LAST_NAMES.length]!;
    const tier = g % 1000 === 0 ? 'platinum' : ['gold', 'silver', 'bronze'][(g * 13) % 3]!;
    const day = new Date(Date.now() - ((g * 37) % 1095) * 86_400_000).toISOString().slice(0, 10);
    await write(
      `${fn} ${ln},${`${fn}.${ln}${g}@import.test`.toLowerCase()},${REGIONS[(g * 31) % REGIONS.length]},SKU-${g},${tier},${(g * 7) % 1000},${1 + (g % 8)},${day},${g % 5 !== 0},Listing ${g}\n`,
    );
  }
  await new Promise<void>((r) => csv.end(() => r()));
  const importStarted = performance.now();
  const form = new FormData();
  form.set('file', await openAsBlob(csvPath), 'listings.csv');
  const upload = await fetch(`${BASE}/api/v1/imports?object=listing_import`, {
    method: 'POST',
    headers: { cookie: me.cookie, origin: BASE },
    body: form,
  });
  if (upload.status !== 201) throw new Error(`upload: ${upload.status} ${await upload.text()}`);
  const draft = (await upload.json()) as { id: string; mapping: { header: string; target: string | null }[] };
  const unmapped = draft.mapping.filter((m) => !m.target).map((m) => m.header);
  if (unmapped.length > 0) throw new Error(`columns not mapped: ${unmapped.join(', ')}`);
  await post(`/api/v1/imports/${draft.id}/start`, {});
  let view: ImportView;
  for (let last = performance.now(); ; ) {
    const res = await fetch(`${BASE}/api/v1/imports/${draft.id}`, { headers });
    view = (await res.json()) as ImportView;
    if (!['queued', 'running'].includes(view.status)) break;
    if (performance.now() - last > 15_000) {
      last = performance.now();
      console.log(`import: ${view.progress.rows_done ?? 0} rows, ${view.progress.rows_per_second} rows/s`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  const importS = (performance.now() - importStarted) / 1000;
  rmSync(dir, { recursive: true, force: true });
  publish(view, importS);
  await raw.end();
  await server.close();
}

await main();
process.exit(0);
