import { performance } from 'node:perf_hooks';
import type { FastifyBaseLogger } from 'fastify';
import { fromPglite, PgBoss } from 'pg-boss';
import type { Database, SqlExecutor } from '../../db/client.js';
import { APP_ROLE } from '../../db/tenant.js';
import { observeJob } from '../metrics/metrics.js';

/** A job's handler. Throwing retries the job (with backoff) up to its queue's retry limit. */
export type JobHandler<T> = (job: { id: string; data: T }) => Promise<void>;
/**
 * A handler of a fetch of jobs at once (a set-based consumer: the send batch, issue 25). Throwing
 * retries every job of the batch, so a handler settles what it can and throws only when nothing
 * of the batch was done.
 */
export type BatchHandler<T> = (jobs: { id: string; data: T }[]) => Promise<void>;

export type QueueDefinition = {
  name: string;
  /** Attempts after the first failure. */
  retryLimit?: number;
  /** Jobs fetched and run at once by one worker. */
  concurrency?: number;
  /**
   * A running job's worker refreshes it every half of this many seconds (pg-boss heartbeats, at
   * least 10); a job not refreshed that long (its process died) is failed and retried, so a long
   * job can be given a long `expireInSeconds` and still be taken up soon after a crash.
   */
  heartbeatSeconds?: number;
  /** How long a job may run before pg-boss fails and retries it, seconds (pg-boss: 900, at most 24 h). */
  expireInSeconds?: number;
  /**
   * A queue (defined too) that gets a copy of the job's data when pg-boss fails it for good: its
   * retries used up by a worker that died or a run past its time (a handler that throws is
   * retried the same way).
   */
  deadLetter?: string;
  /**
   * pg-boss's queue policy: `stately` keeps at most one job queued and one running per
   * `singletonKey` (a later send while one is queued is absorbed). Default `standard`.
   */
  policy?: 'standard' | 'stately';
  /**
   * Run the jobs of one fetch (`concurrency` of them) at once rather than one after another: for
   * handlers that mostly wait on the network (webhook deliveries). A failure fails the batch.
   */
  parallel?: boolean;
};

export type SendOptions = {
  /** Start no earlier than this (seconds from now, or a date). */
  startAfter?: number | Date;
  /** At most one queued job with this key. */
  singletonKey?: string;
  /**
   * `conn` runs in pipeline mode (`TenantScope.pipeline`, a PostgreSQL server): the role switches
   * around the insert are sent with it, not each waited for.
   */
  pipelined?: boolean;
};

/**
 * The job queue (pg-boss, PostgreSQL-backed; https://timgit.github.io/pg-boss). One way to
 * enqueue: `send(scope.conn, ...)` inside a tenant transaction, so the job exists exactly when
 * the change does. `start({worker: true})` runs the registered handlers.
 */
