import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';
import type { Config } from '../../config.js';
import { AppError } from '../errors/app-error.js';

/** Counts one request against its budget; throws 429 `rate_limited` past it. */
export type RequestLimiter = (req: FastifyRequest, reply: FastifyReply) => Promise<void>;

export type InstalledRateLimit = {
  /** Called by the route guard once the principal is known (`installRouteGuard`'s `limit`). */
  limit: RequestLimiter;
  /** Closes the Redis connection, if any. */
  close: () => Promise<void>;
};

/** Requests the limit does not count: not the API (web app, health probes) and its reference page. */
const isExempt = (url: string) => !url.startsWith('/api/') || url.startsWith('/api/docs');

/**
 * The API's rate limits, per minute, past which a request gets 429 `rate_limited` with
 * Retry-After:
 * - a signed-in principal: `API_RATE_LIMIT_PER_MINUTE` requests to `/api/v1`, per user;
 * - an API key: `API_KEY_RATE_LIMIT_PER_10_SECONDS` requests per 10 seconds, per key;
 * - everything without a valid session (public routes, requests refused with 401, the
 *   better-auth endpoints under `/api/auth` including `get-session`): `ANON_RATE_LIMIT_PER_MINUTE`
 *   per client IP, so an anonymous client cannot make the server check sessions or passwords
 *   without limit (OWASP API4:2023 Unrestricted Resource Consumption).
 * Counters live in Redis when `REDIS_URL` is set, so several server processes share them (DESIGN
 * "Scale-out path"); otherwise in the process. Health probes and the web app's files are not
 * limited. The route guard calls `limit` after resolving the principal and before refusing a
 * request without one, so 401s count too.
 */
export async function installRateLimit(app: FastifyInstance, config: Config): Promise<InstalledRateLimit> {
  const redis = config.redisUrl
    ? new Redis(config.redisUrl, {
        connectTimeout: 2000,
        maxRetriesPerRequest: 1,
        enableAutoPipelining: true,
      })
    : undefined;
  await app.register(rateLimit, {
    global: false,
    max: (_req, key) =>
      key.startsWith('key:')
        ? config.apiKeyRateLimitPer10S
        : key.startsWith('user:')
          ? config.apiRateLimitPerMinute
          : config.anonRateLimitPerMinute,
    // An API key's budget is per 10 seconds (as the big CRMs' APIs count), the others' per minute.
    timeWindow: (_req, key) => (key.startsWith('key:') ? 10_000 : 60_000),
    // RateLimit-Limit, -Remaining, -Reset (IETF draft names) rather than X-RateLimit-*.
    enableDraftSpec: true,
    ...(redis ? { redis, nameSpace: 'cairn-rate-limit:' } : {}),
    keyGenerator: (req) =>
      req.principal?.type === 'api_key'
        ? `key:${req.principal.apiKeyId}`
        : req.principal
          ? `user:${req.principal.userId}`
          : `ip:${req.ip}`,
    errorResponseBuilder: (_req, context) =>
      new AppError(429, 'rate_limited', `Too many requests: at most ${context.max} in ${context.after}`, {
        retryAfterS: Math.max(1, Math.ceil(context.ttl / 1000)),
      }),
  });
  const check = app.rateLimit();
  return {
    limit: async (req, reply) => {
      if (isExempt(req.url)) return;
      await check.call(app, req, reply);
    },
    close: async () => {
      await redis?.quit();
    },
  };
}
