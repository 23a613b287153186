import { and, eq, sql } from 'drizzle-orm';
import type { TenantScope } from '../../db/tenant.js';
import { AppError, notFound } from '../../platform/errors/app-error.js';
import { emitEvent, emitEvents } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { objectDef } from '../../platform/registry/registry.service.js';
import type { ObjectDef } from '../../platform/registry/registry.types.js';
import { isZone, nextWindowOpening } from '../../platform/time/sending-window.js';
import {
  deliverNotification,
  deliverOnceNotifications,
} from '../notifications/notification-delivery.service.js';
import { moveOpportunityIn } from '../opportunities/opportunity-moves.service.js';
import { durationSeconds, type Step } from './workflow.definition.js';
import { workflowCursors } from './workflow.schema.js';
import {
  batchWriter,
  createRecordOf,
  createTaskFor,
  readRecord,
  readRecords,
  recordMatches,
  recordName,
  recordNames,
  updateRecordFields,
} from './workflow-records.js';
import { renderTemplate } from './workflow-templates.js';

/** What a step runs with. `dry`: a test run, which must change nothing and only say what it would do. */
export type StepContext = {
  scope: TenantScope;
  services: Services;
  run: {
    id: string;
    workflowId: string;
    workflowName: string;
    recordId: string;
    /** What started the run (the event, or an inbound webhook's `{type, body}`). */
    trigger?: unknown;
  };
  def: ObjectDef;
  step: Step;
  /** Polls and resumes of this step so far (a wait's). */
  attempts: number;
  /** The step's status before this execution: `queued` the first time, `waiting` when a wait resumes. */
  phase: 'start' | 'resume';
  /** The step's output so far (what a waiting step recorded when it went to sleep), if any. */
  previous?: unknown;
  dry: boolean;
  /**
   * The organization's time zone, read before the step's transaction: organizations are global
   * (the tenant's connection may not read them, and the embedded database has one connection).
   */
  orgTimeZone: string | null;
  /** The record now (read once per step). */
  record(): Promise<Record<string, unknown>>;
  render(text: string): Promise<string>;
};

/**
 * What a step did: `done` (with the branch to follow, `next` by default), `wait` until a moment
 * (the step's job comes back then), or `exit` (the run ends here, other branches included).
 */
export type StepOutcome =
  | { kind: 'done'; output: Record<string, unknown>; branch?: string }
  | { kind: 'wait'; until: Date; output: Record<string, unknown> }
  | { kind: 'exit'; output: Record<string, unknown> };

export type ActionKind = {
  run(ctx: StepContext): Promise<StepOutcome>;
  /**
   * The same step for many runs at once (same definition step; `scope` carries one of them as
   * trace): one write for the batch. An item that cannot be done is its Error (it fails alone);
   * a throw fails the batch, which then runs one by one through `run`. Never called dry.
   */
  runMany?(ctxs: StepContext[], scope: TenantScope): Promise<(StepOutcome | Error)[]>;
  /**
   * Checks the step when a definition is saved, against the tenant's data the owning module
   * knows (a channel, a sequence): each problem with its path under the step (`.channel_id`).
   * The definition's own checks (`workflow-validation.ts`) run first.
   */
  validate?(
    scope: TenantScope,
    step: Step,
    object: ObjectDef,
  ): Promise<{ path: string; code: string; message: string }[]>;
};

const actions = new Map<string, ActionKind>();

/**
 * Registers a step type's behaviour. The extension point for the action kinds other modules own
 * (call a webhook, enroll in a sequence, send an SMS or an e-mail): register here and add the step's schema
 * to `workflow.definition.ts`. @throws when registered twice
 */
export function registerAction(type: string, kind: ActionKind): void {
  if (actions.has(type)) throw new Error(`Workflow action ${type} is registered twice`);
  actions.set(type, kind);
}

/** The registered kind of a step type, if any (no throw). */
export const registeredAction = (type: string): ActionKind | undefined => actions.get(type);

/** @throws when no action of that type is registered (a definition from a newer version) */
export function actionOf(type: string): ActionKind {
  const kind = actions.get(type);
  if (!kind) throw new AppError(422, 'unknown_step_type', `No step of type ${type} is known`);
  return kind;
}