export type JobQueue = {
  define<T>(queue: QueueDefinition, handler: JobHandler<T>): void;
  /**
   * `define` for a set-based consumer: the jobs of one fetch (up to `concurrency`, the jobs of a
   * paused organization left out) go to `handler` together. The synchronous driver hands it the
   * jobs due together the same way.
   */
  defineBatch<T>(queue: QueueDefinition, handler: BatchHandler<T>): void;
  /**
   * Enqueues `data` on `name`. With `conn` (a tenant transaction's connection) the job commits or
   * rolls back with that transaction; with null it is sent on its own.
   */
  send<T extends object>(
    conn: SqlExecutor | null,
    name: string,
    data: T,
    options?: SendOptions,
  ): Promise<string | null>;
  /**
   * `send` for many jobs of one queue at once (a sequence tick's batch of messages): one insert
   * in the caller's transaction. Each job keeps its own data and options (a `singletonKey` still
   * keeps at most one queued job per key).
   */
  sendMany<T extends object>(
    conn: SqlExecutor,
    name: string,
    jobs: { data: T; options?: SendOptions }[],
  ): Promise<void>;
  /**
   * Deletes the jobs of one organization not yet started (their data's `org_id`, or `orgId` for
   * system mail): when it is deleted, a reminder or delivery due later must not run for it. A
   * running job is left to finish. Returns how many were dropped.
   */
  dropQueuedOf(orgId: string): Promise<number>;
  /**
   * How many jobs each queue holds per state (`created`, `retry`, `active`, `completed`, `failed`,
   * `cancelled`): the organization's (its jobs' data `org_id`/`orgId`) with `orgId`, else the
   * install's. For the ops console (issue 30).
   */
  counts(orgId?: string): Promise<JobCount[]>;
  /** The organization's failed jobs (retries used up), the latest first, at most `limit`. */
  failedJobs(orgId: string, limit?: number): Promise<FailedJob[]>;
  /**
   * The data of a queue's jobs failed for good since `since` (retries used up: by workers that
   * died, or a handler that threw), the latest first, at most `limit`: what an install-wide sweep
   * looks at (the send sweep, issue 25).
   */
  failedOf<T>(name: string, since: Date, limit?: number): Promise<{ id: string; data: T }[]>;
  /**
   * Queues a failed job of the organization again (pg-boss's retry). False when there is no such
   * failed job of that organization (another's job is never touched).
   */
  retryFailed(orgId: string, id: string): Promise<boolean>;
  /**
   * Sets the pause check (issue 30, a suspended organization): before a job of an organization
   * (its data's `org_id`, or `orgId`) runs, `paused(orgId)` is asked; when true the job is not run
   * but sent again to start `PAUSED_RETRY_SECONDS` later, so the organization's work resumes by
   * itself once it is restored.
   */
  gate(paused: (orgId: string) => Promise<boolean>): void;
  start(options: { worker: boolean }): Promise<void>;
  /** Stops fetching, lets in-flight jobs finish (up to `timeoutMs`), then releases the rest. */
  stop(timeoutMs?: number): Promise<void>;
  /**
   * Adds work to do when the queue stops, before in-flight jobs are waited for: a module's
   * long-lived connections started by its jobs (the IMAP IDLE watchers) close with the worker.
   */
  onStop(fn: () => Promise<void>): void;
};

export type JobCount = { queue: string; state: string; count: number };
export type FailedJob = {
  id: string;
  queue: string;
  /** When it failed for good (ISO). */
  failed_at: string | null;
  retries: number;
  /** The last error pg-boss kept (its message), if any. */
  error: string | null;
};

/** Rows of a query on pg-boss's job table, or none when pg-boss has not made it yet. */
async function jobRows<T>(database: Database, schema: string, text: string, values: unknown[]): Promise<T[]> {
  const { rows: found } = await database.raw.query<{ t: string | null }>(
    'select to_regclass($1)::text as t',
    [`${schema}.job`],
  );
  if (!found[0]?.t) return [];
  return (await database.raw.query(text, values)).rows as T[];
}

const ORG_OF_JOB = `(data->>'org_id' = $1 or data->>'orgId' = $1)`;

/** How long a job of a paused (suspended) organization waits before it is looked at again, seconds. */
export const PAUSED_RETRY_SECONDS = 60;

/**
 * @param schema the PostgreSQL schema of pg-boss's tables
 * @param superviseSeconds how often pg-boss fails and retries jobs past their expiry or heartbeat
 */
