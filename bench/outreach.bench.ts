/**
 * Outreach benchmark (issue 25), on the PostgreSQL server (database `cairn_bench_outreach`,
 * recreated each run), throttles off:
 *
 * 1. N contacts (default 10,000) enrolled in a sequence from a query-language filter in one
 *    request (`POST /api/v1/sequences/:id/enrollments`, goal < 10 s);
 * 2. their first step, an e-mail, due at one time: the sequence tick (pg-boss workers in this
 *    process, as `cairn worker` runs them) renders each and hands it to the inbox's sending layer,
 *    whose send jobs give it to a local SMTP server (the `smtp-server` package, accepting every
 *    message). Prints messages/s (N over the time from the due time to the last message
 *    accepted, goal >= 100/s) and the largest delay past the step's due time.
 *
 *   npx tsx bench/outreach.bench.ts [--n=10000] [--url=postgres://host:port]
 *
 * The floor, in the same run: the same N messages handed straight to the same SMTP server by a
 * nodemailer pool shaped like the sending layer's (5 connections, 100 messages each), with no
 * database, queue or rendering: Cairn can approach it, never beat it.
 *
 * Rewrites its section of bench/RESULTS.md. Exits 0 whatever the figures.
 */
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { benchPoster, seedMailableContacts, signUpBench, startBenchServer } from './bench-server.js';
import { commitOf, loadAverageNote, writeResultsSection } from './machine.js';

const args = process.argv.slice(2);
const arg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const N = Number(arg('n') ?? 10_000);
const SERVER_URL = (arg('url') ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/+$/, '');
const DB_NAME = 'cairn_bench_outreach';
/** How long after the enrollment request the first step is due (the enrollment is timed alone). */
const LEAD_MS = 15_000;

