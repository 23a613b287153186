import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PlaceholderFiller, SubjectLine } from '../src/modules/ai/ai-draft.service.js';
import {
  addMember,
  type Client,
  expectProblem,
  expectStatus,
  ORIGIN,
  signUp,
  startTestApp,
  type TestApp,
} from './kit/index.js';

// Streamed drafts (issue 32): a reply in a conversation, optionally from a stored message template,
// streams from a local server speaking OpenAI's and Anthropic's streaming wire formats (server-sent
// events, written slowly, piece by piece) through Cairn to the member. Closing the draft or the
// budget running out mid-answer cuts the provider's connection: the tests see the provider's side
// closed before it wrote everything, and the tokens used up to the cut counted and audited.

type Sent = { path: string; body: any };
/** What the provider saw of one streamed answer: pieces written, and whether Cairn hung up early. */
type Written = { pieces: number; total: number; cut: boolean; finishedAt?: number; closed: Promise<void> };
type Responder = (res: ServerResponse, w: Written) => Promise<void>;

class SlowProvider {
  server: Server;
  sent: Sent[] = [];
  written: Written[] = [];
  queue: Responder[] = [];
  port = 0;
  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.sent.push({ path: req.url ?? '/', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        const next = this.queue.shift();
        if (!next) return res.writeHead(500).end('no fixture');
        let closed!: () => void;
        const w: Written = {
          pieces: 0,
          total: 0,
          cut: false,
          closed: new Promise<void>((r) => {
            closed = r;
          }),
        };
        res.on('close', () => {
          if (!res.writableFinished) w.cut = true;
          closed();
        });
        this.written.push(w);
        void next(res, w);
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
  get last() {
    return this.sent.at(-1)!;
  }
  close() {
    this.server.closeAllConnections();
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pieces = (text: string, size: number) => text.match(new RegExp(`.{1,${size}}`, 'gs')) ?? [];

/** OpenAI chat-completion chunks, one piece every `delayMs`, usage last, then [DONE]. */
const openAiSlow =
  (
    text: string,
    o: { delayMs?: number; size?: number; usage?: { prompt_tokens: number; completion_tokens: number } } = {},
  ): Responder =>
  async (res, w) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const base = { id: 'chatcmpl-s', object: 'chat.completion.chunk', created: 1, model: 'gpt-test' };
    const parts = pieces(text, o.size ?? 4);
    w.total = parts.length;
    res.write(
      `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] })}\n\n`,
    );
    for (const part of parts) {
      if (res.destroyed) return;
      res.write(
        `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: part } }] })}\n\n`,
      );
      w.pieces++;
      await sleep(o.delayMs ?? 15);
    }
    if (res.destroyed) return;
    res.write(
      `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`,
    );
    res.write(
      `data: ${JSON.stringify({ ...base, choices: [], usage: o.usage ?? { prompt_tokens: 200, completion_tokens: 30 } })}\n\n`,
    );
    w.finishedAt = Date.now();
    res.end('data: [DONE]\n\n');
  };

/** Anthropic Messages streaming events, as its documentation shows them. */
const anthropicSlow =
  (text: string, delayMs = 10): Responder =>
  async (res, w) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const ev = (event: string, data: unknown) =>
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    ev('message_start', {
      type: 'message_start',
      message: {
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        content: [],
        model: 'claude-test',
        stop_reason: null,
        usage: { input_tokens: 410, output_tokens: 1 },
      },
    });
    ev('content_block_start', {
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'text', text: '' },
    });
    ev('ping', { type: 'ping' });
    const parts = pieces(text, 5);
    w.total = parts.length;
    for (const part of parts) {
      ev('content_block_delta', {
        type: 'content_block_delta',
        index: 0,
        delta: { type: 'text_delta', text: part },
      });
      w.pieces++;
      await sleep(delayMs);
    }
    ev('content_block_stop', { type: 'content_block_stop', index: 0 });
    ev('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: 25 },
    });
    w.finishedAt = Date.now();
    ev('message_stop', { type: 'message_stop' });
    res.end();
  };

type Event = { event: string; data: any; at: number };

