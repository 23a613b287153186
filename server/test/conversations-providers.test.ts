import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageView } from '../src/modules/conversations/conversation.dto.js';
import {
  isMailgunSignature,
  isSendgridSignature,
  mailgunEvents,
  postmarkEvents,
  sendgridEvents,
} from '../src/modules/conversations/provider-webhook.js';
import { runTick } from '../src/modules/sequences/sequence-runner.service.js';
import { CLAMD, type Clamd, downloadFile, startClamd } from './kit/files.js';
import {
  BASE_URL,
  expectProblem,
  expectStatus,
  SHARED_DATA,
  signUp,
  startTestApp,
  type TestApp,
} from './kit/index.js';

// Provider mode of e-mail channels (issues 23 and 25): SendGrid, Postmark and Mailgun send by their
// HTTP APIs (a local server speaking each one's request and answer formats), receive by their
// inbound webhooks, and report delivery, bounces and complaints by their event webhooks, verified
// by each one's scheme with the published samples and vectors in ../shared/data/webhooks. Inbound
// attachments go through the files pipeline as a synced message's do (a real clamd when installed).

const DATA = existsSync(SHARED_DATA) ? SHARED_DATA : '/work/shared/data/';
const WEBHOOKS = `${DATA}webhooks/`;
const json = (path: string) => JSON.parse(readFileSync(`${WEBHOOKS}${path}`, 'utf8'));
const MAILGUN = json('anymail-esp-fixtures/mailgun-webhook-payloads.anymail.json');
const mailgunFixture = (name: string) =>
  MAILGUN.fixtures.find((f: { test: string }) => f.test.endsWith(name)).payload as Record<string, any>;
const ANYMAIL = json('anymail-esp-fixtures/anymail-extracted-payloads.json').fixtures;
const anymail = (file: string, test: string) =>
  ANYMAIL[file].find((f: { test: string }) => f.test.endsWith(test)).value as any;

type Call = { path: string; headers: IncomingMessage['headers']; body: string };

