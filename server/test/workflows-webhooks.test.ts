import { lookup } from 'node:dns/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Client,
  expectProblem,
  expectStatus,
  signUp,
  startTestApp,
  type TestApp,
  uniqueEmail,
} from './kit/index.js';

// Workflows' call_webhook step (issue 24) against a real HTTP receiver on this machine (the
// operator allow-lists 127.0.0.1 for it, as for the outgoing webhooks; every other private,
// loopback or link-local address stays refused, at save time for a literal address and at run
// time for a name that resolves to one).

type Received = { path: string; headers: IncomingHttpHeaders; body: string };

class Receiver {
  server: Server;
  received: Received[] = [];
  statusFor: (path: string, n: number) => number = () => 200;
  port = 0;
  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        this.received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        const status = this.statusFor(path, this.at(path).length);
        res
          .writeHead(status, { 'content-type': 'text/plain' })
          .end(status < 300 ? 'thanks' : `nope ${status}`);
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
  url(path: string) {
    return `http://127.0.0.1:${this.port}${path}`;
  }
  at(path: string) {
    return this.received.filter((r) => r.path === path);
  }
  close() {
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

type Run = {
  id: string;
  status: string;
  error: string | null;
  steps: { step_id: string; status: string; output: any; error: string | null }[];
};

let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;
const receiver = new Receiver();

beforeAll(async () => {
  await receiver.start();
  t = await startTestApp({
    OUTBOUND_ALLOWED_HOSTS: '127.0.0.1',
    WEBHOOK_RETRY_SCHEDULE_SECONDS: '60,120',
    WEBHOOK_TIMEOUT_MS: '3000',
  });
  admin = await signUp(t, 'Hook Flow Co');
}, 300_000);
afterAll(async () => {
  await t?.close();
  await receiver.close();
});

async function newContact(client: Client, first: string) {
  const email = uniqueEmail(first.toLowerCase());
  const res = await client.post('/api/v1/contacts', { first_name: first, emails: [{ value: email }] });
  return { id: expectStatus<{ id: string }>(res, 201).id, email };
}

const hookFlow = (name: string, url: string, tag: string) => ({
  name,
  object: 'contact',
  definition: {
    trigger: { type: 'tag_added', tag },
    start: 'hook',
    steps: [
      {
        id: 'hook',
        type: 'call_webhook',
        url,
        data: { greeting: 'Hi {{record.first_name}}' },
        next: ['done'],
      },
      { id: 'done', type: 'add_tag', tag: `${tag}-sent` },
    ],
  },
});

async function activeFlow(client: Client, body: Record<string, unknown>) {
  const created = expectStatus<{ id: string }>(await client.post('/api/v1/workflows', body), 201);
  expectStatus(await client.post(`/api/v1/workflows/${created.id}/activate`, {}), 200);
  return created.id;
}

async function tagAndRun(client: Client, workflowId: string, contactId: string, tag: string) {
  expectStatus(await client.patch(`/api/v1/contacts/${contactId}`, { tags: [tag] }), 200);
  await t.drain();
  const runs = expectStatus<{ data: { id: string }[] }>(
    await client.get(`/api/v1/workflow-runs?workflow_id=${workflowId}`),
    200,
  ).data;
  expect(runs).toHaveLength(1);
  return runs[0]!.id;
}
const runOf = async (client: Client, id: string) =>
  expectStatus<Run>(await client.get(`/api/v1/workflow-runs/${id}`), 200);

describe('a call_webhook step', () => {
  it('POSTs the run, the record and its data to the receiver, signed with the workflow’s secret, then goes on', async () => {
    const c = admin.client;
    const id = await activeFlow(c, hookFlow('Hook to CRM', receiver.url('/crm'), 'hooked'));
    const { signing_secret, inbound_url } = expectStatus<{ signing_secret: string; inbound_url: null }>(
      await c.get(`/api/v1/workflows/${id}/secrets`),
      200,
    );
    expect(signing_secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(inbound_url).toBeNull();
    const ada = await newContact(c, 'Ada');
    const runId = await tagAndRun(c, id, ada.id, 'hooked');

    const got = receiver.at('/crm');
    expect(got).toHaveLength(1);
    const body = new Webhook(signing_secret).verify(got[0]!.body, {
      'webhook-id': String(got[0]!.headers['webhook-id']),
      'webhook-timestamp': String(got[0]!.headers['webhook-timestamp']),
      'webhook-signature': String(got[0]!.headers['webhook-signature']),
    }) as Record<string, any>;
    expect(got[0]!.headers['webhook-id']).toBe(`wf_${runId}_hook`);
    expect(body).toMatchObject({
      type: 'workflow.webhook',
      id: `wf_${runId}_hook`,
      workflow: { id, name: 'Hook to CRM' },
      run_id: runId,
      step_id: 'hook',
      record: { object: 'contact', id: ada.id, first_name: 'Ada' },
      data: { greeting: 'Hi Ada' },
    });
    const run = await runOf(c, runId);
    expect(run.status).toBe('completed');
    expect(run.steps[0]).toMatchObject({
      step_id: 'hook',
      status: 'completed',
      output: { status: 200, attempts: 1, webhook_id: `wf_${runId}_hook`, response: 'thanks' },
    });
    const contact = expectStatus<{ tags: string[] }>(await c.get(`/api/v1/contacts/${ada.id}`), 200);
    expect(contact.tags).toContain('hooked-sent');
  });

  it('retries a 5xx answer after the schedule’s delay with the same webhook-id, and fails visibly after the last attempt', async () => {
    const c = admin.client;
    receiver.statusFor = (path, n) => (path === '/flaky' && n < 2 ? 503 : path === '/down' ? 500 : 200);
    const flaky = await activeFlow(c, hookFlow('Flaky receiver', receiver.url('/flaky'), 'flaky'));
    const bob = await newContact(c, 'Bob');
    const runId = await tagAndRun(c, flaky, bob.id, 'flaky');
    // The first attempt got a 503: the step sleeps until the next attempt.
    let run = await runOf(c, runId);
    expect(run.status).toBe('waiting');
    expect(run.steps[0]).toMatchObject({
      status: 'waiting',
      output: { attempt: 1, last_status: 503 },
    });
    await t.drain({ delayed: true });
    run = await runOf(c, runId);
    expect(run.status).toBe('completed');
    expect(run.steps[0]!.output).toMatchObject({ status: 200, attempts: 2 });
    const got = receiver.at('/flaky');
    expect(got).toHaveLength(2);
    expect(got[0]!.headers['webhook-id']).toBe(got[1]!.headers['webhook-id']);
    expect(got[0]!.body).toBe(got[1]!.body);

    const down = await activeFlow(c, hookFlow('Down receiver', receiver.url('/down'), 'down'));
    const cy = await newContact(c, 'Cy');
    const downRun = await tagAndRun(c, down, cy.id, 'down');
    await t.drain({ delayed: true });
    await t.drain({ delayed: true });
    run = await runOf(c, downRun);
    expect(receiver.at('/down')).toHaveLength(3);
    expect(run.status).toBe('failed');
    expect(run.steps[0]!.status).toBe('failed');
    expect(run.steps[0]!.error).toMatch(/failed after 3 attempts: .*answered 500: nope 500/);
    receiver.statusFor = () => 200;
  });

  it('is refused with a 422 at save time for a literal private, loopback or link-local address', async () => {
    const c = admin.client;
    for (const [url, code] of [
      ['http://127.0.0.2:8080/hook', 'ssrf_loopback'],
      ['http://169.254.169.254/latest/meta-data/', 'ssrf_metadata'],
      ['http://10.1.2.3/hook', 'ssrf_private'],
      ['http://localhost:9/hook', 'ssrf_loopback'],
      ['ftp://example.com/x', 'unsupported_scheme'],
    ] as const) {
      const res = await c.post('/api/v1/workflows', hookFlow(`Bad ${code}`, url, 'bad'));
      expectProblem(res, 422, { code, path: 'body.definition.steps[0].url', label: url });
    }
    // Activation checks it too (a draft saved before the rule, or under another allow-list).
    const draft = expectStatus<{ id: string; lock_version: number }>(
      await c.post('/api/v1/workflows', hookFlow('Fine for now', 'https://hooks.example.com/x', 'fine')),
      201,
    );
    const saved = await c.put(`/api/v1/workflows/${draft.id}`, {
      lock_version: draft.lock_version,
      definition: hookFlow('x', 'http://169.254.169.254/', 'fine').definition,
    });
    expectProblem(saved, 422, { code: 'ssrf_metadata', path: 'body.definition.steps[0].url' });
  });

  it('fails the step, visibly, when the URL’s name resolves to a private address when the call is made', async () => {
    const name = hostname();
    const { address } = await lookup(name);
    // This machine's own name resolves to a loopback or private address (its /etc/hosts).
    expect(address).toMatch(/^(127\.|10\.|172\.(1[6-9]|2\d|3[01])\.|192\.168\.|::1$)/);
    const c = admin.client;
    const id = await activeFlow(c, hookFlow('Rebound', `http://${name}:${receiver.port}/inside`, 'inside'));
    const dee = await newContact(c, 'Dee');
    const runId = await tagAndRun(c, id, dee.id, 'inside');
    const run = await runOf(c, runId);
    expect(run.status).toBe('failed');
    expect(run.steps[0]!.status).toBe('failed');
    expect(run.steps[0]!.error).toMatch(/^The webhook was refused: ssrf_(loopback|private): .* resolves to/);
    expect(receiver.at('/inside')).toHaveLength(0);
  });

  it('in a test run, says what it would POST without calling', async () => {
    const c = admin.client;
    const draft = expectStatus<{ id: string }>(
      await c.post('/api/v1/workflows', hookFlow('Dry hook', receiver.url('/dry'), 'dry')),
      201,
    );
    const eve = await newContact(c, 'Eve');
    const result = expectStatus<{ steps: { step_id: string; status: string; output: any }[] }>(
      await c.post(`/api/v1/workflows/${draft.id}/test-run`, { record_id: eve.id }),
      200,
    );
    expect(result.steps[0]).toMatchObject({
      step_id: 'hook',
      status: 'would_run',
      output: { body: { data: { greeting: 'Hi Eve' } } },
    });
    expect(receiver.at('/dry')).toHaveLength(0);
  });
});

describe('an inbound_webhook trigger', () => {
  const inboundFlow = (name: string, create: boolean) => ({
    name,
    object: 'contact',
    definition: {
      trigger: {
        type: 'inbound_webhook',
        match: { field: 'email', key: 'contact.email' },
        create,
        values: { first_name: 'contact.first' },
      },
      start: 'tag',
      steps: [
        { id: 'tag', type: 'add_tag', tag: 'from-hook', next: ['note'] },
        {
          id: 'note',
          type: 'update_field',
          field: 'job_title',
          value: '{{trigger.contact.role}} via {{trigger.source}}',
          next: ['echo'],
        },
        {
          id: 'echo',
          type: 'call_webhook',
          url: receiver.url('/echo'),
          include_record: false,
          data: { plan: '{{trigger.plan.name}}' },
        },
      ],
    },
  });
  const anon = () => t.client();
  const post = (url: string, body: unknown, headers?: Record<string, string>) =>
    anon().post(new URL(url).pathname, body, headers);

  it('finds the contact by the posted e-mail, runs with the body as {{trigger.…}}, and says what it did', async () => {
    const c = admin.client;
    const id = await activeFlow(c, inboundFlow('Zap in', false));
    const { inbound_url } = expectStatus<{ inbound_url: string }>(
      await c.get(`/api/v1/workflows/${id}/secrets`),
      200,
    );
    expect(inbound_url).toMatch(
      new RegExp(`/api/v1/public/workflows/${admin.orgId}/${id}/inbound/[A-Za-z0-9_-]{43}$`),
    );
    const fay = await newContact(c, 'Fay');
    const answer = expectStatus<{ status: string; record_id: string; run_id: string; created: boolean }>(
      await post(inbound_url, {
        contact: { email: fay.email.toUpperCase(), role: 'Buyer' },
        source: 'Typeform',
        plan: { name: 'Pro' },
      }),
      200,
    );
    expect(answer).toMatchObject({ status: 'started', record_id: fay.id, created: false });
    await t.drain();
    const run = await runOf(c, answer.run_id);
    expect(run.status).toBe('completed');
    const contact = expectStatus<{ tags: string[]; job_title: string }>(
      await c.get(`/api/v1/contacts/${fay.id}`),
      200,
    );
    expect(contact.tags).toContain('from-hook');
    expect(contact.job_title).toBe('Buyer via Typeform');
    const echoed = JSON.parse(receiver.at('/echo').at(-1)!.body);
    expect(echoed.data).toEqual({ plan: 'Pro' });
    expect(echoed.record).toBeUndefined();

    // No contact with that e-mail, and the trigger does not create: nothing starts.
    const none = expectStatus<{ status: string; reason: string; record_id: null }>(
      await post(inbound_url, { contact: { email: uniqueEmail('nobody') } }),
      200,
    );
    expect(none).toMatchObject({ status: 'skipped', reason: 'no_record', record_id: null });
  });

  it('creates the contact when none matches and the trigger says so', async () => {
    const c = admin.client;
    const id = await activeFlow(c, inboundFlow('Lead in', true));
    const { inbound_url } = expectStatus<{ inbound_url: string }>(
      await c.get(`/api/v1/workflows/${id}/secrets`),
      200,
    );
    const email = uniqueEmail('gil');
    const answer = expectStatus<{ status: string; record_id: string; created: boolean }>(
      await post(inbound_url, { contact: { email, first: 'Gil', role: 'Owner' }, source: 'Ads' }),
      200,
    );
    expect(answer).toMatchObject({ status: 'started', created: true });
    await t.drain();
    const contact = expectStatus<{ first_name: string; email: string; tags: string[] }>(
      await c.get(`/api/v1/contacts/${answer.record_id}`),
      200,
    );
    expect(contact).toMatchObject({ first_name: 'Gil', email });
    expect(contact.tags).toContain('from-hook');
    // The same post again finds the contact it created (and re-enrollment waits for the first run).
    const again = expectStatus<{ record_id: string; created: boolean }>(
      await post(inbound_url, { contact: { email, first: 'Gil' } }),
      200,
    );
    expect(again).toMatchObject({ record_id: answer.record_id, created: false });
  });

  it('refuses bad bodies, wrong tokens, paused workflows and oversized posts with problem+json', async () => {
    const c = admin.client;
    const id = await activeFlow(c, inboundFlow('Strict in', true));
    const { inbound_url } = expectStatus<{ inbound_url: string }>(
      await c.get(`/api/v1/workflows/${id}/secrets`),
      200,
    );
    expectProblem(await post(inbound_url, [1, 2]), 400, { code: 'invalid_body', path: 'body' });
    expectProblem(await post(inbound_url, { contact: {} }), 422, {
      code: 'missing_value',
      path: 'body.contact.email',
    });
    expectProblem(await post(inbound_url, { contact: { email: 'not an e-mail' } }), 422, 'invalid_value');
    expectProblem(
      await post(`${inbound_url.slice(0, -3)}abc`, { contact: { email: 'a@b.co' } }),
      404,
      'not_found',
    );
    const big = { contact: { email: 'a@b.co' }, pad: 'x'.repeat(70_000) };
    expect((await post(inbound_url, big)).status).toBe(413);
    expectProblem(await post(inbound_url, '{"contact":'), 400, { code: 'invalid_body', path: 'body' });
    expectStatus(await c.post(`/api/v1/workflows/${id}/pause`, {}), 200);
    expectProblem(await post(inbound_url, { contact: { email: uniqueEmail('h') } }), 409, 'not_active');
  });

  it('refuses a definition whose match field or template variable does not exist', async () => {
    const c = admin.client;
    const bad = inboundFlow('Bad in', false);
    (bad.definition.trigger as { match: { field: string } }).match.field = 'shoe_size';
    expectProblem(await c.post('/api/v1/workflows', bad), 422, {
      code: 'invalid_workflow',
      path: 'body.definition.trigger.match.field',
    });
    const manual = hookFlow('Manual with trigger var', receiver.url('/x'), 'x');
    (manual.definition.steps[0] as { data: Record<string, string> }).data = { v: '{{trigger.email}}' };
    expectProblem(await c.post('/api/v1/workflows', manual), 422, {
      code: 'unknown_template_variable',
      path: 'body.definition.steps[0].data.v',
    });
  });
});
