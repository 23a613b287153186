import { z } from 'zod';
import { FilterNode } from '../../platform/query/query.schema.js';

/**
 * A workflow's definition (issue 24): one trigger and a tree of steps, stored as JSON in
 * `workflow_versions.definition` and checked by these schemas (strict: unknown keys are refused).
 *
 * - `trigger`: what starts a run on a record (see `Trigger`).
 * - `start`: the id of the first step.
 * - `steps`: every step, each with a unique `id` and the id(s) of what follows (`next`, or an
 *   if/else's `if_true` / `if_false`, a condition wait's `next` / `timeout_next`). A step has at most one
 *   step before it (the graph is a tree, so a run reaches each step at most once and the step's
 *   id is its idempotency key within the run); a step with no successor ends its branch. A run
 *   is COMPLETED when every branch has ended.
 * - `reenrollment`: may a record that has run before start again: `never`, `after_completion`
 *   (not while a run of it is still open; the default), `always`.
 * - `position` on a step: where the builder draws it (ignored by the engine).
 *
 * Text fields of actions are templates: `{{record.<field key>}}` (the record's current value),
 * `{{workflow.name}}`. An unknown variable is refused when the workflow is saved.
 */

const StepId = z
  .string()
  .regex(/^[a-z0-9_-]{1,40}$/, 'a step id is 1-40 lower-case letters, digits, _ or -')
  .describe('The step’s id: unique in the definition');
const Next = z.array(StepId).max(10).default([]).describe('The steps run after this one (parallel branches)');
const Template = z.string().min(1).max(5000);
const Position = z.object({ x: z.number(), y: z.number() }).strict().optional();
const Duration = z
  .strictObject({
    amount: z.number().int().min(1).max(100_000),
    unit: z.enum(['minutes', 'hours', 'days']),
  })
  .describe('A duration: `{amount: 1, unit: "days"}`');

/** A dotted path into a JSON body: `email`, `contact.email`, `items.0.sku`. */
const BodyPath = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,80}(\.[A-Za-z0-9_-]{1,80}){0,7}$/, 'a dotted path of keys: contact.email');

const stepBase = { id: StepId, position: Position, label: z.string().max(200).optional() };

// Triggers ------------------------------------------------------------------------------------

/**
 * What starts a run. Every trigger may narrow its records with `conditions`, a filter tree of the
 * query language evaluated against the record as it is when the event is handled.
 * - `record_created` / `record_updated` (for `record_updated`, `fields` limits it to changes of
 *   those fields): any registry object, custom objects included.
 * - `tag_added` / `tag_removed`: the record gained or lost `tag` (case-insensitive).
 * - `stage_changed` (optionally `to_stage`, a stage name), `opportunity_won`, `opportunity_lost`:
 *   opportunities only.
 * - `task_overdue`: tasks only.
 * - `form_submitted` (optionally one `form_id`): a form created or matched the record.
 * - `message_received` (optionally one `channel_kind`): the record (a contact) sent a message.
 * - `date_reached` `{field, offset?, direction}`: the record's date field is `offset` away
 *   (`before`: 3 days before the expected close; `after`) from now; any registry object's date or
 *   date-time field, custom objects included. Checked every `DATE_SCAN_MINUTES` (a date field's
 *   records start once a day, at midnight UTC; a date-time field's within the scan interval).
 * - `schedule`: every record matching `conditions`, on a cron (`"0 9 * * 1"`, in `timezone`).
 * - `inbound_webhook` `{match: {field, key}, create?, values?}`: a POST of JSON to the workflow's
 *   secret URL (`GET /workflows/{id}/secrets`) starts a run on the record whose `field` equals the
 *   body's value at `key` (a dotted path: `email`, `contact.email`), as HubSpot's webhook trigger
 *   matches a record by a property; with `create`, a record is created when none matches, its
 *   `field` and the `values` (field key -> path in the body) taken from the body, as GoHighLevel's
 *   inbound webhook feeds a create-contact step. Templates read the body as `{{trigger.<path>}}`.
 * - `manual`: started from a record or a bulk selection (`POST /workflows/{id}/runs`).
 * New trigger kinds (form submitted, inbound message, inbound webhook, date reached) plug into
 * `workflow-triggers.ts` (`registerTrigger`), with their schema added here.
 */