export const done = (output: Record<string, unknown>, branch?: string): StepOutcome => ({
  kind: 'done',
  output,
  ...(branch ? { branch } : {}),
});
export const as = <T extends Step['type']>(ctx: StepContext, _type: T) =>
  ctx.step as Extract<Step, { type: T }>;

const listOf = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);

/** A tag step's new tags for a record's current ones, or null when it has nothing to change. */
function retagged(tags: unknown, tag: string, add: boolean): string[] | null {
  const list = listOf(tags);
  const has = list.some((t) => t.toLowerCase() === tag.toLowerCase());
  if (add) return has ? null : [...list, tag];
  return has ? list.filter((t) => t.toLowerCase() !== tag.toLowerCase()) : null;
}

/** A tag step on many records through the object's batch write (one update, one event insert). */
async function retagMany(ctxs: StepContext[], scope: TenantScope, add: boolean) {
  const { tag } = ctxs[0]!.step as { tag: string };
  const writer = batchWriter(ctxs[0]!.def);
  if (!writer) throw new Error('no batch write for this object');
  const results = await writer(
    scope,
    ctxs[0]!.services,
    ctxs.map((ctx) => ({
      id: ctx.run.recordId,
      input: (current: { tags?: unknown }) => {
        const tags = retagged(current.tags, tag, add);
        return tags ? { tags } : null;
      },
    })),
  );
  return results.map((r) => (r.ok ? done({ tag, changed: r.written }) : r.error));
}

registerAction('add_tag', {
  async run(ctx) {
    const { tag } = as(ctx, 'add_tag');
    const tags = retagged((await ctx.record()).tags, tag, true);
    if (!tags) return done({ tag, changed: false });
    if (!ctx.dry) await updateRecordFields(ctx.scope, ctx.services, ctx.def, ctx.run.recordId, { tags });
    return done({ tag, changed: true, ...(ctx.dry ? { would: `add the tag ${tag}` } : {}) });
  },
  runMany: (ctxs, scope) => retagMany(ctxs, scope, true),
});

registerAction('remove_tag', {
  async run(ctx) {
    const { tag } = as(ctx, 'remove_tag');
    const tags = retagged((await ctx.record()).tags, tag, false);
    if (!tags) return done({ tag, changed: false });
    if (!ctx.dry) await updateRecordFields(ctx.scope, ctx.services, ctx.def, ctx.run.recordId, { tags });
    return done({ tag, changed: true, ...(ctx.dry ? { would: `remove the tag ${tag}` } : {}) });
  },
  runMany: (ctxs, scope) => retagMany(ctxs, scope, false),
});

registerAction('update_field', {
  async run(ctx) {
    const step = as(ctx, 'update_field');
    const value = typeof step.value === 'string' ? await ctx.render(step.value) : step.value;
    if (!ctx.dry)
      await updateRecordFields(ctx.scope, ctx.services, ctx.def, ctx.run.recordId, { [step.field]: value });
    return done({
      field: step.field,
      value,
      ...(ctx.dry ? { would: `set ${step.field} to ${JSON.stringify(value)}` } : {}),
    });
  },
  async runMany(ctxs, scope) {
    const step = as(ctxs[0]!, 'update_field');
    const writer = batchWriter(ctxs[0]!.def);
    if (!writer) throw new Error('no batch write for this object');
    const values: unknown[] = [];
    // A value with no variable is the same for every record: no record read for it.
    for (const ctx of ctxs)
      values.push(
        typeof step.value === 'string' && step.value.includes('{{')
          ? await ctx.render(step.value)
          : step.value,
      );
    const inputs = ctxs.map((_ctx, i) => {
      try {
        return writer.input({ [step.field]: values[i] });
      } catch (error) {
        return error as Error;
      }
    });
    const valid = ctxs.flatMap((ctx, i) => {
      const input = inputs[i];
      return input instanceof Error ? [] : [{ id: ctx.run.recordId, input: input! }];
    });
    const written = await writer(scope, ctxs[0]!.services, valid);
    let next = 0;
    return ctxs.map((_ctx, i) => {
      const input = inputs[i];
      if (input instanceof Error) return input;
      const r = written[next++]!;
      return r.ok ? done({ field: step.field, value: values[i] }) : r.error;
    });
  },
});

