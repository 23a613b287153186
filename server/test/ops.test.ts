import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, expectProblem, expectStatus, signUp, startTestApp, type TestApp } from './kit/index.js';

// The ops console (issue 30): integration health recorded where the integrations run, alerts
// deduplicated by fingerprint (an admin breaks a channel's credentials: one alert, not fifty),
// the job queue with retry, API usage per key and member. A real SMTP server (smtp-server) that
// asks for a password plays the broken connector.

const PASSWORD = 'right-password';

async function startAuthSmtp() {
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authOptional: false,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === 'mailer' && auth.password === PASSWORD) return callback(null, { user: 'mailer' });
      callback(new Error('535 5.7.8 Authentication credentials invalid'));
    },
    onData(stream, _session, callback) {
      stream.resume();
      stream.on('end', () => callback());
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { port, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const FAILING_QUEUE = 'ops_test.always_fails';

let t: TestApp;
let smtp: Awaited<ReturnType<typeof startAuthSmtp>>;
let admin: Awaited<ReturnType<typeof signUp>>;
let stranger: Awaited<ReturnType<typeof signUp>>;
let channelId: string;

beforeAll(async () => {
  smtp = await startAuthSmtp();
  t = await startTestApp({}, (services) =>
    services.jobs.define<{ org_id: string }>({ name: FAILING_QUEUE, retryLimit: 1 }, async () => {
      throw new Error('the remote end said no');
    }),
  );
  admin = await signUp(t, 'Ops Co');
  stranger = await signUp(t, 'Elsewhere');
}, 300_000);
afterAll(async () => {
  await t?.close();
  await smtp?.close();
});

const alerts = async (status = 'active') =>
  expectStatus(await admin.client.get(`/api/v1/ops/alerts?status=${status}`), 200).data;
const smtpHealth = async () =>
  expectStatus(await admin.client.get('/api/v1/ops/integrations'), 200).data.find(
    (i: { kind: string; ref: string }) => i.kind === 'smtp' && i.ref === channelId,
  );

describe('integration health and alerts', () => {
  it('a channel whose credentials break makes ONE alert however often it fails, and resolves itself', async () => {
    const channel = expectStatus(
      await admin.client.post('/api/v1/channels', {
        kind: 'email',
        name: 'Sales mail',
        address: 'sales@ops.test',
        smtp: { host: '127.0.0.1', port: smtp.port, secure: false, user: 'mailer', password: PASSWORD },
      }),
      201,
    );
    channelId = channel.id;
    // Configured but never run: listed, state unknown.
    expect(await smtpHealth()).toMatchObject({
      status: 'unknown',
      id: null,
      config_state: 'ok',
      name: 'Sales mail',
    });
    expect(expectStatus(await admin.client.post(`/api/v1/channels/${channelId}/test`), 200).ok).toBe(true);
    expect(await smtpHealth()).toMatchObject({
      status: 'healthy',
      consecutive_failures: 0,
      last_error: null,
    });
    expect(await alerts()).toEqual([]);

    // The admin breaks the credentials; fifty connection tests fail.
    expectStatus(
      await admin.client.patch(`/api/v1/channels/${channelId}`, {
        smtp: { host: '127.0.0.1', port: smtp.port, secure: false, user: 'mailer', password: 'wrong' },
      }),
      200,
    );
    for (let i = 0; i < 50; i++)
      expect(expectStatus(await admin.client.post(`/api/v1/channels/${channelId}/test`), 200).ok).toBe(false);

    const open = await alerts();
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({
      status: 'open',
      count: 50,
      fingerprint: `integration:smtp:${channelId}:failing`,
      title: 'Sending mail (SMTP) is failing: Sales mail',
    });
    expect(open[0].detail).toMatch(/535|Authentication|Invalid login/i);
    const health = await smtpHealth();
    expect(health).toMatchObject({ status: 'failing', consecutive_failures: 50 });
    expect(health.errors_by_hour.reduce((n: number, h: { errors: number }) => n + h.errors, 0)).toBe(50);
    expect(health.errors_by_hour.reduce((n: number, h: { successes: number }) => n + h.successes, 0)).toBe(1);

    // Every admin is told once, when it opened.
    const notes = expectStatus(await admin.client.get('/api/v1/notifications'), 200).data.filter(
      (n: { kind: string }) => n.kind === 'ops_alert',
    );
    expect(notes).toHaveLength(1);
    expect(notes[0].record.id).toBe(open[0].id);

    // Acknowledged: still one alert, still counting, still acknowledged.
    const acked = expectStatus(await admin.client.post(`/api/v1/ops/alerts/${open[0].id}/acknowledge`), 200);
    expect(acked).toMatchObject({ status: 'acknowledged', acknowledged_by: admin.userId });
    for (let i = 0; i < 3; i++) await admin.client.post(`/api/v1/channels/${channelId}/test`);
    expect(await alerts()).toMatchObject([{ id: open[0].id, status: 'acknowledged', count: 53 }]);

    // Another organization neither sees nor touches it.
    expect(expectStatus(await stranger.client.get('/api/v1/ops/alerts'), 200).data).toEqual([]);
    expectProblem(await stranger.client.post(`/api/v1/ops/alerts/${open[0].id}/resolve`), 404, 'not_found');

    // Fixed: the next success resolves it by itself.
    expectStatus(
      await admin.client.patch(`/api/v1/channels/${channelId}`, {
        smtp: { host: '127.0.0.1', port: smtp.port, secure: false, user: 'mailer', password: PASSWORD },
      }),
      200,
    );
    expect(expectStatus(await admin.client.post(`/api/v1/channels/${channelId}/test`), 200).ok).toBe(true);
    expect(await alerts()).toEqual([]);
    expect(await alerts('resolved')).toMatchObject([
      { id: open[0].id, status: 'resolved', resolved_by: null },
    ]);
    expect(await smtpHealth()).toMatchObject({ status: 'healthy', consecutive_failures: 0 });
    expectProblem(
      await admin.client.post(`/api/v1/ops/alerts/${open[0].id}/acknowledge`),
      409,
      'alert_resolved',
    );
  });

  it('a new failure after a resolution opens a new alert; snooze and resolve by hand', async () => {
    expectStatus(
      await admin.client.patch(`/api/v1/channels/${channelId}`, {
        smtp: { host: '127.0.0.1', port: smtp.port, secure: false, user: 'mailer', password: 'wrong-again' },
      }),
      200,
    );
    await admin.client.post(`/api/v1/channels/${channelId}/test`);
    const [again] = await alerts();
    expect(again).toMatchObject({ status: 'open', count: 1 });

    expectProblem(
      await admin.client.post(`/api/v1/ops/alerts/${again.id}/snooze`, { until: '2001-01-01T00:00:00Z' }),
      400,
      { path: 'body.until' },
    );
    expectProblem(
      await admin.client.post(`/api/v1/ops/alerts/${again.id}/snooze`, { until: 'tomorrow' }),
      400,
      {
        path: 'body.until',
      },
    );
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const snoozed = expectStatus(
      await admin.client.post(`/api/v1/ops/alerts/${again.id}/snooze`, { until }),
      200,
    );
    expect(snoozed).toMatchObject({ status: 'snoozed', snoozed_until: until });
    await admin.client.post(`/api/v1/channels/${channelId}/test`);
    expect(await alerts()).toMatchObject([{ id: again.id, status: 'snoozed', count: 2 }]);

    const resolved = expectStatus(await admin.client.post(`/api/v1/ops/alerts/${again.id}/resolve`), 200);
    expect(resolved).toMatchObject({ status: 'resolved', resolved_by: admin.userId });
    expect(await alerts()).toEqual([]);
    expect(await alerts('all')).toHaveLength(2);
  });

  it('is for admins only', async () => {
    const member = await addMember(t, admin.client, 'user');
    expectProblem(await member.client.get('/api/v1/ops/alerts'), 403);
    expectProblem(await member.client.get('/api/v1/ops/integrations'), 403);
    expectProblem(await admin.client.get('/api/v1/ops/alerts?status=nope'), 400, {
      path: 'querystring.status',
    });
  });
});

describe('job queue and API usage', () => {
  it('lists failed jobs of the organization only, and retries one', async () => {
    await t.services.jobs.send(null, FAILING_QUEUE, { org_id: admin.orgId });
    await t.services.jobs.send(null, FAILING_QUEUE, { org_id: stranger.orgId });
    const report = await t.drain({ allowFailures: true });
    expect(report.failed.filter((f) => f.name === FAILING_QUEUE)).toHaveLength(2);

    const jobs = expectStatus(await admin.client.get('/api/v1/ops/jobs'), 200);
    const mine = jobs.failed.filter((j: { queue: string }) => j.queue === FAILING_QUEUE);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ retries: 1, error: 'the remote end said no' });
    expect(jobs.organization).toContainEqual({ queue: FAILING_QUEUE, state: 'failed', count: 1 });
    expect(jobs.install).toContainEqual({ queue: FAILING_QUEUE, state: 'failed', count: 2 });

    const theirs = expectStatus(await stranger.client.get('/api/v1/ops/jobs'), 200).failed[0];
    expectProblem(await admin.client.post(`/api/v1/ops/jobs/${theirs.id}/retry`), 404, 'not_found');
    expect(expectStatus(await admin.client.post(`/api/v1/ops/jobs/${mine[0].id}/retry`), 200)).toEqual({
      retried: true,
    });
    const after = expectStatus(await admin.client.get('/api/v1/ops/jobs'), 200);
    expect(after.organization).toContainEqual({ queue: FAILING_QUEUE, state: 'created', count: 1 });
    expect(after.failed.filter((j: { queue: string }) => j.queue === FAILING_QUEUE)).toEqual([]);
    await t.drain({ allowFailures: true });
  });

  it('counts requests per API key and per member, per hour and per day', async () => {
    const issued = expectStatus(await admin.client.post('/api/v1/api-keys', { name: 'Reporting key' }), 201);
    await t.app.flushApiUsage!();
    const before = expectStatus(await admin.client.get('/api/v1/ops/api-usage?granularity=hour'), 200);
    const memberBefore = before.rows.find((r: { principal_id: string }) => r.principal_id === admin.userId);
    for (let i = 0; i < 7; i++) {
      const res = await t.app.inject({
        method: 'GET',
        url: i < 5 ? '/api/v1/contacts' : '/api/v1/contacts/not-an-id',
        headers: { authorization: `Bearer ${issued.key}` },
      });
      expect(res.statusCode).toBe(i < 5 ? 200 : 400);
    }
    await t.app.flushApiUsage!();
    const hourly = expectStatus(await admin.client.get('/api/v1/ops/api-usage?granularity=hour&days=1'), 200);
    const key = hourly.rows.find((r: { principal_id: string }) => r.principal_id === issued.id);
    expect(key).toMatchObject({ principal_type: 'api_key', name: 'Reporting key', requests: 7, errors: 2 });
    const member = hourly.rows.find((r: { principal_id: string }) => r.principal_id === admin.userId);
    expect(member).toMatchObject({ principal_type: 'user', name: 'Ada Admin' });
    // The usage read just before, and the read after it, count too (one row per hour, not per request).
    expect(member.requests).toBeGreaterThan(memberBefore?.requests ?? 0);
    const { rows } = await t.services.database.raw.query<{ n: number }>(
      'select count(*)::int as n from api_usage_hours where org_id = $1 and principal_id = $2',
      [admin.orgId, issued.id],
    );
    expect(Number(rows[0]!.n)).toBe(1);
    const daily = expectStatus(await admin.client.get('/api/v1/ops/api-usage?granularity=day'), 200);
    expect(daily.rows.find((r: { principal_id: string }) => r.principal_id === issued.id).period).toMatch(
      /T00:00:00.000Z$/,
    );
    expectProblem(await admin.client.get('/api/v1/ops/api-usage?days=1000'), 400, {
      path: 'querystring.days',
    });
  });
});