const conditions = { conditions: FilterNode.optional().describe('A filter tree the record must match') };
export const Trigger = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('record_created'), ...conditions }),
    z.strictObject({
      type: z.literal('record_updated'),
      fields: z.array(z.string().max(80)).max(50).optional(),
      ...conditions,
    }),
    z.strictObject({ type: z.literal('tag_added'), tag: z.string().trim().min(1).max(64), ...conditions }),
    z.strictObject({ type: z.literal('tag_removed'), tag: z.string().trim().min(1).max(64), ...conditions }),
    z.strictObject({
      type: z.literal('stage_changed'),
      to_stage: z.string().max(100).optional(),
      ...conditions,
    }),
    z.strictObject({ type: z.literal('opportunity_won'), ...conditions }),
    z.strictObject({ type: z.literal('opportunity_lost'), ...conditions }),
    z.strictObject({ type: z.literal('task_overdue'), ...conditions }),
    z.strictObject({
      type: z.literal('form_submitted'),
      form_id: z.uuid().optional().describe('Only this form; any form when absent'),
      ...conditions,
    }),
    z.strictObject({
      type: z.literal('message_received'),
      channel_kind: z
        .enum(['email', 'sms', 'messenger', 'instagram'])
        .optional()
        .describe('Only messages of this kind of channel; any when absent'),
      ...conditions,
    }),
    z.strictObject({
      type: z.literal('date_reached'),
      field: z.string().min(1).max(80).describe('A date or date-time field of the object'),
      offset: Duration.optional().describe('How long before (or after) the date; none: on the date'),
      direction: z.enum(['before', 'after']).default('before'),
      ...conditions,
    }),
    z.strictObject({
      type: z.literal('schedule'),
      cron: z.string().min(9).max(100).describe('Five-field cron: minute hour day month weekday'),
      timezone: z.string().max(64).default('UTC'),
      ...conditions,
    }),
    z.strictObject({
      type: z.literal('inbound_webhook'),
      match: z
        .strictObject({
          field: z.string().min(1).max(80).describe('The field the record is found by: `email` for contacts'),
          key: BodyPath.describe('Where the value is in the body: `email`, `contact.email`'),
        })
        .describe('How the record the run is on is found from the body'),
      create: z.boolean().default(false).describe('Create the record when none matches'),
      values: z
        .record(z.string().min(1).max(80), BodyPath)
        .optional()
        .describe('A created record’s other fields: field key -> path in the body'),
      ...conditions,
    }),
    z.strictObject({ type: z.literal('manual'), ...conditions }),
  ])
  .meta({ id: 'WorkflowTrigger' });
export type Trigger = z.infer<typeof Trigger>;
export type TriggerType = Trigger['type'];

// Steps ---------------------------------------------------------------------------------------

