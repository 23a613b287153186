import { sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../src/db/tenant.js';
import { Guard, type GuardSubject } from '../src/platform/guard/guard.js';
import { postgresGuardStore, redisGuardStore } from '../src/platform/guard/guard-store.js';
import {
  addMember,
  type Client,
  expectProblem,
  expectStatus,
  PASSWORD,
  type Res,
  signUp,
  startTestApp,
  type TestApp,
} from './kit/index.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ GUARD_FLUSH_MS: '200' });
});
afterAll(() => t?.close());

type Admin = Awaited<ReturnType<typeof signUp>>;
type Incident = {
  id: string;
  subject: { type: string; user_id: string; api_key_id: string | null; label: string };
  metric: string;
  count: number;
  block: number;
  window_seconds: number;
  counts: Record<string, number>;
  trace_ids: string[];
  sessions_revoked: number;
  api_keys_revoked: number;
  status: string;
  locked: boolean;
  resolution: string | null;
};

/** Inserts `n` contacts into the admin's organization in one statement. */
async function seedContacts(admin: Admin, n: number) {
  await withTenant(
    t.services.database,
    { orgId: admin.orgId, actor: { type: 'system', id: null } },
    ({ tx }) =>
      tx.execute(sql`insert into contacts (org_id, first_name, last_name)
      select ${admin.orgId}::uuid, 'Guarded', 'Contact ' || i from generate_series(1, ${n}) as i`),
  );
}

const budget = (warn: number, block: number, window_seconds = 600) => ({ warn, block, window_seconds });

async function setBudgets(admin: Admin, role: string, budgets: Record<string, unknown>) {
  return expectStatus(await admin.client.put('/api/v1/guard/settings', { role, budgets }), 200);
}

/**
 * A script paging through every contact, fast, 50 at a time, again and again (`rounds`), as an
 * exfiltration would: the statuses it got, and the refusal that stopped it.
 */