/** A local server answering as SendGrid, Postmark and Mailgun do (their API references' formats). */
async function startProviders() {
  const calls: Call[] = [];
  let n = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = req.url ?? '';
      calls.push({ path, headers: req.headers, body });
      const send = (status: number, answer: unknown, headers: Record<string, string> = {}) =>
        res
          .writeHead(status, { 'content-type': 'application/json', ...headers })
          .end(answer === null ? '' : JSON.stringify(answer));
      n += 1;
      if (path === '/v3/scopes') return send(200, { scopes: ['mail.send'] });
      if (path === '/server') return send(200, { ID: 1, Name: 'Cairn' });
      if (path.startsWith('/v3/domains/')) return send(200, { domain: { name: 'mg.cairn.test' } });
      if (path === '/v3/mail/send') {
        const to = JSON.parse(body).personalizations[0].to[0].email as string;
        if (to.startsWith('nobody@'))
          return send(400, {
            errors: [
              {
                message: 'Does not contain a valid address.',
                field: 'personalizations.0.to.0.email',
                help: null,
              },
            ],
          });
        return send(202, null, { 'x-message-id': `sgid${n}xyz` });
      }
      if (path === '/email') {
        const to = JSON.parse(body).To as string;
        if (to.startsWith('nobody@'))
          return send(422, {
            ErrorCode: 406,
            Message: 'You tried to send to a recipient that has been marked as inactive.',
          });
        return send(200, {
          To: to,
          SubmittedAt: new Date().toISOString(),
          MessageID: '2706ee8a-737c-4285-b032-ccd317af53ed',
          ErrorCode: 0,
          Message: 'OK',
        });
      }
      if (/^\/v3\/[^/]+\/messages$/.test(path))
        return send(200, {
          id: '<20180812211713.1.DF5966851B4BAA99@example.org>',
          message: 'Queued. Thank you.',
        });
      send(404, { message: 'not found' });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    calls,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

let t: TestApp;
let clamd: Clamd | undefined;
let admin: Awaited<ReturnType<typeof signUp>>;
let api: Awaited<ReturnType<typeof startProviders>>;
/** FILE_MAX_BYTES here: a real CSV (customers-100.csv, 17,261 bytes) and a real GIF are over it. */
const FILE_LIMIT = 16_384;
const sgKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const SG_PUBLIC = sgKeys.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
const POSTMARK_SECRET = 'pm-hook-secret';
const channelIds: Record<string, string> = {};

beforeAll(async () => {
  [api, clamd] = await Promise.all([startProviders(), CLAMD ? startClamd() : Promise.resolve(undefined)]);
  t = await startTestApp({
    OUTBOUND_ALLOWED_HOSTS: '127.0.0.1',
    FILE_MAX_BYTES: String(FILE_LIMIT),
    ...(clamd ? { CLAMAV_URL: clamd.url } : {}),
  });
  admin = await signUp(t, 'Provider Co');
}, 180_000);
afterAll(async () => {
  await t?.close();
  await Promise.all([api?.close(), clamd?.stop()]);
});

const hook = (
  id: string,
  kind: 'events' | 'inbound',
  payload: string | Buffer,
  headers: Record<string, string>,
) =>
  t.app.inject({
    method: 'POST',
    url: `/api/v1/public/channels/${admin.orgId}/${id}/provider/${kind}`,
    headers,
    payload,
  });
const basic = (secret: string) => `Basic ${Buffer.from(`postmark:${secret}`).toString('base64')}`;
const signSendgrid = (body: string, timestamp = String(Math.floor(Date.now() / 1000))) => ({
  'content-type': 'application/json',
  'x-twilio-email-event-webhook-timestamp': timestamp,
  'x-twilio-email-event-webhook-signature': sign(
    'sha256',
    Buffer.from(timestamp + body),
    sgKeys.privateKey,
  ).toString('base64'),
});
const db = <T>(sql: string, params: unknown[]) =>
  t.services.database.raw.query<T & Record<string, unknown>>(sql, params).then((r) => r.rows as T[]);
const messageOf = (id: string) =>
  db<{ status: string; delivery_status: string | null; provider_id: string | null; error: string | null }>(
    'select status, delivery_status, provider_id, error from messages where org_id = $1 and id = $2',
    [admin.orgId, id],
  ).then((r) => r[0]!);

describe('signatures', () => {
  it("verifies SendGrid's published ECDSA vectors, Mailgun's HMAC samples, and refuses the rest", () => {
    const vectors = json('sendgrid/event-webhook-signature-test-vectors.json').vectors as {
      public_key: string;
      raw_body: string;
      signature: string;
      timestamp: string;
      expect: boolean;
    }[];
    expect(vectors.length).toBeGreaterThanOrEqual(6);
    for (const v of vectors)
      expect(isSendgridSignature(v.public_key, v.signature, v.timestamp, Buffer.from(v.raw_body))).toBe(
        v.expect,
      );
    for (const f of MAILGUN.fixtures) {
      const s = typeof f.payload.signature === 'object' ? f.payload.signature : f.payload;
      expect(isMailgunSignature(MAILGUN.signing_key, s)).toBe(true);
      expect(isMailgunSignature('another-key', s)).toBe(false);
    }
  });

  it("reads each provider's event samples into delivered, bounce, complaint and unsubscribe", () => {
    const sg = sendgridEvents(json('sendgrid/event-webhook.example-event-notification.json'));
    expect(sg.map((e) => e.kind)).toEqual(
      expect.arrayContaining(['delivered', 'deferred', 'hard', 'complaint', 'unsubscribed']),
    );
    expect(postmarkEvents(anymail('test_postmark_webhooks.py', 'test_bounce_event'))[0]).toMatchObject({
      kind: 'hard',
      providerId: '2706ee8a-737c-4285-b032-ccd317af53ed',
    });
    expect(postmarkEvents(anymail('test_postmark_webhooks.py', 'test_spam_event'))[0]!.kind).toBe(
      'complaint',
    );
    expect(mailgunEvents(mailgunFixture('test_failed_temporary_event'))[0]!.kind).toBe('soft');
    expect(mailgunEvents(mailgunFixture('test_invalid_mailbox'))[0]).toMatchObject({
      kind: 'hard',
      recipient: 'noreply@example.com',
    });
  });
});

describe('provider-mode channels', () => {
  it('are created with write-only keys, masked, their webhook URLs shown; a bad one is a 400 with its path', async () => {
    expectProblem(
      await admin.client.post('/api/v1/channels', {
        kind: 'email',
        name: 'No key',
        address: 'sales@cairn.test',
        provider: { name: 'sendgrid', api_base: api.url },
      }),
      400,
      { path: 'body.provider.api_key' },
    );
    expectProblem(
      await admin.client.post('/api/v1/channels', {
        kind: 'email',
        name: 'No domain',
        address: 'sales@cairn.test',
        provider: { name: 'mailgun', api_key: 'k', api_base: api.url },
      }),
      400,
      { path: 'body.provider.domain' },
    );
    const specs = {
      sendgrid: { api_key: 'SG.secret-key', webhook_key: SG_PUBLIC },
      postmark: { api_key: 'pm-server-token', webhook_key: POSTMARK_SECRET },
      mailgun: { api_key: 'mg-key', webhook_key: MAILGUN.signing_key, domain: 'mg.cairn.test' },
    };
    for (const [name, keys] of Object.entries(specs)) {
      const created = expectStatus(
        await admin.client.post('/api/v1/channels', {
          kind: 'email',
          name: `Via ${name}`,
          address: `${name}@cairn.test`,
          from_name: 'Cairn Sales',
          provider: { name, api_base: api.url, ...keys },
        }),
        201,
      );
      channelIds[name] = created.id;
      expect(created.provider).toMatchObject({ name, api_key: '********', webhook_key: '********' });
      expect(created.provider.events_webhook_url).toBe(
        `${BASE_URL}/api/v1/public/channels/${admin.orgId}/${created.id}/provider/events`,
      );
      expect(JSON.stringify(created)).not.toContain(keys.api_key);
      const test = expectStatus(await admin.client.post(`/api/v1/channels/${created.id}/test`), 200);
      expect(test).toEqual({ ok: true, checks: [{ part: 'provider', ok: true, error: null }] });
    }
    // An update without the keys keeps them.
    const kept = expectStatus(
      await admin.client.patch(`/api/v1/channels/${channelIds.postmark}`, {
        provider: { name: 'postmark', api_base: api.url },
      }),
      200,
    );
    expect(kept.provider.api_key).toBe('********');
  });

  it("sends through each provider's API in its format, once, with Cairn's Message-ID; a refusal shows the provider's reason", async () => {
    const sent: Record<string, string> = {};
    for (const name of ['sendgrid', 'postmark', 'mailgun']) {
      const m = expectStatus(
        await admin.client.post('/api/v1/messages', {
          channel_id: channelIds[name],
          to: name === 'mailgun' ? 'recipient@example.com' : `ann.${name}@prospects.example`,
          subject: `Hello via ${name}`,
          text: 'Hi there',
        }),
        202,
      );
      sent[name] = m.id;
    }
    await t.drain();
    await t.drain();
    const sg = api.calls.filter((c) => c.path === '/v3/mail/send');
    expect(sg).toHaveLength(1);
    expect(sg[0]!.headers.authorization).toBe('Bearer SG.secret-key');
    const sgBody = JSON.parse(sg[0]!.body);
    expect(sgBody).toMatchObject({
      personalizations: [
        {
          to: [{ email: 'ann.sendgrid@prospects.example' }],
          custom_args: { cairn_message_id: sent.sendgrid },
        },
      ],
      from: { email: 'sendgrid@cairn.test', name: 'Cairn Sales' },
      subject: 'Hello via sendgrid',
      content: [{ type: 'text/plain', value: 'Hi there' }],
    });
    expect(sgBody.headers['Message-ID']).toMatch(/^<[^@]+@cairn\.test>$/);
    const pm = api.calls.filter((c) => c.path === '/email');
    expect(pm).toHaveLength(1);
    expect(pm[0]!.headers['x-postmark-server-token']).toBe('pm-server-token');
    expect(JSON.parse(pm[0]!.body)).toMatchObject({
      From: '"Cairn Sales" <postmark@cairn.test>',
      To: 'ann.postmark@prospects.example',
      TextBody: 'Hi there',
      Metadata: { cairn_message_id: sent.postmark },
      MessageStream: 'outbound',
    });
    const mg = api.calls.filter((c) => c.path === '/v3/mg.cairn.test/messages');
    expect(mg).toHaveLength(1);
    expect(mg[0]!.headers.authorization).toBe(`Basic ${Buffer.from('api:mg-key').toString('base64')}`);
    const form = new URLSearchParams(mg[0]!.body);
    expect(form.get('to')).toBe('recipient@example.com');
    expect(form.get('v:cairn_message_id')).toBe(sent.mailgun);
    expect(form.get('h:Message-ID')).toMatch(/@cairn\.test>$/);

    expect(await messageOf(sent.sendgrid!)).toMatchObject({
      status: 'sent',
      provider_id: expect.stringMatching(/^sgid\d+xyz$/),
    });
    expect(await messageOf(sent.postmark!)).toMatchObject({
      status: 'sent',
      provider_id: '2706ee8a-737c-4285-b032-ccd317af53ed',
    });
    expect(await messageOf(sent.mailgun!)).toMatchObject({
      status: 'sent',
      provider_id: '20180812211713.1.DF5966851B4BAA99@example.org',
    });

    // A refused recipient: final (4xx), the provider's reason on the message.
    const refused = expectStatus(
      await admin.client.post('/api/v1/messages', {
        channel_id: channelIds.postmark,
        to: 'nobody@prospects.example',
        text: 'x',
      }),
      202,
    );
    await t.drain();
    expect(await messageOf(refused.id)).toMatchObject({
      status: 'failed',
      error: 'postmark 422: You tried to send to a recipient that has been marked as inactive. (error 406)',
    });
    // The send job run again sends nothing more.
    const before = api.calls.length;
    await t.drain({ delayed: true });
    expect(api.calls.length).toBe(before);
  });
});

describe('event webhooks', () => {
  let sequenceId: string;
  const contacts: Record<string, string> = {};

  it('SendGrid: signed events mark delivered and bounce through the DSN path (suppression, sequence exit); forged ones are refused and counted; a replay changes nothing', async () => {
    for (const first of ['Bob', 'Cid'])
      contacts[first] = expectStatus(
        await admin.client.post('/api/v1/contacts', {
          first_name: first,
          last_name: 'Prospect',
          emails: [{ value: `${first.toLowerCase()}@prospects.example` }],
        }),
        201,
      ).id;
    sequenceId = expectStatus(
      await admin.client.post('/api/v1/sequences', {
        name: 'Provider outreach',
        channel_id: channelIds.sendgrid,
        settings: {
          time_zone: 'UTC',
          window: { days: [1, 2, 3, 4, 5, 6, 7], start: '00:00', end: '23:59' },
          hourly_limit: 0,
          daily_limit: 0,
        },
        steps: [
          { type: 'EMAIL', subject: 'Hi {{contact.first_name}}', body: 'Hello {{contact.first_name}}' },
          { type: 'WAIT', days: 3 },
          { type: 'EMAIL', subject: 'Again', body: 'Again' },
        ],
      }),
      201,
    ).id;
    expectStatus(
      await admin.client.post(`/api/v1/sequences/${sequenceId}/enrollments`, {
        contact_ids: [contacts.Bob, contacts.Cid],
      }),
      200,
    );
    await t.drain();
    await runTick(t.services, admin.orgId);
    await t.drain();
    const sends = await db<{ id: string; provider_id: string; to: string }>(
      `select id, provider_id, to_addresses[1] as to from messages
        where org_id = $1 and channel_id = $2 and idempotency_key like 'seq:%'`,
      [admin.orgId, channelIds.sendgrid],
    );
    expect(sends).toHaveLength(2);
    const of = (to: string) => sends.find((s) => s.to === to)!;

    // The real "Test Your Integration" events, pointed at the two messages sent.
    const sample = json('sendgrid/event-webhook.example-event-notification.json') as Record<
      string,
      unknown
    >[];
    const event = (type: string, to: string) => ({
      ...sample.find((e) => e.event === type)!,
      email: to,
      sg_message_id: `${of(to).provider_id}.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0`,
    });
    const body = `${JSON.stringify([event('delivered', 'bob@prospects.example'), event('bounce', 'cid@prospects.example')])}\r\n`;
    const ok = await hook(channelIds.sendgrid!, 'events', body, signSendgrid(body));
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ received: 2, applied: 2 });
    await t.drain();

    expect((await messageOf(of('bob@prospects.example').id)).delivery_status).toBe('delivered');
    expect((await messageOf(of('cid@prospects.example').id)).delivery_status).toBe('bounced');
    const suppressions = expectStatus(await admin.client.get('/api/v1/suppressions'), 200);
    expect(suppressions.data).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ address: 'cid@prospects.example', reason: 'bounced' }),
      ]),
    );
    const enrollments = expectStatus(
      await admin.client.get(`/api/v1/sequences/${sequenceId}/enrollments`),
      200,
    );
    const byEmail = new Map(enrollments.data.map((e: any) => [e.contact.email, e]));
    expect(byEmail.get('cid@prospects.example')).toMatchObject({ status: 'exited', exit_reason: 'bounced' });
    expect(byEmail.get('bob@prospects.example')).toMatchObject({ status: 'active' });
    const stats = expectStatus(await admin.client.get(`/api/v1/sequences/${sequenceId}/analytics`), 200);
    expect(stats).toMatchObject({ sent: 2, delivered: 1, bounced: 1 });
    expect(stats.steps[0]).toMatchObject({ sent: 2, delivered: 1 });

    // SendGrid's unsubscribe event for Bob: his address is suppressed, his enrollment ends as
    // unsubscribed, and his timeline says so.
    const unsubscribe = `${JSON.stringify([event('unsubscribe', 'bob@prospects.example')])}\r\n`;
    expect(
      (await hook(channelIds.sendgrid!, 'events', unsubscribe, signSendgrid(unsubscribe))).statusCode,
    ).toBe(200);
    await t.drain();
    expect(expectStatus(await admin.client.get('/api/v1/suppressions'), 200).data).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ address: 'bob@prospects.example', reason: 'unsubscribed' }),
      ]),
    );
    const after = expectStatus(await admin.client.get(`/api/v1/sequences/${sequenceId}/enrollments`), 200);
    expect(after.data.find((e: any) => e.contact.email === 'bob@prospects.example')).toMatchObject({
      status: 'exited',
      exit_reason: 'unsubscribed',
    });
    const timeline = expectStatus(await admin.client.get(`/api/v1/contacts/${contacts.Bob}/timeline`), 200);
    expect(JSON.stringify(timeline)).toContain(
      'Bob Prospect (bob@prospects.example) unsubscribed from e-mails',
    );

    // A replay: same events, no second report, event or suppression.
    const count = async () =>
      (
        await db<{ n: number }>(
          `select (select count(*) from delivery_reports where org_id = $1)::int
                + (select count(*) from events where org_id = $1 and type = 'message.bounced')::int as n`,
          [admin.orgId],
        )
      )[0]!.n;
    const before = await count();
    expect((await hook(channelIds.sendgrid!, 'events', body, signSendgrid(body))).statusCode).toBe(200);
    expect(await count()).toBe(before);

    // Forged: signed over other bytes, or not signed at all.
    const forged = signSendgrid(body.replace('bounce', 'delivered'));
    expect((await hook(channelIds.sendgrid!, 'events', body, forged)).statusCode).toBe(403);
    const unsigned = await hook(channelIds.sendgrid!, 'events', body, { 'content-type': 'application/json' });
    expectProblem(
      { status: unsigned.statusCode, body: unsigned.json(), headers: unsigned.headers, text: '' },
      403,
      {
        code: 'invalid_signature',
      },
    );
    const channel = expectStatus(await admin.client.get(`/api/v1/channels/${channelIds.sendgrid}`), 200);
    expect(channel.rejected_webhooks).toBe(2);
  }, 60_000);

  it('Postmark: basic-auth webhooks; its real bounce and spam samples bounce and suppress', async () => {
    const bounce = anymail('test_postmark_webhooks.py', 'test_bounce_event');
    const headers = { 'content-type': 'application/json', authorization: basic(POSTMARK_SECRET) };
    expect(
      (
        await hook(channelIds.postmark!, 'events', JSON.stringify(bounce), {
          'content-type': 'application/json',
        })
      ).statusCode,
    ).toBe(403);
    expect(
      (
        await hook(channelIds.postmark!, 'events', JSON.stringify(bounce), {
          ...headers,
          authorization: basic('wrong'),
        })
      ).statusCode,
    ).toBe(403);
    const res = await hook(channelIds.postmark!, 'events', JSON.stringify(bounce), headers);
    expect(res.json()).toEqual({ received: 1, applied: 1 });
    const [sent] = await db<{ id: string }>(
      `select id from messages where org_id = $1 and provider_id = '2706ee8a-737c-4285-b032-ccd317af53ed'`,
      [admin.orgId],
    );
    expect((await messageOf(sent!.id)).delivery_status).toBe('bounced');
    const spam = anymail('test_postmark_webhooks.py', 'test_spam_event');
    await hook(channelIds.postmark!, 'events', JSON.stringify(spam), headers);
    const list = expectStatus(await admin.client.get('/api/v1/suppressions'), 200).data as {
      address: string;
      reason: string;
    }[];
    expect(list).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ address: bounce.Email.toLowerCase(), reason: 'bounced' }),
        expect.objectContaining({ address: spam.Email.toLowerCase(), reason: 'complaint' }),
      ]),
    );
    const channel = expectStatus(await admin.client.get(`/api/v1/channels/${channelIds.postmark}`), 200);
    expect(channel.rejected_webhooks).toBe(2);
  });

  it('Mailgun: its signed samples (JSON and legacy form posts) mark delivered, complaint and bounce; a bad HMAC is refused', async () => {
    const headers = { 'content-type': 'application/json' };
    const delivered = mailgunFixture('test_delivered_event');
    expect((await hook(channelIds.mailgun!, 'events', JSON.stringify(delivered), headers)).json()).toEqual({
      received: 1,
      applied: 1,
    });
    const [sent] = await db<{ id: string }>(
      `select id from messages where org_id = $1 and provider_id = '20180812211713.1.DF5966851B4BAA99@example.org'`,
      [admin.orgId],
    );
    expect((await messageOf(sent!.id)).delivery_status).toBe('delivered');
    await hook(
      channelIds.mailgun!,
      'events',
      JSON.stringify(mailgunFixture('test_complained_event')),
      headers,
    );
    const legacy = new URLSearchParams(mailgunFixture('test_invalid_mailbox')).toString();
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    expect((await hook(channelIds.mailgun!, 'events', legacy, form)).statusCode).toBe(200);
    const tampered = legacy.replace(/token=[^&]+/, 'token=0000');
    expect((await hook(channelIds.mailgun!, 'events', tampered, form)).statusCode).toBe(403);
    const forged = {
      ...delivered,
      signature: { ...delivered.signature, signature: createHmac('sha256', 'x').update('y').digest('hex') },
    };
    expect((await hook(channelIds.mailgun!, 'events', JSON.stringify(forged), headers)).statusCode).toBe(403);
    const list = expectStatus(await admin.client.get('/api/v1/suppressions'), 200).data as {
      address: string;
      reason: string;
    }[];
    expect(list).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ address: 'recipient@example.com', reason: 'complaint' }),
        expect.objectContaining({ address: 'noreply@example.com', reason: 'bounced' }),
      ]),
    );
  });
});

