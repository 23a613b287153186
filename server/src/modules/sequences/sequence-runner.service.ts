import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { cachedObjectDef } from '../../platform/registry/registry.service.js';
import { latestConsentIn } from '../consent/consent.service.js';
import type { ChannelRow } from '../conversations/channel.service.js';
import { channelIn, openConversationIn } from '../conversations/conversation.service.js';
import { queueMessage, suppressionOf } from '../conversations/send.service.js';
import { createTaskIn } from '../tasks/task.service.js';
import { readRecord } from '../workflows/workflow-records.js';
import { renderVariables } from '../workflows/workflow-templates.js';
import { armTick, endEnrollmentsIn, SEQUENCE_TICK_QUEUE, type TickJob } from './enrollment.service.js';
import { addDays, nextWindowOpening, startOfNextDay } from './sending-window.util.js';
import { type SequenceRow, type StepRow, stepsOf } from './sequence.service.js';
import { signUnsubscribe } from './unsubscribe-link.js';

/**
 * The sequence engine (issue 25). A tick of an organization runs its due enrollments, each in a
 * transaction of its own that locks it (`for update skip locked`: two workers never run one
 * enrollment at once) and does its next step: a WAIT sets the next time; an EMAIL or SMS checks
 * the window in the contact's zone, the mailbox's limits, the suppression list and consent right
 * then, and hands the message to the inbox's sending layer (`queueMessage`: the message row and
 * its send job in this same transaction); a manual step becomes a task for the owner. Each step
 * done is a `sequence_step_runs` row whose idempotency key (`seq:<enrollment>:<step>`) is unique
 * and also keys the message (its Message-ID derives from it), written in the transaction that
 * advances the enrollment: a worker killed at any point either committed all of it or nothing,
 * and the message send job's claim (`queued` -> `sending`, committed before the SMTP dialogue)
 * sends it at most once.
 */

/** Enrollments one tick reads at a time. */
const BATCH = 200;
/** Enrollments one tick runs at once (each its own transaction and connection). */
const PARALLEL = 4;

type Due = {
  id: string;
  contact_id: string;
  owner_id: string | null;
  /** The mailbox chosen at enrollment, else the sequence's sends its e-mail steps. */
  channel_id: string | null;
  step_index: number;
  time_zone: string;
  variant: number;
  sequence: SequenceRow;
};

const rowsOf = <T>(r: { rows: T[] }) => r.rows;

/**
 * Runs every enrollment of the organization due at `now`, then arms the next tick at the earliest
 * time one is due. @returns how many steps it did or rescheduled
 */
export async function runTick(services: Services, orgId: string, now = new Date()): Promise<number> {
  const ctx: TenantContext = { orgId, actor: { type: 'system', id: null } };
  let done = 0;
  for (;;) {
    const ids = await withTenant(services.database, ctx, async (scope) =>
      rowsOf(
        await scope.conn.query<{ id: string }>(
          `select e.id from sequence_enrollments e join sequences s on s.org_id = e.org_id and s.id = e.sequence_id
            where e.org_id = $1 and e.status = 'active' and e.next_run_at <= $2
              and s.status = 'active' and s.archived_at is null
            order by e.next_run_at limit $3`,
          [orgId, now.toISOString(), BATCH],
        ),
      ),
    );
    // A few enrollments at once, each in its own transaction (a step is mostly round trips to
    // the database: one after another held a batch to a few steps a second).
    let progressed = 0;
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(PARALLEL, ids.length) }, async () => {
        while (next < ids.length) {
          const { id } = ids[next++]!;
          if (await runEnrollment(services, ctx, id, now)) progressed += 1;
        }
      }),
    );
    done += progressed;
    if (progressed === 0) break;
  }
  await withTenant(services.database, ctx, async (scope) => {
    const { rows } = await scope.conn.query<{ at: string | null }>(
      `select min(e.next_run_at) as at from sequence_enrollments e join sequences s on s.org_id = e.org_id and s.id = e.sequence_id
        where e.org_id = $1 and e.status = 'active' and s.status = 'active' and s.archived_at is null`,
      [orgId],
    );
    if (!rows[0]?.at) return;
    const at = new Date(rows[0].at);
    // Due already but locked by another worker: look again in a minute.
    await armTick(scope, services, at.getTime() > now.getTime() ? at : new Date(now.getTime() + 60_000));
  });
  return done;
}

