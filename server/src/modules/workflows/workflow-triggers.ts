import type { EventEnvelope } from '../../platform/events/events.js';
import type { Trigger } from './workflow.definition.js';

/**
 * How a trigger kind recognises its events (issue 24). `matches` is the cheap test on the event
 * alone; the trigger's `conditions` are then checked against the record itself. `events` are the
 * event types the kind listens to (the dispatcher's consumer subscribes to all of them).
 *
 * The extension point for the trigger kinds still to come (form submitted, inbound message,
 * inbound webhook, date reached): `registerTrigger` with the events that module emits, plus the
 * kind's schema in `workflow.definition.ts`. A kind with no event (`schedule`, `manual`) starts
 * runs itself (`workflow-schedule.service.ts`, `POST /workflows/{id}/runs`).
 */
export type TriggerKind = {
  /** Event types (`contact.updated`), or `*.created`-style suffix patterns. */
  events: readonly string[];
  /** Whether `event` fires `trigger` on a workflow of `object` (before the record's conditions). */
  matches(event: EventEnvelope, trigger: Trigger, object: string): boolean;
  /** A tag the record must carry now, checked with the conditions (a record created with the tag). */
  requiresTag?(event: EventEnvelope, trigger: Trigger): string | undefined;
  /**
   * The record of the workflow's object the run is on, when it is not the event's subject (a form
   * submission's contact, a message's contact); undefined: none, no run.
   */
  recordOf?(event: EventEnvelope, trigger: Trigger, object: string): string | undefined;
};

const kinds = new Map<string, TriggerKind>();

/** Registers a trigger kind. @throws when the type is registered twice */
export function registerTrigger(type: string, kind: TriggerKind): void {
  if (kinds.has(type)) throw new Error(`Workflow trigger ${type} is registered twice`);
  kinds.set(type, kind);
}

export const triggerKind = (type: string): TriggerKind | undefined => kinds.get(type);

/** Every event type or suffix pattern some trigger listens to. */
export const triggerEventPatterns = (): string[] => [
  ...new Set([...kinds.values()].flatMap((k) => k.events)),
];

const verbOf = (type: string) => type.slice(type.indexOf('.') + 1);
const changesOf = (event: EventEnvelope) =>
  (event.data.changes ?? {}) as Record<string, { before: unknown; after: unknown } | undefined>;
const lowerList = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v) => typeof v === 'string').map((v) => v.toLowerCase()) : [];
const ofObject = (event: EventEnvelope, object: string) => event.subject.object === object;

registerTrigger('record_created', {
  events: ['*.created'],
  matches: (e, _t, object) => ofObject(e, object) && verbOf(e.type) === 'created',
});

registerTrigger('record_updated', {
  events: ['*.updated'],
  matches: (e, t, object) => {
    if (!ofObject(e, object) || verbOf(e.type) !== 'updated' || t.type !== 'record_updated') return false;
    const changed = Object.keys(changesOf(e));
    return !t.fields?.length || changed.some((k) => t.fields!.includes(k));
  },
});

/** A tag that `tags` went from not having to having (`added`) or the other way. */
const tagMoved = (e: EventEnvelope, tag: string, added: boolean) => {
  const change = changesOf(e).tags;
  if (!change) return false;
  const had = lowerList(change.before).includes(tag.toLowerCase());
  const has = lowerList(change.after).includes(tag.toLowerCase());
  return added ? !had && has : had && !has;
};

registerTrigger('tag_added', {
  events: ['*.updated', '*.created'],
  matches: (e, t, object) =>
    ofObject(e, object) &&
    t.type === 'tag_added' &&
    (verbOf(e.type) === 'created' || (verbOf(e.type) === 'updated' && tagMoved(e, t.tag, true))),
  // A record created with the tag got it too: checked on the record, as a condition.
  requiresTag: (e, t) => (verbOf(e.type) === 'created' && t.type === 'tag_added' ? t.tag : undefined),
});

registerTrigger('tag_removed', {
  events: ['*.updated'],
  matches: (e, t, object) =>
    ofObject(e, object) &&
    t.type === 'tag_removed' &&
    verbOf(e.type) === 'updated' &&
    tagMoved(e, t.tag, false),
});

registerTrigger('stage_changed', {
  events: ['opportunity.moved', 'opportunity.closed'],
  matches: (e, t) =>
    t.type === 'stage_changed' &&
    (!t.to_stage || String(e.data.to_stage ?? '').toLowerCase() === t.to_stage.toLowerCase()),
});

registerTrigger('opportunity_won', {
  events: ['opportunity.closed'],
  matches: (e) => e.data.status === 'won',
});

registerTrigger('opportunity_lost', {
  events: ['opportunity.closed'],
  matches: (e) => e.data.status === 'lost',
});

registerTrigger('task_overdue', {
  events: ['task.overdue'],
  matches: (e) => e.subject.object === 'task',
});

registerTrigger('form_submitted', {
  events: ['form.submitted'],
  matches: (e, t, object) =>
    ofObject(e, object) && t.type === 'form_submitted' && (!t.form_id || e.data.form_id === t.form_id),
});

registerTrigger('message_received', {
  events: ['message.received'],
  // A message from no known contact has the conversation as subject: no run on a contact.
  matches: (e, t, object) =>
    ofObject(e, object) &&
    t.type === 'message_received' &&
    (!t.channel_kind || e.data.channel_kind === t.channel_kind),
});

// `schedule`, `date_reached` and `manual` start runs themselves: they listen to no event.
registerTrigger('schedule', { events: [], matches: () => false });
registerTrigger('date_reached', { events: [], matches: () => false });
registerTrigger('manual', { events: [], matches: () => false });
// A POST to the workflow's secret URL starts it (`workflow-inbound.service.ts`).
registerTrigger('inbound_webhook', { events: [], matches: () => false });
