import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, PASSWORD, signUp, startTestApp, type TestApp, uniqueEmail } from './harness.js';
import { verifyEmailOf } from './kit/mail.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ SIGN_IN_PER_IP_PER_MINUTE: '8' });
});
afterAll(() => t?.close());

describe('sign-up', () => {
  it('creates the organization and makes the new user its admin, signed in', async () => {
    const { client, email } = await signUp(t, 'Northwind');
    const me = await client.get('/api/v1/me');
    expect(me.status).toBe(200);
    expect(me.body.user.email).toBe(email);
    expect(me.body.organization.name).toBe('Northwind');
    expect(me.body.role).toBe('admin');
  });

  it('sign-up sets no cookie; the sign-in after it sets an HttpOnly, SameSite=Lax session cookie', async () => {
    const email = uniqueEmail();
    const client = t.client();
    const res = await client.post('/api/v1/signup', {
      organization_name: 'Cookie Co',
      name: 'C',
      email,
      password: PASSWORD,
    });
    expect(res.status).toBe(202);
    expect(res.headers['set-cookie']).toBeUndefined();
    const signIn = await client.post('/api/auth/sign-in/email', { email, password: PASSWORD });
    const cookie = String([signIn.headers['set-cookie']].flat()[0]);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
  });

  it('refuses a weak password, naming the field, and creates nothing', async () => {
    const email = uniqueEmail();
    const client = t.client();
    const res = await client.post('/api/v1/signup', {
      organization_name: 'W',
      name: 'W',
      email,
      password: 'alllowercase1',
    });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.path).toBe('body.password');
    const signIn = await client.post('/api/auth/sign-in/email', { email, password: 'alllowercase1' });
    expect(signIn.status).toBe(401);
  });

  it('answers a second sign-up for the same e-mail as a new one, keeping the first account', async () => {
    const { email } = await signUp(t);
    const res = await t
      .client()
      .post('/api/v1/signup', { organization_name: 'X', name: 'X', email, password: 'Other-pass-1' });
    expect(res.status).toBe(202);
    const again = t.client();
    expect((await again.post('/api/auth/sign-in/email', { email, password: PASSWORD })).status).toBe(200);
    expect((await again.get('/api/v1/me')).body.organizations).toHaveLength(1);
  });
});

describe('sign-in and sign-out', () => {
  it('signs in with e-mail and password into the organization', async () => {
    const { email } = await signUp(t, 'Sign In Co');
    const client = t.client();
    expect((await client.get('/api/v1/me')).status).toBe(401);
    const res = await client.post('/api/auth/sign-in/email', { email, password: PASSWORD });
    expect(res.status).toBe(200);
    const me = await client.get('/api/v1/me');
    expect(me.body.organization.name).toBe('Sign In Co');
  });

  it('sign-out invalidates the session on the server: the old cookie no longer works', async () => {
    const { client } = await signUp(t);
    const stolen = client.cookieHeader;
    expect((await client.post('/api/auth/sign-out', {})).status).toBe(200);
    const replay = t.client();
    replay.setCookieHeader(stolen);
    const res = await replay.get('/api/v1/me');
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('unauthenticated');
  });
});

describe('lockout', () => {
  it('locks an account for 15 minutes after 5 failed sign-ins, even with the right password', async () => {
    const { email } = await signUp(t);
    for (let i = 0; i < 5; i++) {
      const res = await t.client().post('/api/auth/sign-in/email', { email, password: `Wrong-pass-${i}` });
      expect(res.status).toBe(401);
    }
    const res = await t.client().post('/api/auth/sign-in/email', { email, password: PASSWORD });
    expect(res.status).toBe(429);
    expect(res.body.code).toBe('account_locked');
    expect(res.body.detail).toMatch(/locked for 15 more minute/);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(14 * 60);
  });

  it('limits sign-in attempts per client IP (429 with Retry-After)', async () => {
    const client = t.client({ ip: '192.0.2.77' });
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      statuses.push(
        (await client.post('/api/auth/sign-in/email', { email: uniqueEmail(), password: 'Nope-nope-1' }))
          .status,
      );
    }
    expect(statuses.slice(0, 8).every((s) => s === 401)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
    // Another client IP is not affected.
    const other = await t
      .client({ ip: '192.0.2.78' })
      .post('/api/auth/sign-in/email', { email: uniqueEmail(), password: 'Nope-nope-1' });
    expect(other.status).toBe(401);
  });
});

describe('CSRF', () => {
  it('refuses a cookie-authenticated mutation from another origin', async () => {
    const { client } = await signUp(t);
    const evil = await client.request(
      'POST',
      '/api/v1/invitations',
      { email: uniqueEmail(), role: 'user' },
      { origin: 'https://evil.example' },
    );
    expect(evil.status).toBe(403);
    expect(evil.body.code).toBe('csrf_rejected');
    expect((await client.get('/api/v1/invitations')).body.data).toHaveLength(0);
  });

  it('refuses a cookie-authenticated mutation with no Origin at all', async () => {
    const { client } = await signUp(t);
    const noOrigin = t.client({ origin: null });
    noOrigin.setCookieHeader(client.cookieHeader);
    const res = await noOrigin.post('/api/v1/invitations', { email: uniqueEmail(), role: 'user' });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('csrf_rejected');
  });

  it('refuses sign-out from another origin (better-auth endpoints too)', async () => {
    const { client } = await signUp(t);
    const res = await client.request('POST', '/api/auth/sign-out', {}, { origin: 'https://evil.example' });
    expect(res.status).toBe(403);
    expect((await client.get('/api/v1/me')).status).toBe(200);
  });
});

