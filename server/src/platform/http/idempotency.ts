import { createHash } from 'node:crypto';
import { and, eq, lt } from 'drizzle-orm';
import type { FastifyInstance, FastifyReply, FastifyRequest, onSendHookHandler } from 'fastify';
import type { Database } from '../../db/client.js';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import { AppError, badRequest } from '../errors/app-error.js';
import { idempotencyKeys } from './idempotency.schema.js';

/** How long a key is remembered (Stripe and the IETF draft use 24 hours). */
export const IDEMPOTENCY_TTL_HOURS = 24;
const HEADER = 'idempotency-key';

declare module 'fastify' {
  interface FastifyRequest {
    idempotency: { ctx: TenantContext; key: string } | null;
  }
}

function requestHash(req: FastifyRequest): string {
  return createHash('sha256')
    .update(`${req.method} ${req.url}\n${JSON.stringify(req.body ?? null)}`)
    .digest('hex');
}

/**
 * Idempotency-Key on POSTs (DESIGN "API contract"; draft-ietf-httpapi-idempotency-key-header):
 * the first request with a key runs and its response is kept for 24 hours per tenant; the same
 * request again gets that response replayed (`idempotent-replayed: true`) without running twice.
 * The same key with another request is 422 `idempotency_key_reused`; while the first is still
 * running, 409 `idempotency_in_progress`. A 5xx is not kept, so the client may retry.
 */
export function installIdempotency(app: FastifyInstance, database: Database): void {
  app.decorateRequest('idempotency', null);

  const preHandler = async (req: FastifyRequest, reply: FastifyReply) => {
    const key = req.headers[HEADER];
    if (req.method !== 'POST' || typeof key !== 'string' || !req.principal?.orgId) return;
    if (key.length < 1 || key.length > 255)
      throw badRequest('Idempotency-Key must be 1 to 255 characters', `headers.${HEADER}`);
    const ctx = req.tenant;
    const hash = requestHash(req);
    const existing = await withTenant(database, ctx, async ({ tx }) => {
      const expired = new Date(Date.now() - IDEMPOTENCY_TTL_HOURS * 3_600_000).toISOString();
      await tx
        .delete(idempotencyKeys)
        .where(
          and(
            eq(idempotencyKeys.orgId, ctx.orgId),
            eq(idempotencyKeys.key, key),
            lt(idempotencyKeys.createdAt, expired),
          ),
        );
      const inserted = await tx
        .insert(idempotencyKeys)
        .values({ orgId: ctx.orgId, key, requestHash: hash })
        .onConflictDoNothing()
        .returning({ key: idempotencyKeys.key });
      if (inserted.length > 0) return undefined;
      const [row] = await tx
        .select()
        .from(idempotencyKeys)
        .where(and(eq(idempotencyKeys.orgId, ctx.orgId), eq(idempotencyKeys.key, key)));
      return row;
    });
    if (!existing) {
      req.idempotency = { ctx, key };
      return;
    }
    if (existing.requestHash !== hash) {
      throw new AppError(422, 'idempotency_key_reused', 'This Idempotency-Key was used for another request', {
        path: `headers.${HEADER}`,
      });
    }
    if (existing.statusCode === null) {
      throw new AppError(
        409,
        'idempotency_in_progress',
        'The first request with this Idempotency-Key is still running',
        { retryAfterS: 1 },
      );
    }
    reply.header('idempotent-replayed', 'true');
    if (existing.contentType) reply.type(existing.contentType);
    return reply
      .code(existing.statusCode)
      .serializer((x: unknown) => String(x))
      .send(existing.body ?? '');
  };

  // Callback style: most responses have nothing to record and pass without a promise.
  const onSend: onSendHookHandler = (req, reply, payload, done) => {
    const pending = req.idempotency;
    if (!pending) return done(null, payload);
    req.idempotency = null;
    withTenant(database, pending.ctx, async ({ tx }) => {
      const where = and(eq(idempotencyKeys.orgId, pending.ctx.orgId), eq(idempotencyKeys.key, pending.key));
      if (reply.statusCode >= 500 || typeof payload !== 'string') {
        await tx.delete(idempotencyKeys).where(where);
        return;
      }
      await tx
        .update(idempotencyKeys)
        .set({
          statusCode: reply.statusCode,
          contentType: String(reply.getHeader('content-type') ?? ''),
          body: payload,
        })
        .where(where);
    }).then(
      () => done(null, payload),
      (error: Error) => done(error),
    );
  };

  // Only POST routes take a key: the hooks go on those routes alone, so other requests pay nothing.
  // The onSend hook runs first among the route's own, before compression, so it keeps the body.
  app.addHook('onRoute', (route) => {
    if (![route.method].flat().includes('POST')) return;
    route.preHandler = [...[route.preHandler ?? []].flat(), preHandler];
    route.onSend = [onSend, ...[route.onSend ?? []].flat()];
  });
}