/** Runs the next step of one enrollment when it is due and not locked. @returns whether it changed */
export async function runEnrollment(
  services: Services,
  ctx: TenantContext,
  id: string,
  now: Date,
): Promise<boolean> {
  return withTenant(services.database, ctx, async (scope) => {
    const { rows } = await scope.conn.query<Omit<Due, 'sequence'> & { sequence_id: string }>(
      `select id, contact_id, owner_id, channel_id, step_index, time_zone, variant, sequence_id from sequence_enrollments
        where org_id = $1 and id = $2 and status = 'active' and next_run_at <= $3
        for update skip locked`,
      [ctx.orgId, id, now.toISOString()],
    );
    const row = rows[0];
    if (!row) return false;
    const { rows: seq } = await scope.conn.query<Record<string, unknown>>(
      'select * from sequences where org_id = $1 and id = $2',
      [ctx.orgId, row.sequence_id],
    );
    const s = seq[0]!;
    const sequence = {
      id: s.id,
      name: s.name,
      channelId: s.channel_id,
      smsChannelId: s.sms_channel_id,
      settings: s.settings,
    } as SequenceRow;
    const steps = await stepsOf(scope, row.sequence_id);
    await runStep(scope, services, { ...row, sequence }, steps, now);
    return true;
  });
}

async function advance(scope: TenantScope, services: Services, e: Due, steps: StepRow[], at: Date) {
  if (e.step_index + 1 >= steps.length) {
    await endEnrollmentsIn(scope, services, { ids: [e.id] }, 'finished');
    return;
  }
  await scope.conn.query(
    `update sequence_enrollments set step_index = step_index + 1, next_run_at = $3, updated_at = now()
      where org_id = $1 and id = $2`,
    [scope.ctx.orgId, e.id, at.toISOString()],
  );
}

const later = (scope: TenantScope, id: string, at: Date) =>
  scope.conn.query(
    `update sequence_enrollments set next_run_at = $3, updated_at = now() where org_id = $1 and id = $2`,
    [scope.ctx.orgId, id, at.toISOString()],
  );

async function recordRun(
  scope: TenantScope,
  e: Due,
  step: StepRow,
  run: { status: string; variant?: number; messageId?: string; taskId?: string; detail?: string },
): Promise<boolean> {
  const { rows } = await scope.conn.query(
    `insert into sequence_step_runs (org_id, enrollment_id, sequence_id, step_id, idempotency_key, type, variant, status, message_id, task_id, detail)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) on conflict (org_id, idempotency_key) do nothing returning id`,
    [
      scope.ctx.orgId,
      e.id,
      e.sequence.id,
      step.id,
      keyOf(e, step),
      step.type,
      run.variant ?? 0,
      run.status,
      run.messageId ?? null,
      run.taskId ?? null,
      run.detail ?? null,
    ],
  );
  return rows.length > 0;
}

const keyOf = (e: { id: string }, step: { id: string }) => `seq:${e.id}:${step.id}`;
const hex = (id: string) => id.replaceAll('-', '');

