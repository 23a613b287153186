import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, expectStatus, signUp, startTestApp, type TestApp } from './kit/index.js';

// Messenger and Instagram direct messages as inbox channels (issue 23), through Meta's Messenger
// Platform: the organization's Meta webhook (the Lead Ads endpoint, verified with the same app
// secret and X-Hub-Signature-256) receives `object: "page"` / `"instagram"` entries with
// `messaging` events (the documented shape:
// https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/messages), and
// replies go out through the Send API (`POST /{page-id}/messages`) to a local server speaking the
// Graph API's wire format. ../shared/data holds no Messenger payload: these are built from Meta's
// reference, field for field.

const APP_SECRET = 'messenger-app-secret-42';
const PAGE_TOKEN = 'EAAMessengerPageToken-0001';
const PAGE_ID = '107150828412345';
const IG_ID = '17841405822304914';
const PSID = '6523409876543210';
const IGSID = '5432167890123456';
const OUTSIDE_WINDOW = '9999000011112222';
const sign = (body: string, secret = APP_SECRET) =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

type Sent = { path: string; token: string | null; body: any };

/** The Graph API's Send API, page / account reads and the user profile, as Meta documents them. */
class Graph {
  server: Server;
  port = 0;
  sent: Sent[] = [];
  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://graph');
        const send = (status: number, json: unknown) =>
          res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
        const token = url.searchParams.get('access_token');
        if (token !== PAGE_TOKEN)
          return send(400, {
            error: {
              message: 'Invalid OAuth access token.',
              type: 'OAuthException',
              code: 190,
              fbtrace_id: 'A1',
            },
          });
        const m = /^\/v21\.0\/(\d+)(\/messages)?$/.exec(url.pathname);
        if (!m)
          return send(404, { error: { message: 'Unknown path', type: 'GraphMethodException', code: 100 } });
        if (req.method === 'POST' && m[2]) {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          this.sent.push({ path: url.pathname, token, body });
          if (body.recipient?.id === OUTSIDE_WINDOW)
            return send(400, {
              error: {
                message: '(#10) This message is sent outside of allowed window.',
                type: 'OAuthException',
                code: 10,
                error_subcode: 2018278,
                fbtrace_id: 'AbCd',
              },
            });
          return send(200, { recipient_id: body.recipient.id, message_id: `m_sent_${this.sent.length}` });
        }
        if (m[1] === PAGE_ID) return send(200, { id: PAGE_ID, name: 'Cairn Bakery' });
        if (m[1] === IG_ID) return send(200, { id: IG_ID, name: 'cairn.bakery' });
        if (m[1] === PSID) return send(200, { first_name: 'Marie', last_name: 'Curie', id: PSID });
        if (m[1] === IGSID) return send(200, { name: 'Rosalind Franklin', username: 'rosalind', id: IGSID });
        return send(400, {
          error: {
            message: `Object with ID '${m[1]}' does not exist`,
            type: 'GraphMethodException',
            code: 100,
          },
        });
      });
    });
  }
  start() {
    return new Promise<void>((resolve) =>
      this.server.listen(0, '127.0.0.1', () => {
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      }),
    );
  }
  close() {
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A Messenger Platform webhook body: one entry, one `messaging` event. */
const webhook = (
  object: 'page' | 'instagram',
  account: string,
  sender: string,
  message: Record<string, unknown>,
  time = Date.now(),
) =>
  JSON.stringify({
    object,
    entry: [
      {
        id: account,
        time,
        messaging: [{ sender: { id: sender }, recipient: { id: account }, timestamp: time, message }],
      },
    ],
  });

const graph = new Graph();
let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;
let stranger: Awaited<ReturnType<typeof signUp>>;
let hookPath: string;
let messenger: string;

const deliver = (body: string, signature: string | null = sign(body), path = hookPath) =>
  t.app.inject({
    method: 'POST',
    url: path,
    headers: {
      'content-type': 'application/json',
      ...(signature ? { 'x-hub-signature-256': signature } : {}),
    },
    payload: body,
  });

const conversationWith = async (client: typeof admin.client, counterpart: string) => {
  const list = expectStatus(await client.get('/api/v1/conversations?status=any'), 200);
  return list.data.find((c: { counterpart: string }) => c.counterpart === counterpart) ?? null;
};

beforeAll(async () => {
  await graph.start();
  t = await startTestApp({
    OUTBOUND_ALLOWED_HOSTS: '127.0.0.1',
    META_GRAPH_URL: `http://127.0.0.1:${graph.port}/v21.0`,
  });
  admin = await signUp(t, 'Bakery Co');
  stranger = await signUp(t, 'Elsewhere');
  const settings = expectStatus(
    await admin.client.patch('/api/v1/meta/settings', { app_id: '1234567890', app_secret: APP_SECRET }),
    200,
  );
  hookPath = new URL(settings.webhook_url).pathname;
}, 120_000);
afterAll(async () => {
  await t?.close();
  await graph.close();
});

describe('Messenger and Instagram channels', () => {
  it('connects a page with its token: write-only, masked, and the connection test reads the page', async () => {
    expectProblem(
      await admin.client.post('/api/v1/channels', { kind: 'messenger', name: 'Page', address: PAGE_ID }),
      400,
      { path: 'body.meta.page_token' },
    );
    expectProblem(
      await admin.client.post('/api/v1/channels', {
        kind: 'messenger',
        name: 'Page',
        address: 'not-a-page',
        meta: { page_token: PAGE_TOKEN },
      }),
      400,
      { path: 'body.address' },
    );
    expectProblem(
      await admin.client.post('/api/v1/channels', {
        kind: 'instagram',
        name: 'IG',
        address: IG_ID,
        meta: { page_token: PAGE_TOKEN },
      }),
      400,
      { path: 'body.meta.page_id' },
    );
    const created = expectStatus(
      await admin.client.post('/api/v1/channels', {
        kind: 'messenger',
        name: 'Bakery page',
        address: PAGE_ID,
        meta: { page_token: PAGE_TOKEN },
      }),
      201,
    );
    messenger = created.id;
    expect(created).toMatchObject({
      kind: 'messenger',
      address: PAGE_ID,
      meta: { page_id: PAGE_ID, page_token: '********' },
    });
    expect(JSON.stringify(created)).not.toContain(PAGE_TOKEN);
    const test = expectStatus(await admin.client.post(`/api/v1/channels/${messenger}/test`), 200);
    expect(test).toEqual({ ok: true, checks: [{ part: 'meta', ok: true, error: null }] });

    // A wrong token: the test says what Meta answered.
    const bad = expectStatus(
      await admin.client.post('/api/v1/channels', {
        kind: 'messenger',
        name: 'Other page',
        address: '100000000000001',
        meta: { page_token: 'EAAWrongToken-000' },
      }),
      201,
    );
    const failed = expectStatus(await admin.client.post(`/api/v1/channels/${bad.id}/test`), 200);
    expect(failed.checks[0]).toMatchObject({ part: 'meta', ok: false });
    expect(failed.checks[0].error).toContain('graph_190');
    expectStatus(await admin.client.delete(`/api/v1/channels/${bad.id}`), 204);
    expectProblem(await stranger.client.get(`/api/v1/channels/${messenger}`), 404, 'not_found');
  });

  it('receives signed Messenger messages into the inbox, threaded by the sender, once each; refuses forged ones', async () => {
    const first = webhook('page', PAGE_ID, PSID, { mid: 'm_in_1', text: 'Do you bake sourdough?' });
    const res = await deliver(first);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ received: true, messages_stored: 1, messages_seen: 0 });
    // Meta redelivers: stored once.
    expect((await deliver(first)).json()).toMatchObject({ messages_stored: 0, messages_seen: 1 });
    // A photo with no text, from the same person: the same thread.
    const photo = webhook('page', PAGE_ID, PSID, {
      mid: 'm_in_2',
      attachments: [{ type: 'image', payload: { url: 'https://scontent.example/photo.jpg' } }],
    });
    expect((await deliver(photo)).json()).toMatchObject({ messages_stored: 1 });

    // Forged: a wrong signature, or none.
    const forged = webhook('page', PAGE_ID, PSID, { mid: 'm_forged', text: 'Send me your password' });
    for (const refused of [
      await deliver(forged, sign(forged, 'not-the-secret')),
      await deliver(forged, null),
    ]) {
      expect(refused.statusCode).toBe(403);
      expect(refused.json().code).toBe('invalid_signature');
    }

    const conv = await conversationWith(admin.client, PSID);
    expect(conv).toMatchObject({
      channel: { id: messenger, kind: 'messenger' },
      contact: null,
      unread_count: 2,
      last_preview: '',
    });
    const thread = expectStatus(await admin.client.get(`/api/v1/conversations/${conv.id}`), 200);
    expect(thread.messages.map((m: { text: string }) => m.text)).toEqual(['Do you bake sourdough?', '']);
    expect(thread.messages[1].attachments).toEqual([
      {
        filename: 'https://scontent.example/photo.jpg',
        content_type: 'image',
        size: 0,
        // Meta shares a link, not the bytes: no file is kept.
        file_id: null,
        status: null,
        reason: null,
      },
    ]);
    expect(JSON.stringify(thread)).not.toContain('Send me your password');
  });

  it('turns the sender into a contact in one click, with the name Meta shares; their next message is on the timeline', async () => {
    const conv = await conversationWith(admin.client, PSID);
    const linked = expectStatus(await admin.client.post(`/api/v1/conversations/${conv.id}/contact`, {}), 200);
    expect(linked.contact.name).toBe('Marie Curie');
    await deliver(webhook('page', PAGE_ID, PSID, { mid: 'm_in_3', text: 'And rye?' }));
    const timeline = expectStatus(
      await admin.client.get(`/api/v1/contacts/${linked.contact.id}/timeline`),
      200,
    );
    expect(timeline.data.map((e: { description: string }) => e.description)).toContain(
      'Contact Marie Curie sent a Messenger message',
    );
    expectProblem(
      await stranger.client.post(`/api/v1/conversations/${conv.id}/contact`, {}),
      404,
      'not_found',
    );
  });

  it('replies through the Send API, once; the echo is not stored twice; outside the 24-hour window the send fails with Meta’s reason', async () => {
    const conv = await conversationWith(admin.client, PSID);
    const queued = expectStatus(
      await admin.client.post(`/api/v1/conversations/${conv.id}/messages`, { text: 'Every morning at 7!' }),
      202,
    );
    expect(queued).toMatchObject({ status: 'queued', direction: 'out', subject: null, message_id: null });
    await t.drain();
    expect(graph.sent).toHaveLength(1);
    expect(graph.sent[0]).toEqual({
      path: `/v21.0/${PAGE_ID}/messages`,
      token: PAGE_TOKEN,
      body: { recipient: { id: PSID }, messaging_type: 'RESPONSE', message: { text: 'Every morning at 7!' } },
    });
    let thread = expectStatus(await admin.client.get(`/api/v1/conversations/${conv.id}`), 200);
    expect(thread.messages.at(-1)).toMatchObject({
      status: 'sent',
      attempts: 1,
      text: 'Every morning at 7!',
    });

    // Meta echoes the page's own message back (is_echo, the same mid): not a second copy.
    const echo = JSON.stringify({
      object: 'page',
      entry: [
        {
          id: PAGE_ID,
          time: Date.now(),
          messaging: [
            {
              sender: { id: PAGE_ID },
              recipient: { id: PSID },
              timestamp: Date.now(),
              message: { mid: 'm_sent_1', text: 'Every morning at 7!', is_echo: true, app_id: 1234567890 },
            },
          ],
        },
      ],
    });
    expect((await deliver(echo)).json()).toMatchObject({ messages_stored: 0, messages_seen: 1 });
    thread = expectStatus(await admin.client.get(`/api/v1/conversations/${conv.id}`), 200);
    expect(thread.messages.filter((m: { direction: string }) => m.direction === 'out')).toHaveLength(1);

    // A person who wrote long ago: Meta refuses (code 10, subcode 2018278) and the message says so.
    await deliver(webhook('page', PAGE_ID, OUTSIDE_WINDOW, { mid: 'm_old', text: 'Hi (last year)' }));
    const old = await conversationWith(admin.client, OUTSIDE_WINDOW);
    const late = expectStatus(
      await admin.client.post(`/api/v1/conversations/${old.id}/messages`, { text: 'Sorry for the wait' }),
      202,
    );
    await t.drain();
    const after = expectStatus(await admin.client.get(`/api/v1/conversations/${old.id}`), 200);
    const failed = after.messages.find((m: { id: string }) => m.id === late.id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toBe('graph_10/2018278: (#10) This message is sent outside of allowed window.');

    // A Messenger conversation starts with the person: no compose to a PSID.
    expectProblem(
      await admin.client.post('/api/v1/messages', { channel_id: messenger, to: PSID, text: 'Hello' }),
      400,
      { path: 'body.channel_id' },
    );
  });

  it('receives Instagram direct messages on the account and replies through its linked page', async () => {
    const ig = expectStatus(
      await admin.client.post('/api/v1/channels', {
        kind: 'instagram',
        name: 'Bakery Instagram',
        address: IG_ID,
        meta: { page_id: PAGE_ID, page_token: PAGE_TOKEN },
      }),
      201,
    );
    const body = webhook('instagram', IG_ID, IGSID, {
      mid: 'aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3',
      text: 'Open Sunday?',
    });
    expect((await deliver(body)).json()).toMatchObject({ messages_stored: 1 });
    const conv = await conversationWith(admin.client, IGSID);
    expect(conv.channel).toMatchObject({ id: ig.id, kind: 'instagram' });
    const linked = expectStatus(await admin.client.post(`/api/v1/conversations/${conv.id}/contact`, {}), 200);
    expect(linked.contact.name).toBe('Rosalind Franklin');
    expectStatus(
      await admin.client.post(`/api/v1/conversations/${conv.id}/messages`, { text: 'Yes, 8 to 12' }),
      202,
    );
    await t.drain();
    expect(graph.sent.at(-1)).toMatchObject({
      path: `/v21.0/${PAGE_ID}/messages`,
      body: { recipient: { id: IGSID }, message: { text: 'Yes, 8 to 12' } },
    });
  });

  it("never files a message under another organization's page: its channel is the receiving organization's only", async () => {
    const theirs = expectStatus(
      await stranger.client.post('/api/v1/channels', {
        kind: 'messenger',
        name: 'Their page',
        address: '200000000000002',
        meta: { page_token: PAGE_TOKEN },
      }),
      201,
    );
    // Signed with the admin's app secret, to the admin's endpoint, naming the stranger's page.
    const body = webhook('page', '200000000000002', PSID, { mid: 'm_cross', text: 'Cross-tenant?' });
    expect((await deliver(body)).json()).toMatchObject({ messages_stored: 0, messages_ignored: 1 });
    expect(await conversationWith(stranger.client, PSID)).toBeNull();
    // A paused channel takes nothing either.
    expectStatus(await admin.client.patch(`/api/v1/channels/${messenger}`, { status: 'paused' }), 200);
    const paused = webhook('page', PAGE_ID, PSID, { mid: 'm_paused', text: 'Anyone?' });
    expect((await deliver(paused)).json()).toMatchObject({ messages_stored: 0, messages_ignored: 1 });
    expectStatus(await stranger.client.delete(`/api/v1/channels/${theirs.id}`), 204);
  });
});