describe('inbound webhooks', () => {
  it('SendGrid Inbound Parse (its real multipart sample) lands in the inbox threaded, once; without the key it is refused', async () => {
    // Stored with LF line endings; on the wire multipart lines end in CRLF.
    const raw = readFileSync(
      `${WEBHOOKS}sendgrid/inbound-parse.example-email-parse-payload.multipart.txt`,
      'utf8',
    ).replace(/\r?\n/g, '\r\n');
    const headers = { 'content-type': 'multipart/form-data; boundary=xYzZY' };
    // Broken multipart (the sample's bare LF line endings) is a 400, not a crash.
    const broken = await hook(channelIds.sendgrid!, 'inbound', raw.replace(/\r\n/g, '\n'), {
      ...headers,
      authorization: basic(SG_PUBLIC),
    });
    expect(broken.statusCode, broken.body).toBeLessThan(500);
    expect((await hook(channelIds.sendgrid!, 'inbound', raw, headers)).statusCode).toBe(403);
    const first = await hook(channelIds.sendgrid!, 'inbound', raw, {
      ...headers,
      authorization: basic(SG_PUBLIC),
    });
    expect(first.statusCode).toBe(200);
    expect(first.json().stored).toBe(true);
    const again = await hook(channelIds.sendgrid!, 'inbound', raw, {
      ...headers,
      authorization: basic(SG_PUBLIC),
    });
    expect(again.json()).toEqual({ stored: false, message_id: null });
    const [m] = await db<{ message_id: string; in_reply_to: string; text: string; from_address: string }>(
      'select message_id, in_reply_to, text, from_address from messages where org_id = $1 and id = $2',
      [admin.orgId, first.json().message_id],
    );
    expect(m).toMatchObject({
      message_id: '<CAGsruKuAJk58E07TRMD28pA+mktpZ1mg2fjr6PAWj19e0jdnFg@mail.gmail.com>',
      in_reply_to: '<CAGsruKux7HKgwztSSWCae8cMu71_pzgziWZRWYeYNo3aiCkjRw@mail.gmail.com>',
    });
    expect(m!.text.length).toBeGreaterThan(0);
    const inbox = expectStatus(await admin.client.get('/api/v1/conversations'), 200);
    expect(inbox.data.some((c: any) => c.counterpart === m!.from_address)).toBe(true);
  });

  it('Postmark inbound JSON and a Mailgun route forward are stored; a replay is not', async () => {
    const payload = readFileSync(
      `${WEBHOOKS}anymail-esp-fixtures/test_files__postmark-inbound-test-payload.json`,
    );
    const pm = { 'content-type': 'application/json', authorization: basic(POSTMARK_SECRET) };
    const first = await hook(channelIds.postmark!, 'inbound', payload, pm);
    expect(first.json().stored).toBe(true);
    expect((await hook(channelIds.postmark!, 'inbound', payload, pm)).json().stored).toBe(false);
    const [m] = await db<{ from_address: string; subject: string }>(
      'select from_address, subject from messages where org_id = $1 and id = $2',
      [admin.orgId, first.json().message_id],
    );
    expect(m).toEqual({ from_address: 'support@postmarkapp.com', subject: 'Test subject' });

    const route = new URLSearchParams(mailgunFixture('test_misconfigured_inbound')).toString();
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const mg = await hook(channelIds.mailgun!, 'inbound', route, form);
    expect(mg.statusCode).toBe(200);
    expect(mg.json().stored).toBe(true);
    expect((await hook(channelIds.mailgun!, 'inbound', route, form)).json().stored).toBe(false);
    const bad = await hook(
      channelIds.mailgun!,
      'inbound',
      route.replace(/signature=[0-9a-f]/, 'signature=z'),
      form,
    );
    expect(bad.statusCode).toBe(403);
  });
});

