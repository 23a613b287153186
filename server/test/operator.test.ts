import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../src/db/tenant.js';
import { grantOperator } from '../src/platform/plans/operators.js';
import { assertRoom, forgetPlanState } from '../src/platform/plans/plan-limits.js';
import { cairn, freshCliEnv } from './kit/cli.js';
import {
  addMember,
  type Client,
  expectProblem,
  expectStatus,
  signUp,
  startTestApp,
  type TestApp,
  uniqueEmail,
  uploadCsv,
  uploadFile,
  waitForImport,
} from './kit/index.js';

/*
 * The operator of an install (issue 30): granted from the CLI, a role above organizations; plans
 * and limits enforced where they are crossed (API, import, invitation, upload, API calls), and
 * suspension. Real app, both databases.
 */
let t: TestApp;
let operator: Client;
beforeAll(async () => {
  t = await startTestApp();
  const op = await signUp(t, 'Install Ops');
  await grantOperator(t.services.database, op.email, 'test');
  operator = op.client;
});
afterAll(() => t?.close());

const contact = (client: Client, n: number) =>
  client.post('/api/v1/contacts', {
    first_name: `Person ${n}`,
    emails: [{ value: `p${n}.${Date.now()}@example.com` }],
  });

async function setLimits(
  orgId: string,
  overrides: Record<string, number | null>,
  planKey: string | null = null,
) {
  return expectStatus(
    await operator.put(`/api/v1/operator/organizations/${orgId}/plan`, { plan_key: planKey, overrides }),
    200,
  );
}

describe('the operator API', () => {
  it('answers 404 to a non-operator, as a path that does not exist, and lists organizations with usage to an operator', async () => {
    const admin = await signUp(t, 'Not Ops');
    for (const [method, url] of [
      ['GET', '/api/v1/operator'],
      ['GET', '/api/v1/operator/organizations'],
      ['GET', `/api/v1/operator/organizations/${admin.orgId}`],
      ['POST', `/api/v1/operator/organizations/${admin.orgId}/suspend`],
      ['PUT', '/api/v1/operator/plans/starter'],
    ] as const) {
      const res = await admin.client.request(
        method,
        url,
        method === 'GET' ? undefined : { name: 'x', limits: {} },
      );
      expectProblem(res, 404, 'route_not_found');
      const unknown = await admin.client.request(
        method,
        url.replace('/operator', '/operatorx'),
        method === 'GET' ? undefined : {},
      );
      expect(unknown.status).toBe(404);
    }
    expect(expectStatus(await operator.get('/api/v1/operator'), 200)).toMatchObject({ operator: true });
    // `/me` tells each user whether they are one (the web app shows the Operator page by it, instead
    // of probing the 404 above on every page).
    expect(expectStatus(await operator.get('/api/v1/me'), 200)).toMatchObject({ operator: true });
    expect(expectStatus(await admin.client.get('/api/v1/me'), 200)).toMatchObject({ operator: false });
    await contact(admin.client, 1);
    const one = expectStatus(await operator.get(`/api/v1/operator/organizations/${admin.orgId}`), 200);
    expect(one).toMatchObject({ name: 'Not Ops', suspended: false, plan_key: null, limits: {} });
    expect(one.usage).toMatchObject({
      members: 1,
      contacts: 1,
      records: 1,
      storage_bytes: 0,
      api_calls_today: 0,
    });
    const listed = expectStatus(
      await operator.get('/api/v1/operator/organizations?q=Not%20Ops&limit=100'),
      200,
    );
    expect(listed.data.map((o: { id: string }) => o.id)).toContain(admin.orgId);
    expectProblem(
      await operator.get(`/api/v1/operator/organizations/${crypto.randomUUID()}`),
      404,
      'not_found',
    );
  });

  it('sets named plans and per-organization overrides; an unknown plan is a 400 at body.plan_key', async () => {
    const admin = await signUp(t, 'Planned');
    expectStatus(
      await operator.put('/api/v1/operator/plans/tiny', {
        name: 'Tiny',
        limits: { contacts: 1, members: 3 },
      }),
      200,
    );
    expectProblem(
      await operator.put(`/api/v1/operator/organizations/${admin.orgId}/plan`, {
        plan_key: 'nope',
        overrides: {},
      }),
      400,
      { code: 'unknown_plan', path: 'body.plan_key' },
    );
    const set = await setLimits(admin.orgId, { members: null }, 'tiny');
    expect(set.limits).toEqual({ contacts: 1 });
    expectStatus(await contact(admin.client, 1), 201);
    const refused = await contact(admin.client, 2);
    expectProblem(refused, 403, { code: 'plan_limit_reached', path: 'limits.contacts' });
    expect(refused.body.detail).toContain('contacts 1 of 1');
    expectProblem(await operator.delete('/api/v1/operator/plans/tiny'), 409, 'plan_in_use');
    // Raising the plan lets the next one in at once.
    expectStatus(
      await operator.put('/api/v1/operator/plans/tiny', { name: 'Tiny', limits: { contacts: 5 } }),
      200,
    );
    expectStatus(await contact(admin.client, 3), 201);
    const audit = expectStatus(await admin.client.get('/api/v1/audit?action=organization.plan_changed'), 200);
    expect(audit.data).toHaveLength(1);
  });
});

