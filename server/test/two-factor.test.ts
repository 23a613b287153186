import { type TOTP, URI } from 'otpauth';
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
} from './kit/index.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t?.close());

type Enabled = { totp: TOTP; backupCodes: string[] };

/** What an authenticator app does with the otpauth URI: the code of now, or of the next step. */
const codeOf = (totp: TOTP, stepsAhead = 0) => totp.generate({ timestamp: Date.now() + stepsAhead * 30_000 });

/** Turns two-factor on for the signed-in client: secret shown once, confirmed with a code. */
async function enableTwoFactor(client: Client): Promise<Enabled> {
  const res = expectStatus(await client.post('/api/auth/two-factor/enable', { password: PASSWORD }), 200);
  expect(res.totpURI).toMatch(/^otpauth:\/\/totp\/Cairn:/);
  const totp = URI.parse(res.totpURI) as TOTP;
  expectStatus(await client.post('/api/auth/two-factor/verify-totp', { code: codeOf(totp) }), 200);
  return { totp, backupCodes: res.backupCodes };
}

/** Signs in with the password from a new device: the answer and the client. */
async function signInWithPassword(email: string) {
  const client = t.client();
  const res = expectStatus(await client.post('/api/auth/sign-in/email', { email, password: PASSWORD }), 200);
  return { client, res };
}

async function auditActions(admin: Client, action: string) {
  return expectStatus(await admin.get(`/api/v1/audit?action=${action}`), 200).data as {
    details: Record<string, unknown>;
  }[];
}

