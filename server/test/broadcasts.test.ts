import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBroadcast } from '../src/modules/broadcasts/broadcast-runner.service.js';
import { expectProblem, expectStatus, signUp, startTestApp, type TestApp } from './kit/index.js';

// Broadcasts (issue 33) against a real SMTP server (smtp-server): one e-mail to a segment chosen
// with the query language, suppression, consent and one-click unsubscribe as sequences honour
// them, per-recipient status, throttling, cancel, idempotency. Both databases.

type Received = { to: string[]; raw: string };

async function startSmtp() {
  const received: Received[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks)
            .toString('utf8')
            .replace(/\r\n[ \t]+/g, ' '),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { received, port, close: () => new Promise<void>((r) => server.close(() => r())) };
}

let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;
let stranger: Awaited<ReturnType<typeof signUp>>;
let smtp: Awaited<ReturnType<typeof startSmtp>>;
let mailbox: string;
const LIMIT = 6;

beforeAll(async () => {
  smtp = await startSmtp();
  t = await startTestApp({ BROADCAST_MAX_RECIPIENTS: String(LIMIT) });
  admin = await signUp(t, 'Broadcast Co');
  stranger = await signUp(t, 'Elsewhere');
  mailbox = expectStatus(
    await admin.client.post('/api/v1/channels', {
      kind: 'email',
      name: 'News',
      address: 'news@cairn.test',
      smtp: { host: '127.0.0.1', port: smtp.port, secure: false, user: null },
    }),
    201,
  ).id;
}, 60_000);
afterAll(async () => {
  await t?.close();
  await smtp?.close();
});

const to = (address: string) => smtp.received.filter((r) => r.to.includes(address));
const tagged = (tag: string) => ({ filter: { field: 'tags', op: 'hasAny', value: [tag] } });

async function contact(
  first: string,
  tag: string,
  email: string | null = `${first.toLowerCase()}@people.example`,
) {
  return expectStatus<{ id: string }>(
    await admin.client.post('/api/v1/contacts', {
      first_name: first,
      last_name: 'Reader',
      emails: email ? [{ value: email }] : [],
      tags: [tag],
    }),
    201,
  );
}

async function draft(name: string, segment: unknown, extra: Record<string, unknown> = {}) {
  return expectStatus<{ id: string; status: string }>(
    await admin.client.post('/api/v1/broadcasts', {
      name,
      channel_id: mailbox,
      subject: 'News for {{contact.first_name}}',
      body: 'Hi {{contact.first_name}}, this is {{sender.name}}.',
      segment,
      ...extra,
    }),
    201,
  );
}

type Recipient = {
  id: string;
  contact_id: string;
  address: string | null;
  status: string;
  detail: string | null;
};
async function recipients(id: string): Promise<Map<string, Recipient>> {
  const page = expectStatus<{ data: Recipient[] }>(
    await admin.client.get(`/api/v1/broadcasts/${id}/recipients?limit=500`),
    200,
  );
  return new Map(page.data.map((r) => [r.address ?? r.contact_id, r]));
}

