import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../src/db/tenant.js';
import { addMember, expectProblem, expectStatus, signUp, startTestApp, type TestApp } from './kit/index.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t?.close());

type Issued = { id: string; key: string; prefix: string; read_only: boolean; status: string };
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
/** A client with no cookie and no Origin: a script calling the API with a key. */
const script = (key: string) => {
  const c = t.client({ origin: null });
  return {
    get: (url: string) => c.get(url, bearer(key)),
    post: (url: string, body: unknown) => c.post(url, body, bearer(key)),
    delete: (url: string) => c.request('DELETE', url, undefined, bearer(key)),
  };
};

describe('API keys', () => {
  it('are shown once, stored as a hash, and act in their organization without cookie or Origin', async () => {
    const admin = await signUp(t, 'Keyed');
    const issued = expectStatus<Issued>(
      await admin.client.post('/api/v1/api-keys', { name: 'Zapier sync' }),
      201,
    );
    expect(issued.key).toMatch(/^cairn_[A-Za-z0-9_-]{86}$/);
    expect(issued).toMatchObject({ read_only: false, status: 'active' });
    const list = expectStatus(await admin.client.get('/api/v1/api-keys'), 200);
    expect(list.data.map((k: Issued) => k.id)).toEqual([issued.id]);
    expect(JSON.stringify(list)).not.toContain(issued.key.slice(-43));

    const ctx = { orgId: admin.orgId, actor: { type: 'user' as const, id: admin.userId } };
    const { rows } = await withTenant(t.services.database, ctx, ({ conn }) =>
      conn.query<Record<string, unknown>>('select * from api_keys'),
    );
    const secret = issued.key.slice(-43);
    expect(rows[0]!.secret_hash).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(JSON.stringify(rows)).not.toContain(secret);

    const api = script(issued.key);
    const created = expectStatus(
      await api.post('/api/v1/contacts', { first_name: 'Keyed', last_name: 'In' }),
      201,
    );
    const listed = expectStatus(await api.get('/api/v1/contacts'), 200);
    expect(listed.data.map((c: { id: string }) => c.id)).toEqual([created.id]);
    // The admin sees what the key wrote, with the key as its author.
    const seen = expectStatus(await admin.client.get(`/api/v1/contacts/${created.id}/timeline`), 200);
    expect(JSON.stringify(seen.data)).toContain(issued.id);
    const after = expectStatus(await admin.client.get('/api/v1/api-keys'), 200);
    expect(after.data[0].last_used_at).not.toBeNull();
  });

  it("audits the key's actions with the key as actor, and its issue and revocation", async () => {
    const admin = await signUp(t, 'Audited keys');
    const issued = expectStatus<Issued>(
      await admin.client.post('/api/v1/api-keys', { name: 'Exporter' }),
      201,
    );
    expectStatus(await script(issued.key).get('/api/v1/contacts/export?format=csv'), 200);
    expectStatus(await admin.client.delete(`/api/v1/api-keys/${issued.id}`), 204);
    const log = expectStatus(await admin.client.get('/api/v1/audit'), 200).data as {
      action: string;
      actor: { type: string; id: string; label: string };
      target: { id: string } | null;
    }[];
    expect(log.find((e) => e.action === 'records.exported')?.actor).toEqual({
      type: 'api_key',
      id: issued.id,
      label: 'Exporter',
    });
    expect(log.find((e) => e.action === 'api_key.issued')).toMatchObject({
      actor: { type: 'user', id: admin.userId },
      target: { id: issued.id },
    });
    expect(log.find((e) => e.action === 'api_key.revoked')?.target?.id).toBe(issued.id);
  });

  it('a read-only key reads but its writes are 403 api_key_read_only; no key manages members or keys', async () => {
    const admin = await signUp(t, 'Read only');
    const { key } = expectStatus<Issued>(
      await admin.client.post('/api/v1/api-keys', { name: 'BI', read_only: true }),
      201,
    );
    const api = script(key);
    expectStatus(await api.get('/api/v1/contacts'), 200);
    expectProblem(await api.post('/api/v1/contacts', { first_name: 'No' }), 403, 'api_key_read_only');
    const writer = expectStatus<Issued>(await admin.client.post('/api/v1/api-keys', { name: 'RW' }), 201);
    for (const api2 of [api, script(writer.key)]) {
      expectProblem(await api2.get('/api/v1/api-keys'), 403, 'api_key_not_allowed');
      expectProblem(
        await api2.post('/api/v1/invitations', { email: 'x@y.test', role: 'admin' }),
        403,
        'api_key_not_allowed',
      );
      expectProblem(await api2.get('/api/v1/me'), 403, 'api_key_not_allowed');
    }
    expectProblem(
      await admin.client.post('/api/v1/api-keys', { name: 'Past', expires_at: '2020-01-01T00:00:00Z' }),
      400,
      {
        path: 'body.expires_at',
      },
    );
    const member = await addMember(t, admin.client, 'user');
    expectProblem(await member.client.post('/api/v1/api-keys', { name: 'Mine' }), 403, 'forbidden');
  });

  it('a revoked, expired, altered or unknown key is 401; a key never reaches another organization', async () => {
    const a = await signUp(t, 'Key A');
    const b = await signUp(t, 'Key B');
    const ofB = expectStatus(await b.client.post('/api/v1/contacts', { first_name: 'B only' }), 201);
    const revoked = expectStatus<Issued>(await a.client.post('/api/v1/api-keys', { name: 'Old' }), 201);
    const expiring = expectStatus<Issued>(
      await a.client.post('/api/v1/api-keys', {
        name: 'Soon',
        expires_at: new Date(Date.now() + 3_600_000).toISOString(),
      }),
      201,
    );
    const live = expectStatus<Issued>(await a.client.post('/api/v1/api-keys', { name: 'Live' }), 201);
    expectStatus(await script(revoked.key).get('/api/v1/contacts'), 200);
    expectStatus(await a.client.delete(`/api/v1/api-keys/${revoked.id}`), 204);
    expectProblem(await script(revoked.key).get('/api/v1/contacts'), 401, 'unauthenticated');

    expectStatus(await script(expiring.key).get('/api/v1/contacts'), 200);
    await withTenant(
      t.services.database,
      { orgId: a.orgId, actor: { type: 'user', id: a.userId } },
      ({ conn }) =>
        conn.query(`update api_keys set expires_at = now() - interval '1 second' where id = $1`, [
          expiring.id,
        ]),
    );
    expectProblem(await script(expiring.key).get('/api/v1/contacts'), 401, 'unauthenticated');
    const statuses = expectStatus(await a.client.get('/api/v1/api-keys'), 200).data.map(
      (k: Issued) =>
        `${k.id === live.id ? 'live' : k.id === revoked.id ? 'revoked' : 'expiring'}:${k.status}`,
    );
    expect(statuses.sort()).toEqual(['expiring:expired', 'live:active', 'revoked:revoked']);

    const altered = `${live.key.slice(0, -1)}${live.key.endsWith('A') ? 'B' : 'A'}`;
    for (const bad of [altered, 'cairn_nope', 'not-a-key', `${live.key}x`]) {
      expectProblem(await script(bad).get('/api/v1/contacts'), 401, 'unauthenticated');
    }
    // The key's organization comes from the key: B's records are not found.
    expectProblem(await script(live.key).get(`/api/v1/contacts/${ofB.id}`), 404);
    // A session cookie does not widen a key: the Authorization header alone decides.
    const withCookie = await b.client.get(`/api/v1/contacts/${ofB.id}`, bearer(live.key));
    expectProblem(withCookie, 404);
    expect(withCookie.text).not.toContain('B only');
  });

  it('limits each key to its own budget per 10 seconds, with RateLimit-* and Retry-After', async () => {
    const limited = await startTestApp({ API_KEY_RATE_LIMIT_PER_10_SECONDS: '3' });
    try {
      const admin = await signUp(limited, 'Limited');
      const one = (await admin.client.post('/api/v1/api-keys', { name: 'One' })).body as Issued;
      const two = (await admin.client.post('/api/v1/api-keys', { name: 'Two' })).body as Issued;
      const call = (key: string) => limited.client({ origin: null }).get('/api/v1/contacts', bearer(key));
      const first = await call(one.key);
      expect(first.status).toBe(200);
      expect(first.headers['ratelimit-limit']).toBe('3');
      expect(first.headers['ratelimit-remaining']).toBe('2');
      await call(one.key);
      await call(one.key);
      const refused = await call(one.key);
      expectProblem(refused, 429, 'rate_limited');
      const retry = Number(refused.headers['retry-after']);
      expect(retry).toBeGreaterThan(0);
      expect(retry).toBeLessThanOrEqual(10);
      expect((await call(two.key)).status).toBe(200);
      // The admin's session has its own, per-minute budget.
      expect((await admin.client.get('/api/v1/contacts')).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});
