/**
 * Quotes benchmark (issue 29), on the PostgreSQL server (database `cairn_bench_quotes`, recreated
 * each run), through Cairn's real HTTP API on loopback, one client, warm:
 *   - a 500-line quote's totals (`POST /api/v1/quotes/totals`), target p95 < 50 ms
 *   - the same quote saved (`PATCH /api/v1/quotes/:id` with its 500 product lines), for reference
 *   - its PDF rendered (`GET /api/v1/quotes/:id/pdf` of the draft), target < 2 s, with the
 *     process's peak resident memory while rendering, target < 100 MB above the server's idle
 *   - a catalog of 100,000 products (loaded in SQL) searched with `q` (`GET /api/v1/products?q=`:
 *     a word many share, a SKU fragment, one product's whole name, a word none has), target p95 < 50 ms
 *   - 100 accepted quotes converted to orders at once (`POST /api/v1/quotes/:id/order`), each for one
 *     unit of a product with 10 in stock: exactly 10 succeed, the other 90 are 409, stock ends at 0
 *
 *   npx tsx bench/quotes.bench.ts [--n=100] [--url=postgres://host:port]
 *
 * Prints the figures and rewrites its section of bench/RESULTS.md. Exits 0 whatever the figures.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { signUpBench, startBenchServer } from './bench-server.js';
import { commitOf, loadAverageNote, writeResultsSection } from './machine.js';

const args = process.argv.slice(2);
const arg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const N = Number(arg('n') ?? 100);
const SERVER_URL = (arg('url') ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/+$/, '');
const DB_NAME = 'cairn_bench_quotes';
const LINES = 500;
const CATALOG = 100_000;
const RACERS = 100;
const IN_STOCK = 10;
const ADJECTIVES = [
  'Steel',
  'Brass',
  'Oak',
  'Nylon',
  'Copper',
  'Granite',
  'Cotton',
  'Carbon',
  'Zinc',
  'Maple',
];
const NOUNS = ['bolt', 'hinge', 'bracket', 'panel', 'valve', 'cable', 'washer', 'gasket', 'lever', 'spring'];

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
  const { base: BASE, version } = server;
  const me = await signUpBench(BASE, 'Quotes bench', 'bench@quotes.test');
  const headers = { cookie: me.cookie, origin: BASE, 'content-type': 'application/json' };
  const call = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`${BASE}${url}`, {
      method,
      headers,
      body: body ? JSON.stringify(body) : undefined,
    });
    if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
    return res;
  };
  const json = async <T>(method: string, url: string, body?: unknown) =>
    (await (await call(method, url, body)).json()) as T;

  const list = await json<{ id: string }>('POST', '/api/v1/price-lists', { name: 'Bench', currency: 'EUR' });
  const products: string[] = [];
  for (let i = 0; i < 50; i++) {
    const p = await json<{ id: string }>('POST', '/api/v1/products', {
      sku: `B-${i}`,
      name: `Bench product ${i} with a name long enough to wrap on a line of the PDF`,
      tax_rate: i % 3 === 0 ? '7' : '20',
      fractional: true,
    });
    await call('POST', `/api/v1/price-lists/${list.id}/prices`, {
      product_id: p.id,
      unit_price: `${10 + i}.35`,
    });
    products.push(p.id);
  }
  const opp = await json<{ id: string }>('POST', '/api/v1/opportunities', {
    title: 'Big quote',
    currency: 'EUR',
  });
  const lines = Array.from({ length: LINES }, (_, i) => ({
    quantity: `${(i % 7) + 1}.5`,
    unit_price: `${(i % 50) + 10}.35`,
    discount: i % 4 === 0 ? { kind: 'percent' as const, value: '5' } : null,
    tax_rate: i % 3 === 0 ? '7' : '20',
  }));
  const productLines = lines.map((l, i) => ({ ...l, product_id: products[i % products.length] }));
  const quote = await json<{ id: string }>('POST', '/api/v1/quotes', {
    opportunity_id: opp.id,
    lines: productLines,
  });

  const totalsMs = await timed(N, 10, async () => {
    await call('POST', '/api/v1/quotes/totals', { currency: 'EUR', lines });
  });
  const saveMs = await timed(Math.max(5, Math.floor(N / 5)), 2, async () => {
    await call('PATCH', `/api/v1/quotes/${quote.id}`, { lines: productLines });
  });
  // The PDF: wall time per render, and the peak resident memory of this process (the server runs in it).
  global.gc?.();
  const idle = process.memoryUsage().rss;
  let peak = idle;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  let pdfBytes = 0;
  const pdfMs = await timed(Math.max(3, Math.floor(N / 10)), 1, async () => {
    const res = await call('GET', `/api/v1/quotes/${quote.id}/pdf`);
    pdfBytes = (await res.arrayBuffer()).byteLength;
  });
  clearInterval(sampler);

  // The catalog: 100,000 products loaded in SQL (as the other benches load their data), then
  // searched through the API as the catalog page and the quote editor's product picker do.
  const sqlClient = new pg.Client({ connectionString: server.dbUrl });
  await sqlClient.connect();
  const loadStart = performance.now();
  await sqlClient.query(
    `insert into products (org_id, sku, name, unit, tax_rate, created_at, updated_at)
     select $1, 'CAT-' || lpad(i::text, 6, '0'),
            ($2::text[])[1 + i % 10] || ' ' || ($3::text[])[1 + (i / 10) % 10] || ' ' || i,
            'unit', 20, now() - make_interval(secs => i), now()
       from generate_series(1, ${CATALOG}) i`,
    [me.orgId, ADJECTIVES, NOUNS],
  );
  await sqlClient.query('analyze products');
  const loadS = (performance.now() - loadStart) / 1000;
  await sqlClient.end();
  const searches = ['hinge', 'CAT-0421', 'Brass bracket 54321', 'titanium'];
  const found = new Map<string, number>();
  const searchMs = await timed(N, 8, async (i) => {
    const q = searches[i % searches.length]!;
    const res = await call('GET', `/api/v1/products?q=${encodeURIComponent(q)}&limit=50`);
    found.set(q, ((await res.json()) as { data: unknown[] }).data.length);
  });

  // The race: RACERS accepted quotes for one unit each of a product with IN_STOCK units.
  // The deals are in EUR, the organization's currency USD: the deal closes won at a dated rate.
  await call('PUT', '/api/v1/exchange-rates', { currency: 'EUR', valid_on: '2020-01-01', rate: '1.08' });
  const warehouse = await json<{ id: string }>('POST', '/api/v1/warehouses', { name: 'Main' });
  const scarce = await json<{ id: string }>('POST', '/api/v1/products', { sku: 'LAST-10', name: 'Last ten' });
  await call('POST', `/api/v1/price-lists/${list.id}/prices`, { product_id: scarce.id, unit_price: '99' });
  await call('POST', '/api/v1/stock/adjustments', {
    warehouse_id: warehouse.id,
    product_id: scarce.id,
    change: String(IN_STOCK),
    reason: 'received',
  });
  const accepted: string[] = [];
  for (let i = 0; i < RACERS; i++) {
    const deal = await json<{ id: string }>('POST', '/api/v1/opportunities', {
      title: `Race ${i}`,
      currency: 'EUR',
    });
    const q = await json<{ id: string }>('POST', '/api/v1/quotes', {
      opportunity_id: deal.id,
      lines: [{ product_id: scarce.id, quantity: '1' }],
    });
    const sent = await json<{ public_url: string }>('POST', `/api/v1/quotes/${q.id}/send`, {
      to: 'buyer@example.com',
    });
    const accept = await fetch(`${BASE}${new URL(sent.public_url).pathname}/accept`, {
      method: 'POST',
      headers: { origin: BASE, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Bea Buyer' }),
    });
    if (accept.status !== 200) throw new Error(`accept: ${accept.status} ${await accept.text()}`);
    accepted.push(q.id);
  }
  const raceStart = performance.now();
  const statuses = await Promise.all(
    accepted.map(async (id) => {
      const res = await fetch(`${BASE}/api/v1/quotes/${id}/order`, { method: 'POST', headers, body: '{}' });
      await res.arrayBuffer();
      return res.status;
    }),
  );
  const raceMs = performance.now() - raceStart;
  const stock = await json<{ data: { on_hand: string; reserved: string; available: string }[] }>(
    'GET',
    `/api/v1/stock?product_id=${scarce.id}&warehouse_id=${warehouse.id}`,
  );
  await server.close();
  const count = (status: number) => statuses.filter((x) => x === status).length;
  const won = count(201);
  const refused = count(409);
  const left = stock.data[0];
  const raceOk = won === IN_STOCK && refused === RACERS - IN_STOCK && left?.available === '0';

  const mb = (b: number) => (b / 2 ** 20).toFixed(1);
  const table = [
    '| measure | p50 ms | p95 ms | max ms | target |',
    '|---|---|---|---|---|',
    `| ${LINES}-line quote totals, API | ${fmt(pct(totalsMs, 50))} | ${fmt(pct(totalsMs, 95))} | ${fmt(Math.max(...totalsMs))} | p95 < 50 ms: ${pct(totalsMs, 95) < 50 ? 'PASS' : 'FAIL'} |`,
    `| ${LINES}-line quote saved (lines priced, replaced), API | ${fmt(pct(saveMs, 50))} | ${fmt(pct(saveMs, 95))} | ${fmt(Math.max(...saveMs))} | |`,
    `| ${LINES}-line quote PDF (${(pdfBytes / 1024).toFixed(0)} KiB), API | ${fmt(pct(pdfMs, 50))} | ${fmt(pct(pdfMs, 95))} | ${fmt(Math.max(...pdfMs))} | < 2000 ms: ${Math.max(...pdfMs) < 2000 ? 'PASS' : 'FAIL'} |`,
    `| catalog of ${CATALOG.toLocaleString('en-US')} products searched (\`q\`, page of 50), API | ${fmt(pct(searchMs, 50))} | ${fmt(pct(searchMs, 95))} | ${fmt(Math.max(...searchMs))} | p95 < 50 ms: ${pct(searchMs, 95) < 50 ? 'PASS' : 'FAIL'} |`,
  ].join('\n');
  const searchNote = searches.map((q) => `“${q}” ${found.get(q)} on the first page`).join(', ');
  const commit = commitOf();
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  const section = [
    '<!-- quotes:start -->',
    '## Quotes (issue 29)',
    '',
    `${new Date().toISOString().slice(0, 10)}, commit ${commit}; ${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB; PostgreSQL ${version}; Node ${process.version}; ${loadAverageNote()}.`,
    `One quote of ${LINES} lines (50 products, two tax rates, every fourth line discounted); ${N} timed totals after 10 warm-up, one client, real HTTP on loopback.`,
    `PDF memory: the server process's resident set peaked at ${mb(peak)} MB while rendering, ${mb(peak - idle)} MB above its ${mb(idle)} MB before (target < 100 MB: ${peak - idle < 100 * 2 ** 20 ? 'PASS' : 'FAIL'}).`,
    `Catalog: ${CATALOG.toLocaleString('en-US')} products loaded in SQL in ${loadS.toFixed(1)} s; searches in turn: ${searchNote}.`,
    `Reservations: ${RACERS} accepted quotes for one unit each of a product with ${IN_STOCK} in stock, converted to orders at once (${raceMs.toFixed(0)} ms for all): ${won} orders made, ${refused} refused with 409, ${statuses.length - won - refused} other${
      statuses.length - won - refused
        ? ` (${[...new Set(statuses)]
            .filter((x) => x !== 201 && x !== 409)
            .map((x) => `${x}x${count(x)}`)
            .join(', ')})`
        : ''
    }; stock after: on hand ${left?.on_hand}, reserved ${left?.reserved}, available ${left?.available} (target exactly ${IN_STOCK} succeed: ${raceOk ? 'PASS' : 'FAIL'}).`,
    '',
    table,
    '<!-- quotes:end -->',
  ].join('\n');
  console.log(section);
  writeResultsSection('quotes', section);
}

await main();
process.exit(0);