registerAction('move_stage', {
  async run(ctx) {
    const { stage_id } = as(ctx, 'move_stage');
    if (!ctx.dry) await moveOpportunityIn(ctx.scope, ctx.services, ctx.run.recordId, { stage_id });
    return done({ stage_id, ...(ctx.dry ? { would: 'move the opportunity to the stage' } : {}) });
  },
});

registerAction('assign_owner', {
  async run(ctx) {
    const step = as(ctx, 'assign_owner');
    let owner = step.user_id!;
    if (step.mode === 'round_robin') {
      const ids = step.user_ids!;
      const { scope } = ctx;
      // The cursor row is locked by the update, so two runs never take the same turn.
      const [row] = ctx.dry
        ? await scope.tx
            .select({ position: workflowCursors.position })
            .from(workflowCursors)
            .where(
              and(
                eq(workflowCursors.orgId, scope.ctx.orgId),
                eq(workflowCursors.workflowId, ctx.run.workflowId),
                eq(workflowCursors.stepId, step.id),
              ),
            )
        : await scope.tx
            .insert(workflowCursors)
            .values({ orgId: scope.ctx.orgId, workflowId: ctx.run.workflowId, stepId: step.id, position: 1 })
            .onConflictDoUpdate({
              target: [workflowCursors.orgId, workflowCursors.workflowId, workflowCursors.stepId],
              set: { position: sql`${workflowCursors.position} + 1` },
            })
            .returning({ position: workflowCursors.position });
      const turn = ctx.dry ? (row?.position ?? 0) : row!.position - 1;
      owner = ids[turn % ids.length]!;
    }
    if (!ctx.dry)
      await updateRecordFields(ctx.scope, ctx.services, ctx.def, ctx.run.recordId, { owner_id: owner });
    return done({ owner_id: owner, ...(ctx.dry ? { would: 'assign the record to the member' } : {}) });
  },
});

registerAction('create_task', {
  async run(ctx) {
    const step = as(ctx, 'create_task');
    const record = await ctx.record();
    const assignee = step.assignee === 'owner' ? ((record.owner_id as string | null) ?? null) : step.assignee;
    const linkable = ['contact', 'company', 'opportunity'].includes(ctx.def.key);
    const input = {
      title: await ctx.render(step.title),
      ...(step.description ? { description: await ctx.render(step.description) } : {}),
      ...(step.due_in_days !== undefined
        ? { due_date: new Date(Date.now() + step.due_in_days * 86_400_000).toISOString().slice(0, 10) }
        : {}),
      assignee_id: assignee,
      ...(linkable ? { link: { object: ctx.def.key, id: ctx.run.recordId } } : {}),
    };
    if (ctx.dry) return done({ ...input, would: `create the task “${input.title}”` });
    const id = await createTaskFor(ctx.scope, ctx.services, input);
    return done({ task_id: id, ...input });
  },
});

registerAction('create_record', {
  async run(ctx) {
    const step = as(ctx, 'create_record');
    const target = await objectDef(ctx.scope.tx, ctx.scope.ctx.orgId, step.object);
    const values: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(step.values))
      values[key] = typeof value === 'string' ? await ctx.render(value) : value;
    if (ctx.dry) return done({ object: step.object, values, would: `create a ${target.labelSingular}` });
    const id = await createRecordOf(ctx.scope, ctx.services, target, values);
    return done({ object: step.object, id, values });
  },
});

