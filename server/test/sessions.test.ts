import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  expectProblem,
  expectStatus,
  PASSWORD,
  signUp,
  startTestApp,
  type TestApp,
} from './kit/index.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t?.close());

type Session = { id: string; current: boolean; ip: string | null; user_agent: string | null };

describe('session management', () => {
  it('lists my sessions and ends one; the other device is signed out at once', async () => {
    const admin = await signUp(t, 'Sessions');
    const laptop = t.client();
    expectStatus(
      await laptop.post(
        '/api/auth/sign-in/email',
        { email: admin.email, password: PASSWORD },
        { 'user-agent': 'Laptop/1' },
      ),
      200,
    );
    const mine = expectStatus(await admin.client.get('/api/v1/me/sessions'), 200).data as Session[];
    expect(mine).toHaveLength(2);
    expect(mine.filter((s) => s.current)).toHaveLength(1);
    const other = mine.find((s) => !s.current)!;
    expect(other).toMatchObject({ ip: laptop.ip, user_agent: 'Laptop/1' });
    expectStatus(await admin.client.delete(`/api/v1/me/sessions/${other.id}`), 204);
    expectProblem(await laptop.get('/api/v1/me'), 401);
    expectStatus(await admin.client.get('/api/v1/me'), 200);
    // Someone else's session is not mine to end.
    const someone = await signUp(t, 'Someone');
    const theirs = (expectStatus(await someone.client.get('/api/v1/me/sessions'), 200).data as Session[])[0]!;
    expectProblem(await admin.client.delete(`/api/v1/me/sessions/${theirs.id}`), 404);
    expectStatus(await someone.client.get('/api/v1/me'), 200);
  });

  it("an admin ends a member's sessions, audited; not a non-member's", async () => {
    const admin = await signUp(t, 'Admin ends');
    const member = await addMember(t, admin.client, 'user');
    const outsider = await signUp(t, 'Outside');
    expectStatus(await admin.client.delete(`/api/v1/members/${member.userId}/sessions`), 204);
    expectProblem(await member.client.get('/api/v1/me'), 401);
    expectProblem(await admin.client.delete(`/api/v1/members/${outsider.userId}/sessions`), 404);
    expectStatus(await outsider.client.get('/api/v1/me'), 200);
    expectProblem(await member.client.delete(`/api/v1/members/${admin.userId}/sessions`), 401);
    const log = expectStatus(await admin.client.get('/api/v1/audit?action=auth.sessions_revoked'), 200);
    expect(log.data).toHaveLength(1);
    expect(log.data[0]).toMatchObject({ target: { id: member.userId }, details: { sessions: 1 } });
  });

  it('a password change needs the current password and signs out the other sessions', async () => {
    const admin = await signUp(t, 'Change');
    const phone = t.client();
    expectStatus(
      await phone.post('/api/auth/sign-in/email', { email: admin.email, password: PASSWORD }),
      200,
    );
    expectProblem(
      await admin.client.post('/api/v1/me/password', {
        current_password: 'Wrong-Pass-1',
        new_password: 'New-Pass-123',
      }),
      400,
      { code: 'invalid_password', path: 'body.current_password' },
    );
    expectProblem(
      await admin.client.post('/api/v1/me/password', {
        current_password: PASSWORD,
        new_password: 'weakweak',
      }),
      400,
      { path: 'body.new_password' },
    );
    expectStatus(
      await admin.client.post('/api/v1/me/password', {
        current_password: PASSWORD,
        new_password: 'New-Pass-123',
      }),
      204,
    );
    expectStatus(await admin.client.get('/api/v1/me'), 200);
    expectProblem(await phone.get('/api/v1/me'), 401);
    expectStatus(
      await t.client().post('/api/auth/sign-in/email', { email: admin.email, password: 'New-Pass-123' }),
      200,
    );
    expectProblem(
      await t.client().post('/api/auth/sign-in/email', { email: admin.email, password: PASSWORD }),
      401,
    );
  });
});
