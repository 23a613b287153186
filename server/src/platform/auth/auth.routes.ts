import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { fromNodeHeaders } from 'better-auth/node';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Database } from '../../db/client.js';
import { isRole } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import { ExpiringCache } from '../cache/expiring-cache.js';
import { AppError } from '../errors/app-error.js';
import { sendProblem } from '../http/problem.js';
import type { ApiApp } from '../http/types.js';
import { type Auth, sessionUpdateAgeS } from './auth.js';

/** The header better-auth reads the client IP from; always overwritten from the socket. */
const CLIENT_IP_HEADER = 'x-cairn-client-ip';
/** The request's trace id, for the audit log of sign-ins; always overwritten. */
export const TRACE_ID_HEADER = 'x-cairn-trace-id';

/** Builds the Web Request better-auth's handler takes from a Fastify request. */
export function toWebRequest(req: FastifyRequest, baseUrl: string): Request {
  const headers = fromNodeHeaders(req.headers);
  headers.set(CLIENT_IP_HEADER, req.ip);
  headers.set(TRACE_ID_HEADER, String(req.id));
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD' && req.body !== undefined;
  return new Request(new URL(req.url, baseUrl), {
    method: req.method,
    headers,
    body: hasBody ? JSON.stringify(req.body) : undefined,
  });
}

/** Copies a Web Response (status, headers, every Set-Cookie) onto a Fastify reply. */
export async function sendWebResponse(req: FastifyRequest, reply: FastifyReply, res: Response) {
  res.headers.forEach((value, key) => {
    if (key !== 'set-cookie' && key !== 'content-length') reply.header(key, value);
  });
  const cookies = res.headers.getSetCookie();
  if (cookies.length > 0) reply.header('set-cookie', cookies);
  const text = res.body ? await res.text() : '';
  if (res.status >= 400) {
    // better-auth answers `{code, message}`; the API contract says problem+json.
    let parsed: { code?: string; message?: string } = {};
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { message: text || res.statusText };
    }
    const retryAfter = res.headers.get('retry-after') ?? res.headers.get('x-retry-after');
    return sendProblem(
      req,
      reply,
      new AppError(
        res.status,
        (parsed.code ?? statusCode(res.status)).toLowerCase(),
        parsed.message ?? 'Refused',
        {
          retryAfterS: retryAfter ? Number(retryAfter) : undefined,
        },
      ),
    );
  }
  reply.status(res.status);
  return reply.send(text === '' ? null : text);
}

/** The answer to a member the guard locked out (until an admin resolves the incident). */
export function guardLocked(): AppError {
  return new AppError(
    403,
    'guard_locked',
    'The guard locked your account in this organization after unusual activity; an admin must review it before you can continue',
  );
}

function statusCode(status: number): string {
  if (status === 429) return 'rate_limited';
  if (status === 401) return 'unauthenticated';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  return 'invalid_request';
}

/**
 * The better-auth endpoints reachable over HTTP, under `/api/auth`: those the web app and API
 * clients use (README "First steps"). Every other better-auth endpoint (update-user, the
 * organization plugin's set-active and get-full-organization, sign-up without an organization,
 * ...) answers 404 `route_not_found` like any unknown path: the app has its own routes for those
 * (`/api/v1/signup`, `/api/v1/me/active-organization`, members, invitations), and an unused
 * endpoint is attack surface (a refused organization call used to clear the caller's active
 * organization). The server still calls better-auth in-process (`auth.api`, `auth.handler`).
 */
export const AUTH_ENDPOINTS = [
  { method: 'POST', path: '/sign-in/email' },
  { method: 'POST', path: '/sign-out' },
  { method: 'GET', path: '/get-session' },
  // Two-factor (better-auth's twoFactor plugin): set up, confirm / sign in with a code or a
  // recovery code, turn off. Not exposed: get-totp-uri, regenerating codes, OTP by mail, trust.
  { method: 'POST', path: '/two-factor/enable' },
  { method: 'POST', path: '/two-factor/verify-totp' },
  { method: 'POST', path: '/two-factor/verify-backup-code' },
  { method: 'POST', path: '/two-factor/disable' },
] as const;