describe('limits where they are crossed', () => {
  it('an import past the contact limit stops with the reason on the run, the rows before it kept', async () => {
    const admin = await signUp(t, 'Importer');
    await setLimits(admin.orgId, { contacts: 12 });
    await contact(admin.client, 0);
    await contact(admin.client, 1);
    const rows = Array.from({ length: 25 }, (_, i) => `Row${i},row${i}.${Date.now()}@example.com`);
    const up = await uploadCsv(
      t,
      admin.client,
      'contact',
      'people.csv',
      `First name,Email\n${rows.join('\n')}\n`,
    );
    expect(up.status).toBe(201);
    expectStatus(await admin.client.post(`/api/v1/imports/${up.body.id}/start`), 200);
    const done = await waitForImport(t, admin.client, up.body.id);
    expect(done.status).toBe('failed');
    expect(done.error).toContain('plan_limit_reached');
    expect(done.error).toContain('12 of 12 contacts');
    const count = expectStatus(await admin.client.get('/api/v1/contacts/count'), 200);
    expect(count.count ?? count.total).toBe(12);
    // The operator raises the limit: starting it again goes on from where it stopped.
    await setLimits(admin.orgId, { contacts: 100 });
    expectStatus(await admin.client.post(`/api/v1/imports/${up.body.id}/start`), 200);
    const resumed = await waitForImport(t, admin.client, up.body.id);
    expect(resumed.status).toBe('completed');
    const after = expectStatus(await admin.client.get('/api/v1/contacts/count'), 200);
    expect(after.count ?? after.total).toBe(27);
  });

  it('members (pending invitations count), storage and API calls per day', async () => {
    const admin = await signUp(t, 'Seats');
    await setLimits(admin.orgId, { members: 2 });
    await addMember(t, admin.client, 'user');
    expectProblem(
      await admin.client.post('/api/v1/invitations', { email: uniqueEmail('third'), role: 'user' }),
      403,
      { code: 'plan_limit_reached', path: 'limits.members' },
    );

    await setLimits(admin.orgId, { storage_bytes: 100 });
    const c = expectStatus(await contact(admin.client, 9), 201);
    const small = await uploadFile(
      t,
      admin.client,
      { object: 'contact', id: c.id },
      'a.txt',
      'x'.repeat(60),
      'text/plain',
    );
    expect(small.status).toBe(201);
    const big = await uploadFile(
      t,
      admin.client,
      { object: 'contact', id: c.id },
      'b.txt',
      'y'.repeat(60),
      'text/plain',
    );
    expectProblem(big, 403, { code: 'plan_limit_reached', path: 'limits.storage_bytes' });

    await setLimits(admin.orgId, { api_calls_per_day: 2 });
    const key = expectStatus(await admin.client.post('/api/v1/api-keys', { name: 'Sync' }), 201)
      .key as string;
    const script = t.client({ origin: null });
    const auth = { authorization: `Bearer ${key}` };
    expect((await script.get('/api/v1/contacts', auth)).status).toBe(200);
    expect((await script.get('/api/v1/contacts', auth)).status).toBe(200);
    const third = await script.get('/api/v1/contacts', auth);
    expectProblem(third, 429, { code: 'plan_limit_reached', path: 'limits.api_calls_per_day' });
    expect(Number(third.headers['retry-after'])).toBeGreaterThan(0);
    // Sessions are not API calls: the member's own use goes on.
    expect((await admin.client.get('/api/v1/contacts')).status).toBe(200);
    const usage = expectStatus(await operator.get(`/api/v1/operator/organizations/${admin.orgId}`), 200);
    expect(usage.usage).toMatchObject({ api_calls_today: 3, storage_bytes: 60, members: 2 });
  });
});

