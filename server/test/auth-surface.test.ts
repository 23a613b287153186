import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, signUp, startTestApp, type TestApp, uniqueEmail } from './harness.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t?.close());

/** The better-auth endpoints the web app and the README use: everything else must be 404. */
const USED = new Set([
  'POST /sign-in/email',
  'POST /sign-out',
  'GET /get-session',
  // Two-factor sign-in (test/two-factor.test.ts): set up, confirm or sign in with a code, turn off.
  'POST /two-factor/enable',
  'POST /two-factor/verify-totp',
  'POST /two-factor/verify-backup-code',
  'POST /two-factor/disable',
]);

type Endpoint = { path?: string; options?: { method?: string | string[] } };

/** Every endpoint better-auth (with its organization plugin) defines, as `METHOD /path`. */
function betterAuthEndpoints(): { method: 'GET' | 'POST'; path: string }[] {
  const found = new Map<string, { method: 'GET' | 'POST'; path: string }>();
  for (const endpoint of Object.values(t.services.auth.api as Record<string, Endpoint>)) {
    if (!endpoint.path || endpoint.path.includes(':')) continue;
    for (const m of [endpoint.options?.method ?? 'GET'].flat()) {
      const method = m === '*' || m === 'GET' ? 'GET' : 'POST';
      found.set(`${method} ${endpoint.path}`, { method, path: endpoint.path });
    }
  }
  return [...found.values()];
}

describe('the identity layer exposes only what the app uses', () => {
  it('answers every unused better-auth endpoint with a 404 (or 405) problem, even signed in', async () => {
    const admin = await signUp(t);
    const endpoints = betterAuthEndpoints().filter((e) => !USED.has(`${e.method} ${e.path}`));
    expect(endpoints.length).toBeGreaterThan(30);
    const reachable: string[] = [];
    for (const { method, path } of endpoints) {
      const res = await admin.client.request(method, `/api/auth${path}`, method === 'POST' ? {} : undefined);
      // A path served for another method only (GET get-session) answers 405 with Allow, which
      // does not name this method: refused all the same.
      const refused =
        String(res.headers['content-type']).startsWith('application/problem+json') &&
        ((res.status === 404 && res.body?.code === 'route_not_found') ||
          (res.status === 405 && !String(res.headers.allow).includes(method)));
      if (!refused) reachable.push(`${method} ${path} -> ${res.status}`);
    }
    expect(reachable).toEqual([]);
    // What the app uses still works: the admin is signed in, in the same organization, and
    // signs in, reads the session and signs out through the endpoints kept.
    expect((await admin.client.get('/api/v1/me')).body.organization.id).toBe(admin.orgId);
    const client = t.client();
    const signIn = await client.post('/api/auth/sign-in/email', { email: admin.email, password: PASSWORD });
    expect(signIn.status).toBe(200);
    expect((await client.get('/api/auth/get-session')).body.user.email).toBe(admin.email);
    expect((await client.post('/api/auth/sign-out', {})).status).toBe(200);
    expect((await client.get('/api/v1/me')).status).toBe(401);
  });
});

describe("a refused organization call leaves the caller's session as it was", () => {
  it("a cross-site GET of another organization's get-full-organization does not clear the active organization", async () => {
    const victim = await signUp(t, 'Victim Co');
    const other = await signUp(t, 'Other Co');
    // A page elsewhere embeds <img src=".../get-full-organization?organizationId=...">: the
    // browser sends the victim's SameSite=Lax cookie on this top-level-like GET.
    const res = await victim.client.get(
      `/api/auth/organization/get-full-organization?organizationId=${other.orgId}`,
      { referer: 'https://evil.example/' },
    );
    expect(res.status).toBe(404);
    expect((await victim.client.get('/api/v1/contacts')).status).toBe(200);
    expect((await victim.client.get('/api/v1/me')).body.organization.id).toBe(victim.orgId);
  });

  it('a set-active to an organization the user is not a member of is refused and changes nothing', async () => {
    const victim = await signUp(t, 'Victim Co');
    const other = await signUp(t, 'Other Co');
    const viaAuth = await victim.client.post('/api/auth/organization/set-active', {
      organizationId: other.orgId,
    });
    expect(viaAuth.status).toBe(404);
    const viaApi = await victim.client.put('/api/v1/me/active-organization', {
      organization_id: other.orgId,
    });
    expect(viaApi.status).toBe(404);
    expect((await victim.client.get('/api/v1/contacts')).status).toBe(200);
    expect((await victim.client.get('/api/v1/me')).body.organization.id).toBe(victim.orgId);
  });
});

describe('profile fields are length-checked like every other field', () => {
  it('a 0.9 MB name sent to update-user is not stored', async () => {
    const admin = await signUp(t);
    const res = await admin.client.post('/api/auth/update-user', { name: 'x'.repeat(900_000) });
    expect(res.status).toBe(404);
    expect((await admin.client.get('/api/v1/me')).body.user.name).toBe('Ada Admin');
  });

  it('better-auth refuses a user name over 120 characters whoever calls it (the CLI signs up through it)', async () => {
    const email = uniqueEmail();
    await expect(
      t.services.auth.api.signUpEmail({ body: { name: 'n'.repeat(121), email, password: PASSWORD } }),
    ).rejects.toMatchObject({ statusCode: 400 });
    const stored = await t.services.database.raw.query('select 1 from users where email = $1', [email]);
    expect(stored.rows).toHaveLength(0);
    const ok = await t.services.auth.api.signUpEmail({
      body: { name: 'n'.repeat(120), email: uniqueEmail(), password: PASSWORD },
    });
    expect(ok.user.name).toHaveLength(120);
  });
});
