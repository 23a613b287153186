import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Database, SqlExecutor } from '../../db/client.js';
import { APP_ROLE } from '../../db/tenant.js';
import { observeJob } from '../metrics/metrics.js';
import {
  type BatchHandler,
  type JobHandler,
  type JobQueue,
  PAUSED_RETRY_SECONDS,
  type QueueDefinition,
} from './job-queue.js';

/** What one `drain` did. */
export type DrainReport = {
  /** Jobs that ran to success (a job retried counts once). */
  ran: number;
  /** Jobs that failed on every try (their dead letter, if any, was sent). */
  failed: { name: string; data: unknown; error: unknown }[];
};

export type DrainOptions = {
  /**
   * Run jobs sent to start later too, as if their time had come (in time order). Default: the
   * jobs due when the drain began and every job sent without a delay since; a job that comes due
   * during the drain waits for the next one (so what a drain runs does not depend on how long
   * it takes).
   */
  delayed?: boolean;
  /** Resolve with the failures instead of rejecting when a job failed on every try. */
  allowFailures?: boolean;
};

/**
 * A job queue that runs nothing by itself: `drain()` runs every job due, and every job those
 * enqueue, until none is left, one at a time in the caller's process, through the same handlers
 * (`define`) as pg-boss's workers. For tests, so a test runs consumers when it asks instead of
 * polling for a background worker; production and the process tests keep pg-boss.
 *
 * A job is a row in a table of its own schema, written on the sender's connection like pg-boss's:
 * sent inside a tenant transaction (or a savepoint), it exists exactly when that commits.
 */
export type SyncJobQueue = JobQueue & {
  drain(options?: DrainOptions): Promise<DrainReport>;
  /**
   * Runs one job now through its queue's handler (its retries included), as a drain would but
   * without queueing it or running any other job; a job that fails on every try is kept as
   * failed (and its dead letter sent). Resolves with the error then, else undefined.
   */
  runNow(name: string, data: unknown): Promise<unknown>;
  /**
   * Records a job as failed for good as pg-boss does when the workers that took it died once more
   * than its retries allow (a kill -9 this driver cannot stage): for the sweeps that look at them.
   */
  markFailed(name: string, data: unknown): void;
  /** The jobs still queued (for assertions), oldest first. */
  queued(name?: string): Promise<{ name: string; data: unknown; startAfter: Date }[]>;
};

const ownedBy = (data: unknown, orgId: string) => {
  const d = data as { org_id?: unknown; orgId?: unknown } | null;
  return d?.org_id === orgId || d?.orgId === orgId;
};

/** More jobs than this in one drain and it stops: jobs that keep sending jobs would never end. */
const MAX_JOBS_PER_DRAIN = 100_000;

