import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncMailbox, watchersOf } from '../src/modules/conversations/email-sync.service.js';
import { MailboxWatchers } from '../src/modules/conversations/mailbox-watch.js';
import { setSuspended } from '../src/modules/operator/operator.service.js';
import { type Dovecot, startDovecot } from './kit/dovecot.js';
import { expectStatus, signUp, startTestApp, type TestApp } from './kit/index.js';

// IMAP IDLE (issue 23): a connected mailbox receives new mail within seconds. The worker holds one
// IDLE connection per mailbox to a real Dovecot; a message appended over IMAP reaches the inbox
// through the API with no sync asked for by hand; the connection comes back after a cut, and ends
// when the channel is paused or deleted or the organization suspended.

let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;
let dovecot: Dovecot;
let channelId: string;

const mail = (id: string, subject: string, text: string) =>
  [
    'From: Grace Hopper <grace@example.org>',
    'To: inbox@cairn.test',
    `Subject: ${subject}`,
    `Message-ID: <${id}@example.org>`,
    `Date: ${new Date().toUTCString()}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    text,
    '',
  ].join('\r\n');

/** Polls `check` every 100 ms until it returns a value, up to `ms`; @returns it and how long it took */
async function within<T>(ms: number, check: () => Promise<T | null | undefined | false>) {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value) return { value, ms: Date.now() - started };
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The inbox's conversation whose last message reads `text`, through the API. */
const inboxShows = async (text: string) => {
  const list = expectStatus(await admin.client.get('/api/v1/conversations?status=any'), 200);
  return list.data.find((c: { last_preview: string }) => c.last_preview === text) ?? null;
};

const listening = async () =>
  expectStatus(await admin.client.get(`/api/v1/channels/${channelId}`), 200).listening as boolean;

beforeAll(async () => {
  dovecot = await startDovecot();
  t = await startTestApp();
  // Short renewals and waits, so that a stop or a reconnection shows within the test's patience.
  watchersOf(t.services, { renewMs: 300, leaseMs: 3_000, backoffMs: [200, 500] });
  admin = await signUp(t, 'Idle Co');
  const created = expectStatus(
    await admin.client.post('/api/v1/channels', {
      kind: 'email',
      name: 'Live inbox',
      address: 'inbox@cairn.test',
      smtp: { host: '127.0.0.1', port: 2525, secure: false, user: null },
      imap: {
        host: dovecot.host,
        port: dovecot.port,
        secure: false,
        user: dovecot.user,
        password: dovecot.password,
      },
    }),
    201,
  );
  channelId = created.id;
  expect(created.listening).toBe(false);
}, 60_000);
afterAll(async () => {
  await t?.close();
  await dovecot?.stop();
});

describe('IMAP IDLE', () => {
  it('the worker listens to a connected mailbox: new mail is in the inbox within seconds, no sync asked for', async () => {
    // The worker runs the channel's first sync job, which starts its IDLE connection.
    await t.drain();
    await within(5_000, async () => watchersOf(t.services).stateOf(channelId)?.state === 'listening');
    expect(await listening()).toBe(true);

    const sent = Date.now();
    await dovecot.append(mail('idle-1', 'Compilers', 'Arrived by IDLE'));
    const { ms } = await within(5_000, () => inboxShows('Arrived by IDLE'));
    console.log(`IDLE: appended to in the inbox in ${Date.now() - sent} ms (seen by the API after ${ms} ms)`);
    expect(ms).toBeLessThan(5_000);
    // Nobody synced by hand: the only sync job is the next poll.
    expect((await t.queued('channel.sync')).length).toBe(1);
  });

  it('comes back after the server drops the connection, and catches up on what arrived meanwhile', async () => {
    expect(dovecot.kick()).toBe(true);
    await dovecot.append(mail('idle-2', 'Compilers', 'While cut off'));
    await within(8_000, () => inboxShows('While cut off'));
    await within(5_000, async () => watchersOf(t.services).stateOf(channelId)?.state === 'listening');
    await dovecot.append(mail('idle-3', 'Compilers', 'After the reconnection'));
    await within(5_000, () => inboxShows('After the reconnection'));
    // Each message once: the IDLE wake-ups and the catch-up never duplicate.
    const list = expectStatus(await admin.client.get('/api/v1/conversations?status=any'), 200);
    const thread = expectStatus(await admin.client.get(`/api/v1/conversations/${list.data[0].id}`), 200);
    expect(thread.messages.map((m: { message_id: string }) => m.message_id)).toEqual([
      '<idle-1@example.org>',
      '<idle-2@example.org>',
      '<idle-3@example.org>',
    ]);
  });

  it('holds one connection per mailbox: a second worker does not open another', async () => {
    const other = new MailboxWatchers(t.services, (ctx, id) => syncMailbox(t.services, ctx, id), {
      renewMs: 300,
      leaseMs: 3_000,
      backoffMs: [200],
      maxIdleMs: 60_000,
    });
    other.ensure(admin.orgId, channelId);
    // Its claim finds the lease held: it ends without connecting.
    await within(3_000, async () => other.stateOf(channelId) === null);
    expect(watchersOf(t.services).stateOf(channelId)?.state).toBe('listening');
    await other.stopAll();
  });

  it('stops when the channel is paused, listens again when it is resumed', async () => {
    expectStatus(await admin.client.patch(`/api/v1/channels/${channelId}`, { status: 'paused' }), 200);
    expect(watchersOf(t.services).stateOf(channelId)).toBeNull();
    await within(3_000, async () => !(await listening()));
    // Paused: new mail waits.
    await dovecot.append(mail('idle-4', 'Compilers', 'Sent while paused'));
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await inboxShows('Sent while paused')).toBeNull();

    // Resumed: this process listens again at once (another worker at its next poll) and catches up.
    expectStatus(await admin.client.patch(`/api/v1/channels/${channelId}`, { status: 'active' }), 200);
    await within(5_000, () => inboxShows('Sent while paused'));
    await within(5_000, async () => watchersOf(t.services).stateOf(channelId)?.state === 'listening');
  });

  it('stops when the organization is suspended (its lease given up), and starts again with its jobs once restored', async () => {
    const actor = { email: 'operator@cairn.test', source: { actor: { type: 'system' as const, id: null } } };
    await setSuspended(t.services, actor, admin.orgId, true, 'unpaid');
    await within(3_000, async () => watchersOf(t.services).stateOf(channelId) === null);
    const { rows } = await t.services.database.raw.query<{ idle_owner: string | null }>(
      'select idle_owner from channels where id = $1',
      [channelId],
    );
    expect(rows[0]!.idle_owner).toBeNull();
    await dovecot.append(mail('idle-5', 'Compilers', 'Sent while suspended'));
    await new Promise((r) => setTimeout(r, 1_000));

    await setSuspended(t.services, actor, admin.orgId, false, null);
    // The restored organization's poll runs (the worker), which listens again and catches up.
    await t.services.jobs.send(null, 'channel.sync', { org_id: admin.orgId, channel_id: channelId });
    await t.drain();
    await within(5_000, () => inboxShows('Sent while suspended'));
    await within(5_000, async () => watchersOf(t.services).stateOf(channelId)?.state === 'listening');
  });

  it('stops when the channel is deleted', async () => {
    expectStatus(await admin.client.delete(`/api/v1/channels/${channelId}`), 204);
    expect(watchersOf(t.services).stateOf(channelId)).toBeNull();
  });
});
