import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import type { Config } from '../../config.js';
import { AppError } from '../errors/app-error.js';

/**
 * The API's rate limit: `API_RATE_LIMIT_PER_MINUTE` requests per principal (per client IP for
 * requests without one) per minute; past it 429 `rate_limited` with Retry-After. Counters live in
 * Redis when `REDIS_URL` is set, so several server processes share them (DESIGN "Scale-out
 * path"); otherwise in the process. Health probes are not limited.
 * @returns a function closing the Redis connection, if any
 */
export async function installRateLimit(app: FastifyInstance, config: Config): Promise<() => Promise<void>> {
  const redis = config.redisUrl
    ? new Redis(config.redisUrl, {
        connectTimeout: 2000,
        maxRetriesPerRequest: 1,
        enableAutoPipelining: true,
      })
    : undefined;
  await app.register(rateLimit, {
    global: true,
    max: config.apiRateLimitPerMinute,
    timeWindow: 60_000,
    ...(redis ? { redis, nameSpace: 'cairn-rate-limit:' } : {}),
    allowList: (req) => !req.url.startsWith('/api/v1/'),
    keyGenerator: (req) => (req.principal ? `user:${req.principal.userId}` : `ip:${req.ip}`),
    errorResponseBuilder: (_req, context) =>
      new AppError(429, 'rate_limited', `Too many requests: at most ${context.max} a minute`, {
        retryAfterS: Math.max(1, Math.ceil(context.ttl / 1000)),
      }),
  });
  return async () => {
    await redis?.quit();
  };
}