async function runStep(scope: TenantScope, services: Services, e: Due, steps: StepRow[], now: Date) {
  const step = steps[e.step_index];
  if (!step) {
    await endEnrollmentsIn(scope, services, { ids: [e.id] }, 'finished');
    return;
  }
  // Done before (a crash after the step committed cannot happen, the advance is in its transaction;
  // this guards a step list edited under a running enrollment).
  const { rows: seen } = await scope.conn.query(
    'select 1 from sequence_step_runs where org_id = $1 and idempotency_key = $2',
    [scope.ctx.orgId, keyOf(e, step)],
  );
  if (seen.length) return advance(scope, services, e, steps, now);
  const settings = e.sequence.settings;
  const st = step.settings;
  if (step.type === 'WAIT') {
    await recordRun(scope, e, step, { status: 'waited' });
    const at = addDays(
      now,
      st.days ?? 0,
      e.time_zone,
      st.business_days ?? false,
      settings.window,
      settings.holidays,
    );
    return advance(scope, services, e, steps, at);
  }
  const def = await cachedObjectDef(scope.tx, scope.ctx.orgId, 'contact');
  let contact: Record<string, unknown>;
  try {
    contact = await readRecord(scope, def, e.contact_id);
  } catch {
    await endEnrollmentsIn(scope, services, { ids: [e.id] }, 'contact_archived');
    return;
  }
  // `{{sender.name}}`, `{{sender.email}}`: the mailbox's, once it is known.
  let sender: Record<string, unknown> = {};
  const render = (text: string) => renderVariables(text, { contact, sender });
  const name = [contact.first_name, contact.last_name].filter(Boolean).join(' ') || 'the contact';
  const automatic = step.type === 'SMS' || (step.type === 'EMAIL' && !st.manual);
  if (!automatic) {
    const variants = [{ subject: st.subject ?? '', body: st.body ?? '' }, ...(st.variants ?? [])];
    const v = variants[e.variant % variants.length]!;
    const title =
      step.type === 'CALL'
        ? `Call ${name}`
        : step.type === 'LINKEDIN'
          ? `LinkedIn: ${st.action ?? 'connect'} ${name}`
          : step.type === 'EMAIL'
            ? `Review and send an e-mail to ${name}: ${render(v.subject)}`
            : render(st.subject || `Follow up with ${name}`);
    const description = render(
      step.type === 'CALL' ? (st.script ?? st.body ?? '') : step.type === 'EMAIL' ? v.body : (st.body ?? ''),
    );
    const task = await createTaskIn(scope, services, {
      title: title.slice(0, 200),
      description: description.slice(0, 10_000) || undefined,
      due_at: now.toISOString(),
      assignee_id: e.owner_id,
      link: { object: 'contact', id: e.contact_id },
    } as never);
    await recordRun(scope, e, step, {
      status: 'task',
      taskId: task.id,
      variant: e.variant % variants.length,
    });
    return advance(scope, services, e, steps, now);
  }
  // An automatic send: the window first, in the contact's zone.
  const opens = nextWindowOpening(now, e.time_zone, settings.window, settings.holidays);
  if (!opens) {
    await endEnrollmentsIn(scope, services, { ids: [e.id] }, 'no_sending_window');
    return;
  }
  if (opens.getTime() > now.getTime()) {
    await later(scope, e.id, opens);
    return;
  }
  const kind = step.type === 'SMS' ? 'sms' : 'email';
  const channelId = kind === 'sms' ? e.sequence.smsChannelId : (e.channel_id ?? e.sequence.channelId);
  const address = kind === 'sms' ? (contact.phone as string | null) : (contact.email as string | null);
  if (!channelId || !address) {
    await recordRun(scope, e, step, {
      status: 'skipped',
      detail: channelId
        ? `The contact has no ${kind === 'sms' ? 'phone number' : 'e-mail'}`
        : `No ${kind} channel`,
    });
    return advance(scope, services, e, steps, now);
  }
  let channel: ChannelRow;
  try {
    channel = await channelIn(scope, channelId);
  } catch (error) {
    // A paused channel: try again in an hour; a deleted one: the step is skipped.
    if (error instanceof AppError && error.status === 409)
      return void (await later(scope, e.id, new Date(now.getTime() + 3_600_000)));
    await recordRun(scope, e, step, { status: 'skipped', detail: 'The channel was deleted' });
    return advance(scope, services, e, steps, now);
  }
  sender = { name: channel.fromName ?? channel.name, email: channel.address };
  const to = kind === 'sms' ? address : address.toLowerCase();
  if (await suppressionOf(scope, kind, to)) {
    await recordRun(scope, e, step, { status: 'skipped', detail: 'suppressed' });
    await endEnrollmentsIn(scope, services, { ids: [e.id] }, 'suppressed');
    return;
  }
  const consent = await latestConsentIn(scope, e.contact_id, kind);
  if (consent === 'withdrawn' || (settings.require_consent && consent !== 'granted')) {
    await recordRun(scope, e, step, { status: 'skipped', detail: `consent ${consent ?? 'missing'}` });
    await endEnrollmentsIn(
      scope,
      services,
      { ids: [e.id] },
      consent === 'withdrawn' ? 'unsubscribed' : 'no_consent',
    );
    return;
  }
  const wait = await limitWait(scope, channel, settings, e.time_zone, now);
  if (wait) {
    await later(scope, e.id, wait);
    return;
  }
  const variants = [{ subject: st.subject ?? '', body: st.body ?? '' }, ...(st.variants ?? [])];
  const variant = kind === 'email' ? e.variant % variants.length : 0;
  const v = variants[variant]!;
  const { rows: thread } = await scope.conn.query<{ conversation_id: string; subject: string | null }>(
    `select v.id as conversation_id, v.subject from sequence_step_runs r
       join messages m on m.org_id = r.org_id and m.id = r.message_id
       join conversations v on v.org_id = m.org_id and v.id = m.conversation_id
      where r.org_id = $1 and r.enrollment_id = $2 and m.channel_id = $3
      order by r.created_at desc limit 1`,
    [scope.ctx.orgId, e.id, channel.id],
  );
  const subject = kind === 'email' ? render(v.subject) : null;
  const conversationId =
    thread[0]?.conversation_id ??
    (await openConversationIn(scope, channel, to, {
      contactId: e.contact_id,
      subject,
      assigneeId: e.owner_id,
    }));
  const unsubscribe = `${services.config.baseUrl}/api/v1/public/unsubscribe/${signUnsubscribe(
    services.config.secret,
    {
      orgId: scope.ctx.orgId,
      enrollmentId: e.id,
    },
  )}`;
  const text =
    kind === 'email' ? `${render(v.body)}\n\n--\nUnsubscribe: ${unsubscribe}\n` : render(st.body ?? '');
  const messageId = await queueMessage(
    services,
    scope,
    channel,
    { id: conversationId, counterpart: to, subject: thread[0]?.subject ?? subject },
    { text, ...(thread[0] ? {} : { subject: subject ?? undefined }) },
    {
      idempotencyKey: keyOf(e, step),
      messageIdLocal: `seq.${hex(e.id)}.${hex(step.id)}`,
      ...(kind === 'email'
        ? {
            // RFC 8058: one-click unsubscribe; RFC 2369: List-Unsubscribe.
            headers: {
              'List-Unsubscribe': `<${unsubscribe}>`,
              'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
            },
          }
        : {}),
    },
  );
  await recordRun(scope, e, step, { status: 'queued', messageId, variant });
  return advance(scope, services, e, steps, now);
}

