import { and, eq } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { type TenantScope, withTenant } from '../../db/tenant.js';
import type { JobQueue } from '../jobs/job-queue.js';
import { eventDeliveries, events } from './event.schema.js';
import { type DispatchJob, EVENT_DISPATCH_QUEUE, type EventEnvelope } from './events.js';

/**
 * A consumer of events (timeline, workflows, webhooks, notifications, the guard, search...).
 * `handle` runs in a tenant transaction together with the record that it has handled this
 * event, so an event is handled at most once to visible effect, and a crash retries it.
 */
export type EventConsumer = {
  name: string;
  /** Event types it wants; `*` for all. */
  types: readonly string[] | '*';
  handle(event: EventEnvelope, scope: TenantScope): Promise<void>;
};

export type EventDispatcher = { register(consumer: EventConsumer): void };

/** Wires the dispatch queue: each event job is offered to every interested consumer. */
export function createEventDispatcher(database: Database, jobs: JobQueue): EventDispatcher {
  const consumers: EventConsumer[] = [];
  const dispatch = async (orgId: string, eventId: string) => {
    const ctx = { orgId, actor: { type: 'system' as const, id: null } };
    const envelope = await withTenant(database, ctx, async ({ tx }) => {
      const [row] = await tx
        .select()
        .from(events)
        .where(and(eq(events.orgId, orgId), eq(events.id, eventId)));
      return row ? toEnvelope(row) : undefined;
    });
    if (!envelope) return; // its organization was deleted
    for (const consumer of consumers) {
      if (consumer.types !== '*' && !consumer.types.includes(envelope.type)) continue;
      await withTenant(database, { ...ctx, traceId: envelope.trace_id ?? undefined }, async (scope) => {
        const claimed = await scope.tx
          .insert(eventDeliveries)
          .values({ orgId: envelope.org_id, eventId: envelope.id, consumer: consumer.name })
          .onConflictDoNothing()
          .returning({ eventId: eventDeliveries.eventId });
        if (claimed.length === 0) return; // handled before
        await consumer.handle(envelope, scope);
      });
    }
  };
  // A job carries one event (`emitEvent`) or a bulk write's events (`emitEvents`), offered in
  // order; a retried job skips what each consumer has already handled.
  jobs.define<DispatchJob>(
    { name: EVENT_DISPATCH_QUEUE, retryLimit: 10, concurrency: 10 },
    async ({ data }) => {
      const ids = data.event_ids ?? (data.event_id ? [data.event_id] : []);
      if (consumers.length === 0) return;
      for (const id of ids) await dispatch(data.org_id, id);
    },
  );
  return { register: (consumer) => void consumers.push(consumer) };
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
