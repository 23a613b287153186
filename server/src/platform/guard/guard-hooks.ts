import { pipeline, Readable, Transform } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest, onSendHookHandler } from 'fastify';
import { AppError } from '../errors/app-error.js';
import { type Guard, type GuardSubject, subjectOf } from './guard.js';
import type { GuardMetric } from './guard-budgets.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route streams records' personal data out as an export although it needs another right
     * than `records:read` (a form's submissions, `settings:manage`): its rows count against the
     * export budget as a records export's do.
     */
    guardExport?: true;
  }
}

/** What a route counts against the guard's budgets, from its declared access and operationId. */
type RouteKind = 'read' | 'export' | 'archive' | 'bulk' | 'purge' | null;

/** Whether a route's rows count against the export budget: a records export, or one flagged so. */
const isExportRoute = (config: { access?: string; guardExport?: true } | undefined, op: string) =>
  config?.guardExport === true || (config?.access === 'records:read' && op.startsWith('export'));

/** The answer to a subject the guard stopped (RFC 9457 problem, code `guard_blocked`). */
export function guardBlocked(): AppError {
  return new AppError(
    403,
    'guard_blocked',
    'Stopped by the guard: this account crossed a security budget (too many records read, exported or deleted, or too many refused requests). An admin has been told and must review it.',
  );
}

function kindOf(req: FastifyRequest): RouteKind {
  const access = req.routeOptions.config?.access;
  const op = (req.routeOptions.schema as { operationId?: string } | undefined)?.operationId ?? '';
  if (isExportRoute(req.routeOptions.config, op)) return 'export';
  if (access === 'records:read') {
    if (op.startsWith('count')) return null;
    return 'read';
  }
  if (access === 'records:write') {
    if (op.startsWith('archive')) return 'archive';
    if (op.startsWith('bulkUpdate')) {
      const action = (req.body as { action?: unknown } | undefined)?.action;
      return action === 'archive' ? 'bulk' : null;
    }
  }
  if (access === 'records:purge' && req.method === 'DELETE') return 'purge';
  return null;
}

/** Codes the guard itself answers: a refusal by the guard is not counted again as a refusal. */
const GUARD_CODES = new Set(['guard_blocked', 'guard_locked', 'route_not_found', 'rate_limited']);

/**
 * Installs the guard on the API (after the route guard, which resolves the principal):
 * - preHandler: a subject the guard stopped is refused (403 `guard_blocked`); an archive or a
 *   delete for good counts one record before it runs, and a bulk archive its ids, refused when
 *   they cross the block threshold; an export is refused once the export budget is past it;
 * - preSerialization: the records a read answers (a list page's rows, one record) and the records
 *   a bulk archive changed are counted, and the answer that crosses a block threshold is replaced
 *   by the refusal, so the records past the budget are never sent;
 * - an export's rows are counted as they stream (a stream that crosses is cut);
 * - a 403 or 404 answered on a route with ids in its path counts as a refused request.
 * Counting is memory only; the shared counters are flushed in batches (`Guard`).
 */