/**
 * The steps. Actions (their side effect carries the run id + step id as idempotency key):
 * - `add_tag` / `remove_tag` `{tag}`; `update_field` `{field, value}` (a template for text);
 * - `move_stage` `{stage_id}` (opportunities); `assign_owner` `{mode: fixed, user_id}` or
 *   `{mode: round_robin, user_ids}`;
 * - `create_task` `{title, description?, due_in_days?, assignee: owner | a user id}` (linked to the record);
 * - `create_record` `{object, values}` (values by field key; templates allowed);
 * - `notify` `{user: owner | a user id, message}` (an in-app notification);
 * - `send_email` `{to: a field key of the record holding an e-mail (default the record's
 *   first e-mail), subject, body}` through the system mail layer; skipped (not failed) when the
 *   address or its domain is on the suppression list or the contact's latest e-mail consent is
 *   withdrawn (`conversations/email-workflow.action.ts`).
 * Control:
 * - `wait` `{duration}`, or `{until}` (an ISO date-time), or `{time_of_day: "09:00", timezone}`, or
 *   `{business_hours: {days: [1..5] (ISO weekdays), start: "09:00", end: "17:00"}}`: within business
 *   hours in the contact's time zone (its `time_zone` field when it is a valid IANA zone, else the
 *   step's `timezone`, else the organization's), skipping to the next opening;
 * - `wait_condition` `{condition, timeout, poll_minutes?}`: `next` when the condition holds,
 *   `timeout_next` when the timeout passes first;
 * - `if_else` `{condition, if_true, if_false}` on the record's current state;
 * - `exit`: ends the whole run (other branches are cancelled).
 * - `call_webhook` `{url, data?, include_record?}`: POSTs JSON (the run, the record's fields and
 *   `data`, whose values are templates) signed per Standard Webhooks with the workflow's signing
 *   secret (`GET /workflows/{id}/secrets`), through the outgoing webhooks' SSRF guard; retried on
 *   5xx, 408, 429, timeouts and refused connections on the deliveries' schedule
 *   (`WEBHOOK_RETRY_SCHEDULE_SECONDS`), the `webhook-id` the same on every attempt
 *   (`workflow-webhook.action.ts`).
 * - `send_sms` `{channel_id, to?, body}`: a text on the organization's SMS channel (Twilio) to the
 *   record's phone (`to`: a phone field, default `phone`), in the contact's thread of the inbox;
 *   skipped (not failed) when the number is suppressed (STOP) or the contact withdrew consent
 *   (`conversations/sms-workflow.action.ts`);
 * - `enroll_in_sequence` `{sequence_id}` / `remove_from_sequence` `{sequence_id?}` (absent: every
 *   sequence): contacts only, through the sequences' enrollment (`sequences/sequence-workflow.action.ts`).
 * Action kinds other modules own register with `workflow-actions.ts`
 * (`registerAction`) and add their schema here.
 */
