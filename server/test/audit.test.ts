import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../src/db/tenant.js';
import {
  addMember,
  type Client,
  expectProblem,
  expectStatus,
  PASSWORD,
  signUp,
  startTestApp,
  type TestApp,
  uploadCsv,
} from './kit/index.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t?.close());

type Entry = {
  id: string;
  action: string;
  actor: { type: string; id: string | null; label: string | null };
  ip: string | null;
  user_agent: string | null;
  trace_id: string | null;
  target: { type: string; id: string } | null;
  details: Record<string, unknown>;
};
const traceparent = () => {
  const trace = randomBytes(16).toString('hex');
  return { trace, header: { traceparent: `00-${trace}-${randomBytes(8).toString('hex')}-01` } };
};
const entries = async (admin: Client, query = '') =>
  expectStatus<{ data: Entry[]; next_cursor: string | null }>(await admin.get(`/api/v1/audit${query}`), 200)
    .data;

describe('the audit log', () => {
  it('records sign-in, failed sign-ins, the lockout and sign-out with actor, IP, agent and trace id', async () => {
    const admin = await signUp(t, 'Audited');
    const member = await addMember(t, admin.client, 'user');
    const browser = t.client();
    const signIn = traceparent();
    expectStatus(
      await browser.post(
        '/api/auth/sign-in/email',
        { email: member.email, password: PASSWORD },
        { ...signIn.header, 'user-agent': 'Audit-Agent/1.0' },
      ),
      200,
    );
    const signedIn = (await entries(admin.client, '?action=auth.signed_in')).find(
      (e) => e.actor.id === member.userId,
    );
    expect(signedIn).toMatchObject({
      actor: { type: 'user', id: member.userId, label: member.email },
      ip: browser.ip,
      user_agent: 'Audit-Agent/1.0',
      trace_id: signIn.trace,
    });

    expectStatus(await browser.post('/api/auth/sign-out', {}), 200);
    const signedOut = await entries(admin.client, `?action=auth.signed_out&actor=${member.userId}`);
    expect(signedOut).toHaveLength(1);

    const attacker = t.client();
    for (let i = 0; i < 5; i++) {
      expectProblem(
        await attacker.post('/api/auth/sign-in/email', { email: member.email, password: 'Wrong-Pass-1' }),
        401,
      );
    }
    const failed = await entries(admin.client, `?action=auth.sign_in_failed&actor=${member.userId}`);
    expect(failed).toHaveLength(5);
    expect(failed.every((e) => e.ip === attacker.ip)).toBe(true);
    const locked = await entries(admin.client, `?action=auth.locked_out&actor=${member.userId}`);
    expect(locked).toHaveLength(1);
    expect(locked[0]!.details).toEqual({ minutes: 15 });
  });

  it('records role changes, invitations, removals, exports, imports and bulk archives; pages and filters', async () => {
    const admin = await signUp(t, 'Audited 2');
    const member = await addMember(t, admin.client, 'user');
    expectStatus(await admin.client.patch(`/api/v1/members/${member.userId}`, { role: 'viewer' }), 204);
    expectStatus(await admin.client.delete(`/api/v1/members/${member.userId}`), 204);
    const contact = expectStatus(await admin.client.post('/api/v1/contacts', { first_name: '=cmd' }), 201);
    expectStatus(await admin.client.get('/api/v1/contacts/export?format=csv'), 200);
    expectStatus(
      await admin.client.post('/api/v1/contacts/bulk', { ids: [contact.id], action: 'archive' }),
      200,
    );
    expectStatus(await admin.client.delete(`/api/v1/contacts/${contact.id}`), 204);
    const upload = expectStatus(
      { headers: {}, ...(await uploadCsv(t, admin.client, 'contact', 'a.csv', 'First Name\nAda\n')) },
      201,
    );
    expectStatus(await admin.client.post(`/api/v1/imports/${upload.id}/start`), 200);

    const all = await entries(admin.client, `?actor=${admin.userId}`);
    const actions = all.map((e) => e.action);
    for (const action of [
      'member.invited',
      'member.role_changed',
      'member.removed',
      'records.exported',
      'records.bulk_archived',
      'record.deleted',
      'records.imported',
    ]) {
      expect(actions, action).toContain(action);
    }
    // Newest first.
    expect(actions.indexOf('record.deleted')).toBeLessThan(actions.indexOf('member.invited'));
    const role = all.find((e) => e.action === 'member.role_changed')!;
    expect(role.target).toEqual({ type: 'user', id: member.userId });
    expect(role.details).toEqual({ role: 'viewer' });
    const bulk = all.find((e) => e.action === 'records.bulk_archived')!;
    expect(bulk.details).toMatchObject({ matched: 1, changed: 1 });

    // Cursor paging walks the same entries, one at a time.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { data: Entry[]; next_cursor: string | null } = (
        await admin.client.get(
          `/api/v1/audit?actor=${admin.userId}&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        )
      ).body;
      seen.push(...page.data.map((e) => e.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual(all.map((e) => e.id));

    // A time range after everything holds nothing; one around it holds it all.
    const later = new Date(Date.now() + 60_000).toISOString();
    expect(await entries(admin.client, `?from=${encodeURIComponent(later)}`)).toEqual([]);
    const earlier = new Date(Date.now() - 600_000).toISOString();
    expect(
      (
        await entries(
          admin.client,
          `?actor=${admin.userId}&from=${encodeURIComponent(earlier)}&to=${encodeURIComponent(later)}`,
        )
      ).length,
    ).toBe(all.length);
    expectProblem(await admin.client.get('/api/v1/audit?action=nope'), 400);
  });

  it('exports the log as CSV with formulas neutralized, and records the export', async () => {
    const admin = await signUp(t, 'Exported');
    const invited = expectStatus(
      await admin.client.post(
        '/api/v1/invitations',
        { email: `x${randomBytes(2).toString('hex')}@evil.test`, role: 'user' },
        { 'user-agent': '=cmd|calc' },
      ),
      201,
    );
    const res = await admin.client.get('/api/v1/audit/export?action=member.invited');
    expect(res.status).toBe(200);
    expect(String(res.headers['content-type'])).toMatch(/^text\/csv/);
    const lines = res.text
      .replace(/^\uFEFF/, '')
      .trim()
      .split(/\r?\n/);
    expect(lines[0]).toContain('Occurred at,Action,Actor type');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(invited.id);
    expect(lines[1]).toContain('member.invited');
    expect(lines[1]).toContain(admin.email);
    expect(lines[1]).toContain(",'=cmd|calc,");
    expect(await entries(admin.client, '?action=audit.exported')).toHaveLength(1);
  });

  it('is for admins only, and shows nothing of another organization', async () => {
    const a = await signUp(t, 'A');
    const b = await signUp(t, 'B');
    const user = await addMember(t, a.client, 'user');
    expectProblem(await user.client.get('/api/v1/audit'), 403, 'forbidden');
    expectProblem(await user.client.get('/api/v1/audit/export'), 403, 'forbidden');
    expectProblem(await t.client().get('/api/v1/audit'), 401);
    const ofB = await entries(b.client);
    expect(ofB.some((e) => e.actor.id === a.userId)).toBe(false);
    expect(await entries(b.client, `?actor=${a.userId}`)).toEqual([]);
  });

  it('is append-only for the app role: no UPDATE, no DELETE', async () => {
    const admin = await signUp(t, 'Immutable');
    // The sign-in after sign-up is the admin's one entry so far.
    expect((await entries(admin.client, `?actor=${admin.userId}`)).map((e) => e.action)).toEqual([
      'auth.signed_in',
    ]);
    expectStatus(
      await admin.client.post('/api/v1/invitations', {
        email: `x${randomBytes(3).toString('hex')}@e.test`,
        role: 'user',
      }),
      201,
    );
    const ctx = { orgId: admin.orgId, actor: { type: 'user' as const, id: admin.userId } };
    await expect(
      withTenant(t.services.database, ctx, ({ conn }) => conn.query(`update audit_log set action = 'x'`)),
    ).rejects.toThrow(/permission denied/);
    await expect(
      withTenant(t.services.database, ctx, ({ conn }) => conn.query('delete from audit_log')),
    ).rejects.toThrow(/permission denied/);
    // Not even the owner rewrites an entry.
    await expect(t.services.database.raw.query(`update audit_log set action = 'x'`)).rejects.toThrow(
      /append-only/,
    );
    expect(await entries(admin.client, '?action=member.invited')).toHaveLength(1);
  });
});
