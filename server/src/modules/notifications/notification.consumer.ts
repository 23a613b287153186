import type { TenantScope } from '../../db/tenant.js';
import type { EventConsumer } from '../../platform/events/dispatcher.js';
import { eventCatalogue } from '../../platform/events/event-catalogue.js';
import type { EventEnvelope } from '../../platform/events/events.js';
import {
  deliverNotification,
  type NotificationDraft,
  recordFacts,
  statusFieldsOf,
} from './notification-delivery.service.js';

/** The events that notify someone besides every `<object>.updated` (owner, assignee and status changes). */
const NAMED_TYPES = [
  'opportunity.moved',
  'opportunity.closed',
  'opportunity.reopened',
  'record.status_changed',
  'task.created',
  'task.reminder_due',
  'task.due_today',
  'task.overdue',
  'note.created',
  'note.updated',
  'quote.accepted',
  'quote.rejected',
  'record.handoff_requested',
  'record.handoff_accepted',
  'record.handoff_denied',
];

/** Actors whose mass writes would flood a member: an import's rows do not notify their owners. */
const QUIET_ACTORS = new Set(['import']);

type Changes = Record<string, { before: unknown; after: unknown }>;

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/**
 * The notifications one event makes (before settings and coalescing). Never to the event's own
 * actor: a member does not hear about what they did themselves.
 */
async function draftsOf(scope: TenantScope, e: EventEnvelope): Promise<NotificationDraft[]> {
  const data = e.data as Record<string, unknown>;
  const actorId = e.actor.type === 'user' ? e.actor.id : null;
  const base = {
    object: e.subject.object,
    recordId: e.subject.id,
    recordName: str(data.name),
    actorId,
    eventId: e.id,
  };
  const drafts: NotificationDraft[] = [];
  const verb = e.type.slice(e.type.indexOf('.') + 1);

  if (e.type === 'task.created') {
    const assignee = str(data.assignee_id);
    if (assignee && !QUIET_ACTORS.has(e.actor.type))
      drafts.push({ ...base, kind: 'task_assigned', recipientId: assignee });
  } else if (e.type === 'task.reminder_due') {
    const assignee = str(data.assignee_id);
    if (assignee) drafts.push({ ...base, kind: 'task_reminder', recipientId: assignee });
  } else if (e.type === 'task.due_today' || e.type === 'task.overdue') {
    const assignee = str(data.assignee_id);
    const kind = e.type === 'task.due_today' ? 'task_due' : 'task_overdue';
    if (assignee)
      drafts.push({
        ...base,
        kind,
        recipientId: assignee,
        onceKey: `${kind}:${e.subject.id}:${data.due_at}`,
      });
  } else if (e.type === 'note.created' || e.type === 'note.updated') {
    const mentioned = Array.isArray(data.mentions) ? data.mentions.filter((m) => typeof m === 'string') : [];
    if (mentioned.length > 0) {
      const record = await noteRecordOf(scope, e.id);
      const facts = record ? await recordFacts(scope, record.object, record.id) : undefined;
      if (record && facts)
        for (const user of new Set(mentioned))
          drafts.push({
            ...base,
            kind: 'mention',
            recipientId: user,
            object: record.object,
            recordId: record.id,
            recordName: facts.name,
            detail: str(data.name),
          });
    }
  } else if (e.type === 'record.handoff_requested') {
    // The member the queue's rule chose, else every member of the owning role.
    const assigned = str(data.assigned_to);
    const detail = `${str(data.status_label)} · ${str(data.role_label)}`;
    for (const user of assigned ? [assigned] : await membersOfRole(scope, String(data.role)))
      drafts.push({ ...base, kind: 'handoff_waiting', recipientId: user, detail });
  } else if (e.type === 'record.handoff_accepted' || e.type === 'record.handoff_denied') {
    // The sender and the record's owner before the hand-off hear the decision.
    const kind = e.type === 'record.handoff_accepted' ? 'handoff_accepted' : 'handoff_denied';
    const detail = kind === 'handoff_denied' ? str(data.reason) : str(data.role_label);
    for (const user of new Set([str(data.requested_by), str(data.previous_owner)]))
      if (user) drafts.push({ ...base, kind, recipientId: user, detail });
  } else if (e.type === 'quote.accepted' || e.type === 'quote.rejected') {
    // The customer answered online: the quote's owner hears of it.
    const owner = str(data.owner_id);
    if (owner)
      drafts.push({
        ...base,
        kind: 'status_changed',
        recipientId: owner,
        detail: verb === 'accepted' ? 'Accepted' : 'Rejected',
      });
  } else if (
    (e.subject.object === 'opportunity' && ['moved', 'closed', 'reopened'].includes(verb)) ||
    e.type === 'record.status_changed'
  ) {
    const facts = await recordFacts(scope, e.subject.object, e.subject.id);
    // A close's stage is its outcome (Won, Lost); a custom object's status change names its status.
    const detail = str(data.to_stage) ?? str(data.to_label);
    if (facts?.ownerId)
      drafts.push({
        ...base,
        kind: 'status_changed',
        recipientId: facts.ownerId,
        detail,
        recordName: base.recordName ?? facts.name,
      });
  } else if (verb === 'updated') {
    const changes = (data.changes ?? {}) as Changes;
    if (e.subject.object === 'task') {
      const assignee = str(changes.assignee_id?.after);
      if (assignee && !QUIET_ACTORS.has(e.actor.type))
        drafts.push({ ...base, kind: 'task_assigned', recipientId: assignee });
    } else if (e.subject.object !== 'note') {
      const newOwner = str(changes.owner_id?.after);
      const assigns = newOwner !== null && !QUIET_ACTORS.has(e.actor.type);
      // Only records of registry objects (not a saved view's or a pipeline's own fields).
      const statusKeys = await statusFieldsOf(scope, e.subject.object);
      const status = statusKeys && Object.keys(changes).find((k) => statusKeys.includes(k));
      if (statusKeys && (assigns || status)) {
        const facts = await recordFacts(scope, e.subject.object, e.subject.id);
        if (!facts) return [];
        const recordName = base.recordName ?? facts.name;
        if (assigns) drafts.push({ ...base, recordName, kind: 'assigned', recipientId: newOwner });
        if (status && facts.ownerId && facts.ownerId !== newOwner)
          drafts.push({
            ...base,
            recordName,
            kind: 'status_changed',
            recipientId: facts.ownerId,
            detail: str(changes[status]?.after),
          });
      }
    }
  }
  return drafts.filter((d) => d.recipientId !== actorId);
}