/** @param schema the PostgreSQL schema of the queue's table (created on `start`) */
export function createSyncJobQueue(database: Database, schema: string): SyncJobQueue {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`Invalid queue schema ${schema}`);
  const table = `${schema}.sync_job`;
  const definitions = new Map<
    string,
    { queue: QueueDefinition; handler: JobHandler<unknown>; batch?: BatchHandler<unknown> }
  >();
  let ready: Promise<void> | undefined;
  let draining: Promise<unknown> = Promise.resolve();
  const stopHooks: (() => Promise<void>)[] = [];
  // Jobs that failed on every try, as pg-boss keeps them in state `failed` (for the ops console).
  const failed = new Map<string, { name: string; data: unknown; error: unknown; at: Date; tries: number }>();

  const create = async () => {
    await database.exec(`
      create schema if not exists ${schema};
      create table if not exists ${table} (
        seq bigserial primary key,
        id uuid not null,
        name text not null,
        data jsonb not null,
        singleton_key text,
        start_after timestamptz not null,
        created_at timestamptz not null
      );
      create unique index if not exists sync_job_singleton on ${table} (name, singleton_key);
      create index if not exists sync_job_due on ${table} (start_after, seq);`);
  };
  const insert = (conn: SqlExecutor, name: string, data: unknown, key: string | null, at: Date) =>
    conn
      .query<{ id: string }>(
        `insert into ${table} (id, name, data, singleton_key, start_after, created_at)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (name, singleton_key) do nothing returning id`,
        [randomUUID(), name, JSON.stringify(data), key, at.toISOString(), new Date().toISOString()],
      )
      .then((r) => r.rows[0]?.id ?? null);

  let paused: ((orgId: string) => Promise<boolean>) | undefined;
  const runOne = async (name: string, id: string, data: unknown) => {
    const definition = definitions.get(name);
    if (!definition) throw new Error(`No job queue named ${name}`);
    // A paused organization's job goes back to wait (as pg-boss's queue does it: job-queue.ts).
    const d = data as { org_id?: unknown; orgId?: unknown } | null;
    const orgId = typeof d?.org_id === 'string' ? d.org_id : typeof d?.orgId === 'string' ? d.orgId : null;
    if (orgId && paused && (await paused(orgId))) {
      await insert(database.raw, name, data, null, new Date(Date.now() + PAUSED_RETRY_SECONDS * 1000));
      return undefined;
    }
    const tries = (definition.queue.retryLimit ?? 5) + 1;
    let error: unknown;
    for (let i = 0; i < tries; i++) {
      const began = performance.now();
      try {
        await definition.handler({ id, data });
        observeJob(name, (performance.now() - began) / 1000, true);
        return undefined;
      } catch (e) {
        observeJob(name, (performance.now() - began) / 1000, false);
        error = e;
      }
    }
    failed.set(id, { name, data, error, at: new Date(), tries });
    const deadLetter = definition.queue.deadLetter;
    if (deadLetter) await insert(database.raw, deadLetter, data, null, new Date());
    return error ?? new Error('job failed');
  };

  /** `runOne` for a set-based consumer: the batch's tries; each job's error, or undefined. */
  const runBatch = async (
    name: string,
    batch: BatchHandler<unknown>,
    jobs: { id: string; data: unknown }[],
  ): Promise<unknown[]> => {
    const definition = definitions.get(name)!;
    const ready: { id: string; data: unknown }[] = [];
    for (const job of jobs) {
      const d = job.data as { org_id?: unknown; orgId?: unknown } | null;
      const orgId = typeof d?.org_id === 'string' ? d.org_id : typeof d?.orgId === 'string' ? d.orgId : null;
      if (orgId && paused && (await paused(orgId)))
        await insert(database.raw, name, job.data, null, new Date(Date.now() + PAUSED_RETRY_SECONDS * 1000));
      else ready.push(job);
    }
    if (ready.length === 0) return [];
    const tries = (definition.queue.retryLimit ?? 5) + 1;
    let error: unknown;
    for (let i = 0; i < tries; i++) {
      const began = performance.now();
      try {
        await batch(ready);
        observeJob(name, (performance.now() - began) / 1000, true);
        return [];
      } catch (e) {
        observeJob(name, (performance.now() - began) / 1000, false);
        error = e;
      }
    }
    for (const job of ready) failed.set(job.id, { name, data: job.data, error, at: new Date(), tries });
    const deadLetter = definition.queue.deadLetter;
    if (deadLetter)
      for (const job of ready) await insert(database.raw, deadLetter, job.data, null, new Date());
    const failedIds = new Set(ready.map((j) => j.id));
    return jobs.map((j) => (failedIds.has(j.id) ? (error ?? new Error('job failed')) : undefined));
  };

  const drainNow = async (options: DrainOptions): Promise<DrainReport> => {
    await ready;
    const report: DrainReport = { ran: 0, failed: [] };
    const began = new Date().toISOString();
    for (let n = 0; ; n++) {
      if (n >= MAX_JOBS_PER_DRAIN) throw new Error(`drain ran ${n} jobs and jobs are still queued`);
      // Taken off the queue as it starts (a job with its singleton key sent meanwhile queues again).
      const { rows } = await database.raw.query<{ id: string; name: string; data: unknown }>(
        `delete from ${table} where seq = (
           select seq from ${table}
           ${options.delayed ? '' : 'where start_after <= $1 or start_after <= created_at'}
           order by start_after, seq limit 1)
         returning id, name, data`,
        options.delayed ? [] : [began],
      );
      const job = rows[0];
      if (!job) break;
      const definition = definitions.get(job.name);
      if (definition?.batch) {
        // A set-based consumer gets the jobs of its queue due with this one, as a pg-boss fetch would.
        const { rows: more } = await database.raw.query<{ id: string; name: string; data: unknown }>(
          `delete from ${table} where seq in (
             select seq from ${table} where name = $1
             ${options.delayed ? '' : 'and (start_after <= $3 or start_after <= created_at)'}
             order by start_after, seq limit $2)
           returning id, name, data`,
          [
            job.name,
            Math.max(0, (definition.queue.concurrency ?? 1) - 1),
            ...(options.delayed ? [] : [began]),
          ],
        );
        const jobs = [job, ...more];
        n += more.length;
        const errors = await runBatch(job.name, definition.batch, jobs);
        for (const [i, j] of jobs.entries()) {
          const error = errors[i];
          if (error === undefined) report.ran++;
          else report.failed.push({ name: j.name, data: j.data, error });
        }
        continue;
      }
      const error = await runOne(job.name, job.id, job.data);
      if (error === undefined) report.ran++;
      else report.failed.push({ name: job.name, data: job.data, error });
    }
    if (report.failed.length > 0 && !options.allowFailures) {
      throw new AggregateError(
        report.failed.map((f) => f.error),
        `${report.failed.length} job(s) failed on every try: ${report.failed.map((f) => `${f.name}: ${String((f.error as Error)?.message ?? f.error)}`).join('; ')}`,
      );
    }
    return report;
  };

  return {
    gate(check) {
      paused = check;
    },
    define(queue, handler) {
      definitions.set(queue.name, { queue, handler: handler as JobHandler<unknown> });
    },
    defineBatch(queue, handler) {
      const batch = handler as BatchHandler<unknown>;
      definitions.set(queue.name, { queue, handler: (job) => batch([job]), batch });
    },

    async send(conn, name, data, options = {}) {
      if (!definitions.has(name)) throw new Error(`No job queue named ${name}`);
      await ready;
      const { startAfter } = options;
      const at =
        startAfter instanceof Date
          ? startAfter
          : new Date(Date.now() + (typeof startAfter === 'number' ? startAfter * 1000 : 0));
      const key = options.singletonKey ?? null;
      if (!conn) return insert(database.raw, name, data, key, at);
      // As with pg-boss: the tenant transaction's app role has no rights on the queue's schema.
      await conn.query(`select set_config('role', 'none', true)`);
      try {
        return await insert(conn, name, data, key, at);
      } finally {
        await conn.query(`select set_config('role', $1, true)`, [APP_ROLE]);
      }
    },

    async sendMany(conn, name, jobs) {
      for (const job of jobs) await this.send(conn, name, job.data, job.options);
    },

    async dropQueuedOf(orgId) {
      await ready;
      const { rows } = await database.raw.query(
        `delete from ${table} where data->>'org_id' = $1 or data->>'orgId' = $1 returning 1`,
        [orgId],
      );
      return rows.length;
    },

    async counts(orgId) {
      await ready;
      const { rows } = await database.raw.query<{ queue: string; n: number }>(
        `select name as queue, count(*)::int as n from ${table}
          ${orgId ? `where data->>'org_id' = $1 or data->>'orgId' = $1` : ''} group by 1 order by 1`,
        orgId ? [orgId] : [],
      );
      const counts = rows.map((r) => ({ queue: r.queue, state: 'created', count: Number(r.n) }));
      const byQueue = new Map<string, number>();
      for (const f of failed.values())
        if (!orgId || ownedBy(f.data, orgId)) byQueue.set(f.name, (byQueue.get(f.name) ?? 0) + 1);
      for (const [queue, count] of byQueue) counts.push({ queue, state: 'failed', count });
      return counts;
    },

    async failedJobs(orgId, limit = 50) {
      return [...failed.entries()]
        .filter(([, f]) => ownedBy(f.data, orgId))
        .reverse()
        .slice(0, limit)
        .map(([id, f]) => ({
          id,
          queue: f.name,
          failed_at: f.at.toISOString(),
          retries: f.tries - 1,
          error: String((f.error as Error)?.message ?? f.error).slice(0, 500),
        }));
    },

    async failedOf<T>(name: string, since: Date, limit = 1000) {
      return [...failed.entries()]
        .filter(([, f]) => f.name === name && f.at >= since)
        .reverse()
        .slice(0, limit)
        .map(([id, f]) => ({ id, data: f.data as T }));
    },

    markFailed(name, data) {
      failed.set(randomUUID(), {
        name,
        data,
        error: new Error('the workers died'),
        at: new Date(),
        tries: 2,
      });
    },

    async retryFailed(orgId, id) {
      const job = failed.get(id);
      if (!job || !ownedBy(job.data, orgId)) return false;
      failed.delete(id);
      await insert(database.raw, job.name, job.data, null, new Date());
      return true;
    },

    async start() {
      ready ??= create();
      await ready;
    },

    onStop(fn) {
      stopHooks.push(fn);
    },

    async stop() {
      await Promise.allSettled(stopHooks.map((fn) => fn()));
      await draining.catch(() => undefined);
    },

    drain(options = {}) {
      // One drain at a time: a second waits for the first, then runs what is left.
      const run = draining.catch(() => undefined).then(() => drainNow(options));
      draining = run;
      return run;
    },

    async runNow(name, data) {
      await ready;
      return runOne(name, randomUUID(), data);
    },

    async queued(name) {
      await ready;
      const { rows } = await database.raw.query<{ name: string; data: unknown; start_after: string | Date }>(
        `select name, data, start_after from ${table} ${name ? 'where name = $1' : ''} order by start_after, seq`,
        name ? [name] : [],
      );
      return rows.map((r) => ({ name: r.name, data: r.data, startAfter: new Date(r.start_after) }));
    },
  };
}
