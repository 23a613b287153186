import { betterAuth } from 'better-auth';
import { drizzleAdapter } from 'better-auth/adapters/drizzle';
import { APIError, createAuthMiddleware } from 'better-auth/api';
import { organization, twoFactor } from 'better-auth/plugins';
import { createAccessControl } from 'better-auth/plugins/access';
import { defaultStatements } from 'better-auth/plugins/organization/access';
import { asc, eq } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Database } from '../../db/client.js';
import { auditUserEvent } from '../audit/audit.js';
import type { Mailer } from '../mail/mailer.js';
import { authSchema, members } from './auth.schema.js';
import { LOCKOUT_MINUTES, lockoutGuard } from './lockout.js';
import { passwordProblem } from './password-policy.js';
import { TWO_FACTOR_PATHS, twoFactorAfterHook, twoFactorBeforeHook } from './two-factor.js';

// The organization plugin's own permission statements, mapped to our three roles. Our routes
// check `platform/access/permissions.ts`; these only gate the plugin's endpoints.
const ac = createAccessControl({ ...defaultStatements });
export const authRoles = {
  admin: ac.newRole({
    organization: ['update'],
    member: ['create', 'update', 'delete'],
    invitation: ['create', 'cancel'],
  }),
  user: ac.newRole({}),
  viewer: ac.newRole({}),
};

/**
 * The longest user name, in characters: the same limit as the API's person names (`PersonName`
 * of sign-up and invitations) and the registry's short text fields' order of size.
 */
export const USER_NAME_MAX_LENGTH = 120;
/** The longest profile image URL, in characters: the registry's URL fields' limit. */
export const USER_IMAGE_MAX_LENGTH = 2048;

/**
 * A user row about to be written, refused when its name or image is too long or its name empty:
 * applied to every write of the users table, whatever the caller (sign-up, the CLI, better-auth's
 * own endpoints), so no path stores a 1 MB name.
 * @throws APIError 400 `VALIDATION_FAILED`
 */
function checkUserFields(user: { name?: unknown; image?: unknown }): void {
  const tooLong = (value: unknown, max: number) => typeof value === 'string' && value.length > max;
  if (
    tooLong(user.name, USER_NAME_MAX_LENGTH) ||
    (typeof user.name === 'string' && user.name.trim() === '')
  ) {
    throw new APIError('BAD_REQUEST', {
      message: `A name has 1 to ${USER_NAME_MAX_LENGTH} characters`,
      code: 'VALIDATION_FAILED',
    });
  }
  if (tooLong(user.image, USER_IMAGE_MAX_LENGTH)) {
    throw new APIError('BAD_REQUEST', {
      message: `An image URL has at most ${USER_IMAGE_MAX_LENGTH} characters`,
      code: 'VALIDATION_FAILED',
    });
  }
}

/** Where an invitation's accept link points (the web app's page, which calls the API). */
export function invitationLink(baseUrl: string, invitationId: string): string {
  return `${baseUrl}/accept-invitation/${invitationId}`;
}

/** The client of a better-auth call, from the headers our HTTP layer sets (`toWebRequest`). */
function clientOf(headers: Headers | undefined) {
  return {
    ip: headers?.get('x-cairn-client-ip') ?? null,
    userAgent: headers?.get('user-agent') ?? null,
    traceId: headers?.get('x-cairn-trace-id') ?? null,
  };
}

/** How long an e-mail verification link works, seconds. */
export const EMAIL_VERIFICATION_TTL_S = 24 * 3600;

/** How long a password reset link works, seconds (issue 22: one hour, single use). */
export const PASSWORD_RESET_TTL_S = 3600;

/** The web app's page a password reset link opens; it posts the token to `/api/v1/password/reset`. */
export function passwordResetLink(baseUrl: string, token: string): string {
  return `${baseUrl}/reset-password?token=${encodeURIComponent(token)}`;
}

export type AuthOptions = {
  /** System e-mail (password reset links). */
  mailer?: Mailer;
  /** Called with each new invitation; the default logs the link (no mail server configured). */
  onInvitation?: (invitation: { id: string; email: string; role: string; link: string }) => void;
};

/**
 * better-auth configured for Cairn: email + password, server-side sessions in HttpOnly
 * SameSite=Lax cookies (Secure when BASE_URL is https) with a sliding idle timeout, per-account
 * lockout (5 failures -> 15 minutes) and a per-IP limit on sign-in, the Origin check kept on in
 * every environment, uuid ids, and organizations with admin/user/viewer roles.
 * Docs: https://www.better-auth.com/docs
 */