describe('roles', () => {
  it('a viewer reads but cannot write: 403, and nothing changes', async () => {
    const admin = await signUp(t);
    const viewer = await addMember(t, admin.client, 'viewer');
    expect((await viewer.client.get('/api/v1/members')).status).toBe(200);
    const res = await viewer.client.post('/api/v1/invitations', { email: uniqueEmail(), role: 'admin' });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('forbidden');
    expect((await admin.client.get('/api/v1/invitations')).body.data).toHaveLength(0);
  });

  it('without a principal every protected route is 401, never a redirect', async () => {
    const anonymous = t.client();
    for (const route of t.routes.filter((r) => r.access !== 'public')) {
      const url = route.url.replace(/:[A-Za-z]+/g, '00000000-0000-4000-8000-000000000000');
      const res = await anonymous.request(
        route.method as 'GET',
        url,
        route.method === 'GET' ? undefined : {},
      );
      expect(res.status, `${route.method} ${route.url}`).toBe(401);
    }
  });

  it('an admin changes a role; the last admin cannot be demoted', async () => {
    const admin = await signUp(t);
    const user = await addMember(t, admin.client, 'user');
    expect((await admin.client.patch(`/api/v1/members/${user.userId}`, { role: 'viewer' })).status).toBe(204);
    expect((await user.client.get('/api/v1/me')).body.role).toBe('viewer');
    const demoteSelf = await admin.client.patch(`/api/v1/members/${admin.userId}`, { role: 'user' });
    expect(demoteSelf.status).toBe(409);
    expect(demoteSelf.body.code).toBe('last_admin');
  });

  it('a removed member loses access at once', async () => {
    const admin = await signUp(t);
    const user = await addMember(t, admin.client, 'user');
    expect((await admin.client.delete(`/api/v1/members/${user.userId}`)).status).toBe(204);
    const res = await user.client.get('/api/v1/members');
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('no_organization');
  });
});

describe('invitations', () => {
  it('invites by link with a role; a new user accepts, joins with that role, and is signed in', async () => {
    const admin = await signUp(t, 'Invite Co');
    const email = uniqueEmail('invitee');
    const invited = await admin.client.post('/api/v1/invitations', { email, role: 'user' });
    expect(invited.status).toBe(201);
    expect(invited.body.link).toBe(`http://cairn.test/accept-invitation/${invited.body.id}`);
    expect(t.invitations.some((i) => i.id === invited.body.id && i.email === email)).toBe(false); // created by Cairn, not by better-auth

    const preview = await t.client().get(`/api/v1/invitations/${invited.body.id}/preview`);
    expect(preview.body).toMatchObject({
      organization_name: 'Invite Co',
      email,
      role: 'user',
    });
    expect(preview.body).not.toHaveProperty('existing_user');

    const invitee = t.client();
    const accepted = await invitee.post(`/api/v1/invitations/${invited.body.id}/accept`, {
      name: 'Ivy',
      password: PASSWORD,
    });
    expect(accepted.status).toBe(200);
    const me = await invitee.get('/api/v1/me');
    expect(me.body).toMatchObject({ role: 'user', organization: { name: 'Invite Co' } });
    const members = await admin.client.get('/api/v1/members');
    expect(members.body.data.map((m: { email: string }) => m.email)).toContain(email);

    // The link works once.
    const again = await t
      .client()
      .post(`/api/v1/invitations/${invited.body.id}/accept`, { name: 'X', password: PASSWORD });
    expect(again.status).toBe(404);
  });

  it('an existing user signs in and accepts; then switches between organizations', async () => {
    const a = await signUp(t, 'First Org');
    const b = await signUp(t, 'Second Org');
    const invited = await a.client.post('/api/v1/invitations', { email: b.email, role: 'viewer' });
    // Only a verified address takes an invitation (issue 22): b follows its sign-up link first.
    expect((await b.client.post(`/api/v1/invitations/${invited.body.id}/accept`)).body.code).toBe(
      'email_not_verified',
    );
    await verifyEmailOf(b.client, b.email);
    expect((await b.client.post(`/api/v1/invitations/${invited.body.id}/accept`)).status).toBe(200);
    let me = await b.client.get('/api/v1/me');
    expect(me.body.organization.name).toBe('First Org');
    expect(me.body.organizations).toHaveLength(2);
    expect((await b.client.put('/api/v1/me/active-organization', { organization_id: b.orgId })).status).toBe(
      204,
    );
    me = await b.client.get('/api/v1/me');
    expect(me.body).toMatchObject({ organization: { name: 'Second Org' }, role: 'admin' });
  });

  it('only the recipient may accept', async () => {
    const admin = await signUp(t);
    const other = await signUp(t);
    const invited = await admin.client.post('/api/v1/invitations', { email: uniqueEmail(), role: 'admin' });
    const res = await other.client.post(`/api/v1/invitations/${invited.body.id}/accept`);
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('not_recipient');
  });

  it('a cancelled invitation cannot be accepted', async () => {
    const admin = await signUp(t);
    const invited = await admin.client.post('/api/v1/invitations', { email: uniqueEmail(), role: 'user' });
    expect((await admin.client.delete(`/api/v1/invitations/${invited.body.id}`)).status).toBe(204);
    const res = await t
      .client()
      .post(`/api/v1/invitations/${invited.body.id}/accept`, { name: 'Late', password: PASSWORD });
    expect(res.status).toBe(404);
  });
});