/**
 * When the mailbox may send again under the sequence's limits (its messages from sequences in the
 * last hour, and since the start of the contact's day), or null when it may now.
 */
async function limitWait(
  scope: TenantScope,
  channel: ChannelRow,
  settings: SequenceRow['settings'],
  zone: string,
  now: Date,
): Promise<Date | null> {
  if (!settings.hourly_limit && !settings.daily_limit) return null;
  const { rows } = await scope.conn.query<{ hour: number; day: number; oldest: string | null }>(
    `select count(*) filter (where created_at > $3::timestamptz - interval '1 hour')::int as hour,
            count(*) filter (where created_at >= date_trunc('day', $3::timestamptz at time zone $4) at time zone $4)::int as day,
            min(created_at) filter (where created_at > $3::timestamptz - interval '1 hour') as oldest
       from messages where org_id = $1 and channel_id = $2 and idempotency_key like 'seq:%'
        and created_at > $3::timestamptz - interval '1 day' and status <> 'failed'`,
    [scope.ctx.orgId, channel.id, now.toISOString(), zone],
  );
  const c = rows[0]!;
  if (settings.daily_limit && c.day >= settings.daily_limit) {
    return nextWindowOpening(startOfNextDay(now, zone), zone, settings.window, settings.holidays);
  }
  if (settings.hourly_limit && c.hour >= settings.hourly_limit && c.oldest) {
    // A minute of jitter so a throttled batch does not come back as one burst.
    return new Date(new Date(c.oldest).getTime() + 3_600_000 + Math.floor(Math.random() * 60_000));
  }
  return null;
}

/** The tick queue (issue 25). */
export function defineSequenceJobs(services: Services): void {
  services.jobs.define<TickJob>(
    { name: SEQUENCE_TICK_QUEUE, retryLimit: 5, concurrency: 2, heartbeatSeconds: 30 },
    async ({ data }) => {
      await runTick(services, data.org_id);
    },
  );
}
