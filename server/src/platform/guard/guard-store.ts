import { Redis } from 'ioredis';
import type { Database } from '../../db/client.js';
import { withTenant } from '../../db/tenant.js';
import { bucketSecondsOf, MAX_WINDOW_SECONDS } from './guard-budgets.js';

/** One counter: a subject's metric in an organization, counted over a window. */
export type CounterKey = { orgId: string; subject: string; metric: string; windowSeconds: number };
/** A counter's increase since the last flush (0 to only read its total). */
export type CounterDelta = CounterKey & { count: number };

/**
 * Where the guard's counters are shared between server processes: PostgreSQL by default, Redis
 * when `REDIS_URL` is set. A process adds what it counted in batches (`GUARD_FLUSH_MS`), never per
 * request, and reads back the rolling totals in the same round trip.
 */
export type GuardStore = {
  /** Adds the deltas; answers each counter's rolling total after them, in the same order. */
  flush(deltas: CounterDelta[], nowS: number): Promise<number[]>;
  /** Forgets every count of a subject (an admin unlocked it). */
  reset(orgId: string, subject: string): Promise<void>;
  close(): Promise<void>;
};

const bucketOf = (nowS: number, bucketSeconds: number) => Math.floor(nowS / bucketSeconds) * bucketSeconds;

/** Counters in `guard_counters`: one upsert-and-sum statement per organization and flush. */
export function postgresGuardStore(database: Database): GuardStore {
  let flushes = 0;
  return {
    async flush(deltas, nowS) {
      const byOrg = new Map<string, number[]>();
      deltas.forEach((d, i) => {
        byOrg.set(d.orgId, [...(byOrg.get(d.orgId) ?? []), i]);
      });
      const totals = new Array<number>(deltas.length).fill(0);
      const prune = ++flushes % 60 === 0;
      for (const [orgId, indexes] of byOrg) {
        const rows = indexes.map((i) => {
          const d = deltas[i]!;
          const bs = bucketSecondsOf(d.windowSeconds);
          return {
            i,
            subject: d.subject,
            metric: d.metric,
            bucket_seconds: bs,
            bucket: bucketOf(nowS, bs),
            count: d.count,
            window_s: d.windowSeconds,
          };
        });
        const result = await withTenant(
          database,
          { orgId, actor: { type: 'system', id: null } },
          async ({ conn }) => {
            // A data-modifying CTE: the select reads the snapshot before the upsert, plus the delta.
            const { rows: sums } = await conn.query<{ i: number; total: string }>(
              `with d as (
               select * from jsonb_to_recordset($2::jsonb)
                 as x(i int, subject text, metric text, bucket_seconds int, bucket bigint, count bigint, window_s int)
             ), up as (
               insert into guard_counters as c (org_id, subject, metric, bucket_seconds, bucket, count)
               select $1::uuid, subject, metric, bucket_seconds, bucket, count from d where count > 0
               on conflict (org_id, subject, metric, bucket_seconds, bucket)
                 do update set count = c.count + excluded.count
               returning 1
             )
             select d.i, (d.count + coalesce((
               select sum(c.count) from guard_counters c
                where c.org_id = $1::uuid and c.subject = d.subject and c.metric = d.metric
                  and c.bucket_seconds = d.bucket_seconds and c.bucket > d.bucket - d.window_s), 0))::text as total
               from d`,
              [orgId, JSON.stringify(rows)],
            );
            if (prune) {
              await conn.query(`delete from guard_counters where org_id = $1 and bucket < $2`, [
                orgId,
                nowS - 2 * MAX_WINDOW_SECONDS,
              ]);
            }
            return sums;
          },
        );
        for (const r of result) totals[r.i] = Number(r.total);
      }
      return totals;
    },
    async reset(orgId, subject) {
      await withTenant(database, { orgId, actor: { type: 'system', id: null } }, ({ conn }) =>
        conn.query('delete from guard_counters where org_id = $1 and subject = $2', [orgId, subject]),
      );
    },
    async close() {},
  };
}

const PREFIX = 'cairn-guard:';

/**
 * Counters in Redis, one key per bucket (`cairn-guard:<org>:<subject>:<metric>:<bucket size>:<bucket>`)
 * that expires once it leaves the window: a flush is one pipeline (INCRBY, EXPIRE and a MGET of
 * the window's buckets per counter).
 */
export function redisGuardStore(redisUrl: string): GuardStore {
  // Connected on first use: a process that never serves the API (a worker) opens no connection.
  let connection: Redis | undefined;
  const client = () => {
    connection ??= new Redis(redisUrl, { connectTimeout: 2000, maxRetriesPerRequest: 1 });
    return connection;
  };
  const keyOf = (d: CounterKey, bs: number, bucket: number) =>
    `${PREFIX}${d.orgId}:${d.subject}:${d.metric}:${bs}:${bucket}`;
  return {
    async flush(deltas, nowS) {
      const pipeline = client().pipeline();
      for (const d of deltas) {
        const bs = bucketSecondsOf(d.windowSeconds);
        const bucket = bucketOf(nowS, bs);
        const key = keyOf(d, bs, bucket);
        if (d.count > 0) {
          pipeline.incrby(key, d.count);
          pipeline.expire(key, d.windowSeconds + bs);
        }
        const keys: string[] = [];
        for (let b = bucket; b > bucket - d.windowSeconds; b -= bs) keys.push(keyOf(d, bs, b));
        pipeline.mget(...keys);
      }
      const results = (await pipeline.exec()) ?? [];
      const totals: number[] = [];
      let at = 0;
      for (const d of deltas) {
        if (d.count > 0) at += 2;
        const [error, values] = results[at++] ?? [];
        if (error) throw error;
        totals.push((values as (string | null)[]).reduce((sum, v) => sum + Number(v ?? 0), 0));
      }
      return totals;
    },
    async reset(orgId, subject) {
      let cursor = '0';
      do {
        const [next, keys] = await client().scan(
          cursor,
          'MATCH',
          `${PREFIX}${orgId}:${subject}:*`,
          'COUNT',
          500,
        );
        if (keys.length > 0) await client().del(...keys);
        cursor = next;
      } while (cursor !== '0');
    },
    async close() {
      await connection?.quit();
    },
  };
}
