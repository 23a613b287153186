import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, describe, expect, it } from 'vitest';
import { withTenant } from '../src/db/tenant.js';
import { type Dovecot, startDovecot } from './kit/dovecot.js';
import {
  expectStatus,
  queueOnly,
  serverDatabaseUrl,
  signUp,
  startTestApp,
  startWorker,
  stopWorkers,
  type TestApp,
  until,
  workerEnv,
} from './kit/index.js';

/**
 * Kill the worker mid-send (issue 25): a `cairn worker` child process runs a sequence's first
 * e-mail step for 60 enrolled contacts against a real SMTP server (smtp-server, answering each
 * message after a pause so sends are in flight) whose mailbox keeps a sent copy in its IMAP
 * `Sent` folder (a real Dovecot, as Gmail or Microsoft 365 do), and is killed (SIGKILL) in the
 * middle of the batch; another worker takes over. The messages the killed worker had claimed are
 * settled by the sent copy once their claim's lease ends: found, marked sent; absent, sent now.
 * Every contact receives the step exactly once. Separate processes need the server database.
 */
const serverUrl = serverDatabaseUrl();
const CONTACTS = 60;
let t: TestApp | undefined;
let smtp: SMTPServer | undefined;
let dovecot: Dovecot | undefined;
afterAll(async () => {
  stopWorkers();
  await t?.close();
  await new Promise<void>((r) => (smtp ? smtp.close(() => r()) : r()));
  await dovecot?.stop();
});

describe.skipIf(!serverUrl)('a worker killed mid-send of a sequence step', () => {
  it('sends each enrolled contact the step exactly once when a `cairn worker` is killed and another takes over', async () => {
    dovecot = await startDovecot('sales@cairn.test', 'imap-secret-2');
    await dovecot.create('Sent');
    const received: string[] = [];
    smtp = new SMTPServer({
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          // The whole message is in: the mailbox keeps its sent copy, then answers after a pause
          // (the worker is killed with messages in flight, some taken and not yet answered).
          dovecot!
            .append(Buffer.concat(chunks), 'Sent')
            .then(() => {
              received.push(...session.envelope.rcptTo.map((r) => r.address));
              setTimeout(() => callback(), 300);
            })
            .catch((e: Error) => callback(e));
        });
      },
    });
    await new Promise<void>((resolve) => smtp!.listen(0, '127.0.0.1', resolve));
    const port = (smtp.server.address() as AddressInfo).port;

    t = await startTestApp({ QUEUE_SUPERVISE_SECONDS: '2' }, queueOnly, {}, { queue: 'pg-boss' });
    const admin = await signUp(t, 'Killed Outreach Co');
    const c = admin.client;
    const mailbox = expectStatus<{ id: string }>(
      await c.post('/api/v1/channels', {
        kind: 'email',
        name: 'Sales',
        address: 'sales@cairn.test',
        smtp: { host: '127.0.0.1', port, secure: false, user: null },
        imap: {
          host: dovecot.host,
          port: dovecot.port,
          secure: false,
          user: dovecot.user,
          password: dovecot.password,
        },
        sync_days: 1,
      }),
      201,
    ).id;
    for (let i = 0; i < CONTACTS; i++)
      expectStatus(
        await c.post('/api/v1/contacts', {
          first_name: `P${i}`,
          emails: [{ value: `p${i}@prospects.example` }],
          tags: ['spring'],
        }),
        201,
      );
    const sequence = expectStatus<{ id: string }>(
      await c.post('/api/v1/sequences', {
        name: 'Spring',
        channel_id: mailbox,
        settings: {
          window: { days: [1, 2, 3, 4, 5, 6, 7], start: '00:00', end: '23:59' },
          hourly_limit: 0,
          daily_limit: 0,
        },
        steps: [
          { type: 'EMAIL', subject: 'Hello {{contact.first_name}}', body: 'Hi {{contact.first_name}}' },
          { type: 'WAIT', days: 3 },
        ],
      }),
      201,
    );
    expect(
      expectStatus<{ enrolled: number }>(
        await c.post(`/api/v1/sequences/${sequence.id}/enrollments`, {
          filter: { field: 'tags', op: 'hasAny', value: ['spring'] },
        }),
        200,
      ).enrolled,
    ).toBe(CONTACTS);

    const env = workerEnv(t, serverUrl!, 'seq-worker');
    const first = startWorker(env);
    await until(
      'the first worker to send a few',
      async () => (received.length >= 8 ? true : undefined),
      300_000,
      first,
    );
    first.child.kill('SIGKILL');
    const atKill = received.length;
    expect(atKill).toBeLessThan(CONTACTS);

    const statuses = async () =>
      withTenant(
        t!.services.database,
        { orgId: admin.orgId, actor: { type: 'system', id: null } },
        async (scope) => {
          const { rows } = await scope.conn.query<{ status: string; n: number }>(
            `select m.status, count(*)::int as n from messages m
              where m.org_id = $1 and m.idempotency_key like 'seq:%' group by 1`,
            [admin.orgId],
          );
          return Object.fromEntries(rows.map((r) => [r.status, r.n])) as Record<string, number>;
        },
      );
    const inFlight = await statuses();
    console.log('at the kill', atKill, 'received;', inFlight);
    const second = startWorker(env);
    // Done: every step handed, none queued, none in doubt (the lease ends 90 s after the claim).
    const final = await until(
      'the second worker to settle every message',
      async () => {
        const m = await statuses();
        return m.sent === CONTACTS ? m : undefined;
      },
      400_000,
      second,
    );
    second.child.kill('SIGTERM');
    expect(final).toEqual({ sent: CONTACTS });

    // Exactly once each: no contact twice, none skipped.
    const counts = new Map<string, number>();
    for (const a of received) counts.set(a, (counts.get(a) ?? 0) + 1);
    expect([...counts.values()].filter((n) => n !== 1)).toEqual([]);
    expect(counts.size).toBe(CONTACTS);
    // What the killed worker left: the messages it had claimed (in doubt) were settled.
    expect(inFlight.sent ?? 0).toBeLessThan(CONTACTS);
    const enrollments = expectStatus<{ data: { step_index: number; status: string }[] }>(
      await c.get(`/api/v1/sequences/${sequence.id}/enrollments?limit=200`),
      200,
    ).data;
    expect(enrollments).toHaveLength(CONTACTS);
    // Each went past its e-mail step (to the WAIT, or finished after it); none ended otherwise.
    expect(enrollments.filter((e) => e.step_index < 1 || e.status === 'exited')).toEqual([]);
  }, 900_000);
});
