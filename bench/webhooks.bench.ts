/**
 * Lead capture and webhooks benchmark (issue 31), on the PostgreSQL server (database
 * `cairn_bench_webhooks`, recreated each run), through Cairn's real HTTP API and job workers
 * (pg-boss) on loopback:
 *   - fan-out: N `contact.created` events (contacts created through the API, 20 at a time), each
 *     delivered to 3 webhook subscribers served locally: all delivered? p50 / p95 from the event's
 *     time to its arrival at the subscriber, target p95 < 2 s;
 *   - form posts: N posts of the hosted page's form from 50 concurrent clients, each a new e-mail:
 *     all stored once? p50 / p95 per post, target p95 < 200 ms, and posts per second.
 *
 *   npx tsx bench/webhooks.bench.ts [--n=10000] [--url=postgres://host:port]
 *
 * Prints the figures and rewrites its section of bench/RESULTS.md. Exits 0 whatever the figures.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { signUpBench, startBenchServer } from './bench-server.js';
import { loadAverageNote } from './machine.js';

const args = process.argv.slice(2);
const arg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const N = Number(arg('n') ?? 10_000);
const SERVER_URL = (arg('url') ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/+$/, '');
const DB_NAME = 'cairn_bench_webhooks';
const SUBSCRIBERS = 3;
const CLIENTS = 50;
const RESULTS_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'RESULTS.md');

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const fmt = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(0));

/** A subscriber on loopback: the delay from each event's time to its arrival, per webhook-id. */
function subscriber(): Promise<{ server: Server; url: string; arrivals: Map<string, number> }> {
  const arrivals = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const now = Date.now();
      const envelope = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { occurred_at: string };
      const id = String(req.headers['webhook-id']);
      if (!arrivals.has(id)) arrivals.set(id, now - new Date(envelope.occurred_at).getTime());
      res.writeHead(204).end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, arrivals }),
    ),
  );
}

async function main() {
  const server = await startBenchServer(SERVER_URL, DB_NAME, {
    worker: true,
    env: { OUTBOUND_ALLOWED_HOSTS: '127.0.0.1', FORM_POSTS_PER_IP_PER_MINUTE: '100000000' },
  });
  const { base: BASE, version } = server;
  const me = await signUpBench(BASE, 'Webhooks bench', 'bench@webhooks.test');
  const headers = { cookie: me.cookie, origin: BASE, 'content-type': 'application/json' };
  const post = async (url: string, body: unknown) => {
    const res = await fetch(`${BASE}${url}`, { method: 'POST', headers, body: JSON.stringify(body) });
    if (res.status >= 300) throw new Error(`${url}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<{ id: string; page_url: string }>;
  };

  // Fan-out: 3 subscribers of contact.created, N events.
  const subs = await Promise.all(Array.from({ length: SUBSCRIBERS }, () => subscriber()));
  for (const s of subs)
    await post('/api/v1/webhooks', { target_url: s.url, event_types: ['contact.created'] });
  const t0 = performance.now();
  for (let i = 0; i < N; i += 20)
    await Promise.all(
      Array.from({ length: Math.min(20, N - i) }, (_, k) =>
        post('/api/v1/contacts', { first_name: `Hook ${i + k}` }),
      ),
    );
  const created = performance.now() - t0;
  const expected = N * SUBSCRIBERS;
  const deadline = Date.now() + Math.max(120_000, N * 30);
  const delivered = () => subs.reduce((n, s) => n + s.arrivals.size, 0);
  while (delivered() < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  const fanOutS = (performance.now() - t0) / 1000;
  const fannedOut = delivered();
  const delays = subs.flatMap((s) => [...s.arrivals.values()]);
  // The form posts below create contacts too: their deliveries are not counted.
  for (const s of subs) s.server.close();

  // Form posts: the hosted page's form (no proof of work, no minimum fill time), 50 clients.
  const form = await post('/api/v1/forms', {
    name: 'Bench form',
    object: 'contact',
    fields: [{ key: 'first_name' }, { key: 'email', required: true }],
    proof_of_work: false,
    min_fill_seconds: 0,
  });
  const token = String(form.page_url).split('/f/')[1]!;
  const page = await (await fetch(`${BASE}/f/${token}`)).text();
  const ts = /name="_ts" value="([^"]+)"/.exec(page)![1]!;
  const latencies: number[] = [];
  const perSecond = new Map<number, number>();
  let next = 0;
  let failed = 0;
  const f0 = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      for (let i = next++; i < N; i = next++) {
        const body = new URLSearchParams({ first_name: `Form ${i}`, email: `form${i}@bench.test`, _ts: ts });
        const s = performance.now();
        const res = await fetch(`${BASE}/f/${token}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: body.toString(),
        });
        await res.arrayBuffer();
        const e = performance.now();
        if (res.status !== 200) failed++;
        latencies.push(e - s);
        const second = Math.floor((e - f0) / 1000);
        perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
      }
    }),
  );
  const formS = (performance.now() - f0) / 1000;
  const raw = new pg.Client({ connectionString: server.dbUrl });
  await raw.connect();
  const stored = Number(
    (await raw.query(`select count(*)::int as n from form_submissions where form_id = $1`, [form.id])).rows[0]
      .n,
  );
  const distinct = Number(
    (
      await raw.query(
        `select count(distinct ce.email)::int as n from contact_emails ce where ce.email like 'form%@bench.test'`,
      )
    ).rows[0].n,
  );
  await raw.end();
  await server.close();

  const rates = [...perSecond.entries()].sort(([a], [b]) => a - b).map(([, n]) => n);
  const section = [
    '<!-- webhooks:start -->',
    '## Lead capture and webhooks (`bench/webhooks.bench.ts`, issue 31)',
    '',
    `${new Date().toISOString().slice(0, 10)}, PostgreSQL ${version}, ${os.cpus().length} cores, N = ${N}; ${loadAverageNote()}.`,
    '',
    '| what | figure | target |',
    '|---|---|---|',
    `| events fanned out to ${SUBSCRIBERS} local subscribers | ${fannedOut} of ${expected} delivered in ${fanOutS.toFixed(1)} s (events created in ${(created / 1000).toFixed(1)} s) | all |`,
    `| event to delivery, p50 / p95 | ${fmt(pct(delays, 50))} / ${fmt(pct(delays, 95))} ms | p95 < 2,000 ms |`,
    `| form posts from ${CLIENTS} clients | ${stored} stored of ${N} (${distinct} distinct contacts, ${failed} refused) in ${formS.toFixed(1)} s, ${(N / formS).toFixed(0)} posts/s | all, once |`,
    `| form post, p50 / p95 | ${fmt(pct(latencies, 50))} / ${fmt(pct(latencies, 95))} ms | p95 < 200 ms |`,
    `| form posts per second, each second | ${rates.join(', ')} | |`,
    '<!-- webhooks:end -->',
  ].join('\n');
  console.log(section);
  const current = existsSync(RESULTS_FILE) ? readFileSync(RESULTS_FILE, 'utf8') : '# Benchmark results\n';
  const nextText = current.includes('<!-- webhooks:start -->')
    ? current.replace(/<!-- webhooks:start -->[\s\S]*<!-- webhooks:end -->/, section)
    : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(RESULTS_FILE, nextText);
}

await main();
process.exit(0);
