import { sql } from 'drizzle-orm';
import { newId } from '../../db/ids.js';
import type { TenantScope } from '../../db/tenant.js';
import type { JobQueue } from '../jobs/job-queue.js';
import { events } from './event.schema.js';
import { assertEventData, type EventCatalogue, type EventType } from './event-catalogue.js';

/** The standard event envelope (DESIGN invariant 6). */
export type EventEnvelope = {
  id: string;
  org_id: string;
  type: string;
  version: number;
  occurred_at: string;
  actor: { type: 'user' | 'api_key' | 'workflow' | 'system' | 'import'; id: string | null };
  subject: { object: string; id: string };
  data: Record<string, unknown>;
  trace_id: string | null;
};

/**
 * An event to emit, typed by the catalogue: `type` is a catalogued type and `data` its shape
 * (an unknown type or a wrong shape does not compile; `catalogued()` checks a type built at run
 * time). `data` may be left out when the type's data has no required field.
 */
export type NewEvent<T extends EventType = EventType> = T extends EventType
  ? {
      /** `<object>.<verb>`: `contact.created`, `member.role_changed`. */
      type: T;
      subject: { object: string; id: string };
      version?: number;
      /** Other records whose timelines should show this event. */
      related?: { object: string; id: string }[];
    } & (Record<string, never> extends EventCatalogue[T]
      ? { data?: EventCatalogue[T] }
      : { data: EventCatalogue[T] })
  : never;

/**
 * Whether emitted data is checked against the catalogue at run time: in tests (vitest sets
 * `NODE_ENV=test`) and development, not in production or benchmarks, where the types are the
 * guard and an import's million events should not pay for it.
 */
const checkEvents = process.env.NODE_ENV === 'test' || process.env.NODE_ENV === 'development';

/** @throws when an event's type is not catalogued or its data does not fit (tests, development) */
function checked(event: NewEvent): void {
  if (checkEvents) assertEventData(event.type, event.data ?? {});
}

/** The queue the dispatcher consumes: one job per event, enqueued in the event's transaction. */
export const EVENT_DISPATCH_QUEUE = 'event.dispatch';

/**
 * The one way to record that something happened: appends the event in the caller's tenant
 * transaction and enqueues its dispatch job in the same transaction, so the event and its
 * delivery exist exactly when the change does.
 */
export async function emitEvent(scope: TenantScope, jobs: JobQueue, event: NewEvent): Promise<string> {
  checked(event);
  const id = newId();
  await scope.tx.insert(events).values({
    orgId: scope.ctx.orgId,
    id,
    type: event.type,
    version: event.version ?? 1,
    // The wall-clock time, not the transaction's start: events of one transaction keep their order.
    occurredAt: sql`clock_timestamp()`,
    actorType: scope.ctx.actor.type,
    actorId: scope.ctx.actor.id,
    subjectObject: event.subject.object,
    subjectId: event.subject.id,
    data: event.data ?? {},
    traceId: scope.ctx.traceId ?? null,
    related: (event.related ?? []).map((r) => `${r.object}:${r.id}`),
  });
  if (scope.deferredDispatch) scope.deferredDispatch.push(id);
  else await jobs.send(scope.conn, EVENT_DISPATCH_QUEUE, { org_id: scope.ctx.orgId, event_id: id });
  return id;
}

/**
 * Sends the events a scope with `deferredDispatch` collected as one dispatch job (in their
 * order), in the scope's transaction, and empties the list.
 */
export async function flushDispatch(scope: TenantScope, jobs: JobQueue): Promise<void> {
  const ids = scope.deferredDispatch?.splice(0) ?? [];
  if (ids.length === 0) return;
  await jobs.send(scope.conn, EVENT_DISPATCH_QUEUE, { org_id: scope.ctx.orgId, event_ids: ids });
}

/** A dispatch job's payload: one event, or the events of one bulk write in their order. */
export type DispatchJob = { org_id: string; event_id?: string; event_ids?: string[] };

/**
 * `emitEvent` for many events at once (an import batch): one multi-row insert and one dispatch
 * job carrying every event id, in the caller's tenant transaction. Consumers still see one
 * envelope per event, in the given order; their times increase in that order (a microsecond
 * apart at least), so a timeline lists them in it.
 * @returns the events' ids, in the given order
 */
export async function emitEvents(scope: TenantScope, jobs: JobQueue, batch: NewEvent[]): Promise<string[]> {
  if (batch.length === 0) return [];
  for (const event of batch) checked(event);
  const rows = batch.map((event, ord) => ({
    id: newId(),
    ord,
    type: event.type,
    version: event.version ?? 1,
    subject_object: event.subject.object,
    subject_id: event.subject.id,
    data: event.data ?? {},
    related: (event.related ?? []).map((r) => `${r.object}:${r.id}`),
  }));
  const inserted = scope.conn.query(
    `insert into events (org_id, id, type, version, occurred_at, actor_type, actor_id, subject_object,
        subject_id, data, trace_id, related)
     select $1, x.id, x.type, x.version, clock_timestamp() + x.ord * interval '1 microsecond', $2, $3,
        x.subject_object, x.subject_id, x.data, $4, x.related
       from jsonb_to_recordset($5::jsonb) as x(id uuid, ord int, type text, version int,
        subject_object text, subject_id text, data jsonb, related text[])`,
    [
      scope.ctx.orgId,
      scope.ctx.actor.type,
      scope.ctx.actor.id,
      scope.ctx.traceId ?? null,
      JSON.stringify(rows),
    ],
  );
  const ids = rows.map((r) => r.id);
  if (scope.deferredDispatch) {
    await inserted;
    scope.deferredDispatch.push(...ids);
    return ids;
  }
  const job = { org_id: scope.ctx.orgId, event_ids: ids };
  if (!scope.pipeline) {
    await inserted;
    await jobs.send(scope.conn, EVENT_DISPATCH_QUEUE, job);
    return ids;
  }
  // In pipeline mode the job's statements follow the insert without waiting for its answer; a
  // failed insert is the error thrown (the statements behind it fail only as aborted).
  inserted.catch(() => {});
  try {
    await jobs.send(scope.conn, EVENT_DISPATCH_QUEUE, job, { pipelined: true });
  } catch (error) {
    await inserted;
    throw error;
  }
  await inserted;
  return ids;
}
