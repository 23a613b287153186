import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedHeaders } from '../src/modules/webhooks/webhook-secrets.js';
import {
  type Client,
  defaultPipeline,
  expectProblem,
  expectStatus,
  newDeal,
  signUp,
  startTestApp,
  type TestApp,
} from './kit/index.js';

// Webhooks out (issue 31): subscriptions, Standard Webhooks signatures, retries with backoff,
// dead letters and redrive, the delivery log, disabling with an alert, REST hooks for n8n /
// Zapier / Make and the trigger catalogue, against a real HTTP receiver on this machine (the
// operator allow-lists 127.0.0.1 for it; every other loopback name stays refused).

type Received = { path: string; headers: IncomingHttpHeaders; body: string };

/** A local receiver: records each request's exact bytes; answers `status(path)`. */
class Receiver {
  server: Server;
  received: Received[] = [];
  statusFor: (path: string) => number = () => 200;
  port = 0;

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        this.received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        const status = this.statusFor(path);
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

let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;
let stranger: Awaited<ReturnType<typeof signUp>>;
const receiver = new Receiver();

beforeAll(async () => {
  await receiver.start();
  t = await startTestApp({
    OUTBOUND_ALLOWED_HOSTS: '127.0.0.1',
    // 8 attempts in all; the sync queue runs the delayed ones when a test drains with `delayed`.
    WEBHOOK_RETRY_SCHEDULE_SECONDS: '60,2,3,4,5,6,7',
    WEBHOOK_TIMEOUT_MS: '3000',
  });
  admin = await signUp(t, 'Hooks Co');
  stranger = await signUp(t, 'Elsewhere');
});
afterAll(async () => {
  await t?.close();
  await receiver.close();
});

async function subscribe(client: Client, path: string, body: Record<string, unknown> = {}) {
  return expectStatus<{ id: string; secret: string; status: string }>(
    await client.post('/api/v1/webhooks', {
      target_url: receiver.url(path),
      event_types: ['opportunity.stage_changed'],
      ...body,
    }),
    201,
  );
}

/** Moves a new deal of the admin's to the pipeline's second stage; returns the deal's id. */
async function moveADeal(title: string, extra: Record<string, unknown> = {}) {
  const pipeline = await defaultPipeline(admin.client);
  const deal = await newDeal(admin.client, title, extra);
  expectStatus(
    await admin.client.post(`/api/v1/opportunities/${deal.id}/move`, { stage_id: pipeline.stages[1]!.id }),
    200,
  );
  return deal.id as string;
}

describe('a signed opportunity.stage_changed delivery', () => {
  it('reaches the subscriber once, signed over the exact bytes sent, verified by the standardwebhooks library', async () => {
    const hook = await subscribe(admin.client, '/n8n');
    expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    // The secret is shown once: never in a read.
    const read = expectStatus(await admin.client.get(`/api/v1/webhooks/${hook.id}`), 200);
    expect(JSON.stringify(read)).not.toContain('whsec_');

    const dealId = await moveADeal('Signed deal');
    await t.drain();
    await t.drain();
    const got = receiver.at('/n8n');
    expect(got).toHaveLength(1);
    const [delivery] = got;
    expect(delivery!.headers['content-type']).toBe('application/json');
    const envelope = new Webhook(hook.secret).verify(delivery!.body, {
      'webhook-id': String(delivery!.headers['webhook-id']),
      'webhook-timestamp': String(delivery!.headers['webhook-timestamp']),
      'webhook-signature': String(delivery!.headers['webhook-signature']),
    }) as Record<string, any>;
    expect(envelope).toMatchObject({
      type: 'opportunity.moved',
      org_id: admin.orgId,
      subject: { object: 'opportunity', id: dealId },
      actor: { type: 'user', id: admin.userId },
      data: { name: 'Signed deal' },
    });
    expect(Object.keys(envelope).sort()).toEqual(
      ['actor', 'data', 'id', 'occurred_at', 'org_id', 'subject', 'trace_id', 'type', 'version'].sort(),
    );
    // A tampered body or another secret does not verify.
    expect(() =>
      new Webhook(hook.secret).verify(delivery!.body.replace('Signed', 'Forged'), {
        'webhook-id': String(delivery!.headers['webhook-id']),
        'webhook-timestamp': String(delivery!.headers['webhook-timestamp']),
        'webhook-signature': String(delivery!.headers['webhook-signature']),
      }),
    ).toThrow();

    // The delivery log: succeeded at the first attempt, with the answer's status, time and excerpt.
    const log = expectStatus(await admin.client.get(`/api/v1/webhooks/${hook.id}/deliveries`), 200);
    expect(log.data).toHaveLength(1);
    expect(log.data[0]).toMatchObject({
      id: delivery!.headers['webhook-id'],
      event_type: 'opportunity.moved',
      status: 'succeeded',
      attempts: 1,
      last_status_code: 200,
      last_error: null,
    });
    const one = expectStatus(
      await admin.client.get(`/api/v1/webhooks/${hook.id}/deliveries/${log.data[0].id}`),
      200,
    );
    expect(one.payload).toBe(delivery!.body);
    expect(one.attempts_log).toEqual([
      expect.objectContaining({ attempt: 1, status_code: 200, response_excerpt: 'thanks', error: null }),
    ]);
    expect(one.attempts_log[0].response_ms).toBeGreaterThanOrEqual(0);
    expectStatus(await admin.client.delete(`/api/v1/webhooks/${hook.id}`), 204);
  });

  it('delivers only events whose record matches the filter (query language)', async () => {
    const hook = await subscribe(admin.client, '/big-deals', {
      filter: { field: 'amount', op: 'gte', value: 50_000 },
    });
    await moveADeal('Small deal', { amount: 100 });
    const big = await moveADeal('Big deal', { amount: 90_000 });
    await t.drain();
    await t.drain();
    const got = receiver.at('/big-deals');
    expect(got.map((r) => JSON.parse(r.body).subject.id)).toEqual([big]);
    expectStatus(await admin.client.delete(`/api/v1/webhooks/${hook.id}`), 204);
  });

  it('refuses a filter naming a field the object does not have, at its path', async () => {
    const res = await admin.client.post('/api/v1/webhooks', {
      target_url: receiver.url('/x'),
      event_types: ['opportunity.moved'],
      filter: { field: 'no_such_field', op: 'eq', value: 1 },
    });
    expectProblem(res, 400, { code: 'invalid_query', path: 'body.filter.field' });
  });
});

describe('the published Standard Webhooks test vectors', () => {
  it('signs the specification example exactly (standard-webhooks libraries/javascript "sign function works")', () => {
    // Key, message id, timestamp, payload and expected signature as published with the
    // specification's reference libraries (github.com/standard-webhooks/standard-webhooks).
    const headers = signedHeaders(
      ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
      'msg_p5jXN8AQM9LWM0D4loKWxJek',
      '{"test": 2432232314}',
      new Date(1614265330 * 1000),
    );
    expect(headers).toEqual({
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    });
  });
});

describe('a failing receiver', () => {
  it('is retried with backoff, dead-lettered after 8 attempts, and redriven by hand with the same id and bytes', async () => {
    receiver.statusFor = (path) => (path === '/flaky' ? 503 : 200);
    const hook = await subscribe(admin.client, '/flaky');
    await moveADeal('Flaky deal');
    await t.drain();
    await t.drain();
    // The first attempt failed; the next waits for its time (60 s here).
    expect(receiver.at('/flaky')).toHaveLength(1);
    const pending = expectStatus(await admin.client.get(`/api/v1/webhooks/${hook.id}/deliveries`), 200)
      .data[0];
    expect(pending).toMatchObject({
      status: 'pending',
      attempts: 1,
      last_status_code: 503,
      last_error: 'http_503',
    });
    expect(pending.next_attempt_at).not.toBeNull();
    expect((await t.queued('webhook.deliver')).length).toBe(1);

    await t.drain({ delayed: true });
    const tries = receiver.at('/flaky');
    expect(tries).toHaveLength(8);
    expect(new Set(tries.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(new Set(tries.map((r) => r.body)).size).toBe(1);
    const dead = expectStatus(
      await admin.client.get(`/api/v1/webhooks/${hook.id}/deliveries?status=dead`),
      200,
    ).data;
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ status: 'dead', attempts: 8, last_error: 'http_503' });
    const log = expectStatus(
      await admin.client.get(`/api/v1/webhooks/${hook.id}/deliveries/${dead[0].id}`),
      200,
    ).attempts_log;
    expect(log.map((a: { attempt: number }) => a.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(log[7]).toMatchObject({ status_code: 503, response_excerpt: 'nope 503' });
    // Dead is the end: nothing more is queued.
    expect(await t.queued('webhook.deliver')).toEqual([]);
    // Still active: failing for less than the disable threshold.
    expect(expectStatus(await admin.client.get(`/api/v1/webhooks/${hook.id}`), 200).status).toBe('active');

    // A delivery that is not dead cannot be redriven.
    receiver.statusFor = () => 200;
    const redriven = expectStatus(
      await admin.client.post(`/api/v1/webhooks/${hook.id}/deliveries/${dead[0].id}/redrive`),
      200,
    );
    expect(redriven).toMatchObject({ status: 'pending', attempts: 0 });
    expectProblem(
      await admin.client.post(`/api/v1/webhooks/${hook.id}/deliveries/${dead[0].id}/redrive`),
      409,
      'not_dead',
    );
    await t.drain();
    const after = receiver.at('/flaky');
    expect(after).toHaveLength(9);
    expect(after[8]!.headers['webhook-id']).toBe(tries[0]!.headers['webhook-id']);
    expect(after[8]!.body).toBe(tries[0]!.body);
    const done = expectStatus(
      await admin.client.get(`/api/v1/webhooks/${hook.id}/deliveries/${dead[0].id}`),
      200,
    );
    expect(done).toMatchObject({ status: 'succeeded', attempts: 1, last_status_code: 200 });
    expect(expectStatus(await admin.client.get(`/api/v1/webhooks/${hook.id}`), 200).failing_since).toBeNull();
    expectStatus(await admin.client.delete(`/api/v1/webhooks/${hook.id}`), 204);
  });

  it('is disabled once it has failed for days, and the admins get an ops alert', async () => {
    receiver.statusFor = (path) => (path === '/dying' ? 500 : 200);
    const hook = await subscribe(admin.client, '/dying');
    await moveADeal('First failure');
    await t.drain();
    await t.drain();
    // As if its first failure were four days ago (the default threshold is 72 hours).
    await t.services.database.raw.query(
      `update webhook_subscriptions set failing_since = now() - interval '4 days' where id = $1`,
      [hook.id],
    );
    await moveADeal('Another failure');
    await t.drain();
    await t.drain();
    const disabled = expectStatus(await admin.client.get(`/api/v1/webhooks/${hook.id}`), 200);
    expect(disabled).toMatchObject({ status: 'disabled', disabled_reason: 'failing' });
    const notes = expectStatus(await admin.client.get('/api/v1/notifications?limit=50'), 200).data;
    const alert = notes.find(
      (n: { kind: string; record: { id: string } }) => n.kind === 'ops_alert' && n.record.id === hook.id,
    );
    expect(alert?.title).toContain(`The webhook to ${receiver.url('/dying')} was disabled`);
    // A disabled subscription gets no new deliveries; enabling it again clears the failure run.
    const before = receiver.at('/dying').length;
    await moveADeal('While disabled');
    await t.drain({ delayed: true });
    expect(receiver.at('/dying').length).toBe(before);
    const enabled = expectStatus(
      await admin.client.patch(`/api/v1/webhooks/${hook.id}`, { status: 'active' }),
      200,
    );
    expect(enabled).toMatchObject({ status: 'active', disabled_reason: null, failing_since: null });
    expectStatus(await admin.client.delete(`/api/v1/webhooks/${hook.id}`), 204);
  });

  it('answering 410 Gone disables the subscription at once', async () => {
    receiver.statusFor = (path) => (path === '/gone' ? 410 : 200);
    const hook = await subscribe(admin.client, '/gone');
    await moveADeal('Gone deal');
    await t.drain();
    await t.drain();
    const read = expectStatus(await admin.client.get(`/api/v1/webhooks/${hook.id}`), 200);
    expect(read).toMatchObject({ status: 'disabled', disabled_reason: 'receiver_gone' });
    receiver.statusFor = () => 200;
  });
});

describe('secrets', () => {
  it('rotates: the new secret is shown once, and both old and new signatures are sent during the overlap', async () => {
    const hook = await subscribe(admin.client, '/rotating');
    const rotated = expectStatus<{ secret: string }>(
      await admin.client.post(`/api/v1/webhooks/${hook.id}/rotate-secret`),
      200,
    );
    expect(rotated.secret).not.toBe(hook.secret);
    await moveADeal('Rotated deal');
    await t.drain();
    await t.drain();
    const [got] = receiver.at('/rotating');
    const headers = {
      'webhook-id': String(got!.headers['webhook-id']),
      'webhook-timestamp': String(got!.headers['webhook-timestamp']),
      'webhook-signature': String(got!.headers['webhook-signature']),
    };
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(() => new Webhook(rotated.secret).verify(got!.body, headers)).not.toThrow();
    expect(() => new Webhook(hook.secret).verify(got!.body, headers)).not.toThrow();
    expectStatus(await admin.client.delete(`/api/v1/webhooks/${hook.id}`), 204);
  });
});

describe('targets the SSRF guard refuses', () => {
  const cases: [string, string][] = [
    ['http://169.254.169.254/latest/meta-data/', 'ssrf_metadata'],
    ['http://localhost:8080/hook', 'ssrf_loopback'],
    ['http://[::1]/hook', 'ssrf_loopback'],
    ['http://[::ffff:127.0.0.1]/hook', 'ssrf_mapped'],
    // Decimal spellings: 127.0.0.0 (127.0.0.1 itself is allow-listed for this file's receiver) and 169.254.169.254.
    ['http://2130706432/hook', 'ssrf_loopback'],
    ['http://2852039166/latest/meta-data/', 'ssrf_metadata'],
    ['http://10.0.0.5/hook', 'ssrf_private'],
    ['file:///etc/passwd', 'unsupported_scheme'],
  ];
  for (const [url, code] of cases)
    it(`${url} is a 400 ${code} naming body.target_url`, async () => {
      const res = await admin.client.post('/api/v1/webhooks', {
        target_url: url,
        event_types: ['contact.created'],
      });
      expectProblem(res, 400, { code, path: 'body.target_url' });
    });
});

describe('REST hooks for n8n, Zapier and Make', () => {
  it('subscribes with an API key, delivers, and unsubscribes', async () => {
    const key = expectStatus(await admin.client.post('/api/v1/api-keys', { name: 'n8n' }), 201).key as string;
    const tool = t.client({ origin: null });
    const auth = { authorization: `Bearer ${key}` };
    const created = await tool.post(
      '/api/v1/hooks',
      { target_url: receiver.url('/zap'), event: 'opportunity.stage_changed' },
      auth,
    );
    const hook = expectStatus<{ id: string; secret: string; event: string }>(created, 201);
    expect(hook).toMatchObject({ event: 'opportunity.stage_changed', target_url: receiver.url('/zap') });
    await moveADeal('Zapped deal');
    await t.drain();
    await t.drain();
    expect(receiver.at('/zap')).toHaveLength(1);
    const listed = expectStatus(await admin.client.get('/api/v1/webhooks'), 200).data;
    expect(listed.find((w: { id: string }) => w.id === hook.id)).toMatchObject({ source: 'rest_hook' });
    expectStatus(await tool.request('DELETE', `/api/v1/hooks/${hook.id}`, undefined, auth), 204);
    expectProblem(await tool.request('DELETE', `/api/v1/hooks/${hook.id}`, undefined, auth), 404);
  });

  it('refuses an event type that is not in the catalogue, naming body.event', async () => {
    const res = await admin.client.post('/api/v1/hooks', {
      target_url: receiver.url('/zap'),
      event: 'deal.teleported',
    });
    expectProblem(res, 400, { code: 'unknown_event_type', path: 'body.event' });
  });

  it('does not unsubscribe a subscription made in the settings', async () => {
    const hook = await subscribe(admin.client, '/settings-made');
    expectProblem(await admin.client.delete(`/api/v1/hooks/${hook.id}`), 404);
    expectStatus(await admin.client.delete(`/api/v1/webhooks/${hook.id}`), 204);
  });

  it('lists the trigger catalogue with example payloads (the event envelope)', async () => {
    const triggers = expectStatus(await admin.client.get('/api/v1/hooks/triggers'), 200).data as {
      event: string;
      object: string;
      sample: Record<string, any>;
    }[];
    const events = triggers.map((x) => x.event);
    expect(events).toContain('opportunity.stage_changed');
    expect(events).toContain('contact.created');
    const created = triggers.find((x) => x.event === 'contact.created')!;
    expect(created.object).toBe('contact');
    expect(created.sample).toMatchObject({
      type: 'contact.created',
      subject: { object: 'contact' },
      version: 1,
    });
    expect(created.sample.data).toHaveProperty('name');
  });
});

describe('tenancy', () => {
  it("answers 404 for another organization's subscription and delivery ids", async () => {
    const hook = await subscribe(admin.client, '/mine');
    expectProblem(await stranger.client.get(`/api/v1/webhooks/${hook.id}`), 404);
    expectProblem(await stranger.client.patch(`/api/v1/webhooks/${hook.id}`, { status: 'disabled' }), 404);
    expectProblem(await stranger.client.delete(`/api/v1/webhooks/${hook.id}`), 404);
    expectProblem(await stranger.client.post(`/api/v1/webhooks/${hook.id}/rotate-secret`), 404);
    expectProblem(await stranger.client.get(`/api/v1/webhooks/${hook.id}/deliveries`), 404);
    expect(expectStatus(await stranger.client.get('/api/v1/webhooks'), 200).data).toEqual([]);
    expectStatus(await admin.client.delete(`/api/v1/webhooks/${hook.id}`), 204);
  });

  it('delivers an organization’s events only to its own subscriptions', async () => {
    const theirs = await subscribe(stranger.client, '/theirs');
    await moveADeal('Not theirs');
    await t.drain();
    await t.drain();
    expect(receiver.at('/theirs')).toEqual([]);
    expectStatus(await stranger.client.delete(`/api/v1/webhooks/${theirs.id}`), 204);
  });
});