describe('limits checked where no request came first', () => {
  it('a job or the demo generator reads the plan inside its own transaction: refused at the limit, no wait on the embedded database', async () => {
    const admin = await signUp(t, 'Worker Limits');
    await setLimits(admin.orgId, { contacts: 1 });
    expectStatus(await contact(admin.client, 1), 201);
    // A worker has no request to read the plan before its transaction: the cache is cold.
    forgetPlanState(admin.orgId);
    const ctx = { orgId: admin.orgId, actor: { type: 'system' as const, id: 'test' } };
    const started = Date.now();
    const refused = await withTenant(t.services.database, ctx, (scope) =>
      assertRoom(scope, 'contacts').then(
        () => null,
        (error: unknown) => error,
      ),
    );
    expect(refused).toMatchObject({ status: 403, code: 'plan_limit_reached' });
    expect(Date.now() - started).toBeLessThan(5_000);
    // Another organization's plan is not what the function answers: a fresh one has no limit.
    const other = await signUp(t, 'Unlimited');
    forgetPlanState(other.orgId);
    await withTenant(
      t.services.database,
      { orgId: other.orgId, actor: { type: 'system' as const, id: 'test' } },
      (scope) => assertRoom(scope, 'contacts', 1_000_000),
    );
  });
});

describe('suspension', () => {
  it('refuses every organization route with 403 organization_suspended, keeps sign-in, pauses jobs, and restores', async () => {
    const admin = await signUp(t, 'Suspended Co');
    const member = await addMember(t, admin.client, 'user');
    expectStatus(
      await operator.post(`/api/v1/operator/organizations/${admin.orgId}/suspend`, {
        reason: 'Unpaid invoice',
      }),
      200,
    );
    expectProblem(
      await operator.post(`/api/v1/operator/organizations/${admin.orgId}/suspend`, {}),
      409,
      'already_suspended',
    );
    const refused = await member.client.get('/api/v1/contacts');
    expectProblem(refused, 403, 'organization_suspended');
    expect(refused.body.detail).toContain('Unpaid invoice');
    expectProblem(await contact(admin.client, 1), 403, 'organization_suspended');
    // Signing in still works, and the caller's own routes answer, so they see why.
    const again = t.client();
    expect(
      (await again.post('/api/auth/sign-in/email', { email: member.email, password: 'Correct-Horse-9' }))
        .status,
    ).toBe(200);
    expect((await again.get('/api/v1/me')).status).toBe(200);
    // A job of the organization waits while it is suspended.
    await t.services.jobs.send(null, 'import.stalled', {
      org_id: admin.orgId,
      import_id: crypto.randomUUID(),
    });
    await t.drain();
    expect(
      (await t.queued('import.stalled')).some((j) => (j.data as { org_id: string }).org_id === admin.orgId),
    ).toBe(true);

    expectStatus(await operator.post(`/api/v1/operator/organizations/${admin.orgId}/restore`), 200);
    expect((await member.client.get('/api/v1/contacts')).status).toBe(200);
    await t.drain({ delayed: true });
    expect(
      (await t.queued('import.stalled')).some((j) => (j.data as { org_id: string }).org_id === admin.orgId),
    ).toBe(false);
    const audit = expectStatus(await admin.client.get('/api/v1/audit'), 200);
    const actions = audit.data.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['organization.suspended', 'organization.restored']));
  });
});

describe('cairn operator', () => {
  it('grants, lists and revokes the operator role from the CLI', async () => {
    const env = await freshCliEnv('cairn-operator');
    const email = 'ops@example.com';
    // Each run is its own process from the sources (slow on a busy machine): a generous timeout.
    const cli = (...argv: string[]) => cairn(argv, env, 240_000);
    expect((await cli('operator', 'grant', 'not-an-address')).code).toBe(2);
    const nobody = await cli('operator', 'grant', email);
    expect(nobody.code, nobody.stderr).toBe(1);
    expect(nobody.stderr).toContain('no user has the e-mail');
    expect((await cli('create-org', '--name', 'Ops Co', '--admin-email', email)).code).toBe(0);
    const granted = await cli('operator', 'grant', email);
    expect(granted.code, granted.stderr).toBe(0);
    expect((await cli('operator', 'list')).stdout).toContain(email);
    expect((await cli('operator', 'revoke', email)).code).toBe(0);
    const again = await cli('operator', 'revoke', email);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('is not an operator');
  }, 1_500_000);
});