/** POSTs a draft request and reads its server-sent events as they come; `stopAfter` hangs up early. */
async function draft(
  client: Client,
  body: Record<string, unknown>,
  o: { stopAfter?: number } = {},
): Promise<{ status: number; events: Event[]; problem?: any }> {
  const abort = new AbortController();
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v1/ai/draft/stream',
    headers: {
      cookie: client.cookieHeader,
      origin: ORIGIN,
      'content-type': 'application/json',
      accept: 'text/event-stream',
    },
    payload: JSON.stringify(body),
    payloadAsStream: true,
    signal: abort.signal,
  });
  const stream = res.stream();
  if (res.statusCode !== 200) {
    let text = '';
    for await (const c of stream) text += String(c);
    return { status: res.statusCode, events: [], problem: JSON.parse(text) };
  }
  const events: Event[] = [];
  let buffer = '';
  await new Promise<void>((resolve) => {
    stream.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
        const data = /^data: (.*)$/m.exec(block)?.[1];
        events.push({ event, data: data ? JSON.parse(data) : null, at: Date.now() });
        end = buffer.indexOf('\n\n');
      }
      if (o.stopAfter !== undefined && events.filter((e) => e.event === 'delta').length >= o.stopAfter) {
        abort.abort();
        stream.destroy();
        resolve();
      }
    });
    stream.on('end', () => resolve());
    stream.on('error', () => resolve());
    stream.on('close', () => resolve());
  });
  return { status: 200, events };
}

const textOf = (events: Event[]) =>
  events
    .filter((e) => e.event === 'delta')
    .map((e) => e.data.text)
    .join('');

const lastAudit = async (client: Client) =>
  expectStatus(await client.get('/api/v1/audit?action=ai.called&limit=1'), 200).data[0];

let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;
let stranger: Awaited<ReturnType<typeof signUp>>;
const provider = new SlowProvider();
let contactId: string;
let conversationId: string;
let templateId: string;
let strangerTemplate: string;
let strangerConversation: string;

const settings = (client: Client, body: Record<string, unknown>) => client.patch('/api/v1/ai/settings', body);

beforeAll(async () => {
  await provider.start();
  t = await startTestApp({ OUTBOUND_ALLOWED_HOSTS: '127.0.0.1' });
  admin = await signUp(t, 'Streaming Co');
  stranger = await signUp(t, 'Elsewhere');
  for (const who of [admin, stranger]) {
    const channel = expectStatus(
      await who.client.post('/api/v1/channels', {
        kind: 'local',
        name: 'Local',
        address: `team@${who === admin ? 'stream' : 'else'}.test`,
        from_name: 'Team',
      }),
      201,
    ).id;
    const company = expectStatus(await who.client.post('/api/v1/companies', { name: 'Lima Foods' }), 201);
    const contact = expectStatus(
      await who.client.post('/api/v1/contacts', {
        first_name: 'Ana',
        last_name: 'Lima',
        emails: [{ value: 'ana.lima@example.org' }],
        companies: [{ id: company.id, primary: true }],
      }),
      201,
    );
    const sent = expectStatus(
      await who.client.post('/api/v1/messages', {
        channel_id: channel,
        to: 'ana.lima@example.org',
        subject: 'Your order',
        text: 'Hello Ana, your order shipped. Reach me at +44 20 7946 0958.',
      }),
      202,
    );
    const template = expectStatus(
      await who.client.post('/api/v1/message-templates', {
        name: 'Follow-up',
        subject: 'Following up, {{first_name}}',
        body: 'Hi {{first_name}}, checking in about {{company}}. Best regards',
      }),
      201,
    ).id;
    if (who === admin) {
      contactId = contact.id;
      conversationId = sent.conversation_id;
      templateId = template;
    } else {
      strangerConversation = sent.conversation_id;
      strangerTemplate = template;
    }
  }
  expectStatus(
    await settings(admin.client, {
      enabled: true,
      provider: 'openai',
      base_url: `http://127.0.0.1:${provider.port}/v1`,
      model: 'gpt-test',
      key: 'sk-stream-1234',
      calls_per_minute: 100,
      prices: { 'gpt-test': { input_per_million: 2, output_per_million: 10 } },
    }),
    200,
  );
}, 300_000);
afterAll(async () => {
  await provider.close();
  await t?.close();
}, 120_000);