describe('inbound attachments', () => {
  type Attachment = MessageView['attachments'][number];
  type Part =
    | { name: string; value: string }
    | { name: string; filename: string; type: string; content: Buffer };
  const bytes = (relative: string) => readFileSync(`${DATA}${relative}`);
  /** Real files to attach: a CSV under FILE_MAX_BYTES, one over it, and the EICAR test file. */
  const CSV = bytes('crm/datablist-samples/organizations-100.csv');
  const BIG_CSV = bytes('crm/datablist-samples/customers-100.csv');
  const VIRUS = bytes('security/payloadsallthethings/upload-samples/EICAR/eicar.txt');
  /** A real MIME message with attachments (mailparser's fixture): notes.txt, an image, a 29 KB GIF. */
  const EML = bytes('email/mailparser-fixtures/fixtures__nodemailer.eml').toString('utf8');
  const TOO_LARGE = `The file is larger than ${FILE_LIMIT} bytes`;

  /** A multipart/form-data body of these parts (CRLF line endings, as on the wire). */
  const multipart = (boundary: string, parts: Part[], before = '') =>
    Buffer.concat([
      Buffer.from(before),
      ...parts.flatMap((p) =>
        'value' in p
          ? [
              Buffer.from(
                `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"\r\n\r\n${p.value}\r\n`,
              ),
            ]
          : [
              Buffer.from(
                `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"; filename="${p.filename}"\r\nContent-Type: ${p.type}\r\n\r\n`,
              ),
              p.content,
              Buffer.from('\r\n'),
            ],
      ),
      Buffer.from(`--${boundary}--\r\n`),
    ]);
  /** SendGrid's real Inbound Parse sample (CRLF) without its closing boundary, fields changed as given. */
  const sendgridSample = (edit: (raw: string) => string) =>
    edit(
      readFileSync(`${WEBHOOKS}sendgrid/inbound-parse.example-email-parse-payload.multipart.txt`, 'utf8')
        .replace(/\r?\n/g, '\r\n')
        .replace(/--xYzZY--\s*$/, ''),
    );
  const mailgunFields = () => {
    const f = mailgunFixture('test_misconfigured_inbound') as Record<string, string>;
    return ['recipient', 'sender', 'timestamp', 'token', 'signature'].map((name) => ({
      name,
      value: f[name]!,
    }));
  };
  /** The message's attachments as the thread shows them (`GET /api/v1/conversations/<id>`). */
  const attachmentsOf = async (messageId: string) => {
    const [m] = await db<{ conversation_id: string }>(
      'select conversation_id from messages where org_id = $1 and id = $2',
      [admin.orgId, messageId],
    );
    const thread = expectStatus(await admin.client.get(`/api/v1/conversations/${m!.conversation_id}`), 200);
    return thread.messages.find((x: { id: string }) => x.id === messageId).attachments as Attachment[];
  };
  const named = (list: Attachment[], name: string) => list.find((a) => a.filename === name)!;
  /** Downloads a stored attachment as the web app does (a short-lived link from POST /files/<id>/link). */
  const download = async (a: Attachment) => {
    expect(a).toMatchObject({ status: 'stored', reason: null });
    const file = await downloadFile(t, admin.client, a.file_id!);
    expect(file.status).toBe(200);
    return file.raw;
  };
  const fileCount = async () =>
    (await db<{ n: number }>('select count(*)::int as n from files where org_id = $1', [admin.orgId]))[0]!.n;
  /** What a synced message keeps of the real MIME fixture: notes.txt whole, the GIF refused as too large. */
  const expectRawFixture = async (messageId: string) => {
    const list = await attachmentsOf(messageId);
    const notes = (await simpleParser(EML)).attachments.find((a) => a.filename === 'notes.txt')!;
    expect(await download(named(list, 'notes.txt'))).toEqual(notes.content);
    expect(named(list, 'nyan cat ✔.gif')).toMatchObject({
      status: 'rejected',
      file_id: null,
      reason: TOO_LARGE,
    });
  };

  it('SendGrid Inbound Parse: posted files are stored and download with the bytes sent; an oversized one and a virus are named with why; raw mode stores the MIME attachments', async () => {
    const auth = { 'content-type': 'multipart/form-data; boundary=xYzZY', authorization: basic(SG_PUBLIC) };
    const info = {
      attachment1: { filename: 'organizations-100.csv', name: 'organizations-100.csv', type: 'text/csv' },
      attachment2: { filename: 'customers-100.csv', name: 'customers-100.csv', type: 'text/csv' },
      attachment3: { filename: 'eicar.txt', name: 'eicar.txt', type: 'text/plain' },
    };
    const body = multipart(
      'xYzZY',
      [
        { name: 'attachment-info', value: JSON.stringify(info) },
        { name: 'attachment1', filename: 'organizations-100.csv', type: 'text/csv', content: CSV },
        { name: 'attachment2', filename: 'customers-100.csv', type: 'text/csv', content: BIG_CSV },
        { name: 'attachment3', filename: 'eicar.txt', type: 'text/plain', content: VIRUS },
      ],
      sendgridSample((raw) =>
        raw
          .replace('CAGsruKuAJk58E07TRMD28pA+mktpZ1mg2fjr6PAWj19e0jdnFg', 'sendgrid-attachments-1')
          .replace(/name="attachments"\r\n\r\n0/, 'name="attachments"\r\n\r\n3'),
      ),
    );
    const before = await fileCount();
    const res = await hook(channelIds.sendgrid!, 'inbound', body, auth);
    expect(res.statusCode, res.body).toBe(200);
    const list = await attachmentsOf(res.json().message_id);
    expect(list.map((a) => a.filename)).toEqual(['organizations-100.csv', 'customers-100.csv', 'eicar.txt']);
    expect(await download(named(list, 'organizations-100.csv'))).toEqual(CSV);
    expect(named(list, 'customers-100.csv')).toMatchObject({
      size: BIG_CSV.length,
      status: 'rejected',
      file_id: null,
      reason: TOO_LARGE,
    });
    if (clamd) expect(named(list, 'eicar.txt')).toMatchObject({ status: 'infected', file_id: null });
    else expect(named(list, 'eicar.txt').status).toBe('stored');
    // Each one went through the pipeline once (refused ones keep a row saying why)...
    expect(await fileCount()).toBe(before + 3);
    // ...and a replay stores nothing more.
    expect((await hook(channelIds.sendgrid!, 'inbound', body, auth)).json()).toEqual({
      stored: false,
      message_id: null,
    });
    expect(await fileCount()).toBe(before + 3);

    // Raw mode: the full MIME in `email`.
    const raw = await hook(
      channelIds.sendgrid!,
      'inbound',
      multipart(
        'xYzZY',
        [{ name: 'email', value: EML }],
        sendgridSample((r) => r),
      ),
      auth,
    );
    expect(raw.statusCode, raw.body).toBe(200);
    await expectRawFixture(raw.json().message_id);
  }, 60_000);

  it("Postmark: the Attachments' base64 Content (and its test button's Data) are stored and download with the bytes sent; RawEmail's attachments too", async () => {
    const fixture = json('anymail-esp-fixtures/test_files__postmark-inbound-test-payload.json');
    const pm = { 'content-type': 'application/json', authorization: basic(POSTMARK_SECRET) };
    // The payload as Postmark's "test" button sends it: base64 in `Data`.
    const test = await hook(
      channelIds.postmark!,
      'inbound',
      JSON.stringify({ ...fixture, MessageID: 'attachments-test-button' }),
      pm,
    );
    expect(test.statusCode, test.body).toBe(200);
    const testList = await attachmentsOf(test.json().message_id);
    expect((await download(named(testList, 'test.txt'))).toString()).toBe(
      'This is attachment contents, base-64 encoded.',
    );
    // The documented inbound payload: base64 in `Content`.
    const documented = await hook(
      channelIds.postmark!,
      'inbound',
      JSON.stringify({
        ...fixture,
        MessageID: 'attachments-documented',
        Attachments: [
          {
            Name: 'organizations-100.csv',
            Content: CSV.toString('base64'),
            ContentType: 'text/csv',
            ContentLength: CSV.length,
          },
          {
            Name: 'customers-100.csv',
            Content: BIG_CSV.toString('base64'),
            ContentType: 'text/csv',
            ContentLength: BIG_CSV.length,
          },
        ],
      }),
      pm,
    );
    expect(documented.statusCode, documented.body).toBe(200);
    const list = await attachmentsOf(documented.json().message_id);
    expect(await download(named(list, 'organizations-100.csv'))).toEqual(CSV);
    expect(named(list, 'customers-100.csv')).toMatchObject({ status: 'rejected', reason: TOO_LARGE });

    // Postmark carries up to 35 MB of attachments as base64 JSON: a 12 MB one (a 16 MB post, past the
    // 10 MB a multipart post keeps) stores the message, the file named as refused (it was a 413 once).
    const large = await hook(
      channelIds.postmark!,
      'inbound',
      JSON.stringify({
        ...fixture,
        MessageID: 'attachments-large-post',
        Attachments: [
          { Name: 'organizations-100.csv', Content: CSV.toString('base64'), ContentType: 'text/csv' },
          {
            Name: 'scan.pdf',
            Content: Buffer.alloc(12 << 20, 7).toString('base64'),
            ContentType: 'application/pdf',
          },
        ],
      }),
      pm,
    );
    expect(large.statusCode, large.body.slice(0, 500)).toBe(200);
    const largeList = await attachmentsOf(large.json().message_id);
    expect(await download(named(largeList, 'organizations-100.csv'))).toEqual(CSV);
    expect(named(largeList, 'scan.pdf')).toMatchObject({
      status: 'rejected',
      file_id: null,
      reason: TOO_LARGE,
    });

    const withRaw = json('anymail-esp-fixtures/test_files__postmark-inbound-test-payload-with-raw.json');
    const raw = await hook(
      channelIds.postmark!,
      'inbound',
      JSON.stringify({ ...withRaw, MessageID: 'attachments-raw', RawEmail: EML }),
      pm,
    );
    expect(raw.statusCode, raw.body).toBe(200);
    await expectRawFixture(raw.json().message_id);
  }, 60_000);

  it('Mailgun: a route forward with attachment-1..n stores them and they download with the bytes sent; body-mime stores the MIME attachments', async () => {
    const boundary = 'mailgun-route-boundary';
    const form = { 'content-type': `multipart/form-data; boundary=${boundary}` };
    const body = multipart(boundary, [
      ...mailgunFields(),
      {
        name: 'message-headers',
        value: JSON.stringify([
          ['From', 'Pat Buyer <pat@buyer.example>'],
          ['To', 'mailgun@cairn.test'],
          ['Subject', 'Our organizations'],
          ['Message-Id', '<mailgun-attachments-1@buyer.example>'],
        ]),
      },
      { name: 'body-plain', value: 'The list is attached.' },
      { name: 'attachment-count', value: '3' },
      { name: 'attachment-1', filename: 'organizations-100.csv', type: 'text/csv', content: CSV },
      { name: 'attachment-2', filename: 'customers-100.csv', type: 'text/csv', content: BIG_CSV },
      // Past the 10 MB a webhook part may carry: cut by the parser, still named (it was a 400 once).
      {
        name: 'attachment-3',
        filename: 'export.log',
        type: 'text/plain',
        content: Buffer.alloc(11 << 20, 'a'),
      },
    ]);
    const res = await hook(channelIds.mailgun!, 'inbound', body, form);
    expect(res.statusCode, res.body).toBe(200);
    const list = await attachmentsOf(res.json().message_id);
    expect(await download(named(list, 'organizations-100.csv'))).toEqual(CSV);
    expect(named(list, 'customers-100.csv')).toMatchObject({ status: 'rejected', reason: TOO_LARGE });
    expect(named(list, 'export.log')).toMatchObject({ status: 'rejected', file_id: null, reason: TOO_LARGE });

    const mime = await hook(
      channelIds.mailgun!,
      'inbound',
      multipart(boundary, [...mailgunFields(), { name: 'body-mime', value: EML }]),
      form,
    );
    expect(mime.statusCode, mime.body).toBe(200);
    await expectRawFixture(mime.json().message_id);
  }, 60_000);
});

