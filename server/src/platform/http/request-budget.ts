import { AsyncResource } from 'node:async_hooks';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CallerPresence, runWithDbBudget } from '../../db/budget.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route's own database budget, milliseconds, when its work legitimately takes longer than
     * `STATEMENT_TIMEOUT_MS` (a bulk write of thousands of rows in one request: 10,000 contacts
     * enrolled in a sequence). At least the default: a budget never shortens what the
     * operator set. Give each one a reason beside it.
     */
    dbBudgetMs?: number;
  }
}

/**
 * Gives every request its database budget (`db/budget.ts`): `timeoutMs` (or the route's longer
 * `config.dbBudgetMs`) for its statements and tenant transactions, and a presence that is left when the client disconnects before the answer is
 * sent (`CallerPresence`), which cancels the running statement. Installed first, so every later hook and the
 * handler run inside it.
 *
 * Fastify runs preValidation, preHandler and the handler from the request stream's `end` event,
 * outside the async context the onRequest hook entered; the request's AsyncResource carries it
 * over (the pattern of @fastify/request-context, https://github.com/fastify/fastify-request-context).
 */
export function installRequestBudget(app: FastifyInstance, timeoutMs: number): void {
  const resources = new WeakMap<FastifyRequest, AsyncResource>();
  app.addHook('onRequest', (req, reply, done) => {
    const caller = new CallerPresence();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) caller.leave();
    });
    const own = req.routeOptions.config?.dbBudgetMs;
    runWithDbBudget({ timeoutMs: own ? Math.max(own, timeoutMs) : timeoutMs, caller }, () => {
      const resource = new AsyncResource('cairn-request-budget');
      resources.set(req, resource);
      resource.runInAsyncScope(done, req.raw);
    });
  });
  app.addHook('preValidation', (req, _reply, done) => {
    const resource = resources.get(req);
    if (resource) resource.runInAsyncScope(done, req.raw);
    else done();
  });
}
