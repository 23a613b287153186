import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  expectProblem,
  expectStatus,
  PASSWORD,
  signUp,
  startTestApp,
  type TestApp,
  uniqueEmail,
  verificationToken,
  waitForMail,
} from './kit/index.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t?.close());

describe('e-mail verification', () => {
  it('sign-up answers the same for a new address and a taken one; the difference goes by e-mail', async () => {
    const owner = await signUp(t, 'Owner Co');
    const fresh = uniqueEmail('fresh');
    const attempt = (email: string) =>
      t.client().post('/api/v1/signup', {
        organization_name: 'Try',
        name: 'Someone',
        email,
        password: 'Someone-Else-1',
      });
    const taken = await attempt(owner.email);
    const created = await attempt(fresh);
    expect(taken.status).toBe(202);
    expect(created.status).toBe(202);
    expect(taken.body).toEqual(created.body);
    expect(taken.headers['set-cookie']).toBeUndefined();
    expect(created.headers['set-cookie']).toBeUndefined();
    // The owner is told by e-mail (their organization's outbox without SMTP); nothing else changed.
    const notice = await waitForMail(owner.client, 'signup_attempt', owner.email);
    expect(notice.subject).toMatch(/tried to sign up/);
    const me = expectStatus(await owner.client.get('/api/v1/me'), 200);
    expect(me.organizations).toHaveLength(1);
    // The new address has its account and organization; its link is in that organization's outbox.
    const newcomer = t.client();
    expectStatus(
      await newcomer.post('/api/auth/sign-in/email', { email: fresh, password: 'Someone-Else-1' }),
      200,
    );
    expect(expectStatus(await newcomer.get('/api/v1/me'), 200).organization.name).toBe('Try');
    expectStatus(
      await t.client().post('/api/v1/email/verify', { token: await verificationToken(newcomer, fresh) }),
      204,
    );
  });

  it('sign-up sends a link that verifies the address; a bad token is 400 invalid_token', async () => {
    const admin = await signUp(t, 'Verify Co');
    const token = await verificationToken(admin.client, admin.email);
    expectProblem(
      await t.client().post('/api/v1/email/verify', { token: `${token}x` }),
      400,
      'invalid_token',
    );
    expectStatus(await t.client().post('/api/v1/email/verify', { token }), 204);
  });

  it('an unverified account cannot take an invitation; verified, it can', async () => {
    const a = await signUp(t, 'Inviter');
    const b = await signUp(t, 'Invitee Co');
    const invited = expectStatus(
      await a.client.post('/api/v1/invitations', { email: b.email, role: 'viewer' }),
      201,
    );
    expectProblem(await b.client.post(`/api/v1/invitations/${invited.id}/accept`), 403, 'email_not_verified');
    expectStatus(
      await t.client().post('/api/v1/email/verify', { token: await verificationToken(b.client, b.email) }),
      204,
    );
    expectStatus(await b.client.post(`/api/v1/invitations/${invited.id}/accept`), 200);
  });

  it('an address registered first by someone else does not block its owner, and is not revealed by the preview', async () => {
    const admin = await signUp(t, 'Real Co');
    const bob = uniqueEmail('bob');
    // A squatter registers Bob's address first (never verifying it).
    const squatter = t.client();
    expectStatus(
      await squatter.post('/api/v1/signup', {
        organization_name: 'Squat',
        name: 'Not Bob',
        email: bob,
        password: PASSWORD,
      }),
      202,
    );
    // Unverified, it may sign in to its own organization.
    expectStatus(await squatter.post('/api/auth/sign-in/email', { email: bob, password: PASSWORD }), 200);
    const invited = expectStatus(
      await admin.client.post('/api/v1/invitations', { email: bob, role: 'user' }),
      201,
    );
    const preview = expectStatus(await t.client().get(`/api/v1/invitations/${invited.id}/preview`), 200);
    const fresh = expectStatus(
      await t
        .client()
        .get(
          `/api/v1/invitations/${expectStatus(await admin.client.post('/api/v1/invitations', { email: uniqueEmail('new'), role: 'user' }), 201).id}/preview`,
        ),
      200,
    );
    // The same answer for an address with an account and one without: no `existing_user`.
    expect(Object.keys(preview).sort()).toEqual(Object.keys(fresh).sort());
    expect(preview).not.toHaveProperty('existing_user');
    // The real Bob accepts with the link as a new user: the unverified account becomes his.
    const real = t.client();
    expectStatus(
      await real.post(`/api/v1/invitations/${invited.id}/accept`, {
        name: 'Bob',
        password: 'Bobs-Own-Pass-1',
      }),
      200,
    );
    const me = expectStatus(await real.get('/api/v1/me'), 200);
    expect(me.user).toMatchObject({ email: bob, name: 'Bob' });
    expect(me.organization.name).toBe('Real Co');
    // The squatter's session and password are gone.
    expectProblem(await squatter.get('/api/v1/me'), 401);
    expectProblem(await t.client().post('/api/auth/sign-in/email', { email: bob, password: PASSWORD }), 401);
  });

  it('the invitation preview answers the same for an address with a verified account and a new one', async () => {
    const admin = await signUp(t, 'Previewing');
    const known = await addMember(t, admin.client, 'user'); // verified: joined by a link
    const other = await signUp(t, 'Other previewer');
    const preview = async (email: string) => {
      const invited = expectStatus(
        await other.client.post('/api/v1/invitations', { email, role: 'user' }),
        201,
      );
      const body = expectStatus(await t.client().get(`/api/v1/invitations/${invited.id}/preview`), 200);
      return { ...body, email: '<address>', expires_at: '<time>' };
    };
    expect(await preview(known.email)).toEqual(await preview(uniqueEmail('nobody')));
    // Only who holds the link and chooses to create an account learns the address has one.
    const invited = expectStatus(
      await other.client.post('/api/v1/invitations', { email: known.email, role: 'user' }),
      201,
    );
    expectProblem(
      await t
        .client()
        .post(`/api/v1/invitations/${invited.id}/accept`, { name: 'Known', password: PASSWORD }),
      409,
      'account_exists',
    );
  });

  it('a member who joined by invitation link is verified', async () => {
    const admin = await signUp(t, 'Joined');
    const member = await addMember(t, admin.client, 'user');
    const other = await signUp(t, 'Other');
    const invited = expectStatus(
      await other.client.post('/api/v1/invitations', { email: member.email, role: 'viewer' }),
      201,
    );
    expectStatus(await member.client.post(`/api/v1/invitations/${invited.id}/accept`), 200);
  });
});