export function installGuard(app: FastifyInstance, guard: Guard): void {
  guard.start();
  app.addHook('onClose', async () => guard.stop());

  async function check(req: FastifyRequest, s: GuardSubject, metric: GuardMetric, n: number): Promise<void> {
    const budget = (await guard.budgetsOf(s.orgId, s.role))[metric];
    const traceId = String(req.id);
    const { total, warn, block } = guard.count(s, metric, n, budget, traceId);
    if (!warn && !block) return;
    const crossing = {
      subject: s,
      metric,
      total,
      budget,
      counts: guard.countsOf(s),
      traceIds: guard.traceIdsOf(s),
      traceId,
    };
    if (block) {
      await guard.cross('block', crossing);
      throw guardBlocked();
    }
    await guard.cross('warn', crossing);
  }

  app.addHook('preHandler', async (req) => {
    const s = subjectOf(req.principal);
    if (!s || !req.url.startsWith('/api/')) return;
    if (guard.isBlocked(s)) throw guardBlocked();
    const kind = kindOf(req);
    if (kind === 'export') await check(req, s, 'export', 0);
    // One record archived or deleted for good: counted before it happens, refused if it crosses.
    else if (kind === 'archive' || kind === 'purge') await check(req, s, 'delete', 1);
    else if (kind === 'bulk') {
      // Refused before it runs when the records it names would go past the budget.
      const ids = (req.body as { ids?: unknown[] } | undefined)?.ids;
      const budget = (await guard.budgetsOf(s.orgId, s.role)).delete;
      const { total } = guard.count(s, 'delete', 0, budget, String(req.id));
      if (Array.isArray(ids) && total + ids.length > budget.block) await check(req, s, 'delete', ids.length);
    }
  });

  app.addHook('preSerialization', async (req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    if (reply.statusCode >= 300) return payload;
    const s = subjectOf(req.principal);
    const kind = s ? kindOf(req) : null;
    if (!s || (kind !== 'read' && kind !== 'bulk')) return payload;
    const body = payload as { data?: unknown; changed?: unknown } | null;
    const n = kind === 'bulk' ? Number(body?.changed ?? 0) : Array.isArray(body?.data) ? body.data.length : 1;
    if (n > 0) await check(req, s, kind === 'bulk' ? 'delete' : 'read', n);
    return payload;
  });

  app.addHook('onError', async (req, _reply, error) => {
    const s = subjectOf(req.principal);
    if (!s) return;
    const status = error instanceof AppError ? error.status : (error as { statusCode?: number }).statusCode;
    const code = String((error as { code?: unknown }).code ?? '');
    if ((status !== 403 && status !== 404) || GUARD_CODES.has(code)) return;
    const params = req.params as Record<string, unknown> | undefined;
    if (!params || Object.keys(params).length === 0) return;
    // After the answer is decided: crossing opens the incident, the next request is refused.
    await check(req, s, 'denied', 1).catch(() => undefined);
  });

  // Export rows are counted as they leave, before compression (a route-level onSend runs first).
  const countRows: onSendHookHandler = (req, _reply, payload, done) => {
    const s = subjectOf(req.principal);
    if (!s || !(payload instanceof Readable)) return done(null, payload);
    // pipeline: a cut counter also stops the export reading its next pages.
    const counter = rowCounter(req, s, guard);
    pipeline(payload, counter, () => undefined);
    done(null, counter);
  };
  app.addHook('onRoute', (route) => {
    const op = (route.schema as { operationId?: string } | undefined)?.operationId ?? '';
    if (isExportRoute(route.config, op)) {
      route.onSend = [countRows, ...[route.onSend ?? []].flat()];
    }
  });
}

/**
 * Counts the rows of an export as they stream (a CSV's records, quotes honoured, past its header;
 * a JSON-lines file's lines) in batches of 100, and cuts the stream when the count crosses the
 * export budget's block threshold.
 */
function rowCounter(req: FastifyRequest, s: GuardSubject, guard: Guard): Transform {
  const csv = !String(req.url).includes('format=jsonl');
  let inQuotes = false;
  let rows = csv ? -1 : 0; // a CSV's header is not a record
  let uncounted = 0;
  const flush = async () => {
    const n = uncounted;
    uncounted = 0;
    if (n <= 0) return;
    const budget = (await guard.budgetsOf(s.orgId, s.role)).export;
    const traceId = String(req.id);
    const { total, warn, block } = guard.count(s, 'export', n, budget, traceId);
    if (!warn && !block) return;
    const crossing = {
      subject: s,
      metric: 'export' as const,
      total,
      budget,
      counts: guard.countsOf(s),
      traceIds: guard.traceIdsOf(s),
      traceId,
    };
    if (block) {
      await guard.cross('block', crossing);
      throw guardBlocked();
    }
    await guard.cross('warn', crossing);
  };
  return new Transform({
    transform(chunk: Buffer | string, _enc, callback) {
      const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      for (let i = 0; i < text.length; i++) {
        const ch = text.charCodeAt(i);
        if (csv && ch === 34) inQuotes = !inQuotes;
        else if (ch === 10 && !inQuotes) {
          rows++;
          if (rows > 0) uncounted++;
        }
      }
      if (uncounted < 100) return callback(null, chunk);
      flush().then(
        () => callback(null, chunk),
        (error: unknown) => callback(error as Error),
      );
    },
    flush(callback) {
      flush().then(
        () => callback(),
        (error: unknown) => callback(error as Error),
      );
    },
  });
}