describe('two-factor sign-in (TOTP)', () => {
  it('is turned on with a confirming code; the secret and 10 recovery codes are shown once; audited', async () => {
    const admin = await signUp(t, 'Two-factor on');
    expect(expectStatus(await admin.client.get('/api/v1/me/two-factor'), 200)).toEqual({
      enabled: false,
      required: false,
    });
    const res = expectStatus(
      await admin.client.post('/api/auth/two-factor/enable', { password: PASSWORD }),
      200,
    );
    expect(res.backupCodes).toHaveLength(10);
    // Not on until a code proves the authenticator app holds the secret.
    expect(expectStatus(await admin.client.get('/api/v1/me/two-factor'), 200).enabled).toBe(false);
    expectProblem(await admin.client.post('/api/auth/two-factor/verify-totp', { code: '000000' }), 401, {
      code: 'invalid_code',
    });
    const totp = URI.parse(res.totpURI) as TOTP;
    expectStatus(await admin.client.post('/api/auth/two-factor/verify-totp', { code: codeOf(totp) }), 200);
    expect(expectStatus(await admin.client.get('/api/v1/me/two-factor'), 200).enabled).toBe(true);
    // The session goes on (better-auth swapped it for a new one).
    expectStatus(await admin.client.get('/api/v1/contacts'), 200);
    expect(await auditActions(admin.client, 'auth.two_factor_enabled')).toHaveLength(1);
    // Enabling again is refused: the secret is never shown twice.
    expectProblem(await admin.client.post('/api/auth/two-factor/enable', { password: PASSWORD }), 400);
    // The secret is stored encrypted, and no tenant query (the app role) can read the table.
    const { rows } = await t.services.database.raw.query<{ secret: string }>(
      'select secret from two_factors where user_id = $1',
      [admin.userId],
    );
    expect(rows[0]!.secret).not.toContain(new URL(res.totpURI).searchParams.get('secret'));
    const ctx = { orgId: admin.orgId, actor: { type: 'user' as const, id: admin.userId } };
    await expect(
      withTenant(t.services.database, ctx, ({ conn }) => conn.query('select * from two_factors')),
    ).rejects.toThrow(/permission denied/);
  });

  it('a sign-in asks for the code after the password; a wrong one opens nothing; trust is not kept', async () => {
    const admin = await signUp(t, 'Two-factor sign-in');
    const { totp } = await enableTwoFactor(admin.client);
    const { client, res } = await signInWithPassword(admin.email);
    expect(res).toMatchObject({ twoFactorRedirect: true, twoFactorMethods: ['totp'] });
    expectProblem(await client.get('/api/v1/me'), 401);
    expectProblem(await client.post('/api/auth/two-factor/verify-totp', { code: '123456' }), 401, {
      code: 'invalid_code',
    });
    expectProblem(await client.get('/api/v1/me'), 401);
    expectStatus(
      await client.post('/api/auth/two-factor/verify-totp', { code: codeOf(totp, 1), trustDevice: true }),
      200,
    );
    expect(expectStatus(await client.get('/api/v1/me'), 200).user.email).toBe(admin.email);
    // "Trust this device" is not offered: the same browser is asked again next time.
    expectStatus(await client.post('/api/auth/sign-out', {}), 200);
    const again = expectStatus(
      await client.post('/api/auth/sign-in/email', { email: admin.email, password: PASSWORD }),
      200,
    );
    expect(again.twoFactorRedirect).toBe(true);
    // One sign-in audited for the first client's password+code, none for the pending second one
    // (the one without a second factor is the sign-in after sign-up, before two-factor was on).
    const signIns = await auditActions(admin.client, 'auth.signed_in');
    expect(signIns.filter((e) => e.details.second_factor === 'totp')).toHaveLength(1);
    expect(signIns.filter((e) => e.details.second_factor === undefined)).toHaveLength(1);
    // A code without a pending sign-in is refused.
    expectProblem(await t.client().post('/api/auth/two-factor/verify-totp', { code: codeOf(totp) }), 401);
  });

  it('a recovery code signs in once, and its use is audited', async () => {
    const admin = await signUp(t, 'Recovery');
    const { backupCodes } = await enableTwoFactor(admin.client);
    const first = await signInWithPassword(admin.email);
    expectStatus(
      await first.client.post('/api/auth/two-factor/verify-backup-code', { code: backupCodes[0] }),
      200,
    );
    expectStatus(await first.client.get('/api/v1/me'), 200);
    const second = await signInWithPassword(admin.email);
    expectProblem(
      await second.client.post('/api/auth/two-factor/verify-backup-code', { code: backupCodes[0] }),
      401,
    );
    expectProblem(await second.client.get('/api/v1/me'), 401);
    const used = await auditActions(admin.client, 'auth.two_factor_recovery_used');
    expect(used).toHaveLength(1);
  });

  it('is turned off only with the password and a current code; audited', async () => {
    const admin = await signUp(t, 'Two-factor off');
    const { totp } = await enableTwoFactor(admin.client);
    const device = (await signInWithPassword(admin.email)).client;
    expectStatus(await device.post('/api/auth/two-factor/verify-totp', { code: codeOf(totp) }), 200);
    expectProblem(await device.post('/api/auth/two-factor/disable', { password: PASSWORD }), 400, {
      code: 'invalid_code',
    });
    expectProblem(
      await device.post('/api/auth/two-factor/disable', { password: PASSWORD, code: '000000' }),
      400,
      { code: 'invalid_code' },
    );
    expect(expectStatus(await admin.client.get('/api/v1/me/two-factor'), 200).enabled).toBe(true);
    const other = (await signInWithPassword(admin.email)).client;
    expectStatus(await other.post('/api/auth/two-factor/verify-totp', { code: codeOf(totp) }), 200);
    expectStatus(
      await other.post('/api/auth/two-factor/disable', { password: PASSWORD, code: codeOf(totp) }),
      200,
    );
    expect(expectStatus(await admin.client.get('/api/v1/me/two-factor'), 200).enabled).toBe(false);
    expect(await auditActions(admin.client, 'auth.two_factor_disabled')).toHaveLength(1);
    const { client, res } = await signInWithPassword(admin.email);
    expect(res.twoFactorRedirect).toBeUndefined();
    expectStatus(await client.get('/api/v1/me'), 200);
  });

  it('an admin requires it of everyone: a member without it may only set it up (403 two_factor_required)', async () => {
    const admin = await signUp(t, 'Required');
    const member = await addMember(t, admin.client, 'user');
    expectProblem(
      await admin.client.put('/api/v1/security/two-factor-requirement', { required: true }),
      409,
      { code: 'two_factor_not_enabled', path: 'body.required' },
    );
    await enableTwoFactor(admin.client);
    expectProblem(
      await member.client.put('/api/v1/security/two-factor-requirement', { required: true }),
      403,
    );
    expect(
      expectStatus(
        await admin.client.put('/api/v1/security/two-factor-requirement', { required: true }),
        200,
      ),
    ).toEqual({ enabled: true, required: true });
    expectProblem(await member.client.get('/api/v1/contacts'), 403, { code: 'two_factor_required' });
    expectProblem(await member.client.get('/api/v1/me/sessions'), 403, { code: 'two_factor_required' });
    expectStatus(await member.client.get('/api/v1/me'), 200);
    expect(expectStatus(await member.client.get('/api/v1/me/two-factor'), 200)).toEqual({
      enabled: false,
      required: true,
    });
    await enableTwoFactor(member.client);
    expectStatus(await member.client.get('/api/v1/contacts'), 200);
    // The admin's own work was never held up; the change is in the audit log.
    expectStatus(await admin.client.get('/api/v1/contacts'), 200);
    const changes = await auditActions(admin.client, 'auth.two_factor_policy_changed');
    expect(changes.map((e) => e.details)).toEqual([{ required: true }]);
  });

  it('only the two-factor endpoints the app uses are reachable', async () => {
    const admin = await signUp(t, 'Surface');
    for (const path of ['get-totp-uri', 'generate-backup-codes', 'send-otp', 'verify-otp']) {
      expectProblem(await admin.client.post(`/api/auth/two-factor/${path}`, { password: PASSWORD }), 404);
    }
  });
});