/**
 * Mounts the better-auth endpoints of `AUTH_ENDPOINTS` at `/api/auth/*`
 * (https://www.better-auth.com/docs/integrations/fastify); their errors become problem+json.
 */
export function registerAuthHandler(app: ApiApp, auth: Auth, baseUrl: string): void {
  for (const endpoint of AUTH_ENDPOINTS) {
    app.route({
      method: endpoint.method,
      url: `/api/auth${endpoint.path}`,
      schema: { hide: true },
      config: { access: 'public' },
      handler: async (req, reply) =>
        sendWebResponse(req, reply, await auth.handler(toWebRequest(req, baseUrl))),
    });
  }
}

/** better-auth's session cookie, plain or `__Secure-` prefixed (https). */
const SESSION_COOKIE = /(?:^|;\s*)(?:__Secure-)?better-auth\.session_token=([^;]+)/;

/**
 * The session token of a signed better-auth cookie (`token.base64(HMAC-SHA256(secret, token))`,
 * URI-encoded: better-call's signed cookies), or null when absent or not signed with `secret`.
 */
export function verifiedSessionToken(cookieHeader: string, secret: string): string | null {
  const raw = SESSION_COOKIE.exec(cookieHeader)?.[1];
  if (!raw) return null;
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    return null;
  }
  const dot = value.lastIndexOf('.');
  if (dot < 1) return null;
  const token = value.slice(0, dot);
  const given = Buffer.from(value.slice(dot + 1));
  const expected = Buffer.from(createHmac('sha256', secret).update(token).digest('base64'));
  return given.length === expected.length && timingSafeEqual(given, expected) ? token : null;
}

/** A session row as the principal check reads it (session, user and membership together). */
type SessionRow = {
  session_id: string;
  user_id: string;
  expires_ms: string;
  org_id: string | null;
  email: string;
  name: string;
  role: string | null;
  two_factor_setup_required: boolean;
  /** The guard locked this member out of the session's organization until an admin reviews. */
  guard_locked: boolean;
};

/** How long a session check is reused in this process, ms. */
export const SESSION_CACHE_MS = 5_000;
const SESSION_CACHE_MAX = 10_000;

/**
 * Session checks of this process, reused for SESSION_CACHE_MS so that a request does not pay a
 * database round trip for its session (issue 18). Keyed by the SHA-256 of the session token (the
 * token itself is not kept as a key). Bounded: the oldest entry goes past SESSION_CACHE_MAX. A
 * sign-out, an organization switch or a membership change handled by this process clears it
 * (`forgetCachedSessions`); one made by another process reaches this one within SESSION_CACHE_MS.
 */
const sessionCache = new ExpiringCache<SessionRow>(SESSION_CACHE_MS, SESSION_CACHE_MAX);

/** Clears the session checks this process reuses (identity data changed). */
export function forgetCachedSessions(): void {
  sessionCache.clear();
}

const cacheKeyOf = (token: string) => createHash('sha256').update(token).digest('base64url');

/**
 * Identity mutations after which no cached session check may be reused: everything under
 * `/api/auth/` (sign-out, organization switch, better-auth's organization calls) and the
 * organization module's writes (members, invitations, organizations, sign-up, active organization)
 * a password reset (which ends every session of the account) and the two-factor requirement.
 */
const IDENTITY_MUTATION =
  /^\/api\/(?:auth\/|v1\/(?:signup|me\b|organizations|members|invitations|password|security))/;

