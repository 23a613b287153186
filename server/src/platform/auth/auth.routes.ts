import { fromNodeHeaders } from 'better-auth/node';
import { and, eq } from 'drizzle-orm';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Database } from '../../db/client.js';
import { isRole } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import { AppError } from '../errors/app-error.js';
import { sendProblem } from '../http/problem.js';
import type { ApiApp } from '../http/types.js';
import type { Auth } from './auth.js';
import { members } from './auth.schema.js';

/** The header better-auth reads the client IP from; always overwritten from the socket. */
const CLIENT_IP_HEADER = 'x-cairn-client-ip';

/** Builds the Web Request better-auth's handler takes from a Fastify request. */
export function toWebRequest(req: FastifyRequest, baseUrl: string): Request {
  const headers = fromNodeHeaders(req.headers);
  headers.set(CLIENT_IP_HEADER, req.ip);
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

function statusCode(status: number): string {
  if (status === 429) return 'rate_limited';
  if (status === 401) return 'unauthenticated';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  return 'invalid_request';
}

/**
 * Mounts better-auth's endpoints at `/api/auth/*` (sign-up, sign-in, sign-out, session,
 * organization and invitation endpoints; https://www.better-auth.com/docs/integrations/fastify).
 */
export function registerAuthHandler(app: ApiApp, auth: Auth, baseUrl: string): void {
  app.route({
    method: ['GET', 'POST'],
    url: '/api/auth/*',
    schema: { hide: true },
    config: { access: 'public' },
    handler: async (req, reply) =>
      sendWebResponse(req, reply, await auth.handler(toWebRequest(req, baseUrl))),
  });
}

/**
 * Resolves the principal of a request from its session cookie, and checks on every request that
 * the user is still a member of the session's active organization (a removed member keeps no
 * access). Forwards better-auth's refreshed cookie (sliding idle timeout).
 */
export function principalResolver(auth: Auth, database: Database) {
  return async (req: FastifyRequest, reply?: FastifyReply): Promise<Principal | null> => {
    if (!req.headers.cookie) return null;
    const { headers, response } = await auth.api.getSession({
      headers: fromNodeHeaders(req.headers),
      returnHeaders: true,
    });
    const cookies = headers?.getSetCookie() ?? [];
    if (cookies.length > 0 && reply) reply.header('set-cookie', cookies);
    if (!response) return null;
    const orgId = (response.session as { activeOrganizationId?: string | null }).activeOrganizationId ?? null;
    let role: Principal['role'] = null;
    if (orgId) {
      const [membership] = await database.db
        .select({ role: members.role })
        .from(members)
        .where(and(eq(members.organizationId, orgId), eq(members.userId, response.user.id)))
        .limit(1);
      role = isRole(membership?.role) ? membership.role : null;
    }
    return {
      type: 'user',
      userId: response.user.id,
      email: response.user.email,
      name: response.user.name,
      sessionId: response.session.id,
      orgId: role ? orgId : null,
      role,
    };
  };
}