export const Step = z
  .discriminatedUnion('type', [
    z.strictObject({
      ...stepBase,
      type: z.literal('add_tag'),
      tag: z.string().trim().min(1).max(64),
      next: Next,
    }),
    z.strictObject({
      ...stepBase,
      type: z.literal('remove_tag'),
      tag: z.string().trim().min(1).max(64),
      next: Next,
    }),
    z.strictObject({
      ...stepBase,
      type: z.literal('update_field'),
      field: z.string().min(1).max(80),
      value: z.union([z.string().max(5000), z.number(), z.boolean(), z.null(), z.array(z.string().max(200))]),
      next: Next,
    }),
    z.strictObject({ ...stepBase, type: z.literal('move_stage'), stage_id: z.uuid(), next: Next }),
    z.strictObject({
      ...stepBase,
      type: z.literal('assign_owner'),
      mode: z.enum(['fixed', 'round_robin']),
      user_id: z.uuid().optional(),
      user_ids: z.array(z.uuid()).min(1).max(100).optional(),
      next: Next,
    }),
    z.strictObject({
      ...stepBase,
      type: z.literal('create_task'),
      title: Template.max(300),
      description: Template.optional(),
      due_in_days: z.number().int().min(0).max(3650).optional(),
      assignee: z.union([z.literal('owner'), z.uuid()]).default('owner'),
      next: Next,
    }),
    z.strictObject({
      ...stepBase,
      type: z.literal('create_record'),
      object: z.string().min(1).max(80),
      values: z.record(
        z.string().max(80),
        z.union([z.string().max(5000), z.number(), z.boolean(), z.null()]),
      ),
      next: Next,
    }),
    z.strictObject({
      ...stepBase,
      type: z.literal('notify'),
      user: z.union([z.literal('owner'), z.uuid()]).default('owner'),
      message: Template.max(500),
      next: Next,
    }),
    z.strictObject({
      ...stepBase,
      type: z.literal('send_email'),
      to: z.string().max(80).optional(),
      subject: Template.max(300),
      body: Template,
      next: Next,
    }),
    z.strictObject({
      ...stepBase,
      type: z.literal('call_webhook'),
      url: z
        .string()
        .min(1)
        .max(2000)
        .describe(
          'An http(s) URL; a private, loopback or link-local address only when the operator allows its host',
        ),
      data: z
        .record(z.string().min(1).max(80), z.string().max(5000))
        .optional()
        .describe('Extra keys of the body’s `data`, each a template (`{{record.email}}`)'),
      include_record: z.boolean().default(true).describe('Send the record’s fields under `record`'),
      next: Next,
    }),
    z.strictObject({
      ...stepBase,
      type: z.literal('send_sms'),
      channel_id: z.uuid().describe('The SMS channel it is sent from'),
      to: z.string().max(80).optional().describe('A phone field of the record; default `phone`'),
      body: Template.max(1600),
      next: Next,
    }),
    z.strictObject({
      ...stepBase,
      type: z.literal('enroll_in_sequence'),
      sequence_id: z.uuid(),
      next: Next,
    }),
    z.strictObject({
      ...stepBase,
      type: z.literal('remove_from_sequence'),
      sequence_id: z.uuid().optional().describe('Only this sequence; every sequence when absent'),
      next: Next,
    }),
    z.strictObject({
      ...stepBase,
      type: z.literal('wait'),
      duration: Duration.optional(),
      until: z.iso.datetime({ offset: true }).optional(),
      time_of_day: z
        .string()
        .regex(/^([01]\d|2[0-3]):[0-5]\d$/)
        .optional(),
      timezone: z.string().max(64).optional(),
      business_hours: z
        .strictObject({
          days: z.array(z.number().int().min(1).max(7)).min(1).max(7).default([1, 2, 3, 4, 5]),
          start: z
            .string()
            .regex(/^([01]\d|2[0-3]):[0-5]\d$/)
            .default('09:00'),
          end: z
            .string()
            .regex(/^([01]\d|2[0-3]):[0-5]\d$/)
            .default('17:00'),
        })
        .optional()
        .describe(
          'Go on now if it is within these hours in the contact’s time zone, else wait until they open',
        ),
      next: Next,
    }),
    z.strictObject({
      ...stepBase,
      type: z.literal('wait_condition'),
      condition: FilterNode,
      timeout: Duration,
      poll_minutes: z.number().int().min(1).max(1440).default(60),
      next: Next,
      timeout_next: Next,
    }),
    z.strictObject({
      ...stepBase,
      type: z.literal('if_else'),
      condition: FilterNode,
      if_true: Next.describe('The steps run when the condition holds'),
      if_false: Next.describe('The steps run when it does not'),
    }),
    z.strictObject({ ...stepBase, type: z.literal('exit') }),
  ])
  .meta({ id: 'WorkflowStep' });
export type Step = z.infer<typeof Step>;
export type StepType = Step['type'];

export const REENROLLMENT = ['never', 'after_completion', 'always'] as const;

export const Definition = z
  .strictObject({
    trigger: Trigger,
    start: StepId.nullable().describe('The first step; null for a workflow with no steps yet'),
    steps: z.array(Step).max(100),
    reenrollment: z.enum(REENROLLMENT).default('after_completion'),
  })
  .meta({ id: 'WorkflowDefinition' });
export type Definition = z.infer<typeof Definition>;

/** The ids that follow `step` on each of its branches, by branch name. */
export function successorsOf(step: Step): Record<string, string[]> {
  switch (step.type) {
    case 'if_else':
      return { if_true: step.if_true, if_false: step.if_false };
    case 'wait_condition':
      return { next: step.next, timeout_next: step.timeout_next };
    case 'exit':
      return {};
    default:
      return { next: step.next };
  }
}

/** Seconds in a `Duration`. */
export function durationSeconds(d: { amount: number; unit: 'minutes' | 'hours' | 'days' }): number {
  return d.amount * { minutes: 60, hours: 3600, days: 86_400 }[d.unit];
}
