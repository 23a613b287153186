import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEmail } from '../src/modules/conversations/inbound.service.js';
import { sendMessage } from '../src/modules/conversations/send-batch.service.js';
import { isTwilioSignature } from '../src/modules/conversations/twilio.js';
import { type Dovecot, startDovecot } from './kit/dovecot.js';
import {
  BASE_URL,
  expectProblem,
  expectStatus,
  SHARED_DATA,
  signUp,
  startTestApp,
  type TestApp,
} from './kit/index.js';

// Conversations (issue 23): channels with real servers (Dovecot for IMAP, smtp-server for SMTP,
// a local HTTP server speaking Twilio's REST format), inbound threading and deduplication, the
// inbox, replies through the job queue, failed sends, suppression, and Twilio's signed webhook.

/** The shared inputs: beside the repository, or at /work/shared/data from a worktree. */
const DATA = existsSync(SHARED_DATA) ? SHARED_DATA : '/work/shared/data/';

type Received = { to: string[]; raw: string };

async function startSmtp(rejectTo: (address: string) => boolean) {
  const received: Received[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (rejectTo(address.address)) {
        const error = new Error('5.1.1 Mailbox does not exist') as Error & { responseCode: number };
        error.responseCode = 550;
        return callback(error);
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { received, port, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** A local server speaking Twilio's REST format for Messages (what the SDK calls). */
async function startTwilio() {
  const sent: { path: string; auth: string; form: URLSearchParams }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const m = /^\/2010-04-01\/Accounts\/([^/]+)(\/Messages)?\.json$/.exec(req.url ?? '');
      res.setHeader('content-type', 'application/json');
      if (!m)
        return res.writeHead(404).end(JSON.stringify({ code: 20404, message: 'Not found', status: 404 }));
      if (!m[2])
        return res.writeHead(200).end(JSON.stringify({ sid: m[1], status: 'active', friendly_name: 'Test' }));
      sent.push({ path: req.url!, auth: req.headers.authorization ?? '', form });
      if (form.get('To') === '+15005550001')
        return res.writeHead(400).end(
          JSON.stringify({
            code: 21211,
            message: "The 'To' number +15005550001 is not a valid phone number.",
            status: 400,
          }),
        );
      res.writeHead(201).end(
        JSON.stringify({
          sid: `SM${String(sent.length).padStart(32, '0')}`,
          account_sid: m[1],
          from: form.get('From'),
          to: form.get('To'),
          body: form.get('Body'),
          status: 'queued',
          direction: 'outbound-api',
          date_created: new Date().toUTCString(),
          uri: `${req.url}`,
        }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    sent,
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const mail = (o: { id: string; from: string; subject: string; text: string; headers?: string }) =>
  [
    `From: ${o.from}`,
    'To: inbox@cairn.test',
    `Subject: ${o.subject}`,
    `Message-ID: ${o.id}`,
    `Date: ${new Date().toUTCString()}`,
    ...(o.headers ? [o.headers] : []),
    'Content-Type: text/plain; charset=utf-8',
    '',
    o.text,
    '',
  ].join('\r\n');

let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;
let stranger: Awaited<ReturnType<typeof signUp>>;
let dovecot: Dovecot;
let smtp: Awaited<ReturnType<typeof startSmtp>>;
let tw: Awaited<ReturnType<typeof startTwilio>>;
let emailChannel: string;

beforeAll(async () => {
  [dovecot, smtp, tw] = await Promise.all([
    startDovecot(),
    startSmtp((a) => a.startsWith('nobody@')),
    startTwilio(),
  ]);
  t = await startTestApp();
  admin = await signUp(t, 'Inbox Co');
  stranger = await signUp(t, 'Elsewhere');
}, 240_000);
afterAll(async () => {
  await t?.close();
  await Promise.all([dovecot?.stop(), smtp?.close(), tw?.close()]);
});

describe('e-mail channels', () => {
  it('connects a mailbox: secrets sealed, write-only and masked; the connection test logs in', async () => {
    const created = expectStatus(
      await admin.client.post('/api/v1/channels', {
        kind: 'email',
        name: 'Sales inbox',
        address: 'Inbox@Cairn.test',
        from_name: 'Inbox Co',
        smtp: { host: '127.0.0.1', port: smtp.port, secure: false, user: null },
        imap: {
          host: dovecot.host,
          port: dovecot.port,
          secure: false,
          user: dovecot.user,
          password: dovecot.password,
        },
        sync_days: 7,
      }),
      201,
    );
    emailChannel = created.id;
    expect(created.address).toBe('inbox@cairn.test');
    expect(created.imap.password).toBe('********');
    expect(JSON.stringify(created)).not.toContain(dovecot.password);
    const { rows } = await t.services.database.raw.query<{ secrets: string }>(
      'select secrets from channels where id = $1',
      [emailChannel],
    );
    expect(rows[0]!.secrets).toMatch(/^v1\./);
    expect(rows[0]!.secrets).not.toContain(dovecot.password);

    const test = expectStatus(await admin.client.post(`/api/v1/channels/${emailChannel}/test`), 200);
    expect(test).toEqual({
      ok: true,
      checks: [
        { part: 'smtp', ok: true, error: null },
        { part: 'imap', ok: true, error: null },
      ],
    });

    // A wrong password: the test says why; the stored one is kept when a PATCH leaves it out.
    const bad = expectStatus(
      await admin.client.post('/api/v1/channels', {
        kind: 'email',
        name: 'Wrong',
        address: 'wrong@cairn.test',
        smtp: { host: '127.0.0.1', port: smtp.port },
        imap: { host: dovecot.host, port: dovecot.port, secure: false, user: dovecot.user, password: 'nope' },
      }),
      201,
    );
    const failed = expectStatus(await admin.client.post(`/api/v1/channels/${bad.id}/test`), 200);
    expect(failed.ok).toBe(false);
    expect(failed.checks.find((c: { part: string }) => c.part === 'imap').error).toBeTruthy();
    expectStatus(await admin.client.delete(`/api/v1/channels/${bad.id}`), 204);

    expectProblem(
      await admin.client.post('/api/v1/channels', { kind: 'email', name: 'x', address: 'not-an-address' }),
      400,
      { path: 'body.address' },
    );
    expectProblem(await stranger.client.get(`/api/v1/channels/${emailChannel}`), 404, 'not_found');
  });

  it('syncs a real IMAP mailbox: threads by References, never duplicates, resumes by UID, matches contacts', async () => {
    const contact = expectStatus(
      await admin.client.post('/api/v1/contacts', {
        first_name: 'Ada',
        last_name: 'Lovelace',
        emails: [{ value: 'ada@example.org' }],
      }),
      201,
    );
    await dovecot.append(
      mail({
        id: '<m1@example.org>',
        from: 'Ada <ada@example.org>',
        subject: 'Engines',
        text: 'Hello there',
      }),
    );
    await dovecot.append(
      mail({
        id: '<m2@example.org>',
        from: 'ada@example.org',
        subject: 'Re: Engines',
        text: 'And more',
        headers: 'In-Reply-To: <m1@example.org>\r\nReferences: <m1@example.org>',
      }),
    );
    // The same message twice (a copy in the mailbox): stored once.
    await dovecot.append(
      mail({ id: '<m1@example.org>', from: 'ada@example.org', subject: 'Engines', text: 'Hello there' }),
    );
    // Malformed MIME from the fixtures: no crash.
    await dovecot.append(readFileSync(`${DATA}email/mailparser-fixtures/fixtures__decoderended.eml`));
    await dovecot.append(
      mail({ id: '<x1@unknown.example>', from: 'stranger@unknown.example', subject: 'Hi', text: 'Who?' }),
    );

    const first = expectStatus(await admin.client.post(`/api/v1/channels/${emailChannel}/sync`), 200);
    expect(first.fetched).toBe(5);
    expect(first.stored).toBeGreaterThanOrEqual(3);
    const again = expectStatus(await admin.client.post(`/api/v1/channels/${emailChannel}/sync`), 200);
    expect(again).toMatchObject({ fetched: 0, stored: 0, last_uid: first.last_uid });

    const list = expectStatus(await admin.client.get('/api/v1/conversations?status=any'), 200);
    const ada = list.data.find((c: { counterpart: string }) => c.counterpart === 'ada@example.org');
    expect(ada).toMatchObject({
      contact: { id: contact.id, name: 'Ada Lovelace' },
      unread_count: 2,
      status: 'open',
    });
    expect(
      list.data.filter((c: { counterpart: string }) => c.counterpart === 'ada@example.org'),
    ).toHaveLength(1);
    const unknown = list.data.find(
      (c: { counterpart: string }) => c.counterpart === 'stranger@unknown.example',
    );
    expect(unknown.contact).toBeNull();

    const thread = expectStatus(await admin.client.get(`/api/v1/conversations/${ada.id}`), 200);
    expect(thread.messages.map((m: { message_id: string }) => m.message_id)).toEqual([
      '<m1@example.org>',
      '<m2@example.org>',
    ]);

    // A new message after the sync: the next one takes only it (resumed by UID).
    await dovecot.append(
      mail({
        id: '<m3@example.org>',
        from: 'ada@example.org',
        subject: 'Engines',
        text: 'Third',
        headers: 'References: <m2@example.org>',
      }),
    );
    const third = expectStatus(await admin.client.post(`/api/v1/channels/${emailChannel}/sync`), 200);
    expect(third).toMatchObject({ fetched: 1, stored: 1 });

    const timeline = expectStatus(await admin.client.get(`/api/v1/contacts/${contact.id}/timeline`), 200);
    const words = timeline.data.map((e: { description: string }) => e.description);
    expect(words).toContain('Contact Ada Lovelace sent an e-mail: “Re: Engines”');
    expect(timeline.data.filter((e: { type: string }) => e.type === 'message.received')).toHaveLength(3);

    expect(
      expectStatus(await admin.client.get('/api/v1/conversations/unread-count'), 200).messages,
    ).toBeGreaterThanOrEqual(4);
    const read = expectStatus(await admin.client.post(`/api/v1/conversations/${ada.id}/read`), 200);
    expect(read.unread_count).toBe(0);
    expectProblem(await stranger.client.get(`/api/v1/conversations/${ada.id}`), 404, 'not_found');
  });

  it('stores a message whose decoded subject and body hold NUL characters, and the mail after it still arrives', async () => {
    // Base64 and encoded words may decode to U+0000, which PostgreSQL text cannot hold: such a
    // message once failed its whole batch, and every sync after stopped at it.
    const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
    await dovecot.append(
      [
        'From: nul@example.org',
        'To: inbox@cairn.test',
        `Subject: =?utf-8?B?${b64('Null\u0000byte')}?=`,
        'Message-ID: <nul-1@example.org>',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: base64',
        '',
        b64('Before\u0000after'),
        '',
      ].join('\r\n'),
    );
    await dovecot.append(
      mail({ id: '<nul-2@example.org>', from: 'nul@example.org', subject: 'Next', text: 'Still here' }),
    );
    const synced = expectStatus(await admin.client.post(`/api/v1/channels/${emailChannel}/sync`), 200);
    expect(synced).toMatchObject({ fetched: 2, stored: 2, rejected: 0 });
    const list = expectStatus(await admin.client.get('/api/v1/conversations?status=any'), 200);
    const threads = list.data.filter((c: { counterpart: string }) => c.counterpart === 'nul@example.org');
    expect(threads.map((c: { subject: string }) => c.subject).sort()).toEqual(['Next', 'Nullbyte']);
    const first = threads.find((c: { subject: string }) => c.subject === 'Nullbyte');
    const thread = expectStatus(await admin.client.get(`/api/v1/conversations/${first.id}`), 200);
    expect(thread.messages[0].text).toBe('Beforeafter');
  });

  it('the polling job syncs in the worker and arms the next poll', async () => {
    await dovecot.append(
      mail({ id: '<poll@example.org>', from: 'ada@example.org', subject: 'Polled', text: 'by the worker' }),
    );
    await t.services.jobs.send(null, 'channel.sync', { org_id: admin.orgId, channel_id: emailChannel });
    await t.drain();
    const list = expectStatus(await admin.client.get('/api/v1/conversations?status=any'), 200);
    expect(list.data.some((c: { last_preview: string }) => c.last_preview === 'by the worker')).toBe(true);
    const queued = await t.queued('channel.sync');
    expect(queued.length).toBe(1);
  });

  it('replies through the job queue, once, threaded; a refused recipient fails with the reason and can be retried', async () => {
    const list = expectStatus(await admin.client.get('/api/v1/conversations?status=any'), 200);
    const ada = list.data.find((c: { subject: string }) => c.subject === 'Engines');
    const queued = expectStatus(
      await admin.client.post(`/api/v1/conversations/${ada.id}/messages`, { text: 'Thanks, Ada!' }),
      202,
    );
    expect(queued).toMatchObject({ status: 'queued', direction: 'out', subject: 'Re: Engines' });
    await t.drain();
    const got = smtp.received.filter((r) => r.to.includes('ada@example.org'));
    expect(got).toHaveLength(1);
    expect(got[0]!.raw).toContain('In-Reply-To: <m3@example.org>');
    expect(got[0]!.raw).toMatch(/References: <m2@example.org>\s+<m3@example.org>/);
    expect(got[0]!.raw).toContain(`Message-ID: ${queued.message_id}`);
    // The same job again (a redelivery): not sent twice.
    await sendMessage(t.services, { org_id: admin.orgId, message_id: queued.id });
    expect(smtp.received.filter((r) => r.to.includes('ada@example.org'))).toHaveLength(1);
    const thread = expectStatus(await admin.client.get(`/api/v1/conversations/${ada.id}`), 200);
    expect(thread.messages.at(-1)).toMatchObject({ status: 'sent', attempts: 1 });

    const bounced = expectStatus(
      await admin.client.post('/api/v1/messages', {
        channel_id: emailChannel,
        to: 'nobody@example.org',
        subject: 'Hello',
        text: 'Anyone?',
      }),
      202,
    );
    await t.drain();
    const after = expectStatus(
      await admin.client.get(`/api/v1/conversations/${bounced.conversation_id}`),
      200,
    );
    expect(after.messages[0].status).toBe('failed');
    expect(after.messages[0].error).toMatch(/550|Mailbox does not exist/);
    expectStatus(await admin.client.post(`/api/v1/messages/${bounced.id}/retry`), 202);
    expectProblem(await admin.client.post(`/api/v1/messages/${queued.id}/retry`), 409, 'invalid_state');
    expectProblem(await stranger.client.post(`/api/v1/messages/${bounced.id}/retry`), 404, 'not_found');
  });

  it('assigns, filters, closes and pages the inbox', async () => {
    const all = expectStatus(await admin.client.get('/api/v1/conversations?status=any&limit=1'), 200);
    expect(all.data).toHaveLength(1);
    expect(all.next_cursor).toBeTruthy();
    const next = expectStatus(
      await admin.client.get(`/api/v1/conversations?status=any&limit=1&cursor=${all.next_cursor}`),
      200,
    );
    expect(next.data[0].id).not.toBe(all.data[0].id);
    expectProblem(await admin.client.get('/api/v1/conversations?cursor=garbage'), 400, {
      path: 'query.cursor',
    });

    const id = all.data[0].id;
    const assigned = expectStatus(
      await admin.client.patch(`/api/v1/conversations/${id}`, { assignee_id: admin.userId }),
      200,
    );
    expect(assigned.assignee_id).toBe(admin.userId);
    const mine = expectStatus(await admin.client.get('/api/v1/conversations?filter=mine&status=any'), 200);
    expect(mine.data.map((c: { id: string }) => c.id)).toEqual([id]);
    const unassigned = expectStatus(
      await admin.client.get('/api/v1/conversations?filter=unassigned&status=any'),
      200,
    );
    expect(unassigned.data.map((c: { id: string }) => c.id)).not.toContain(id);
    expectProblem(
      await admin.client.patch(`/api/v1/conversations/${id}`, { assignee_id: stranger.userId }),
      400,
      { path: 'body.assignee_id' },
    );
    expectStatus(await admin.client.patch(`/api/v1/conversations/${id}`, { status: 'closed' }), 200);
    const closed = expectStatus(await admin.client.get('/api/v1/conversations?status=closed'), 200);
    expect(closed.data.map((c: { id: string }) => c.id)).toEqual([id]);
    expectProblem(
      await stranger.client.patch(`/api/v1/conversations/${id}`, { status: 'open' }),
      404,
      'not_found',
    );
  });
});

describe('parsing real e-mail', () => {
  it('reads every fixture without crashing (malformed MIME, nested parts, 1 MB+ bodies)', async () => {
    const dirs = ['email/mailparser-fixtures', 'email/postal-mime-fixtures'];
    let read = 0;
    for (const dir of dirs)
      for (const file of readdirSync(`${DATA}${dir}`).filter((f) => f.endsWith('.eml'))) {
        const parsed = await parseEmail(readFileSync(`${DATA}${dir}/${file}`));
        if (parsed) {
          read += 1;
          expect(parsed.messageId.length).toBeGreaterThan(0);
          expect(parsed.text.length).toBeLessThanOrEqual(1_000_000);
        }
      }
    expect(read).toBeGreaterThan(5);
    expect(await parseEmail(Buffer.from('\u0000\u0001garbage with no headers'))).toBeNull();
  }, 60_000);
});

describe('SMS through Twilio', () => {
  let sms: { id: string; inbound_webhook_url: string };
  const TOKEN = 'twilio-auth-token-1';

  it('checks X-Twilio-Signature with the published vectors', () => {
    const vectors = JSON.parse(
      readFileSync(`${DATA}webhooks/twilio/twilio-signature-test-vectors.json`, 'utf8'),
    );
    let checked = 0;
    for (const v of vectors.vectors as {
      url: string;
      params: Record<string, string>;
      expected: string;
      name: string;
    }[]) {
      if (!v.params || typeof v.params !== 'object' || v.name.toLowerCase().includes('bodysha256')) continue;
      if (isTwilioSignature(vectors.auth_token, v.expected, v.url, v.params)) checked += 1;
      expect(isTwilioSignature(vectors.auth_token, `x${v.expected.slice(1)}`, v.url, v.params)).toBe(false);
    }
    expect(checked).toBeGreaterThan(5);
  });

  it('sends through the Twilio SDK, receives signed webhooks, refuses forged ones, records STOP', async () => {
    sms = expectStatus(
      await admin.client.post('/api/v1/channels', {
        kind: 'sms',
        name: 'Support line',
        address: '+1 202 883 1111',
        twilio: { account_sid: 'AC0123456789abcdef0123456789abcdef', auth_token: TOKEN, api_base: tw.url },
      }),
      201,
    );
    expect(sms.inbound_webhook_url).toBe(
      `${BASE_URL}/api/v1/public/channels/${admin.orgId}/${sms.id}/twilio`,
    );
    const test = expectStatus(await admin.client.post(`/api/v1/channels/${sms.id}/test`), 200);
    expect(test.ok).toBe(true);

    const courier = JSON.parse(
      readFileSync(`${DATA}webhooks/twilio/twilio-inbound-form-payloads.courier.json`, 'utf8'),
    );
    const body: string = courier.payloads.receiveValid.raw_form_body;
    const params = Object.fromEntries(new URLSearchParams(body));
    const url = sms.inbound_webhook_url;
    const post = (raw: string, signature?: string) =>
      t.app.inject({
        method: 'POST',
        url: url.slice(BASE_URL.length),
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(signature ? { 'x-twilio-signature': signature } : {}),
        },
        payload: raw,
      });

    const forged = await post(body, twilio.getExpectedTwilioSignature('wrong-token', url, params));
    expect(forged.statusCode).toBe(403);
    expect((await post(body)).statusCode).toBe(403);
    const channel = expectStatus(await admin.client.get(`/api/v1/channels/${sms.id}`), 200);
    expect(channel.rejected_webhooks).toBe(2);

    const ok = await post(body, twilio.getExpectedTwilioSignature(TOKEN, url, params));
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toContain('<Response>');
    // Replayed: no duplicate.
    expect((await post(body, twilio.getExpectedTwilioSignature(TOKEN, url, params))).statusCode).toBe(200);
    const list = expectStatus(await admin.client.get(`/api/v1/conversations?channel_id=${sms.id}`), 200);
    expect(list.data).toHaveLength(1);
    expect(list.data[0]).toMatchObject({ counterpart: '+14133881111', last_preview: 'Msg', unread_count: 1 });

    const replied = expectStatus(
      await admin.client.post(`/api/v1/conversations/${list.data[0].id}/messages`, {
        text: 'Hello from Cairn',
      }),
      202,
    );
    await t.drain();
    expect(tw.sent).toHaveLength(1);
    expect(tw.sent[0]!.form.get('To')).toBe('+14133881111');
    expect(tw.sent[0]!.form.get('From')).toBe('+12028831111');
    expect(tw.sent[0]!.form.get('Body')).toBe('Hello from Cairn');
    expect(tw.sent[0]!.auth).toBe(
      `Basic ${Buffer.from(`AC0123456789abcdef0123456789abcdef:${TOKEN}`).toString('base64')}`,
    );
    const thread = expectStatus(await admin.client.get(`/api/v1/conversations/${list.data[0].id}`), 200);
    expect(thread.messages.find((m: { id: string }) => m.id === replied.id).status).toBe('sent');

    // Twilio refuses a number: the failure shows with Twilio's reason.
    const refused = expectStatus(
      await admin.client.post('/api/v1/messages', { channel_id: sms.id, to: '+1 500 555 0001', text: 'hi' }),
      202,
    );
    await t.drain();
    const refusedThread = expectStatus(
      await admin.client.get(`/api/v1/conversations/${refused.conversation_id}`),
      200,
    );
    expect(refusedThread.messages.at(-1)).toMatchObject({ status: 'failed' });
    expect(refusedThread.messages.at(-1).error).toContain('not a valid phone number');

    // STOP: the number is suppressed; sending to it is refused with the reason.
    const stop = new URLSearchParams({ ...params, Body: 'STOP', MessageSid: 'SMstop0001' }).toString();
    const stopParams = Object.fromEntries(new URLSearchParams(stop));
    expect((await post(stop, twilio.getExpectedTwilioSignature(TOKEN, url, stopParams))).statusCode).toBe(
      200,
    );
    expectProblem(
      await admin.client.post(`/api/v1/conversations/${list.data[0].id}/messages`, { text: 'Still there?' }),
      422,
      'recipient_suppressed',
    );
    expect(tw.sent).toHaveLength(2);
  });
});