describe('the inbox stream', () => {
  it('answers 406 without Accept: text/event-stream, then pushes the unread counts at once and when a message arrives', async () => {
    expectProblem(await admin.client.get('/api/v1/conversations/stream'), 406, 'not_acceptable');
    const abort = new AbortController();
    const res = await t.app.inject({
      method: 'GET',
      url: '/api/v1/conversations/stream',
      headers: { cookie: admin.client.cookieHeader, accept: 'text/event-stream' },
      payloadAsStream: true,
      signal: abort.signal,
    });
    expect(res.statusCode).toBe(200);
    let text = '';
    const events = () =>
      [...text.matchAll(/event: inbox\ndata: (\{.*\})\n\n/g)].map(
        (m) => JSON.parse(m[1]!).messages as number,
      );
    const waitFor = async (n: number) => {
      const deadline = Date.now() + 10_000;
      while (events().length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      return events();
    };
    const stream = res.stream();
    stream.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
    });
    stream.on('error', () => {});
    const [before] = await waitFor(1);
    const payload = {
      ...JSON.parse(
        readFileSync(
          `${WEBHOOKS}anymail-esp-fixtures/test_files__postmark-inbound-test-payload.json`,
          'utf8',
        ),
      ),
      MessageID: 'live-update-1',
      Subject: 'A live one',
    };
    const stored = await hook(channelIds.postmark!, 'inbound', JSON.stringify(payload), {
      'content-type': 'application/json',
      authorization: basic(POSTMARK_SECRET),
    });
    expect(stored.json().stored).toBe(true);
    expect(await waitFor(2)).toEqual([before, before! + 1]);
    abort.abort();
  });
});
