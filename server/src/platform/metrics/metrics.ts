import { timingSafeEqual } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Config } from '../../config.js';
import type { Database } from '../../db/client.js';

/**
 * Prometheus metrics (issue 30) with prom-client: HTTP requests by route template, their latency,
 * the job queue's jobs by state, the event dispatch lag, the process's own. One registry per
 * process: every app of the process (tests start several) counts into it.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'cairn_' });

const httpRequests = new Counter({
  name: 'cairn_http_requests_total',
  help: 'HTTP requests answered, by method, route template and status code',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [registry],
});
const httpDuration = new Histogram({
  name: 'cairn_http_request_duration_seconds',
  help: 'HTTP request latency in seconds, by method and route template',
  labelNames: ['method', 'route'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});
const dispatchLag = new Histogram({
  name: 'cairn_event_dispatch_lag_seconds',
  help: 'Seconds from an event being recorded to its dispatch to consumers',
  buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800],
  registers: [registry],
});

const metaWebhookRefused = new Counter({
  name: 'cairn_meta_webhook_refused_total',
  help: "Meta webhook deliveries refused (403), by the signature check's result: invalid, missing, not_configured",
  labelNames: ['signature'] as const,
  registers: [registry],
});

/** Counts a Meta webhook delivery refused for its `X-Hub-Signature-256` (issue 31). */
export function countMetaWebhookRefused(signature: string): void {
  metaWebhookRefused.inc({ signature });
}

const jobRuns = new Histogram({
  name: 'cairn_job_duration_seconds',
  help: 'Seconds a job handler ran, by queue and outcome (completed or failed: a failed run is retried)',
  labelNames: ['queue', 'outcome'] as const,
  buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800],
  registers: [registry],
});
const jobWait = new Histogram({
  name: 'cairn_job_wait_seconds',
  help: 'Seconds from a job being due to a worker starting it, by queue',
  labelNames: ['queue'] as const,
  buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 1800],
  registers: [registry],
});

/** Records one run of a job's handler: how long it took and how it ended, and how long it waited. */
export function observeJob(queue: string, seconds: number, ok: boolean, waitedSeconds?: number): void {
  jobRuns.observe({ queue, outcome: ok ? 'completed' : 'failed' }, seconds);
  if (waitedSeconds !== undefined && Number.isFinite(waitedSeconds))
    jobWait.observe({ queue }, Math.max(0, waitedSeconds));
}

/** Records how long after it happened an event was dispatched. */
export function observeDispatchLag(occurredAt: string | Date): void {
  const at = typeof occurredAt === 'string' ? Date.parse(occurredAt) : occurredAt.getTime();
  if (Number.isFinite(at)) dispatchLag.observe(Math.max(0, (Date.now() - at) / 1000));
}

let jobsGauge: Gauge | undefined;
const pools = new Set<Database>();

/**
 * The database pool's connections (server only; the embedded database has one connection and no
 * pool): `total`, `idle` and `waiting` (requests queued for a connection), summed over the apps
 * of the process.
 */
new Gauge({
  name: 'cairn_db_pool_connections',
  help: 'Database pool connections by state: total, idle, and requests waiting for one',
  labelNames: ['state'] as const,
  registers: [registry],
  collect() {
    let total = 0;
    let idle = 0;
    let waiting = 0;
    for (const d of pools) {
      if (!d.pool) continue;
      total += d.pool.totalCount;
      idle += d.pool.idleCount;
      waiting += d.pool.waitingCount;
    }
    this.set({ state: 'total' }, total);
    this.set({ state: 'idle' }, idle);
    this.set({ state: 'waiting' }, waiting);
  },
});

/** The job queue's jobs by queue and state, read from pg-boss's table when it is scraped. */
function installJobGauge(database: Database, schema: string): void {
  if (jobsGauge) return;
  jobsGauge = new Gauge({
    name: 'cairn_jobs',
    help: 'Jobs of the job queue by queue and state (created, retry, active, completed, failed...)',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      try {
        const result = await database.db.execute(
          sql`select name as queue, state::text as state, count(*)::int as n from ${sql.identifier(schema)}.job group by 1, 2`,
        );
        const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as {
          queue: string;
          state: string;
          n: number;
        }[];
        for (const r of rows) this.set({ queue: r.queue, state: r.state }, Number(r.n));
      } catch {
        // No pg-boss tables (the embedded database runs jobs in-process): no job series.
      }
    },
  });
}

/** Whether `given` is the configured token (constant time). */
function tokenMatches(given: string | undefined, expected: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Counts every request by its route template (`/api/v1/contacts/:id`, never the raw URL, so the
 * series stay few), and serves `GET /metrics` to a scraper presenting `METRICS_TOKEN` as a bearer
 * token: 401 without it or with another, 404 when no token is configured.
 */
export function installMetrics(
  app: FastifyInstance,
  config: Pick<Config, 'metricsToken' | 'queueSchema'>,
  database: Database,
) {
  installJobGauge(database, config.queueSchema);
  pools.add(database);
  app.addHook('onClose', async () => {
    pools.delete(database);
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    if (route === '/metrics') return;
    const seconds = reply.elapsedTime / 1000;
    httpRequests.inc({ method: req.method, route, status: String(reply.statusCode) });
    httpDuration.observe({ method: req.method, route }, seconds);
  });
}
export { tokenMatches };