/** Installs the clearing of the session cache after every identity mutation this process serves. */
export function installSessionCacheInvalidation(app: ApiApp): void {
  app.addHook('onResponse', (req, _reply, done) => {
    if (req.method !== 'GET' && req.method !== 'HEAD' && IDENTITY_MUTATION.test(req.url))
      forgetCachedSessions();
    done();
  });
}

/**
 * Resolves the principal of a request from its session cookie, and checks on every request that
 * the user is still a member of the session's active organization (a removed member keeps no
 * access). The common case is one query (session, user and membership together), reused for
 * SESSION_CACHE_MS (see `sessionCache`); when the session is due for its sliding refresh,
 * better-auth's own getSession runs, renews it and re-sends the cookie.
 */
export function principalResolver(
  auth: Auth,
  database: Database,
  config: { secret: string; sessionIdleTimeoutS: number },
) {
  const refreshWindowMs = (config.sessionIdleTimeoutS - sessionUpdateAgeS(config.sessionIdleTimeoutS)) * 1000;
  const lookUp = async (token: string): Promise<SessionRow | undefined> => {
    const { rows } = await database.raw.query<SessionRow>(
      `select s.id as session_id, s.user_id, (extract(epoch from s.expires_at) * 1000)::bigint::text as expires_ms,
              s.active_organization_id as org_id, u.email, u.name, m.role,
              (coalesce(o.require_two_factor, false) and not u.two_factor_enabled) as two_factor_setup_required,
              (m.guard_locked_at is not null) as guard_locked
         from sessions s
         join users u on u.id = s.user_id
         left join members m on m.organization_id = s.active_organization_id and m.user_id = s.user_id
         left join organizations o on o.id = m.organization_id
        where s.token = $1`,
      [token],
    );
    return rows[0];
  };
  return async (req: FastifyRequest, reply?: FastifyReply): Promise<Principal | null> => {
    if (!req.headers.cookie) return null;
    const token = verifiedSessionToken(req.headers.cookie, config.secret);
    if (!token) return null;
    const key = cacheKeyOf(token);
    // One lookup per session at a time, and while the session is in use, renewed in the background
    // before it expires: requests carrying it never wait for the lookup after the first one.
    const load = () => lookUp(token);
    const row = sessionCache.peekRefreshing(key, load) ?? (await sessionCache.get(key, load));
    const expiresMs = Number(row?.expires_ms ?? 0);
    if (!row || expiresMs <= Date.now()) return null;
    if (expiresMs - refreshWindowMs <= Date.now()) {
      // Due for the sliding refresh: let better-auth renew the session and its cookie.
      const { headers, response } = await auth.api.getSession({
        headers: fromNodeHeaders(req.headers),
        returnHeaders: true,
      });
      const cookies = headers?.getSetCookie() ?? [];
      if (cookies.length > 0 && reply) reply.header('set-cookie', cookies);
      // Renewed (new expiry) or refused: either way the cached row is stale.
      sessionCache.delete(key);
      if (!response) return null;
    }
    // A custom role (issue 22) acts with a user's coarse permissions, narrowed by its own rights.
    const customRole = row.role !== null && !isRole(row.role) ? row.role : undefined;
    const role = isRole(row.role) ? row.role : customRole ? ('user' as const) : null;
    if (role && row.guard_locked) {
      // Locked by the guard (issue 22): nothing in this organization until an admin unlocks;
      // the user's own routes (`authenticated`: profile, organizations, switching) still answer.
      const access = req.routeOptions.config?.access;
      if (access !== 'authenticated' && access !== 'public') throw guardLocked();
      return {
        type: 'user',
        userId: row.user_id,
        email: row.email,
        name: row.name,
        sessionId: row.session_id,
        orgId: null,
        role: null,
      };
    }
    return {
      customRole,
      type: 'user',
      userId: row.user_id,
      email: row.email,
      name: row.name,
      sessionId: row.session_id,
      orgId: role ? row.org_id : null,
      role,
      twoFactorSetupRequired: Boolean(role && row.two_factor_setup_required),
    };
  };
}