async function main() {
  const acceptedAt: number[] = [];
  let connections = 0;
  const smtp = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onConnect(_session, callback) {
      connections += 1;
      callback();
    },
    onData(stream, _session, callback) {
      stream.on('data', () => {});
      stream.on('end', () => {
        acceptedAt.push(Date.now());
        callback();
      });
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
  const smtpPort = (smtp.server.address() as AddressInfo).port;

  // The floor: the SMTP hand-off alone.
  const floorTransport = nodemailer.createTransport({
    pool: true,
    maxConnections: 5,
    maxMessages: 100,
    host: '127.0.0.1',
    port: smtpPort,
    secure: false,
  });
  const f0 = performance.now();
  await Promise.all(
    Array.from({ length: N }, (_, i) =>
      floorTransport.sendMail({
        from: 'sales@outreach.test',
        to: `floor${i}@prospect.test`,
        subject: `Hello Prospect ${i}`,
        text: `Hi Prospect ${i}, a word from Bench.\n\n--\nUnsubscribe: http://127.0.0.1/x\n`,
      }),
    ),
  );
  const floorRate = N / ((performance.now() - f0) / 1000);
  floorTransport.close();
  acceptedAt.length = 0;
  connections = 0;

  const server = await startBenchServer(SERVER_URL, DB_NAME, { worker: true });
  const { base: BASE, dbUrl: DB_URL, version } = server;
  const me = await signUpBench(BASE, 'Outreach bench', 'bench@outreach.test');
  const post = benchPoster(BASE, me.cookie);
  const channel = await post('/api/v1/channels', {
    kind: 'email',
    name: 'Bench',
    address: 'sales@outreach.test',
    smtp: { host: '127.0.0.1', port: smtpPort, secure: false, user: null },
  });
  const raw = await seedMailableContacts(DB_URL, me.orgId, me.userId, N, 'Prospect', 'prospect');
  await raw.query('vacuum analyze contacts');
  const sequence = await post('/api/v1/sequences', {
    name: 'Bench',
    channel_id: channel.id,
    settings: {
      time_zone: 'UTC',
      window: { days: [1, 2, 3, 4, 5, 6, 7], start: '00:00', end: '23:59' },
      hourly_limit: 0,
      daily_limit: 0,
    },
    steps: [
      {
        type: 'EMAIL',
        subject: 'Hello {{contact.first_name}}',
        body: 'Hi {{contact.first_name}} {{contact.last_name}}, a word from {{sender.name}}.',
        variants: [{ subject: 'Quick question, {{contact.first_name}}', body: 'Hi {{contact.first_name}}!' }],
      },
      { type: 'WAIT', days: 3 },
      { type: 'EMAIL', subject: 'Following up', body: 'Closing the loop, {{contact.first_name}}.' },
    ],
  });

  const dueAt = Date.now() + LEAD_MS;
  const e0 = performance.now();
  const enrolled = await post(`/api/v1/sequences/${sequence.id}/enrollments`, {
    filter: { field: 'tags', op: 'hasAny', value: ['bench'] },
    start_at: new Date(dueAt).toISOString(),
  });
  const enrollS = (performance.now() - e0) / 1000;
  if (Date.now() > dueAt) console.warn('the enrollment took longer than the lead: the due time had passed');

  for (;;) {
    if (acceptedAt.length >= N || Date.now() - dueAt > 30 * 60_000) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const last = acceptedAt.length ? Math.max(...acceptedAt) : Date.now();
  const spanS = (last - dueAt) / 1000;
  const rate = acceptedAt.length / spanS;
  const sorted = acceptedAt.map((a) => (a - dueAt) / 1000).sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
  const { rows } = await raw.query<{ n: number; first: number; last: number }>(
    `select count(*)::int as n, extract(epoch from min(created_at)) * 1000 as first,
            extract(epoch from max(created_at)) * 1000 as last from messages where org_id = $1`,
    [me.orgId],
  );
  await raw.end();

  const table = [
    '| measure | value | goal |',
    '|---|---|---|',
    `| contacts enrolled from a filter in one request | ${Number(enrolled.enrolled).toLocaleString('en-US')} in ${enrollS.toFixed(1)} s | < 10 s |`,
    `| messages accepted by the SMTP server | ${acceptedAt.length.toLocaleString('en-US')} of ${N.toLocaleString('en-US')} (${rows[0]!.n.toLocaleString('en-US')} rendered) | all |`,
    `| messages/s (due time to the last message accepted) | ${rate.toFixed(0)} | >= 100 |`,
    `| floor: the same SMTP server, a bare nodemailer pool (5 connections), no database | ${floorRate.toFixed(0)} messages/s | Cairn: ${((100 * rate) / floorRate).toFixed(0)} % of it |`,
    `| delay past the due time: median / p95 / largest | ${pct(0.5).toFixed(1)} s / ${pct(0.95).toFixed(1)} s / ${spanS.toFixed(1)} s | |`,
    `| messages rendered and queued by the sequence tick (first / last after the due time) | ${((Number(rows[0]!.first) - dueAt) / 1000).toFixed(1)} s / ${((Number(rows[0]!.last) - dueAt) / 1000).toFixed(1)} s | |`,
    `| SMTP connections opened | ${connections} | |`,
  ].join('\n');
  const section = [
    '<!-- outreach:start -->',
    '## Outreach sequences (issue 25)',
    '',
    `${new Date().toISOString().slice(0, 10)}, commit ${commitOf()}; ${os.cpus()[0]?.model ?? 'unknown'}, ${os.cpus().length} cores; PostgreSQL ${version}; Node ${process.version}; ${loadAverageNote()}.`,
    `A 3-step sequence (EMAIL with an A/B variant, WAIT, EMAIL), ${N.toLocaleString('en-US')} contacts enrolled from a tag filter through the real HTTP API, their first e-mail due ${LEAD_MS / 1000} s later; throttles off; pg-boss workers in the same process run the sequence tick and the send jobs (fetched 50 at a time, each fetch one batch: one claim, the pooled SMTP connections, one record with its events); a local smtp-server accepts every message (the sending layer's pooled SMTP connections).`,
    '',
    table,
    '<!-- outreach:end -->',
  ].join('\n');
  console.log(section);
  writeResultsSection('outreach', section);
  await server.close();
  await new Promise<void>((r) => smtp.close(() => r()));
}

await main();
process.exit(0);
