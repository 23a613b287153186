import type { Database } from '../../db/client.js';
import { type TenantScope, withTenant } from '../../db/tenant.js';
import type { JobQueue } from '../jobs/job-queue.js';
import { observeDispatchLag } from '../metrics/metrics.js';
import type { events } from './event.schema.js';
import { catalogued } from './event-catalogue.js';
import { type DispatchJob, EVENT_DISPATCH_QUEUE, type EventEnvelope } from './events.js';

/**
 * A consumer of events (timeline, workflows, webhooks, notifications, the guard, search...).
 * `handle` gets the events of one dispatch job (one event, or a bulk write's, in order) that it
 * has not handled before, in one tenant transaction together with the record that it has handled
 * them, so an event is handled at most once to visible effect, and a crash retries it.
 */
export type EventConsumer = {
  name: string;
  /** Event types it wants, each in the event catalogue; `*` for all. */
  types: readonly string[] | '*';
  /**
   * Whether it has anything to act on in the scope's organization now (an active webhook
   * subscription, an active workflow). When it answers false the events are neither claimed nor
   * handled: handling them would have had no effect, and an import of 200,000 contacts no longer
   * writes 200,000 delivery rows per idle consumer (bench/import.bench.ts). Omitted: always.
   */
  activeIn?(scope: TenantScope): Promise<boolean>;
  /**
   * Handling the same events again has no visible effect (it only marks records, `on conflict do
   * nothing`): no delivery row is claimed per event, so an import of 100,000 contacts does not
   * write 100,000 of them for it (bench/import.bench.ts). A crash after its transaction commits
   * only makes a retry handle the events again. Omitted: deliveries are claimed.
   */
  idempotent?: boolean;
  handle(events: EventEnvelope[], scope: TenantScope): Promise<void>;
};

export type EventDispatcher = { register(consumer: EventConsumer): void };

/**
 * Wires the dispatch queue: each job's events are read in one transaction and offered to each
 * interested consumer in one transaction per consumer (an import batch of 1,500 events costs a
 * consumer one transaction, not 1,500).
 */
export function createEventDispatcher(database: Database, jobs: JobQueue): EventDispatcher {
  const consumers: EventConsumer[] = [];
  const dispatch = async (orgId: string, eventIds: string[]) => {
    const ctx = { orgId, actor: { type: 'system' as const, id: null } };
    // One array parameter and the columns as the schema names them: through the query builder,
    // an import batch's 1,500 ids were 1,500 parameters and a twentieth of an import's CPU.
    const rows = await withTenant(
      database,
      ctx,
      async ({ conn }) =>
        (
          await conn.query(
            `select id, org_id as "orgId", type, version, occurred_at::text as "occurredAt",
                    actor_type as "actorType", actor_id as "actorId", subject_object as "subjectObject",
                    subject_id as "subjectId", data, trace_id as "traceId", related
               from events where org_id = $1 and id = any($2::uuid[])`,
            [orgId, eventIds],
          )
        ).rows as (typeof events.$inferSelect)[],
      { readOnly: true },
    );
    if (rows.length === 0) return; // its organization was deleted
    for (const row of rows) observeDispatchLag(row.occurredAt);
    const order = new Map(eventIds.map((id, i) => [id, i]));
    const envelopes = rows.map(toEnvelope).sort((a, b) => order.get(a.id)! - order.get(b.id)!);
    for (const consumer of consumers) {
      const wanted = envelopes.filter((e) => consumer.types === '*' || consumer.types.includes(e.type));
      if (wanted.length === 0) continue;
      const traceId = wanted[0]!.trace_id ?? undefined;
      await withTenant(database, { ...ctx, traceId }, async (scope) => {
        if (consumer.activeIn && !(await consumer.activeIn(scope))) return;
        if (consumer.idempotent) return consumer.handle(wanted, scope);
        // One array parameter, not a row of values per event: building a 1,500-row insert
        // through the query builder was a tenth of an import's CPU (bench/import.bench.ts).
        const { rows: claimed } = await scope.conn.query<{ event_id: string }>(
          `insert into event_deliveries (org_id, event_id, consumer)
           select $1, unnest($2::uuid[]), $3 on conflict do nothing returning event_id`,
          [orgId, wanted.map((e) => e.id), consumer.name],
        );
        if (claimed.length === 0) return; // handled before
        const fresh = new Set(claimed.map((c) => c.event_id));
        await consumer.handle(
          wanted.filter((e) => fresh.has(e.id)),
          scope,
        );
      });
    }
  };
  // The jobs of one fetch are dispatched side by side (each in its own transactions), as separate
  // workers would: one after another, a bulk change's workflow runs waited behind the dispatch of
  // the runs' own events (10,000 runs started over 13.5 s instead of 5.7 s after their events,
  // bench/workflows.bench.ts). Four at once leave the pool's other connections to the jobs.
  jobs.define<DispatchJob>(
    { name: EVENT_DISPATCH_QUEUE, retryLimit: 10, concurrency: 4, parallel: true },
    async ({ data }) => {
      const ids = data.event_ids ?? (data.event_id ? [data.event_id] : []);
      if (consumers.length === 0 || ids.length === 0) return;
      await dispatch(data.org_id, ids);
    },
  );
  return {
    register: (consumer) => {
      // A consumer waiting for a type nobody emits would wait in silence: refuse it at start-up.
      if (consumer.types !== '*') for (const type of consumer.types) catalogued(type);
      consumers.push(consumer);
    },
  };
}

export function toEnvelope(row: typeof events.$inferSelect): EventEnvelope {
  return {
    id: row.id,
    org_id: row.orgId,
    type: row.type,
    version: row.version,
    occurred_at: row.occurredAt,
    actor: { type: row.actorType, id: row.actorId },
    subject: { object: row.subjectObject, id: row.subjectId },
    data: row.data as Record<string, unknown>,
    trace_id: row.traceId,
  };
}