export function createJobQueue(
  database: Database,
  log: FastifyBaseLogger,
  schema = 'pgboss',
  superviseSeconds = 60,
): JobQueue {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`Invalid queue schema ${schema}`);
  const stopHooks: (() => Promise<void>)[] = [];
  const supervision = {
    supervise: true,
    superviseIntervalSeconds: superviseSeconds,
    monitorIntervalSeconds: superviseSeconds,
  };
  const boss = database.pglite
    ? new PgBoss({
        backend: 'pglite',
        db: fromPglite(database.pglite),
        schema,
        ...supervision,
        schedule: true,
      })
    : new PgBoss({ ...serverOptions(database), schema, ...supervision });
  boss.on('error', (error) => log.error({ err: error }, 'job queue error'));
  const definitions = new Map<
    string,
    { queue: QueueDefinition; handler: JobHandler<unknown>; batch?: BatchHandler<unknown> }
  >();
  let started = false;
  let paused: ((orgId: string) => Promise<boolean>) | undefined;
  /** Runs `handler` on the job unless its organization is paused (then sends it again later). */
  const runOrDefer = async (
    name: string,
    handler: JobHandler<unknown>,
    job: { id: string; data: unknown },
  ) => {
    const data = job.data as { org_id?: unknown; orgId?: unknown } | null;
    const orgId =
      typeof data?.org_id === 'string' ? data.org_id : typeof data?.orgId === 'string' ? data.orgId : null;
    if (orgId && paused && (await paused(orgId))) {
      await boss.send(name, job.data as object, { startAfter: PAUSED_RETRY_SECONDS });
      return;
    }
    await handler(job);
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
      const definition = definitions.get(name);
      if (!definition) throw new Error(`No job queue named ${name}`);
      const { heartbeatSeconds, expireInSeconds, deadLetter } = definition.queue;
      // Per job rather than per queue: a queue created by an earlier version keeps its old options.
      const sendOptions = {
        ...(heartbeatSeconds ? { heartbeatSeconds } : {}),
        ...(expireInSeconds ? { expireInSeconds } : {}),
        ...(deadLetter ? { deadLetter } : {}),
        ...(options.startAfter !== undefined ? { startAfter: options.startAfter } : {}),
        ...(options.singletonKey ? { singletonKey: options.singletonKey } : {}),
      };
      if (!conn) return boss.send(name, data, sendOptions);
      // The tenant transaction runs as the app role, which has no rights on pg-boss's schema:
      // step back to the connecting role for the insert only, then return to the app role.
      if (options.pipelined)
        // One round trip: the switch, the insert and the switch back leave together, in order
        // (the first failure is the one reported; the statements behind it fail as aborted).
        return boss.send(name, data, {
          ...sendOptions,
          db: {
            executeSql: (text: string, values?: unknown[]) => {
              const none = conn.query(`select set_config('role', 'none', true)`);
              const result = conn.query(text, values);
              const back = conn.query(`select set_config('role', $1, true)`, [APP_ROLE]);
              for (const sent of [none, result, back]) sent.catch(() => {}); // reported below
              return none
                .then(() => result)
                .then(async (answer) => {
                  await back;
                  return answer;
                });
            },
          },
        });
      await conn.query(`select set_config('role', 'none', true)`);
      try {
        return await boss.send(name, data, {
          ...sendOptions,
          db: { executeSql: (text: string, values?: unknown[]) => conn.query(text, values) },
        });
      } finally {
        await conn.query(`select set_config('role', $1, true)`, [APP_ROLE]);
      }
    },

    async sendMany(conn, name, jobs) {
      const definition = definitions.get(name);
      if (!definition) throw new Error(`No job queue named ${name}`);
      if (jobs.length === 0) return;
      const { heartbeatSeconds, expireInSeconds, deadLetter } = definition.queue;
      const rows = jobs.map(({ data, options = {} }) => ({
        data,
        ...(heartbeatSeconds ? { heartbeatSeconds } : {}),
        ...(expireInSeconds ? { expireInSeconds } : {}),
        ...(deadLetter ? { deadLetter } : {}),
        ...(options.startAfter !== undefined
          ? {
              startAfter:
                options.startAfter instanceof Date
                  ? options.startAfter
                  : new Date(Date.now() + options.startAfter * 1000),
            }
          : {}),
        ...(options.singletonKey ? { singletonKey: options.singletonKey } : {}),
      }));
      // As `send`: the insert only steps out of the tenant transaction's app role.
      await conn.query(`select set_config('role', 'none', true)`);
      try {
        await boss.insert(name, rows, {
          db: { executeSql: (text: string, values?: unknown[]) => conn.query(text, values) },
        });
      } finally {
        await conn.query(`select set_config('role', $1, true)`, [APP_ROLE]);
      }
    },

    async dropQueuedOf(orgId) {
      // pg-boss's job table (created on its first start; none yet: nothing queued).
      const table = `${schema}.job`;
      const { rows: found } = await database.raw.query<{ t: string | null }>(
        'select to_regclass($1)::text as t',
        [table],
      );
      if (!found[0]?.t) return 0;
      const { rows } = await database.raw.query(
        `delete from ${table} where state in ('created', 'retry')
           and (data->>'org_id' = $1 or data->>'orgId' = $1) returning 1`,
        [orgId],
      );
      return rows.length;
    },

    async counts(orgId) {
      const rows = await jobRows<{ queue: string; state: string; n: number }>(
        database,
        schema,
        `select name as queue, state::text as state, count(*)::int as n from ${schema}.job
          ${orgId ? `where ${ORG_OF_JOB}` : ''} group by 1, 2 order by 1, 2`,
        orgId ? [orgId] : [],
      );
      return rows.map((r) => ({ queue: r.queue, state: r.state, count: Number(r.n) }));
    },

    async failedJobs(orgId, limit = 50) {
      const rows = await jobRows<{
        id: string;
        queue: string;
        at: string | null;
        retries: number;
        error: string | null;
      }>(
        database,
        schema,
        `select id::text, name as queue, completed_on::text as at, retry_count as retries,
                coalesce(output->>'message', output::text) as error
           from ${schema}.job where state = 'failed' and ${ORG_OF_JOB}
          order by completed_on desc nulls last limit $2`,
        [orgId, limit],
      );
      return rows.map((r) => ({
        id: r.id,
        queue: r.queue,
        failed_at: r.at ? new Date(r.at).toISOString() : null,
        retries: Number(r.retries),
        error: r.error ? r.error.slice(0, 500) : null,
      }));
    },

    async failedOf<T>(name: string, since: Date, limit = 1000) {
      const rows = await jobRows<{ id: string; data: T }>(
        database,
        schema,
        `select id::text, data from ${schema}.job where name = $1 and state = 'failed' and completed_on >= $2
          order by completed_on desc limit $3`,
        [name, since.toISOString(), limit],
      );
      return rows;
    },

    async retryFailed(orgId, id) {
      if (!/^[0-9a-f-]{36}$/i.test(id)) return false;
      const rows = await jobRows<{ queue: string }>(
        database,
        schema,
        `select name as queue from ${schema}.job where id = $2::uuid and state = 'failed' and ${ORG_OF_JOB}`,
        [orgId, id],
      );
      if (!rows[0]) return false;
      await boss.retry(rows[0].queue, id);
      return true;
    },

    async start({ worker }) {
      await boss.start();
      started = true;
      for (const { queue } of definitions.values()) {
        await boss.createQueue(queue.name, {
          retryLimit: queue.retryLimit ?? 5,
          retryBackoff: true,
          ...(queue.policy ? { policy: queue.policy } : {}),
        });
        // createQueue empties pg-boss's queue cache; a later send inside a PGlite transaction would
        // then look the queue up on the one (busy) connection and wait forever. Refill it now.
        await boss.findJobs(queue.name, { key: '__warm__' });
      }
      if (!worker) return;
      for (const { queue, handler, batch } of definitions.values()) {
        await boss.work(
          queue.name,
          // Burst while fetches come back full (issue 25): without it each fetch of `concurrency`
          // jobs waited out the polling interval, capping a busy queue at concurrency / 0.5 s
          // (a send batch at 10 messages a second, whatever the hardware).
          {
            batchSize: queue.concurrency ?? 1,
            pollingIntervalSeconds: 0.5,
            burstWhenBatchFull: true,
            includeMetadata: true,
          },
          async (jobs) => {
            if (batch) {
              const began = performance.now();
              const ready: { id: string; data: unknown }[] = [];
              for (const job of jobs)
                await runOrDefer(queue.name, async (j) => void ready.push(j), { id: job.id, data: job.data });
              let ok = false;
              try {
                if (ready.length) await batch(ready);
                ok = true;
              } finally {
                const seconds = (performance.now() - began) / 1000;
                for (const job of jobs) {
                  const due = job.startAfter;
                  const waited = due ? (Date.now() - new Date(due).getTime()) / 1000 : undefined;
                  observeJob(queue.name, seconds, ok, waited);
                }
              }
              return;
            }
            const run = async (job: (typeof jobs)[number]) => {
              const began = performance.now();
              const due = job.startAfter;
              const waited = due ? (Date.now() - new Date(due).getTime()) / 1000 : undefined;
              try {
                await runOrDefer(queue.name, handler, { id: job.id, data: job.data });
                observeJob(queue.name, (performance.now() - began) / 1000, true, waited);
              } catch (error) {
                observeJob(queue.name, (performance.now() - began) / 1000, false, waited);
                throw error;
              }
            };
            if (queue.parallel) {
              await Promise.all(jobs.map(run));
              return;
            }
            for (const job of jobs) await run(job);
          },
        );
      }
    },

    onStop(fn) {
      stopHooks.push(fn);
    },

    async stop(timeoutMs = 10_000) {
      await Promise.allSettled(stopHooks.map((fn) => fn()));
      if (!started) return;
      started = false;
      await boss.stop({ graceful: true, timeout: timeoutMs, close: true });
    },
  };
}

function serverOptions(database: Database) {
  const pool = database.pool!;
  // pg-boss gets its own small pool on the same server as the app.
  return {
    connectionString: (pool.options as { connectionString?: string }).connectionString,
    max: 4,
    schedule: true,
  };
}