async function pageThrough(get: (url: string) => Promise<Res>, maxRequests = 20) {
  const statuses: number[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < maxRequests; i++) {
    const res = await get(
      `/api/v1/contacts?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    statuses.push(res.status);
    if (res.status !== 200) return { statuses, stopped: res };
    cursor = (res.body as { next_cursor: string | null }).next_cursor;
  }
  return { statuses, stopped: undefined };
}

/** Polls until `check` holds (what the guard does after an answer: alerts, audit entries). */
async function eventually<T>(read: () => Promise<T>, check: (v: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const v = await read();
    if (check(v)) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`never happened: ${what}`);
}

const alertsOf = async (admin: Client) =>
  (
    expectStatus(await admin.get('/api/v1/notifications?limit=100'), 200).data as {
      kind: string;
      title: string;
    }[]
  )
    .filter((n) => n.kind === 'security_alert')
    .map((n) => n.title);

const auditActions = async (admin: Client, action: string) =>
  expectStatus(await admin.get(`/api/v1/audit?action=${action}`), 200).data as {
    action: string;
    target: { type: string; id: string } | null;
    details: Record<string, unknown>;
  }[];

const openIncidents = async (admin: Client) =>
  expectStatus(await admin.get('/api/v1/guard/incidents?status=open'), 200).data as Incident[];

describe('the guard', () => {
  it('warns, then stops a member paging through every contact with a session; the admin reviews and unlocks', async () => {
    const admin = await signUp(t, 'Guarded Co');
    await seedContacts(admin, 150);
    await setBudgets(admin, 'user', { read: budget(100, 200) });
    const member = await addMember(t, admin.client, 'user');

    const run = await pageThrough((url) => member.client.get(url));
    // 50, 100 (warn), 150, then again from the start: 200, 250 (past 200: refused).
    expect(run.statuses).toEqual([200, 200, 200, 200, 403]);
    expectProblem(run.stopped!, 403, 'guard_blocked');

    const alerts = await eventually(
      () => alertsOf(admin.client),
      (a) => a.length >= 2,
      'two alerts',
    );
    expect(alerts.some((a) => a.includes(member.email) && a.includes('warn threshold'))).toBe(true);
    expect(alerts.some((a) => a.includes(member.email) && a.includes('stopped by the guard'))).toBe(true);
    expect((await auditActions(admin.client, 'guard.warned'))[0]?.details).toMatchObject({
      subject: member.email,
      metric: 'read',
      warn: 100,
    });

    const [incident] = await openIncidents(admin.client);
    expect(incident).toMatchObject({
      subject: { type: 'user', user_id: member.userId, api_key_id: null, label: member.email },
      metric: 'read',
      count: 250,
      block: 200,
      window_seconds: 600,
      status: 'open',
      locked: true,
    });
    expect(incident!.counts.read).toBe(250);
    expect(incident!.trace_ids.length).toBeGreaterThanOrEqual(5);
    expect(incident!.sessions_revoked).toBe(1);
    expect(expectStatus(await admin.client.get(`/api/v1/guard/incidents/${incident!.id}`), 200)).toEqual(
      incident,
    );
    const opened = await auditActions(admin.client, 'guard.incident_opened');
    expect(opened[0]).toMatchObject({
      target: { type: 'user', id: member.userId },
      details: { incident_id: incident!.id, metric: 'read', count: 250, locked: true },
    });

    // Signed out everywhere, and locked out of the organization when signing in again.
    expectProblem(await member.client.get('/api/v1/contacts'), 401);
    const again = t.client();
    expectStatus(
      await again.post('/api/auth/sign-in/email', { email: member.email, password: PASSWORD }),
      200,
    );
    expectProblem(await again.get('/api/v1/contacts'), 403, 'guard_locked');
    // The member's own routes still answer (they can see they have no organization here).
    expect(expectStatus(await again.get('/api/v1/me'), 200).organization).toBeNull();

    // The admin reviews: unlock. The member reads again, their counts start over.
    const resolved = expectStatus<Incident>(
      await admin.client.post(`/api/v1/guard/incidents/${incident!.id}/resolve`, {
        action: 'unlock',
        note: 'A migration script, agreed with them',
      }),
      200,
    );
    expect(resolved).toMatchObject({ status: 'resolved', resolution: 'unlocked', locked: false });
    expect(expectStatus(await again.get('/api/v1/contacts?limit=50'), 200).data).toHaveLength(50);
    expectProblem(
      await admin.client.post(`/api/v1/guard/incidents/${incident!.id}/resolve`, { action: 'unlock' }),
      409,
      'incident_resolved',
    );
    expect((await auditActions(admin.client, 'guard.incident_resolved'))[0]?.details).toMatchObject({
      resolution: 'unlocked',
      note: 'A migration script, agreed with them',
    });
    expect(await openIncidents(admin.client)).toEqual([]);
  });

  it('stops an API key paging through every contact: the key is revoked, and stays out when kept locked', async () => {
    const admin = await signUp(t, 'Keyed guard');
    await seedContacts(admin, 150);
    await setBudgets(admin, 'viewer', { read: budget(100, 200) });
    const { key, id: keyId } = expectStatus(
      await admin.client.post('/api/v1/api-keys', { name: 'Nightly sync', read_only: true }),
      201,
    );
    const script = t.client({ origin: null });
    const get = (url: string) => script.get(url, { authorization: `Bearer ${key}` });

    const run = await pageThrough(get);
    expect(run.statuses).toEqual([200, 200, 200, 200, 403]);
    expectProblem(run.stopped!, 403, 'guard_blocked');
    expectProblem(await get('/api/v1/contacts'), 401);

    const [incident] = await openIncidents(admin.client);
    expect(incident).toMatchObject({
      subject: { type: 'api_key', api_key_id: keyId, label: 'Nightly sync', user_id: admin.userId },
      metric: 'read',
      api_keys_revoked: 1,
      locked: false,
    });
    const keys = expectStatus(await admin.client.get('/api/v1/api-keys'), 200).data;
    expect(keys[0]).toMatchObject({ id: keyId, status: 'revoked' });
    // The admin who issued the key is not locked: they review it.
    expect(
      expectStatus<Incident>(
        await admin.client.post(`/api/v1/guard/incidents/${incident!.id}/resolve`, { action: 'keep_locked' }),
        200,
      ),
    ).toMatchObject({ status: 'resolved', resolution: 'kept_locked' });
    expectProblem(await get('/api/v1/contacts'), 401);
    const alerts = await eventually(
      () => alertsOf(admin.client),
      (a) => a.length >= 2,
      'two alerts',
    );
    expect(alerts.some((a) => a.includes('API key "Nightly sync"') && a.includes('stopped'))).toBe(true);
  });

  it('stops repeated exports: the export that crosses is cut, and the member is locked out', async () => {
    const admin = await signUp(t, 'Exported');
    await seedContacts(admin, 150);
    await setBudgets(admin, 'user', { export: budget(150, 400) });
    const member = await addMember(t, admin.client, 'user');
    const rows = (res: Res) => res.text.split('\n').filter((l) => l.trim() !== '').length - 1;

    const first = await member.client.get('/api/v1/contacts/export');
    expect(first.status).toBe(200);
    expect(rows(first)).toBe(150);
    const second = await member.client.get('/api/v1/contacts/export');
    expect(second.status).toBe(200);
    expect(rows(second)).toBe(150);
    // The third would take the count to 450, past 400: it is cut as it crosses.
    const third = await member.client.get('/api/v1/contacts/export?format=jsonl').catch(() => null);
    expect(third?.text.trim().split('\n').filter(Boolean).length ?? 0).toBeLessThan(150);

    const [incident] = await eventually(
      () => openIncidents(admin.client),
      (l) => l.length === 1,
      'an incident',
    );
    expect(incident).toMatchObject({ metric: 'export', subject: { label: member.email }, locked: true });
    expect(incident!.count).toBeGreaterThan(400);
    expectProblem(await member.client.get('/api/v1/contacts/export'), 401);
    const alerts = await eventually(
      () => alertsOf(admin.client),
      (a) => a.length >= 2,
      'two alerts',
    );
    expect(alerts.some((a) => a.includes('records exported') && a.includes('warn threshold'))).toBe(true);
  });

  it('stops archiving past the delete budget before the record is archived', async () => {
    const admin = await signUp(t, 'Archived');
    await setBudgets(admin, 'user', { delete: budget(2, 3) });
    const member = await addMember(t, admin.client, 'user');
    const ids: string[] = [];
    for (let i = 0; i < 4; i++)
      ids.push(
        expectStatus(await admin.client.post('/api/v1/contacts', { first_name: `Kept ${i}` }), 201).id,
      );
    const statuses: number[] = [];
    for (const id of ids) statuses.push((await member.client.post(`/api/v1/contacts/${id}/archive`)).status);
    expect(statuses).toEqual([200, 200, 200, 403]);
    expect(expectStatus(await admin.client.get(`/api/v1/contacts/${ids[3]}`), 200).archived_at).toBeNull();
    expect((await openIncidents(admin.client))[0]).toMatchObject({ metric: 'delete', count: 4 });
  });

  it('counts refused requests on ids: probing ids that are not yours stops you', async () => {
    const admin = await signUp(t, 'Probed');
    await setBudgets(admin, 'user', { denied: budget(3, 5) });
    const member = await addMember(t, admin.client, 'user');
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      statuses.push((await member.client.get(`/api/v1/contacts/${id}`)).status);
    }
    // Six 404s (the sixth is past 5: the incident opens after it is answered), then signed out.
    expect(statuses).toEqual([404, 404, 404, 404, 404, 404, 401, 401]);
    const [incident] = await openIncidents(admin.client);
    expect(incident).toMatchObject({ metric: 'denied', count: 6, subject: { label: member.email } });
  });

  it('never stops normal use: a member browsing, and a 10,000-row export once (default budgets)', async () => {
    const admin = await signUp(t, 'Normal use');
    await seedContacts(admin, 10_000);
    const member = await addMember(t, admin.client, 'user');
    const c = member.client;
    let cursor: string | null = null;
    const seen: string[] = [];
    for (let i = 0; i < 20; i++) {
      const page: { data: { id: string }[]; next_cursor: string | null } = expectStatus(
        await c.get(`/api/v1/contacts?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`),
        200,
      );
      cursor = page.next_cursor;
      seen.push(page.data[0]!.id);
    }
    for (const id of seen) expectStatus(await c.get(`/api/v1/contacts/${id}`), 200);
    expectStatus(await c.get('/api/v1/search?q=Guarded'), 200);
    expectStatus(await c.get('/api/v1/contacts/count'), 200);
    const exported = await c.get('/api/v1/contacts/export');
    expect(exported.status).toBe(200);
    expect(exported.text.trim().split('\n')).toHaveLength(10_001); // the header and every contact
    expectStatus(await c.get('/api/v1/contacts?limit=50'), 200);
    await t.services.guard.flush();
    expect(expectStatus(await admin.client.get('/api/v1/guard/incidents'), 200).data).toEqual([]);
    expect(await alertsOf(admin.client)).toEqual([]);
  }, 120_000);
});

describe('guard settings', () => {
  it('shows each role’s budgets with their defaults; sets, validates and resets them (admins only)', async () => {
    const admin = await signUp(t, 'Budgets');
    const settings = expectStatus(await admin.client.get('/api/v1/guard/settings'), 200).data;
    expect(settings.map((s: { role: string }) => s.role)).toEqual(['admin', 'user', 'viewer']);
    expect(settings[1].budgets.read).toMatchObject({ warn: 20_000, block: 50_000, is_default: true });

    const set = await setBudgets(admin, 'support', { export: budget(10, 20, 3600) });
    const support = set.data.find((s: { role: string }) => s.role === 'support');
    expect(support.budgets.export).toEqual({ warn: 10, block: 20, window_seconds: 3600, is_default: false });
    expect(support.budgets.read.is_default).toBe(true);
    expectProblem(
      await admin.client.put('/api/v1/guard/settings', { role: 'user', budgets: { read: budget(10, 5) } }),
      400,
      { code: 'invalid_budget', path: 'body.budgets.read.warn' },
    );
    expectProblem(
      await admin.client.put('/api/v1/guard/settings', { role: 'user', budgets: { read: budget(1, 5, 5) } }),
      400,
    );
    const reset = await setBudgets(admin, 'support', { export: null });
    // With nothing of its own left, the custom role has the defaults and is no longer listed.
    expect(reset.data.map((s: { role: string }) => s.role)).toEqual(['admin', 'user', 'viewer']);
    expect((await auditActions(admin.client, 'guard.settings_changed')).length).toBe(2);

    const member = await addMember(t, admin.client, 'user');
    expectProblem(await member.client.get('/api/v1/guard/settings'), 403);
    expectProblem(await member.client.get('/api/v1/guard/incidents'), 403);
  });
});

describe('shared counters', () => {
  for (const kind of ['postgres', 'redis'] as const) {
    it(`two server processes count one subject together (${kind}), each flushing in batches`, async () => {
      const admin = await signUp(t, `Shared ${kind}`);
      const store = () =>
        kind === 'redis'
          ? redisGuardStore('redis://127.0.0.1:6379')
          : postgresGuardStore(t.services.database);
      const logger = pino({ level: 'silent' });
      const [one, two] = [
        new Guard(t.services.database, store(), logger),
        new Guard(t.services.database, store(), logger),
      ];
      const s: GuardSubject = {
        orgId: admin.orgId,
        subject: `user:${admin.userId}`,
        type: 'user',
        userId: admin.userId,
        apiKeyId: null,
        label: admin.email,
        role: 'user',
      };
      const b = { warn: 100, block: 200, window_seconds: 60 };
      expect(one.count(s, 'read', 150, b, 'trace-1')).toEqual({ total: 150, warn: true, block: false });
      await one.flush();
      // The second process has not counted this subject: its first count asks for the shared total.
      expect(two.count(s, 'read', 0, b, 'trace-2').block).toBe(false);
      await two.flush();
      expect(two.count(s, 'read', 60, b, 'trace-3')).toEqual({ total: 210, warn: true, block: true });
      await two.flush();
      await one.flush();
      expect(one.count(s, 'read', 0, b, 'trace-4').total).toBe(210);
      // An unlock forgets the subject's counts everywhere.
      await one.reset(s.orgId, s.subject);
      await two.flush();
      await new Promise((r) => setTimeout(r, 10));
      const fresh = new Guard(t.services.database, store(), logger);
      fresh.count(s, 'read', 0, b, 'trace-5');
      await fresh.flush();
      expect(fresh.count(s, 'read', 1, b, 'trace-6').total).toBe(1);
      await Promise.all([one.stop(), two.stop(), fresh.stop()]);
    });
  }
});
