/**
 * GoHighLevel migration benchmark (issue 33): a migration (a run, not a dry run) of N contacts
 * (default 100,000) and M opportunities (default 20,000) from a local replay server speaking
 * GoHighLevel's API v2 wire format (pages of 100, `startAfterId` paging; records generated here,
 * not committed), on the PostgreSQL server (database `cairn_bench_ghl`, recreated each run),
 * through the real HTTP API and the migration job on a pg-boss worker in this process. Notes and
 * tasks are off (they cost two requests per contact: 200,000 requests, GoHighLevel's whole day).
 *
 * GoHighLevel allows 100 requests per 10 s: at 100 records a page that bounds any migration at
 * 1,000 records/s. The bench runs with the limiter raised (GHL_REQUESTS_PER_10S) to measure what
 * Cairn itself does, and prints both: records/s measured, and the rate-limit-bound rate (the
 * lower of the two is what a real migration gets).
 *
 *   npx tsx bench/gohighlevel.bench.ts [--contacts=100000] [--opportunities=20000] [--url=postgres://host:port]
 *
 * Rewrites its section of bench/RESULTS.md at the default scale. Exits 0 whatever the figures.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { benchPoster, signUpBench, startBenchServer } from './bench-server.js';
import { commitOf, loadAverageNote, writeResultsSection } from './machine.js';

const args = process.argv.slice(2);
const arg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const N = Number(arg('contacts') ?? 100_000);
const M = Number(arg('opportunities') ?? 20_000);
const DEFAULT_SCALE = N === 100_000 && M === 20_000;
const SERVER_URL = (arg('url') ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/+$/, '');
const DB_NAME = 'cairn_bench_ghl';
const PAGE = 100;
const GHL_RATE = { requests: 100, perS: 10 };

const id = (prefix: string, i: number) => `${prefix}${String(i).padStart(7, '0')}`;
const contact = (i: number) => ({
  id: id('c', i),
  locationId: 'bench',
  firstName: `First${i}`,
  lastName: `Last${i}`,
  email: `person${i}@ghl-bench.example`,
  phone: `+1202${String(5_000_000 + i).slice(-7)}`,
  companyName: `Company ${i % 2000}`,
  tags: ['ghl', `t${i % 10}`],
  source: 'bench',
  dateAdded: new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString(),
  timezone: 'Europe/Berlin',
});
const opportunity = (i: number) => ({
  id: id('o', i),
  name: `Deal ${i}`,
  monetaryValue: 100 + (i % 900),
  pipelineId: 'p1',
  pipelineStageId: i % 2 ? 's1' : 's2',
  contactId: id('c', (i * 5) % N),
  status: 'open',
  createdAt: new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString(),
});

/** The replay: the API v2 endpoints a migration reads, records made on the fly per page. */
async function replay() {
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests += 1;
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (body: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const after = url.searchParams.get('startAfterId');
    const start = after ? Number(after.slice(1)) + 1 : 0;
    if (url.pathname === '/users/') return send({ users: [] });
    if (url.pathname === '/opportunities/pipelines')
      return send({
        pipelines: [
          {
            id: 'p1',
            name: 'Sales',
            stages: [
              { id: 's1', name: 'New' },
              { id: 's2', name: 'Qualified' },
            ],
          },
        ],
      });
    if (url.pathname.startsWith('/custom-fields/')) return send({ fields: [], folders: [] });
    if (url.pathname === '/contacts/') {
      const list = Array.from({ length: Math.max(0, Math.min(PAGE, N - start)) }, (_, k) =>
        contact(start + k),
      );
      return send({ contacts: list, count: N });
    }
    if (url.pathname === '/opportunities/search') {
      const list = Array.from({ length: Math.max(0, Math.min(PAGE, M - start)) }, (_, k) =>
        opportunity(start + k),
      );
      const more = start + PAGE < M;
      const last = list.at(-1);
      return send({
        opportunities: list,
        meta: {
          total: M,
          startAfterId: more ? last?.id : undefined,
          startAfter: more ? Date.parse(String(last?.createdAt)) : undefined,
          nextPageUrl: more ? `http://x/opportunities/search?startAfterId=${last?.id}` : null,
        },
      });
    }
    res.writeHead(404).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function main() {
  const ghl = await replay();
  const server = await startBenchServer(SERVER_URL, DB_NAME, {
    worker: true,
    env: { OUTBOUND_ALLOWED_HOSTS: '127.0.0.1', GHL_REQUESTS_PER_10S: '100000' },
  });
  const me = await signUpBench(server.base, 'GHL bench', 'bench@ghl.test');
  const post = benchPoster(server.base, me.cookie);
  const t0 = performance.now();
  const started = await post('/api/v1/migrations/gohighlevel', {
    token: 'pit-bench',
    location_id: 'bench',
    base_url: ghl.url,
    dry_run: false,
    notes_and_tasks: false,
  });
  let readAt = 0;
  let readDoneAt = 0;
  let planAt = 0;
  type View = {
    status: string;
    error: { code: string; message: string } | null;
    progress: Record<string, { done: boolean }>;
  };
  let m = started as unknown as View;
  for (const end = Date.now() + 3 * 60 * 60_000; Date.now() < end; ) {
    await new Promise((r) => setTimeout(r, 1000));
    const res = await fetch(`${server.base}/api/v1/migrations/gohighlevel/${started.id}`, {
      headers: { cookie: me.cookie },
    });
    m = (await res.json()) as View;
    if (!readDoneAt && Object.values(m.progress ?? {}).every((p) => p.done) && m.status !== 'queued')
      readDoneAt = performance.now();
    if (!planAt && ['importing', 'completed'].includes(m.status)) planAt = performance.now();
    if (!readAt && readDoneAt) readAt = readDoneAt;
    if (['completed', 'stopped', 'failed'].includes(m.status)) break;
  }
  const totalS = (performance.now() - t0) / 1000;
  const readS = ((readAt || performance.now()) - t0) / 1000;
  const { rows } = await server.database.raw.query<{ contacts: string; opportunities: string }>(
    `select (select count(*) from contacts where archived_at is null) as contacts,
            (select count(*) from opportunities where archived_at is null) as opportunities`,
  );
  const records = N + M;
  const requests = ghl.requests();
  // Where the time went: the read (start to the last page stored), the plan (to the imports
  // created), each import (started to finished).
  const phases = (
    await server.database.raw.query<{
      object: string;
      rows: number;
      created: string;
      started: string;
      finished: string;
    }>(
      `select object, total_rows as rows, created_at::text as created, started_at::text as started, finished_at::text as finished
         from imports order by created_at`,
    )
  ).rows;
  const at = (s: string | undefined) =>
    s ? Date.parse(s.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00')) : Number.NaN;
  const phaseLines = phases.map(
    (p) =>
      `| import ${p.object} (${Number(p.rows).toLocaleString('en-US')} rows) | ${((at(p.finished) - at(p.started)) / 1000).toFixed(1)} s, ${(Number(p.rows) / ((at(p.finished) - at(p.started)) / 1000)).toFixed(0)} rows/s | |`,
  );
  const importsS = phases.length
    ? (Math.max(...phases.map((p) => at(p.finished))) - Math.min(...phases.map((p) => at(p.started)))) / 1000
    : Number.NaN;
  const planS = (planAt - (readDoneAt || planAt)) / 1000;
  const rate = records / totalS;
  const bound = (GHL_RATE.requests / GHL_RATE.perS) * PAGE;
  const boundS = requests / (GHL_RATE.requests / GHL_RATE.perS);
  const table = [
    '| measure | value | goal |',
    '|---|---|---|',
    `| status | ${m.status}${m.error ? ` (${m.error.code}: ${m.error.message})` : ''} | completed |`,
    `| contacts, opportunities in Cairn | ${Number(rows[0]?.contacts).toLocaleString('en-US')}, ${Number(rows[0]?.opportunities).toLocaleString('en-US')} | ${N.toLocaleString('en-US')}, ${M.toLocaleString('en-US')} |`,
    `| requests to GoHighLevel | ${requests.toLocaleString('en-US')} | |`,
    `| records/s, limiter raised (start to completed, ${totalS.toFixed(1)} s) | ${rate.toFixed(0)} | >= 1,000 or the rate limit |`,
    `| read phase alone (pages fetched and staged) | ${(records / readS).toFixed(0)} records/s (${readS.toFixed(1)} s) | |`,
    `| plan (staged records to the import files) | ${planS.toFixed(1)} s | |`,
    `| imports, first started to last finished | ${importsS.toFixed(1)} s, ${(records / importsS).toFixed(0)} records/s | |`,
    ...phaseLines,
    `| rate-limit-bound rate (100 requests / 10 s x ${PAGE} a page) | ${bound.toFixed(0)} records/s (these ${requests.toLocaleString('en-US')} requests: >= ${boundS.toFixed(0)} s) | |`,
    `| what a real migration gets (the lower) | ${Math.min(rate, bound).toFixed(0)} records/s | |`,
  ].join('\n');
  const section = [
    '<!-- gohighlevel:start -->',
    '## GoHighLevel migration (`bench/gohighlevel.bench.ts`, issue 33)',
    '',
    `${new Date().toISOString().slice(0, 10)}, commit ${commitOf()}; ${os.cpus()[0]?.model ?? 'unknown'}, ${os.cpus().length} cores; PostgreSQL ${server.version}; Node ${process.version}; ${loadAverageNote()}.`,
    `A run (not a dry run) of ${N.toLocaleString('en-US')} contacts and ${M.toLocaleString('en-US')} opportunities from a local replay server of GoHighLevel's API v2 (generated records, pages of ${PAGE}), through the HTTP API and the migration job on a pg-boss worker in this process: read, staged, planned, then imported (companies, contacts, opportunities). Notes and tasks off.`,
    '',
    table,
    '<!-- gohighlevel:end -->',
  ].join('\n');
  console.log(section);
  if (DEFAULT_SCALE) writeResultsSection('gohighlevel', section);
  else console.log('(not the default scale: bench/RESULTS.md left as it is)');
  await server.close();
  await ghl.close();
}

await main();
process.exit(0);