describe('a streamed draft from a template', () => {
  it('streams piece by piece, the template’s variables filled for the contact; the model saw placeholders only', async () => {
    const answer =
      'Hi {{first_name}}, checking in about {{company}} now that your order shipped. Best regards';
    provider.queue.push(
      openAiSlow(answer, { delayMs: 25, usage: { prompt_tokens: 300, completion_tokens: 22 } }),
    );
    const { status, events } = await draft(admin.client, {
      conversation_id: conversationId,
      template_id: templateId,
      instructions: 'Mention the shipment',
    });
    expect(status).toBe(200);
    const deltas = events.filter((e) => e.event === 'delta');
    expect(deltas.length).toBeGreaterThan(5);
    // The first piece reached the member well before the provider finished writing.
    const w = provider.written.at(-1)!;
    expect(w.finishedAt! - deltas[0]!.at).toBeGreaterThan(200);
    const text = textOf(events);
    expect(text).toBe('Hi Ana, checking in about Lima Foods now that your order shipped. Best regards');
    expect(text).not.toContain('{{');
    const done = events.at(-1)!;
    expect(done.event).toBe('done');
    expect(done.data).toMatchObject({
      text,
      subject: 'Following up, Ana',
      model: 'gpt-test',
      stopped: 'end',
    });
    // What the provider was sent: streaming asked for, the template with its placeholders, the
    // thread, nothing the redaction withholds.
    const sent = provider.last.body;
    expect(sent.stream).toBe(true);
    const prompt = JSON.stringify(sent.messages);
    expect(prompt).toContain('Hi {{first_name}}, checking in about {{company}}');
    expect(prompt).toContain('your order shipped');
    expect(prompt).toContain('Mention the shipment');
    expect(prompt).not.toContain('ana.lima@example.org');
    expect(prompt).not.toContain('7946');
    const entry = await lastAudit(admin.client);
    expect(entry.target).toMatchObject({ type: 'conversation', id: conversationId });
    expect(entry.details).toMatchObject({
      feature: 'draft_email',
      template: 'draft_reply.v1',
      outcome: 'ok',
      tokens_in: 300,
      tokens_out: 22,
      cost: 0.00082,
    });
    expect(entry.details.prompt).toBeUndefined();
  });

  it('speaks Anthropic’s streaming events too, and drafts a message on a record page, subject and all', async () => {
    expectStatus(
      await settings(admin.client, { provider: 'anthropic', base_url: `http://127.0.0.1:${provider.port}` }),
      200,
    );
    // A message (not a reply) has no thread subject: the model writes one on a first line, which
    // becomes the subject, not the start of the body.
    provider.queue.push(anthropicSlow('Subject: Thank you, Ana\n\nDear Ana, a short note to say thank you.'));
    const { events } = await draft(admin.client, {
      object: 'contact',
      id: contactId,
      instructions: 'Thank her',
    });
    expect(provider.last.path).toBe('/v1/messages');
    expect(provider.last.body).toMatchObject({ stream: true, model: 'gpt-test' });
    expect(provider.last.body.system).toContain('the first line is "Subject: "');
    expect(textOf(events)).toBe('Dear Ana, a short note to say thank you.');
    expect(events.at(-1)).toMatchObject({
      event: 'done',
      data: { text: 'Dear Ana, a short note to say thank you.', subject: 'Thank you, Ana', stopped: 'end' },
    });
    const entry = await lastAudit(admin.client);
    expect(entry.target).toMatchObject({ type: 'contact', id: contactId });
    expect(entry.details).toMatchObject({
      template: 'draft_message.v1',
      outcome: 'ok',
      tokens_in: 410,
      tokens_out: 25,
    });
    // From a template with a subject, the template's subject (filled for the contact) is used.
    provider.queue.push(anthropicSlow('Hi {{first_name}}, checking in. Best regards'));
    const templated = await draft(admin.client, {
      object: 'contact',
      id: contactId,
      template_id: templateId,
    });
    expect(provider.last.body.system).not.toContain('Subject: ');
    expect(templated.events.at(-1)).toMatchObject({
      event: 'done',
      data: { text: 'Hi Ana, checking in. Best regards', subject: 'Following up, Ana' },
    });
    expect((await lastAudit(admin.client)).details.template).toBe('draft_reply.v1');
    expectStatus(
      await settings(admin.client, { provider: 'openai', base_url: `http://127.0.0.1:${provider.port}/v1` }),
      200,
    );
  });

  it('a member closing the draft (over a real connection) cuts the provider’s stream', async () => {
    provider.queue.push(openAiSlow('x'.repeat(400), { delayMs: 20 }));
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const abort = new AbortController();
    const res = await fetch(`${address}/api/v1/ai/draft/stream`, {
      method: 'POST',
      headers: {
        cookie: admin.client.cookieHeader,
        origin: ORIGIN,
        'content-type': 'application/json',
        accept: 'text/event-stream',
      },
      body: JSON.stringify({ conversation_id: conversationId }),
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while ((text.match(/event: delta/g) ?? []).length < 3) text += (await reader.read()).value ?? '';
    abort.abort();
    const w = provider.written.at(-1)!;
    await w.closed;
    expect(w.cut).toBe(true);
    expect(w.pieces).toBeLessThan(w.total);
    // Audited as the member's cancel, with the tokens used up to the cut.
    await expect.poll(async () => (await lastAudit(admin.client)).details.outcome).toBe('cancelled');
    expect((await lastAudit(admin.client)).details.tokens_out).toBeGreaterThan(0);
  });
});

describe('a budget reached mid-stream', () => {
  afterEach(async () => {
    expectStatus(
      await settings(admin.client, { member_monthly_tokens: null, org_monthly_tokens: null }),
      200,
    );
  });

  it('cuts the provider’s connection, counts the tokens up to the cut, and tells the member', async () => {
    const member = await addMember(t, admin.client, 'user');
    expectStatus(await settings(admin.client, { member_monthly_tokens: 1500 }), 200);
    // 3,000 pieces of 4 characters (a token each), slowly: far more than what is left.
    provider.queue.push(openAiSlow('abcd'.repeat(3000), { delayMs: 1 }));
    const { events } = await draft(member.client, {
      conversation_id: conversationId,
      template_id: templateId,
    });
    const last = events.at(-1)!;
    expect(last.event).toBe('error');
    expect(last.data).toMatchObject({ status: 429, code: 'ai_budget_exhausted' });
    expect(last.data.detail).toMatch(/budget ran out while the assistant was writing/);
    // What was written stays the member's to edit.
    expect(textOf(events).length).toBeGreaterThan(0);
    const w = provider.written.at(-1)!;
    await w.closed;
    expect(w.cut).toBe(true);
    expect(w.pieces).toBeLessThan(w.total);
    const entry = await lastAudit(admin.client);
    expect(entry.actor.id).toBe(member.userId);
    expect(entry.details).toMatchObject({ outcome: 'ai_budget_exhausted', tokens_estimated: true });
    // In + out reached the budget, and no more than a piece past it.
    const used = entry.details.tokens_in + entry.details.tokens_out;
    expect(used).toBeGreaterThanOrEqual(1500);
    expect(used).toBeLessThanOrEqual(1501);
    expect(entry.details.cost).toBeGreaterThan(0);
    // Spent: the next draft is refused before the provider is asked, as an ordinary problem.
    const calls = provider.sent.length;
    const again = await draft(member.client, { conversation_id: conversationId });
    expect(again.status).toBe(429);
    expect(again.problem.code).toBe('ai_budget_exhausted');
    expect(provider.sent.length).toBe(calls);
    expectStatus(await settings(admin.client, { member_monthly_tokens: null }), 200);
  });

  it('the organization’s budget spent by other calls while a draft streams stops it too', async () => {
    const { rows } = await t.services.database.raw.query<{ n: string }>(
      `select coalesce(sum(tokens_in + tokens_out), 0) as n from ai_usage where org_id = $1`,
      [admin.orgId],
    );
    expectStatus(await settings(admin.client, { org_monthly_tokens: Number(rows[0]!.n) + 50_000 }), 200);
    provider.queue.push(openAiSlow('word '.repeat(400), { delayMs: 15, size: 5 }));
    const running = draft(admin.client, { conversation_id: conversationId });
    await sleep(400);
    // Another member's calls end meanwhile and use the rest of the month's budget.
    await t.services.database.raw.query(
      `insert into ai_usage (org_id, user_id, feature, tokens_in, tokens_out, model, outcome) values ($1, null, 'summarize', 50000, 0, 'gpt-test', 'ok')`,
      [admin.orgId],
    );
    const { events } = await running;
    expect(events.at(-1)).toMatchObject({ event: 'error', data: { code: 'ai_budget_exhausted' } });
    const w = provider.written.at(-1)!;
    await w.closed;
    expect(w.cut).toBe(true);
    expect(w.pieces).toBeLessThan(w.total);
    expectStatus(await settings(admin.client, { org_monthly_tokens: null }), 200);
    await t.services.database.raw.query(`delete from ai_usage where org_id = $1 and tokens_in = 50000`, [
      admin.orgId,
    ]);
  });
});

describe('bad input and failures before the first piece', () => {
  it('a conversation or a record, not neither; another tenant’s conversation is 404, its template 422', async () => {
    const calls = provider.sent.length;
    const neither = await draft(admin.client, { instructions: 'Hi' });
    expect(neither.status).toBe(400);
    expect(neither.problem.path).toBe('body.conversation_id');
    const both = await draft(admin.client, {
      conversation_id: conversationId,
      object: 'contact',
      id: contactId,
    });
    expect(both.status).toBe(400);
    expectProblem(
      await admin.client.post('/api/v1/ai/draft/stream', { conversation_id: conversationId, extra: 1 }),
      400,
    );
    const foreign = await draft(admin.client, { conversation_id: strangerConversation });
    expect(foreign.status).toBe(404);
    const foreignTemplate = await draft(admin.client, {
      conversation_id: conversationId,
      template_id: strangerTemplate,
    });
    expect(foreignTemplate.status).toBe(422);
    expect(foreignTemplate.problem).toMatchObject({ code: 'reference_not_found', path: 'body.template_id' });
    // The stranger's assistant is off.
    const off = await draft(stranger.client, { conversation_id: strangerConversation });
    expect(off.status).toBe(409);
    expect(off.problem.code).toBe('ai_disabled');
    expect(provider.sent.length).toBe(calls);
  });

  it('a refused key or a provider that does not stream: a 424 problem, audited, nothing streamed', async () => {
    provider.queue.push(async (res) => {
      res
        .writeHead(401, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { message: 'bad key' } }));
    });
    const refused = await draft(admin.client, { conversation_id: conversationId });
    expect(refused.status).toBe(424);
    expect(refused.problem.code).toBe('ai_provider_rejected_key');
    expect((await lastAudit(admin.client)).details.outcome).toBe('ai_provider_rejected_key');
    provider.queue.push(async (res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"not": "a stream"');
    });
    const malformed = await draft(admin.client, { conversation_id: conversationId });
    expect(malformed.status).toBe(424);
    expect(malformed.problem.code).toBe('ai_provider_malformed');
  });

  it('a provider that breaks mid-answer: an error event after the pieces already shown', async () => {
    provider.queue.push(async (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'Hello Ana' } }] })}\n\n`);
      await sleep(20);
      res.write('data: {"choices": [ this is not json\n\n');
      res.end();
    });
    const { events } = await draft(admin.client, { conversation_id: conversationId });
    expect(textOf(events)).toBe('Hello Ana');
    expect(events.at(-1)).toMatchObject({
      event: 'error',
      data: { status: 424, code: 'ai_provider_malformed' },
    });
    // The tokens up to the break were used: counted (estimated, no usage came), never free.
    const entry = await lastAudit(admin.client);
    expect(entry.details).toMatchObject({ outcome: 'ai_provider_malformed', tokens_estimated: true });
    expect(entry.details.tokens_in).toBeGreaterThan(0);
    expect(entry.details.tokens_out).toBeGreaterThan(0);
  });
});

describe('placeholders filled as they stream', () => {
  it('holds an unfinished {{ until it closes, and leaves a name the template did not use', () => {
    const f = new PlaceholderFiller(new Map([['first_name', 'Ana']]));
    const out =
      ['Hi {', '{first', '_name}', '} and {{other}}!', ' {'].map((d) => f.push(d)).join('') + f.flush();
    expect(out).toBe('Hi Ana and {{other}}! {');
  });
});

describe('a subject line taken off a message to a record', () => {
  const run = (pieces: string[]) => {
    const s = new SubjectLine();
    return { body: pieces.map((d) => s.push(d)).join('') + s.flush(), subject: s.subject };
  };

  it('takes the first line as the subject, whole, and drops the blank lines after it', () => {
    expect(run(['Sub', 'ject: Thank', ' you\r', '\n', '\n  ', 'Dear Ana,\n\nThanks.'])).toEqual({
      subject: 'Thank you',
      body: 'Dear Ana,\n\nThanks.',
    });
    expect(run(['**Subject:** Our ', 'call\n\nHi'])).toEqual({ subject: 'Our call', body: 'Hi' });
    expect(run(['Subject: Only a subject'])).toEqual({ subject: 'Only a subject', body: '' });
  });

  it('shows a draft without a subject line whole, as body', () => {
    expect(run(['Dear Ana,', '\nSubject: not here'])).toEqual({
      subject: null,
      body: 'Dear Ana,\nSubject: not here',
    });
    expect(run(['Subject to your approval, here it is.'])).toEqual({
      subject: null,
      body: 'Subject to your approval, here it is.',
    });
    // A first line that never ends is not held back for long.
    const s = new SubjectLine();
    expect(s.push('x'.repeat(401))).toBe('x'.repeat(401));
  });
});