registerAction('notify', {
  async run(ctx) {
    const step = as(ctx, 'notify');
    const record = await ctx.record();
    const userId = step.user === 'owner' ? (record.owner_id as string | null) : step.user;
    const message = await ctx.render(step.message);
    if (!userId) throw new AppError(422, 'no_recipient', 'The record has no owner to notify');
    if (ctx.dry) return done({ user_id: userId, message, would: 'notify the member' });
    const name = await recordName(ctx.scope, ctx.def.key, ctx.run.recordId);
    const eventId = await emitEvent(ctx.scope, ctx.services.jobs, {
      type: 'workflow.member_notified',
      subject: { object: ctx.def.key, id: ctx.run.recordId },
      data: { ...runData(ctx, name), step_id: step.id, user_id: userId, message },
    });
    const delivered = await deliverNotification(ctx.scope, {
      recipientId: userId,
      kind: 'workflow',
      object: ctx.def.key,
      recordId: ctx.run.recordId,
      recordName: name,
      actorId: null,
      detail: message,
      eventId,
      onceKey: `workflow:${ctx.run.id}:${step.id}`,
    });
    return done({ user_id: userId, message, delivered });
  },
  async runMany(ctxs, scope) {
    const step = as(ctxs[0]!, 'notify');
    const { def, services } = ctxs[0]!;
    const ids = [...new Set(ctxs.map((ctx) => ctx.run.recordId))];
    const records = await readRecords(scope, def, ids);
    const names = await recordNames(scope, def.key, ids);
    const planned = ctxs.map((ctx) => {
      const record = records.get(ctx.run.recordId);
      if (!record) return notFound(def.labelSingular, ctx.run.recordId);
      const userId = step.user === 'owner' ? (record.owner_id as string | null) : step.user;
      if (!userId) return new AppError(422, 'no_recipient', 'The record has no owner to notify');
      const message = renderTemplate(step.message, {
        record,
        workflow: { name: ctx.run.workflowName },
        trigger: triggerBody(ctx.run.trigger),
      });
      return { ctx, userId, message, name: names.get(ctx.run.recordId) ?? null };
    });
    const ok = planned.filter((p): p is Exclude<(typeof planned)[number], Error> => !(p instanceof Error));
    const eventIds = await emitEvents(
      scope,
      services.jobs,
      ok.map((p) => ({
        type: 'workflow.member_notified' as const,
        subject: { object: def.key, id: p.ctx.run.recordId },
        data: { ...runData(p.ctx, p.name), step_id: step.id, user_id: p.userId, message: p.message },
      })),
    );
    const delivered = await deliverOnceNotifications(
      scope,
      ok.map((p, i) => ({
        recipientId: p.userId,
        kind: 'workflow' as const,
        object: def.key,
        recordId: p.ctx.run.recordId,
        recordName: p.name,
        actorId: null,
        detail: p.message,
        eventId: eventIds[i]!,
        onceKey: `workflow:${p.ctx.run.id}:${step.id}`,
      })),
    );
    let next = 0;
    return planned.map((p) => {
      if (p instanceof Error) return p;
      return done({ user_id: p.userId, message: p.message, delivered: delivered[next++] });
    });
  },
});

/** The next `HH:MM` in `timeZone` after now. */
function nextTimeOfDay(hhmm: string, timeZone: string): Date {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  const now = new Date();
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    hour: '2-digit',
    minute: '2-digit',
  }).formatToParts(now);
  const hour = Number(parts.find((p) => p.type === 'hour')!.value);
  const minute = Number(parts.find((p) => p.type === 'minute')!.value);
  let delta = (h * 60 + m - (hour * 60 + minute)) * 60_000;
  if (delta <= 0) delta += 86_400_000;
  return new Date(Math.floor((now.getTime() + delta) / 60_000) * 60_000);
}

/**
 * The zone a business-hours wait reads the record's hours in: its `time_zone` field (a custom
 * field of contacts, as sequences read it) when it is a valid IANA zone, else the step's, else
 * the organization's.
 */
async function contactZone(ctx: StepContext, stepZone: string | undefined): Promise<string> {
  const record = await ctx.record();
  const own = ((record.custom ?? {}) as Record<string, unknown>).time_zone ?? record.time_zone;
  if (typeof own === 'string' && isZone(own)) return own;
  if (stepZone && isZone(stepZone)) return stepZone;
  const zone = ctx.orgTimeZone;
  return zone && isZone(zone) ? zone : 'UTC';
}

