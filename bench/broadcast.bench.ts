/**
 * Broadcast benchmark (issue 33): one e-mail broadcast to N contacts (default 20,000) handed to a
 * local SMTP server (the `smtp-server` package, in this process, accepting every message), on the
 * PostgreSQL server (database `cairn_bench_broadcast`, recreated each run), throttling off. The
 * broadcast is composed and sent through the real HTTP API; the run job and the inbox's send jobs
 * run on pg-boss workers in this process, as in production. Prints messages/s: N over the time
 * from the send request to the last message the SMTP server accepted (goal >= 100/s).
 *
 *   npx tsx bench/broadcast.bench.ts [--n=2000] [--url=postgres://host:port]
 *
 * Rewrites its section of bench/RESULTS.md. Exits 0 whatever the figures.
 */
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { SMTPServer } from 'smtp-server';
import { loadConfig } from '../server/src/config.js';
import { openDatabase } from '../server/src/db/client.js';
import { createServices } from '../server/src/runtime.js';
import { benchPoster, seedMailableContacts, signUpBench, startBenchServer } from './bench-server.js';
import { commitOf, loadAverageNote, writeResultsSection } from './machine.js';

const args = process.argv.slice(2);
const arg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const N = Number(arg('n') ?? 20_000);
const SERVER_URL = (arg('url') ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/+$/, '');
const DB_NAME = 'cairn_bench_broadcast';

async function main() {
  let accepted = 0;
  let lastAt = 0;
  const smtp = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      stream.on('data', () => {});
      stream.on('end', () => {
        accepted += 1;
        lastAt = performance.now();
        callback();
      });
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
  const smtpPort = (smtp.server.address() as AddressInfo).port;

  const server = await startBenchServer(SERVER_URL, DB_NAME);
  const { base: BASE, dbUrl: DB_URL, version } = server;
  const workerDb = await openDatabase({ databaseUrl: DB_URL, poolSize: 10 });
  const workers = await createServices({
    config: loadConfig({
      DATABASE_URL: DB_URL,
      SECRET: 'x'.repeat(40),
      LOG_LEVEL: 'warn',
      DATA_DIR: os.tmpdir(),
      BASE_URL: BASE,
      QUEUE_SCHEMA: 'pgboss_bench',
    }),
    database: workerDb,
  });
  await workers.jobs.start({ worker: true });

  const me = await signUpBench(BASE, 'Broadcast bench', 'bench@broadcast.test');
  const post = benchPoster(BASE, me.cookie);
  const channel = await post('/api/v1/channels', {
    kind: 'email',
    name: 'Bench',
    address: 'bench@broadcast.test',
    smtp: { host: '127.0.0.1', port: smtpPort, secure: false, user: null },
  });

  const raw = await seedMailableContacts(DB_URL, me.orgId, me.userId, N, 'Reader', 'reader');

  const b = await post('/api/v1/broadcasts', {
    name: 'Bench',
    channel_id: channel.id,
    subject: 'Hello {{contact.first_name}}',
    body: 'Hi {{contact.first_name}} {{contact.last_name}}, news from {{sender.name}}.',
    segment: { filter: { field: 'tags', op: 'hasAny', value: ['bench'] } },
  });
  const t0 = performance.now();
  await post(`/api/v1/broadcasts/${b.id}/send`, {});
  const started = Date.now();
  let handedAt = 0;
  for (;;) {
    if (!handedAt) {
      const { rows } = await raw.query<{ status: string }>('select status from broadcasts where id = $1', [
        b.id,
      ]);
      if (rows[0]?.status === 'sent') handedAt = performance.now();
    }
    if (accepted >= N || Date.now() - started > 30 * 60_000) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const totalS = ((lastAt || performance.now()) - t0) / 1000;
  const handedS = ((handedAt || performance.now()) - t0) / 1000;
  await raw.end();

  const rate = accepted / totalS;
  const table = [
    '| measure | value | goal |',
    '|---|---|---|',
    `| messages accepted by the SMTP server | ${accepted.toLocaleString('en-US')} of ${N.toLocaleString('en-US')} | all |`,
    `| messages/s (send request to the last message accepted) | ${rate.toFixed(0)} | >= 100 |`,
    `| recipients handed to the sending layer | ${(N / handedS).toFixed(0)}/s (${handedS.toFixed(1)} s) | |`,
  ].join('\n');
  const section = [
    '<!-- broadcast:start -->',
    '## Broadcasts (issue 33)',
    '',
    `${new Date().toISOString().slice(0, 10)}, commit ${commitOf()}; ${os.cpus()[0]?.model ?? 'unknown'}, ${os.cpus().length} cores; PostgreSQL ${version}; Node ${process.version}; ${loadAverageNote()}.`,
    `One e-mail broadcast to ${N.toLocaleString('en-US')} contacts (template variables, List-Unsubscribe), throttling off, real HTTP to send; pg-boss workers in the same process; a local smtp-server accepting every message (one SMTP connection per message, as the sending layer does).`,
    '',
    table,
    '<!-- broadcast:end -->',
  ].join('\n');
  console.log(section);
  writeResultsSection('broadcast', section);
  await workers.jobs.stop(2000);
  await workerDb.close();
  await server.close();
  await new Promise<void>((r) => smtp.close(() => r()));
}

await main();
process.exit(0);