describe('a broadcast to a segment', () => {
  let id: string;

  it('previews the segment, refuses an empty one and one above the plan limit with a clear 422', async () => {
    for (const n of ['Ann', 'Bob', 'Cid', 'Dee']) await contact(n, 'news');
    const gone = await contact('Una', 'news');
    const noConsent = await contact('Wes', 'news');
    await contact('Nia', 'news', null);
    for (const n of ['Zed', 'Yul']) await contact(n, 'other');
    // Una unsubscribed before (the suppression list), Wes withdrew his e-mail consent.
    expectStatus(
      await admin.client.post('/api/v1/suppressions', {
        channel_kind: 'email',
        address: 'una@people.example',
        reason: 'unsubscribed',
      }),
      201,
    );
    expectStatus(
      await admin.client.post('/api/v1/consents', {
        contact_id: noConsent.id,
        channel: 'email',
        purpose: 'marketing',
        status: 'withdrawn',
        source: 'test',
      }),
      201,
    );
    expect(gone.id).toBeTruthy();
    const preview = expectStatus<{
      count: number;
      reachable: number;
      limit: number;
      sample: { name: string }[];
    }>(
      await admin.client.post('/api/v1/broadcasts/preview', { channel_id: mailbox, segment: tagged('news') }),
      200,
    );
    expect(preview).toMatchObject({ count: 7, reachable: 5, limit: LIMIT });
    expect(preview.sample.map((s) => s.name)).toContain('Ann Reader');

    const empty = await draft('Nobody', tagged('nobody'));
    expectProblem(await admin.client.post(`/api/v1/broadcasts/${empty.id}/send`, {}), 422, 'segment_empty');
    // 7 contacts tagged news, the limit is 6.
    const big = await draft('Too many', tagged('news'));
    const tooBig = await admin.client.post(`/api/v1/broadcasts/${big.id}/send`, {});
    expectProblem(tooBig, 422, 'segment_too_large');
    expect(tooBig.body.errors?.[0]?.path ?? tooBig.body.path ?? 'body.segment').toBe('body.segment');
    // A bad filter names its path; a missing subject too.
    const bad = await admin.client.post('/api/v1/broadcasts', {
      name: 'x',
      channel_id: mailbox,
      subject: 's',
      body: 'b',
      segment: { filter: { field: 'nope', op: 'eq', value: 1 } },
    });
    expect(bad.status, bad.text).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('body.segment.filter');
    const noSubject = await admin.client.post('/api/v1/broadcasts', {
      name: 'x',
      channel_id: mailbox,
      body: 'b',
      segment: tagged('news'),
    });
    expectProblem(noSubject, 400, 'validation_failed');
  });

  it('sends once to each reachable contact, with template variables and RFC 8058 one-click unsubscribe; the rest say why', async () => {
    // The segment: news but not Nia (no e-mail), 6 contacts <= the limit.
    const segment = {
      filter: {
        and: [
          { field: 'tags', op: 'hasAny', value: ['news'] },
          { field: 'email', op: 'isNotEmpty' },
        ],
      },
    };
    id = (await draft('Spring news', segment)).id;
    const sent = expectStatus<{ status: string }>(
      await admin.client.post(`/api/v1/broadcasts/${id}/send`, {}),
      200,
    );
    expect(sent.status).toBe('scheduled');
    await t.drain();
    const b = expectStatus<{ status: string; recipient_count: number; stats: Record<string, number> }>(
      await admin.client.get(`/api/v1/broadcasts/${id}`),
      200,
    );
    expect(b).toMatchObject({ status: 'sent', recipient_count: 6 });
    expect(b.stats).toEqual({ sent: 4, unsubscribed: 2 });
    for (const n of ['ann', 'bob', 'cid', 'dee']) {
      const got = to(`${n}@people.example`);
      expect(got).toHaveLength(1);
      const raw = got[0]!.raw;
      expect(raw).toMatch(new RegExp(`^Subject: News for ${n[0]!.toUpperCase()}${n.slice(1)}\\r?$`, 'm'));
      expect(raw).toContain('this is News.');
      expect(raw).toMatch(/^List-Unsubscribe: <http[^>]+\/api\/v1\/public\/unsubscribe\/[^>]+>\r?$/m);
      expect(raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r?$/m);
    }
    expect(to('una@people.example')).toHaveLength(0);
    expect(to('wes@people.example')).toHaveLength(0);
    const rs = await recipients(id);
    expect(rs.get('una@people.example')).toMatchObject({
      status: 'unsubscribed',
      detail: 'suppressed (unsubscribed)',
    });
    expect(rs.get('wes@people.example')).toMatchObject({
      status: 'unsubscribed',
      detail: 'consent withdrawn',
    });
    expect(rs.get('ann@people.example')!.status).toBe('sent');

    // Running it again (a retried job) sends nothing more.
    await runBroadcast(t.services, admin.orgId, id);
    await t.drain({ delayed: true });
    expect(to('ann@people.example')).toHaveLength(1);
    // It cannot be sent again, nor cancelled once sent.
    expectProblem(await admin.client.post(`/api/v1/broadcasts/${id}/send`, {}), 409, 'invalid_state');
    expectProblem(await admin.client.post(`/api/v1/broadcasts/${id}/cancel`, {}), 409, 'invalid_state');
  });

  it('one-click unsubscribe from the broadcast marks the recipient and suppresses the address for the next one', async () => {
    const raw = to('bob@people.example')[0]!.raw;
    const url = /^List-Unsubscribe: <([^>]+)>/m.exec(raw)![1]!;
    const path = new URL(url).pathname;
    const res = await t.app.inject({
      method: 'POST',
      url: path,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(res.statusCode, res.body).toBe(200);
    expect((await recipients(id)).get('bob@people.example')!.status).toBe('unsubscribed');
    const next = await draft('Summer news', tagged('news'), { subject: 'Summer', body: 'Hello' });
    // 7 news contacts > 6: narrow to those with an e-mail.
    expectStatus(
      await admin.client.patch(`/api/v1/broadcasts/${next.id}`, {
        segment: {
          filter: {
            and: [
              { field: 'tags', op: 'hasAny', value: ['news'] },
              { field: 'email', op: 'isNotEmpty' },
            ],
          },
        },
      }),
      200,
    );
    expectStatus(await admin.client.post(`/api/v1/broadcasts/${next.id}/send`, {}), 200);
    await t.drain();
    expect(to('bob@people.example')).toHaveLength(1);
    expect(to('ann@people.example')).toHaveLength(2);
    expect((await recipients(next.id)).get('bob@people.example')!.status).toBe('unsubscribed');
  });

  it('throttles per channel, and cancel stops what is not yet sent', async () => {
    for (const n of ['Tia', 'Tom', 'Ted', 'Tex', 'Tod']) await contact(n, 'throttle');
    // A mailbox of its own: the throttle counts every broadcast's messages on the channel in the
    // last minute, and the first mailbox sent more than 2 in this file's last minute.
    const slow = expectStatus<{ id: string }>(
      await admin.client.post('/api/v1/channels', {
        kind: 'email',
        name: 'Slow',
        address: 'slow@cairn.test',
        smtp: { host: '127.0.0.1', port: smtp.port, secure: false, user: null },
      }),
      201,
    ).id;
    const crowded = await draft('Crowded', tagged('throttle'), { per_minute: 2 });
    expectStatus(await admin.client.post(`/api/v1/broadcasts/${crowded.id}/send`, {}), 200);
    await t.drain();
    // The first mailbox is past 2 a minute already: nothing handed over, every recipient pending.
    expect([...(await recipients(crowded.id)).values()].every((r) => r.status === 'pending')).toBe(true);
    expectStatus(await admin.client.post(`/api/v1/broadcasts/${crowded.id}/cancel`, {}), 200);
    const b = await draft('Slow', tagged('throttle'), { per_minute: 2, channel_id: slow });
    expectStatus(await admin.client.post(`/api/v1/broadcasts/${b.id}/send`, {}), 200);
    await t.drain();
    let rs = [...(await recipients(b.id)).values()];
    expect(rs.filter((r) => r.status === 'sent')).toHaveLength(2);
    expect(rs.filter((r) => r.status === 'pending')).toHaveLength(3);
    // The next run is armed about a minute later.
    expect((await t.queued('broadcast.run')).length).toBeGreaterThan(0);
    const cancelled = expectStatus<{ status: string; stats: Record<string, number> }>(
      await admin.client.post(`/api/v1/broadcasts/${b.id}/cancel`, {}),
      200,
    );
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.stats).toEqual({ sent: 2, cancelled: 3 });
    await t.drain({ delayed: true });
    rs = [...(await recipients(b.id)).values()];
    expect(rs.filter((r) => r.status === 'sent')).toHaveLength(2);
    const throttledSent = ['tia', 'tom', 'ted', 'tex', 'tod'].filter(
      (n) => to(`${n}@people.example`).length > 0,
    );
    expect(throttledSent).toHaveLength(2);
  });

  it('a scheduled broadcast waits for its time and cancelled sends nothing; statuses filter; another tenant gets 404', async () => {
    await contact('Sam', 'later');
    const b = await draft('Later', tagged('later'));
    expectProblem(
      await admin.client.post(`/api/v1/broadcasts/${b.id}/send`, { at: '2001-01-01T00:00:00Z' }),
      400,
      'validation_failed',
    );
    const at = new Date(Date.now() + 3_600_000).toISOString();
    const s = expectStatus<{ status: string; scheduled_at: string }>(
      await admin.client.post(`/api/v1/broadcasts/${b.id}/send`, { at }),
      200,
    );
    expect(s.status).toBe('scheduled');
    await t.drain();
    expect((await recipients(b.id)).size).toBe(0);
    expectProblem(
      await admin.client.patch(`/api/v1/broadcasts/${b.id}`, { name: 'x' }),
      409,
      'invalid_state',
    );
    expectStatus(await admin.client.post(`/api/v1/broadcasts/${b.id}/cancel`, {}), 200);
    await t.drain({ delayed: true });
    expect(to('sam@people.example')).toHaveLength(0);
    const onlySent = expectStatus<{ data: Recipient[]; total: number }>(
      await admin.client.get(`/api/v1/broadcasts/${id}/recipients?status=unsubscribed`),
      200,
    );
    expect(onlySent.total).toBe(3);
    expectProblem(await stranger.client.get(`/api/v1/broadcasts/${id}`), 404, 'not_found');
    expectProblem(await stranger.client.post(`/api/v1/broadcasts/${id}/cancel`, {}), 404, 'not_found');
    expect(
      expectStatus<{ data: unknown[] }>(await stranger.client.get('/api/v1/broadcasts'), 200).data,
    ).toHaveLength(0);
    // The timeline wording of its events.
    const list = expectStatus<{ data: { id: string; status: string }[] }>(
      await admin.client.get('/api/v1/broadcasts'),
      200,
    );
    expect(list.data.map((x) => x.status)).toContain('cancelled');
  });
});