registerAction('wait', {
  async run(ctx) {
    const step = as(ctx, 'wait');
    if (ctx.phase === 'resume') return done({ waited: true });
    let until: Date;
    if (step.business_hours) {
      const zone = await contactZone(ctx, step.timezone);
      until = nextWindowOpening(new Date(), zone, step.business_hours) ?? new Date();
    } else if (step.duration) until = new Date(Date.now() + durationSeconds(step.duration) * 1000);
    else if (step.until) until = new Date(step.until);
    else {
      const zone = step.timezone ?? 'UTC';
      try {
        until = nextTimeOfDay(step.time_of_day!, zone);
      } catch {
        throw new AppError(422, 'invalid_time_zone', `Unknown time zone ${zone}`);
      }
    }
    if (until.getTime() <= Date.now()) return done({ waited: false });
    if (ctx.dry) return done({ until: until.toISOString(), would: `wait until ${until.toISOString()}` });
    return { kind: 'wait', until, output: { until: until.toISOString() } };
  },
});

registerAction('wait_condition', {
  async run(ctx) {
    const step = as(ctx, 'wait_condition');
    const holds = await recordMatches(ctx.scope, ctx.def, ctx.run.recordId, step.condition);
    if (holds) return done({ condition: true, polls: ctx.attempts }, 'next');
    const polls = Math.ceil(durationSeconds(step.timeout) / (step.poll_minutes * 60));
    if (ctx.dry)
      return done(
        {
          condition: false,
          would: `wait up to ${step.timeout.amount} ${step.timeout.unit} for the condition, then take the timeout branch`,
        },
        'timeout_next',
      );
    if (ctx.attempts >= polls)
      return done({ condition: false, timed_out: true, polls: ctx.attempts }, 'timeout_next');
    return {
      kind: 'wait',
      until: new Date(Date.now() + step.poll_minutes * 60_000),
      output: { condition: false, polls: ctx.attempts },
    };
  },
});

registerAction('if_else', {
  async run(ctx) {
    const step = as(ctx, 'if_else');
    const holds = await recordMatches(ctx.scope, ctx.def, ctx.run.recordId, step.condition);
    return done({ condition: holds }, holds ? 'if_true' : 'if_false');
  },
});

registerAction('exit', {
  async run() {
    return { kind: 'exit', output: { exited: true } };
  },
});

/** The `workflow_id`, `workflow_name` and `run_id` of a run's events, with the record's name. */
export const runData = (ctx: Pick<StepContext, 'run'>, name: string | null) => ({
  name,
  workflow_id: ctx.run.workflowId,
  workflow_name: ctx.run.workflowName,
  run_id: ctx.run.id,
});

/**
 * Records that a step e-mailed the record: the `workflow.email_sent` event (owned here, on the
 * record's timeline with the workflow as actor), in the step's transaction. For the `send_email`
 * action, which `conversations/email-workflow.action.ts` owns (it checks the suppression list).
 * @returns the event's id
 */
export async function emitEmailSent(
  ctx: Pick<StepContext, 'scope' | 'services' | 'run' | 'def' | 'step'>,
  mail: { to: string; subject: string },
): Promise<string> {
  return emitEvent(ctx.scope, ctx.services.jobs, {
    type: 'workflow.email_sent',
    subject: { object: ctx.def.key, id: ctx.run.recordId },
    data: {
      ...runData(ctx, await recordName(ctx.scope, ctx.def.key, ctx.run.recordId)),
      step_id: ctx.step.id,
      to: mail.to,
      subject: mail.subject,
    },
  });
}

/** The posted body of an inbound webhook's run (what `{{trigger.x}}` reads), else nothing. */
export const triggerBody = (trigger: unknown) =>
  (trigger as { type?: string; body?: unknown } | undefined)?.type === 'inbound_webhook'
    ? (trigger as { body?: unknown }).body
    : undefined;

/** A step's context over `scope` (the record read lazily, once). */
export function stepContext(base: Omit<StepContext, 'record' | 'render'>): StepContext {
  let record: Promise<Record<string, unknown>> | undefined;
  const read = () => {
    record ??= readRecord(base.scope, base.def, base.run.recordId);
    return record;
  };
  return {
    ...base,
    record: read,
    render: async (text) =>
      renderTemplate(text, {
        record: await read(),
        workflow: { name: base.run.workflowName },
        trigger: triggerBody(base.run.trigger),
      }),
  };
}
