import { APIError } from 'better-auth/api';
import { type SecretConfig, symmetricDecrypt } from 'better-auth/crypto';
import { Secret, TOTP } from 'otpauth';
import type { Database } from '../../db/client.js';
import { auditUserEvent } from '../audit/audit.js';

/**
 * Two-factor sign-in (issue 22) around better-auth's twoFactor plugin
 * (https://www.better-auth.com/docs/plugins/2fa): what Cairn adds to the plugin's endpoints (a
 * code to disable, no trusted devices, the audit log) and the organization's requirement.
 */

/** The plugin's endpoints the app uses (reachable through `AUTH_ENDPOINTS`). */
export const TWO_FACTOR_PATHS = new Set([
  '/two-factor/enable',
  '/two-factor/verify-totp',
  '/two-factor/verify-backup-code',
  '/two-factor/disable',
]);

/** What the hooks read of better-auth's middleware context. */
type HookContext = {
  path: string;
  headers?: Headers | undefined;
  context: {
    secret: string;
    secretConfig: string | SecretConfig;
    authCookies: { sessionToken: { name: string } };
    newSession: { user: { id: string } } | null;
    returned?: unknown;
  };
  getSignedCookie(name: string, secret: string): Promise<string | null | false>;
};

/** The user of the request's session cookie, or null. */
async function sessionUserId(database: Database, ctx: HookContext): Promise<string | null> {
  const token = await ctx.getSignedCookie(ctx.context.authCookies.sessionToken.name, ctx.context.secret);
  if (!token) return null;
  const { rows } = await database.raw.query<{ user_id: string }>(
    'select user_id from sessions where token = $1 and expires_at > now()',
    [token],
  );
  return rows[0]?.user_id ?? null;
}

/**
 * Whether `code` is the current TOTP code (one step of clock drift either way, as the plugin
 * allows) of the user's confirmed secret. The plugin keys TOTP with the secret's UTF-8 bytes.
 */
export async function isCurrentTotpCode(
  database: Database,
  key: string | SecretConfig,
  userId: string,
  code: string,
): Promise<boolean> {
  const { rows } = await database.raw.query<{ secret: string }>(
    'select secret from two_factors where user_id = $1 and verified',
    [userId],
  );
  if (!rows[0] || !/^\d{6}$/.test(code)) return false;
  const secret = await symmetricDecrypt({ key, data: rows[0].secret });
  const totp = new TOTP({ secret: Secret.fromUTF8(secret), digits: 6, period: 30, algorithm: 'SHA1' });
  return totp.validate({ token: code, window: 1 }) !== null;
}

/**
 * Before one of the plugin's endpoints: no "trust this device" (every sign-in asks for the code),
 * and disabling takes a current code besides the password.
 * @returns the body to use instead, or undefined to keep it
 * @throws APIError 400 `INVALID_CODE` when disabling without a right code
 */
export async function twoFactorBeforeHook(
  database: Database,
  ctx: HookContext,
  body: Record<string, unknown>,
): Promise<Record<string, unknown> | undefined> {
  if (ctx.path === '/two-factor/disable') {
    const userId = await sessionUserId(database, ctx);
    const code = typeof body.code === 'string' ? body.code.trim() : '';
    if (userId && !(await isCurrentTotpCode(database, ctx.context.secretConfig, userId, code))) {
      throw new APIError('BAD_REQUEST', {
        message: 'Enter the current code of your authenticator app to turn two-factor sign-in off',
        code: 'INVALID_CODE',
      });
    }
    return undefined;
  }
  if ('trustDevice' in body) return { ...body, trustDevice: false };
  return undefined;
}

/**
 * After one of the plugin's endpoints, the audit log: a confirmed first code with a session is
 * two-factor turned on; a right code without one is a sign-in (a recovery code's use audited too);
 * a disable is two-factor turned off. Refusals leave no entry here (a wrong code is rate-limited
 * and locks the second factor after 10 in a row, by the plugin).
 */
export async function twoFactorAfterHook(database: Database, ctx: HookContext): Promise<void> {
  const user = ctx.context.newSession?.user;
  if (!user || ctx.context.returned instanceof Error) return;
  const hadSession = Boolean(
    await ctx.getSignedCookie(ctx.context.authCookies.sessionToken.name, ctx.context.secret),
  );
  const client = {
    ip: ctx.headers?.get('x-cairn-client-ip') ?? null,
    userAgent: ctx.headers?.get('user-agent') ?? null,
    traceId: ctx.headers?.get('x-cairn-trace-id') ?? null,
  };
  const audit = (action: Parameters<typeof auditUserEvent>[3]['action'], details?: Record<string, unknown>) =>
    auditUserEvent(database, { userId: user.id }, client, { action, details });
  if (ctx.path === '/two-factor/disable') return audit('auth.two_factor_disabled');
  if (ctx.path === '/two-factor/verify-totp') {
    return hadSession ? audit('auth.two_factor_enabled') : audit('auth.signed_in', { second_factor: 'totp' });
  }
  if (ctx.path === '/two-factor/verify-backup-code' && !hadSession) {
    await audit('auth.two_factor_recovery_used');
    await audit('auth.signed_in', { second_factor: 'recovery_code' });
  }
}

/** A user's two-factor state and whether their active organization requires it. */
export async function twoFactorStatus(
  database: Database,
  userId: string,
  orgId: string | null,
): Promise<{ enabled: boolean; required: boolean }> {
  const { rows } = await database.raw.query<{ enabled: boolean; required: boolean | null }>(
    `select u.two_factor_enabled as enabled,
            (select require_two_factor from organizations where id = $2) as required
       from users u where u.id = $1`,
    [userId, orgId],
  );
  return {
    enabled: rows[0]?.enabled ?? false,
    required: rows[0]?.required ?? false,
  };
}

/** Sets whether every member of an organization must use two-factor sign-in. */
export async function setTwoFactorRequired(database: Database, orgId: string, required: boolean) {
  await database.raw.query('update organizations set require_two_factor = $2 where id = $1', [
    orgId,
    required,
  ]);
}
