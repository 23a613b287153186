import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, describe, expect, it } from 'vitest';
import { withTenant } from '../src/db/tenant.js';
import {
  expectStatus,
  serverDatabaseUrl,
  signUp,
  startTestApp,
  startWorker,
  stopWorkers,
  type TestApp,
  until,
} from './kit/index.js';

/**
 * Kill the worker mid-broadcast (issue 33): a `cairn worker` child process sends a broadcast to
 * a real SMTP server (smtp-server, answering each message after a pause so the send takes a
 * while) and is killed (SIGKILL) once some have arrived; another worker takes over. No address
 * receives the broadcast twice, and every recipient is either received or in doubt (its message
 * claimed by the killed worker mid-dialogue: `sending`, never sent again). Separate processes need
 * the server database, as in workflows-worker.test.ts.
 */
const serverUrl = serverDatabaseUrl();
let t: TestApp | undefined;
let smtp: SMTPServer | undefined;
afterAll(async () => {
  stopWorkers();
  await t?.close();
  await new Promise<void>((r) => (smtp ? smtp.close(() => r()) : r()));
});

const CONTACTS = 60;

describe.skipIf(!serverUrl)('a worker killed mid-broadcast', () => {
  it('sends no address twice when a `cairn worker` is killed and another takes over', async () => {
    const received: string[] = [];
    smtp = new SMTPServer({
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData(stream, session, callback) {
        stream.on('data', () => {});
        stream.on('end', () => {
          // Accepted after a pause: the worker is killed with messages in flight.
          setTimeout(() => {
            received.push(...session.envelope.rcptTo.map((r) => r.address));
            callback();
          }, 150);
        });
      },
    });
    // The killed worker's connections reset.
    smtp.on('error', () => {});
    await new Promise<void>((resolve) => smtp!.listen(0, '127.0.0.1', resolve));
    const port = (smtp.server.address() as AddressInfo).port;

    t = await startTestApp(
      { QUEUE_SUPERVISE_SECONDS: '2' },
      (services) => {
        const start = services.jobs.start.bind(services.jobs);
        services.jobs.start = () => start({ worker: false });
      },
      {},
      { queue: 'pg-boss' },
    );
    const admin = await signUp(t, 'Killed Broadcast Co');
    const c = admin.client;
    const mailbox = expectStatus<{ id: string }>(
      await c.post('/api/v1/channels', {
        kind: 'email',
        name: 'News',
        address: 'news@cairn.test',
        smtp: { host: '127.0.0.1', port, secure: false, user: null },
      }),
      201,
    ).id;
    for (let i = 0; i < CONTACTS; i++)
      expectStatus(
        await c.post('/api/v1/contacts', {
          first_name: `R${i}`,
          emails: [{ value: `r${i}@readers.example` }],
          tags: ['all'],
        }),
        201,
      );
    const b = expectStatus<{ id: string }>(
      await c.post('/api/v1/broadcasts', {
        name: 'Everyone',
        channel_id: mailbox,
        subject: 'Hello {{contact.first_name}}',
        body: 'News',
        segment: { filter: { field: 'tags', op: 'hasAny', value: ['all'] } },
      }),
      201,
    );
    expectStatus(await c.post(`/api/v1/broadcasts/${b.id}/send`, {}), 200);

    const env = {
      DATABASE_URL: serverUrl!,
      QUEUE_SCHEMA: t.services.config.queueSchema,
      QUEUE_SUPERVISE_SECONDS: '2',
      SECRET: t.services.config.secret,
      BASE_URL: 'http://127.0.0.1:1',
      DATA_DIR: mkdtempSync(path.join(tmpdir(), 'cairn-bc-worker-')),
    };
    const first = startWorker(env);
    await until(
      'the first worker to send a few',
      async () => (received.length >= 8 ? true : undefined),
      300_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${first.output()}`);
    });
    first.child.kill('SIGKILL');
    const atKill = received.length;
    expect(atKill).toBeLessThan(CONTACTS);

    const messages = async () =>
      withTenant(
        t!.services.database,
        { orgId: admin.orgId, actor: { type: 'system', id: null } },
        async (scope) => {
          const { rows } = await scope.conn.query<{ status: string; n: number }>(
            `select m.status, count(*)::int as n from broadcast_recipients r
             join messages m on m.org_id = r.org_id and m.id = r.message_id
            where r.org_id = $1 and r.broadcast_id = $2 group by 1`,
            [admin.orgId, b.id],
          );
          return Object.fromEntries(rows.map((r) => [r.status, r.n])) as Record<string, number>;
        },
      );
    const second = startWorker(env);
    const final = await until(
      'the second worker to finish the broadcast',
      async () => {
        const view = expectStatus<{ status: string }>(await c.get(`/api/v1/broadcasts/${b.id}`), 200);
        const m = await messages();
        const handed = Object.values(m).reduce((a, n) => a + n, 0);
        return view.status === 'sent' && handed === CONTACTS && !m.queued ? m : undefined;
      },
      300_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${second.output()}`);
    });
    second.child.kill('SIGTERM');

    // Never twice: each address at most once.
    const counts = new Map<string, number>();
    for (const a of received) counts.set(a, (counts.get(a) ?? 0) + 1);
    expect([...counts.values()].filter((n) => n > 1)).toEqual([]);
    // Every recipient received, or in doubt (claimed by the killed worker mid-dialogue, never resent).
    const inDoubt = final.sending ?? 0;
    // At most the killed worker's fetches in flight (send jobs run 10 at once); they are settled
    // once their claim's lease ends (send-batch.service: in doubt for a person, this mailbox keeps no
    // sent copy), after this test's wait.
    expect(inDoubt).toBeLessThanOrEqual(20);
    expect(counts.size + inDoubt).toBeGreaterThanOrEqual(CONTACTS - (final.failed ?? 0));
    expect(final.sent ?? 0).toBeGreaterThanOrEqual(CONTACTS - 20);
  }, 900_000);
});