/** More assignments than this to one member in one write (a bulk action) make one notification. */
const BULK_MIN = 3;

/**
 * One bulk write's assignments to one member, of one object and kind, as one notification: on
 * the first record, counting them all (`and 24 more`), instead of one per record.
 */
function coalesceBulk(drafts: NotificationDraft[]): NotificationDraft[] {
  const groups = new Map<string, NotificationDraft[]>();
  for (const d of drafts) {
    if (d.kind !== 'assigned' && d.kind !== 'task_assigned') continue;
    const key = `${d.kind}:${d.recipientId}:${d.object}`;
    groups.set(key, [...(groups.get(key) ?? []), d]);
  }
  const out: NotificationDraft[] = [];
  const done = new Set<string>();
  for (const d of drafts) {
    const key = `${d.kind}:${d.recipientId}:${d.object}`;
    const group = groups.get(key);
    if (!group || group.length <= BULK_MIN) out.push(d);
    else if (!done.has(key)) {
      done.add(key);
      out.push({ ...d, count: group.length, detail: `and ${group.length - 1} more` });
    }
  }
  return out;
}

/** The members holding `role` in the event's organization (a hand-off's queue). */
async function membersOfRole(scope: TenantScope, role: string): Promise<string[]> {
  const { rows } = await scope.conn.query<{ user_id: string }>(
    `select user_id from members where organization_id = $1 and role = $2 and guard_locked_at is null`,
    [scope.ctx.orgId, role],
  );
  return rows.map((r) => r.user_id);
}

/** The record a note is on: the `related` of its event (a note's events name its record there). */
async function noteRecordOf(scope: TenantScope, eventId: string) {
  const { rows } = await scope.conn.query<{ related: string[] }>(
    `select related from events where org_id = $1 and id = $2`,
    [scope.ctx.orgId, eventId],
  );
  const first = rows[0]?.related?.[0];
  if (!first) return undefined;
  const at = first.indexOf(':');
  return { object: first.slice(0, at), id: first.slice(at + 1) };
}

/**
 * The notifications consumer: turns owner changes (`*.updated` of any object with an owner),
 * status and stage changes, task assignments, due / overdue tasks and reminders, and mentions in
 * notes into notifications. Its types are read from the event catalogue when it is registered,
 * so an object registered later (its `<object>.updated`) is covered without code here.
 */
export function notificationConsumer(): EventConsumer {
  const updated = eventCatalogue()
    .map(([type]) => type)
    .filter((type) => type.endsWith('.updated'));
  return {
    name: 'notifications',
    types: [...new Set([...updated, ...NAMED_TYPES])],
    handle: async (batch, scope) => {
      const drafts: NotificationDraft[] = [];
      for (const e of batch) drafts.push(...(await draftsOf(scope, e)));
      for (const draft of coalesceBulk(drafts)) await deliverNotification(scope, draft);
    },
  };
}