export function createAuth(config: Config, database: Database, options: AuthOptions = {}) {
  const idle = config.sessionIdleTimeoutS;
  const lockout = lockoutGuard(database);
  return betterAuth({
    appName: 'Cairn',
    baseURL: config.baseUrl,
    basePath: '/api/auth',
    secret: config.secret,
    trustedOrigins: config.trustedOrigins,
    database: drizzleAdapter(database.db, { provider: 'pg', schema: authSchema }),
    emailAndPassword: {
      enabled: true,
      minPasswordLength: 8,
      maxPasswordLength: 128,
      // Sign-up never signs in (issue 22): it answers the same for a new address and a taken one
      // (better-auth's generic duplicate response, a synthetic user), so it tells no stranger
      // whether an address has an account; the difference goes by e-mail. The new user signs in.
      autoSignIn: false,
      onExistingUserSignUp: async ({ user }) => {
        void options.mailer?.send({
          kind: 'signup_attempt',
          to: user.email,
          subject: 'Someone tried to sign up to Cairn with your address',
          text:
            `Someone tried to create a Cairn account with your address (${user.email}), which already has one.\n\n` +
            'Nothing was changed. If it was you, sign in instead, or reset your password from the sign-in page.\n' +
            'If it was not you, you can ignore this message.\n',
        });
      },
      // Single use (better-auth consumes the token), an hour, and every session of the account ends.
      resetPasswordTokenExpiresIn: PASSWORD_RESET_TTL_S,
      revokeSessionsOnPasswordReset: true,
      sendResetPassword: async ({ user, token }) => {
        // Not awaited: a known address must not answer slower than an unknown one.
        void options.mailer?.send({
          kind: 'password_reset',
          to: user.email,
          subject: 'Reset your Cairn password',
          text:
            `Someone asked to reset the password of your Cairn account (${user.email}).\n\n` +
            `Choose a new password here (the link works once, for one hour):\n` +
            `${passwordResetLink(config.baseUrl, token)}\n\n` +
            'If it was not you, ignore this message: your password stays as it is.\n',
        });
      },
    },
    emailVerification: {
      // Sent by Cairn's own routes (sign-up, resend), once the user has an organization.
      sendOnSignUp: false,
      autoSignInAfterVerification: false,
      expiresIn: EMAIL_VERIFICATION_TTL_S,
      sendVerificationEmail: async ({ user, token }) => {
        void options.mailer?.send({
          kind: 'email_verification',
          to: user.email,
          subject: 'Confirm your e-mail address for Cairn',
          text:
            `Confirm that ${user.email} is your address (the link works for 24 hours):\n` +
            `${config.baseUrl}/verify-email?token=${encodeURIComponent(token)}\n\n` +
            'Until then, this account cannot join an organization by invitation.\n',
        });
      },
    },
    session: {
      // Sliding expiry = idle timeout: each use after `updateAge` pushes expiry to now + idle.
      expiresIn: idle,
      updateAge: sessionUpdateAgeS(idle),
      cookieCache: { enabled: false }, // every request reads the session row: sign-out is immediate
    },
    rateLimit: {
      enabled: true,
      storage: 'database',
      modelName: 'rateLimit',
      window: 60,
      max: 300,
      customRules: {
        '/sign-in/email': { window: 60, max: config.signInPerIpPerMinute },
        '/sign-up/email': { window: 60, max: config.signInPerIpPerMinute },
        '/get-session': false,
      },
    },
    advanced: {
      database: { generateId: 'uuid' },
      // Our Fastify route sets this header from the socket (or the trusted proxy), never the client.
      ipAddress: { ipAddressHeaders: ['x-cairn-client-ip'] },
      defaultCookieAttributes: { sameSite: 'lax', httpOnly: true },
      disableOriginCheck: false,
      disableCSRFCheck: false,
    },
    hooks: {
      before: createAuthMiddleware(async (ctx) => {
        const body = (ctx.body ?? {}) as Record<string, unknown>;
        if (ctx.path === '/sign-out') {
          // Audited before the session is gone (who signed out, from which session's user).
          const token = await ctx.getSignedCookie(
            ctx.context.authCookies.sessionToken.name,
            ctx.context.secret,
          );
          const { rows } = token
            ? await database.raw.query<{ user_id: string }>('select user_id from sessions where token = $1', [
                token,
              ])
            : { rows: [] };
          if (rows[0]) {
            await auditUserEvent(database, { userId: rows[0].user_id }, clientOf(ctx.headers), {
              action: 'auth.signed_out',
            });
          }
        }
        if (ctx.path === '/sign-in/email') {
          await lockout.assertNotLocked(String(body.email ?? ''));
          // A "don't remember me" session would get a fixed 24 h and skip the idle timeout.
          if (body.rememberMe === false) return { context: { body: { ...body, rememberMe: true } } };
        }
        if (
          ctx.path === '/sign-up/email' ||
          ctx.path === '/reset-password' ||
          ctx.path === '/change-password'
        ) {
          const password = String(body.password ?? body.newPassword ?? '');
          const problem = passwordProblem(password);
          if (problem) throw new APIError('BAD_REQUEST', { message: problem, code: 'WEAK_PASSWORD' });
        }
        if (TWO_FACTOR_PATHS.has(ctx.path)) {
          const changed = await twoFactorBeforeHook(database, ctx, body);
          if (changed) return { context: { body: changed } };
        }
        const invitationId = body.invitationId;
        if (invitationId !== undefined && !/^[0-9a-f-]{36}$/i.test(String(invitationId))) {
          throw new APIError('NOT_FOUND', { message: 'Invitation not found', code: 'INVITATION_NOT_FOUND' });
        }
        return undefined;
      }),
      after: createAuthMiddleware(async (ctx) => {
        if (TWO_FACTOR_PATHS.has(ctx.path)) return twoFactorAfterHook(database, ctx);
        if (ctx.path !== '/sign-in/email') return;
        const email = String((ctx.body as { email?: unknown } | undefined)?.email ?? '');
        const returned = ctx.context.returned;
        const client = clientOf(ctx.headers);
        if (returned instanceof APIError && returned.statusCode === 401) {
          const lockedNow = await lockout.recordFailure(email);
          await auditUserEvent(database, { email }, client, { action: 'auth.sign_in_failed' });
          if (lockedNow) {
            await auditUserEvent(database, { email }, client, {
              action: 'auth.locked_out',
              details: { minutes: LOCKOUT_MINUTES },
            });
          }
        } else if (ctx.context.newSession) {
          await lockout.recordSuccess(email);
          // With two-factor on, the password was only the first step: audited once the code is right.
          if ((ctx.context.newSession.user as { twoFactorEnabled?: boolean }).twoFactorEnabled) return;
          await auditUserEvent(database, { userId: ctx.context.newSession.user.id }, client, {
            action: 'auth.signed_in',
          });
        }
      }),
    },
    databaseHooks: {
      user: {
        create: { before: async (user) => checkUserFields(user) },
        update: { before: async (user) => checkUserFields(user) },
      },
      session: {
        create: {
          // One active organization per session: a new session starts in the user's first one.
          before: async (session) => {
            if ((session as { activeOrganizationId?: string | null }).activeOrganizationId) return;
            const [first] = await database.db
              .select({ organizationId: members.organizationId })
              .from(members)
              .where(eq(members.userId, session.userId))
              .orderBy(asc(members.createdAt))
              .limit(1);
            return { data: { ...session, activeOrganizationId: first?.organizationId ?? null } };
          },
        },
      },
    },
    plugins: [
      // TOTP (RFC 6238, 6 digits, 30 s) with 10 single-use recovery codes, both encrypted at rest;
      // https://www.better-auth.com/docs/plugins/2fa. A sign-in with a right password answers
      // `{twoFactorRedirect: true}` and a short-lived cookie; the code then opens the session.
      twoFactor({ issuer: 'Cairn', skipVerificationOnEnable: false }),
      organization({
        ac,
        roles: authRoles,
        creatorRole: 'admin',
        allowUserToCreateOrganization: false,
        invitationExpiresIn: 7 * 24 * 3600,
        cancelPendingInvitationsOnReInvite: true,
        sendInvitationEmail: async (data) => {
          const link = invitationLink(config.baseUrl, data.id);
          if (options.onInvitation) {
            options.onInvitation({ id: data.id, email: data.email, role: String(data.role), link });
          }
        },
      }),
    ],
  });
}

export type Auth = ReturnType<typeof createAuth>;

/** How long a session is used before its expiry slides forward (better-auth's `updateAge`), seconds. */
export function sessionUpdateAgeS(idleTimeoutS: number): number {
  return Math.max(1, Math.min(3600, Math.floor(idleTimeoutS / 10)));
}
