import { and, eq, inArray } from 'drizzle-orm';
import { newId } from '../../db/ids.js';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { roomLeft } from '../../platform/plans/plan-limits.js';
import { cachedObjectDef } from '../../platform/registry/registry.service.js';
import { addDays, nextWindowOpening, startOfNextDay } from '../../platform/time/sending-window.js';
import { latestConsentIn } from '../consent/consent.service.js';
import type { ChannelRow } from '../conversations/channel.service.js';
import { channelIn, channelsIn, openConversationIn } from '../conversations/conversation.service.js';
import { previewOf } from '../conversations/inbound.service.js';
import { announceInbox } from '../conversations/inbox-stream.js';
import { MESSAGE_SEND_QUEUE, queueMessage, suppressionOf } from '../conversations/send.service.js';
import {
  companyNamesIn,
  type TemplateText,
  templatesIn,
} from '../message-templates/message-template.service.js';
import { createTaskIn } from '../tasks/task.service.js';
import { readRecord, readRecords } from '../workflows/workflow-records.js';
import { renderVariables } from '../workflows/workflow-templates.js';
import { armTick, endEnrollmentsIn, SEQUENCE_TICK_QUEUE, type TickJob } from './enrollment.service.js';
import { type StepSettings, sequenceSteps, sequences } from './sequence.schema.js';
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

/** Enrollments one tick takes at a time (locked, run set-based in one transaction). */
const BATCH = 500;
/** Enrollments of a batch that take the one-at-a-time path, run at once (each its own transaction). */
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
 * time one is due. Set-based (issue 25): each batch of due enrollments is locked and run in one
 * transaction (`runBatch`); the steps that batch leaves (manual steps and tasks, SMS, throttled
 * mailboxes) run one enrollment at a time as before. @returns how many steps it did or rescheduled
 */
export async function runTick(services: Services, orgId: string, now = new Date()): Promise<number> {
  const ctx: TenantContext = { orgId, actor: { type: 'system', id: null } };
  let done = 0;
  for (;;) {
    const batch = await runBatch(services, ctx, now);
    // The rest a few at once, each in its own transaction.
    let progressed = batch.done;
    let next = 0;
    const ids = batch.left;
    await Promise.all(
      Array.from({ length: Math.min(PARALLEL, ids.length) }, async () => {
        while (next < ids.length) {
          const id = ids[next++]!;
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

type BatchRow = Omit<Due, 'sequence'> & { sequence_id: string };
type StepRunRow = {
  enrollment_id: string;
  sequence_id: string;
  step_id: string;
  key: string;
  type: string;
  variant: number;
  status: string;
  message_id: string | null;
  detail: string | null;
};

/**
 * One batch of the tick (issue 25), set-based: locks up to BATCH due enrollments (`for update
 * skip locked`), reads their sequences, steps, contacts, mailboxes, suppressions, consents,
 * earlier step runs and threads in a query each, renders the automatic e-mails and WAITs in
 * memory, and writes the conversations, messages (each with its idempotency key and Message-ID),
 * their send jobs, the step runs and the enrollments' next steps in bulk, all in one transaction:
 * a worker killed at any point committed the whole batch or none of it. The same checks as the
 * one-at-a-time path, in its order. @returns how many it did, and the ids it leaves to that path
 */
async function runBatch(
  services: Services,
  ctx: TenantContext,
  now: Date,
): Promise<{ done: number; left: string[] }> {
  return withTenant(services.database, ctx, async (scope) => {
    const orgId = ctx.orgId;
    const due = rowsOf(
      await scope.conn.query<BatchRow>(
        `select e.id, e.contact_id, e.owner_id, e.channel_id, e.step_index, e.time_zone, e.variant, e.sequence_id
           from sequence_enrollments e join sequences s on s.org_id = e.org_id and s.id = e.sequence_id
          where e.org_id = $1 and e.status = 'active' and e.next_run_at <= $2
            and s.status = 'active' and s.archived_at is null
          order by e.next_run_at limit $3
          for update of e skip locked`,
        [orgId, now.toISOString(), BATCH],
      ),
    );
    if (due.length === 0) return { done: 0, left: [] };
    const sequenceIds = [...new Set(due.map((d) => d.sequence_id))];
    const seqs = new Map(
      (
        await scope.tx
          .select()
          .from(sequences)
          .where(and(eq(sequences.orgId, orgId), inArray(sequences.id, sequenceIds)))
      ).map((q) => [q.id, q]),
    );
    const stepRows = await scope.tx
      .select()
      .from(sequenceSteps)
      .where(and(eq(sequenceSteps.orgId, orgId), inArray(sequenceSteps.sequenceId, sequenceIds)));
    const stepsBy = new Map<string, StepRow[]>();
    for (const st of stepRows) stepsBy.set(st.sequenceId, [...(stepsBy.get(st.sequenceId) ?? []), st]);
    for (const list of stepsBy.values())
      list.sort((a, b) => a.position - b.position || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

    // Which take this path: a WAIT, or an automatic e-mail from a mailbox without limits.
    const left: string[] = [];
    const mine: { e: Due; steps: StepRow[]; step: StepRow }[] = [];
    for (const row of due) {
      const sequence = seqs.get(row.sequence_id)!;
      const steps = stepsBy.get(row.sequence_id) ?? [];
      const step = steps[row.step_index];
      const limited = Boolean(sequence.settings.hourly_limit || sequence.settings.daily_limit);
      if (step && (step.type === 'WAIT' || (step.type === 'EMAIL' && !step.settings.manual && !limited)))
        mine.push({ e: { ...row, sequence }, steps, step });
      else left.push(row.id);
    }
    if (mine.length === 0) return { done: 0, left };

    const runs: StepRunRow[] = [];
    const advancing: { id: string; at: Date }[] = [];
    const finishing: string[] = [];
    const later: { id: string; at: Date }[] = [];
    const ending = new Map<string, string[]>();
    const end = (id: string, reason: string) => ending.set(reason, [...(ending.get(reason) ?? []), id]);
    const run = (
      e: Due,
      step: StepRow,
      r: { status: string; variant?: number; messageId?: string; detail?: string },
    ) =>
      runs.push({
        enrollment_id: e.id,
        sequence_id: e.sequence.id,
        step_id: step.id,
        key: keyOf(e, step),
        type: step.type,
        variant: r.variant ?? 0,
        status: r.status,
        message_id: r.messageId ?? null,
        detail: r.detail ?? null,
      });
    const next = (e: Due, steps: StepRow[], at: Date) => {
      if (e.step_index + 1 >= steps.length) finishing.push(e.id);
      else advancing.push({ id: e.id, at });
    };

    // Steps done before (a step list edited under a running enrollment): advanced only.
    const { rows: seenRows } = await scope.conn.query<{ key: string }>(
      `select idempotency_key as key from sequence_step_runs where org_id = $1 and idempotency_key = any($2::text[])`,
      [orgId, mine.map(({ e, step }) => keyOf(e, step))],
    );
    const seen = new Set(seenRows.map((r) => r.key));
    const emails: { e: Due; steps: StepRow[]; step: StepRow }[] = [];
    for (const m of mine) {
      const { e, steps, step } = m;
      if (seen.has(keyOf(e, step))) next(e, steps, now);
      else if (step.type === 'WAIT') {
        const settings = e.sequence.settings;
        run(e, step, { status: 'waited' });
        next(
          e,
          steps,
          addDays(
            now,
            step.settings.days ?? 0,
            e.time_zone,
            step.settings.business_days ?? false,
            settings.window,
            settings.holidays,
          ),
        );
      } else emails.push(m);
    }

    // The contacts, as a list returns them (their custom values too, for `{{contact.x}}`).
    const def = await cachedObjectDef(scope.tx, orgId, 'contact');
    const contacts = await readRecords(scope, def, [...new Set(emails.map(({ e }) => e.contact_id))]);
    // The steps' message templates (issue 25), and `{{company}}` for the contacts they go to.
    const templates = await templatesIn(
      scope,
      emails.flatMap(({ step }) => (step.settings.template_id ? [step.settings.template_id] : [])),
    );
    const companies = await companyNamesIn(
      scope,
      emails.filter(({ step }) => step.settings.template_id).map(({ e }) => e.contact_id),
    );
    const channelIds = [
      ...new Set(emails.map(({ e }) => e.channel_id ?? e.sequence.channelId).filter((c): c is string => !!c)),
    ];
    const mailboxes = new Map((await channelsIn(scope, channelIds)).map((c) => [c.id, c]));
    type Sendable = {
      e: Due;
      steps: StepRow[];
      step: StepRow;
      contact: Record<string, unknown>;
      template: TemplateText | undefined;
    };
    const candidates: (Sendable & { channel: ChannelRow; to: string })[] = [];
    for (const { e, steps, step } of emails) {
      const found = contacts.get(e.contact_id);
      if (!found) {
        end(e.id, 'contact_archived');
        continue;
      }
      const template = step.settings.template_id ? templates.get(step.settings.template_id) : undefined;
      const contact = template ? { ...found, company: companies.get(e.contact_id) ?? '' } : found;
      const settings = e.sequence.settings;
      const opens = nextWindowOpening(now, e.time_zone, settings.window, settings.holidays);
      if (!opens) {
        end(e.id, 'no_sending_window');
        continue;
      }
      if (opens.getTime() > now.getTime()) {
        later.push({ id: e.id, at: opens });
        continue;
      }
      const channelId = e.channel_id ?? e.sequence.channelId;
      const address = contact.email as string | null;
      if (!channelId || !address) {
        run(e, step, {
          status: 'skipped',
          detail: channelId ? 'The contact has no e-mail' : 'No email channel',
        });
        next(e, steps, now);
        continue;
      }
      const channel = mailboxes.get(channelId);
      if (!channel) {
        run(e, step, { status: 'skipped', detail: 'The channel was deleted' });
        next(e, steps, now);
        continue;
      }
      // A paused channel: try again in an hour.
      if (channel.status !== 'active') {
        later.push({ id: e.id, at: new Date(now.getTime() + 3_600_000) });
        continue;
      }
      if (!variantsOf(step.settings, template)[0]!.body) {
        run(e, step, { status: 'skipped', detail: 'The message template was deleted' });
        next(e, steps, now);
        continue;
      }
      candidates.push({ e, steps, step, contact, template, channel, to: address.toLowerCase() });
    }

    // The suppression list (the address, or its whole domain) and the latest consent, at once.
    const addresses = [...new Set(candidates.map((c) => c.to))];
    const domains = [...new Set(addresses.map((a) => a.split('@')[1] ?? 'cairn.local'))];
    const { rows: suppressedRows } = await scope.conn.query<{ kind: string; address: string }>(
      `select channel_kind as kind, address from message_suppressions
        where org_id = $1 and ((channel_kind = 'email' and address = any($2::text[]))
                            or (channel_kind = 'domain' and address = any($3::text[])))`,
      [orgId, addresses, domains],
    );
    const suppressedSet = new Set(suppressedRows.map((r) => `${r.kind}:${r.address}`));
    const { rows: consentRows } = await scope.conn.query<{ contact_id: string; status: string }>(
      `select distinct on (contact_id) contact_id, status from consents
        where org_id = $1 and object = 'contact' and contact_id = any($2::uuid[]) and channel in ('email', 'any')
        order by contact_id, at desc, id desc`,
      [orgId, [...new Set(candidates.map((c) => c.e.contact_id))]],
    );
    const consentOf = new Map(consentRows.map((r) => [r.contact_id, r.status]));
    let sending: typeof candidates = [];
    for (const c of candidates) {
      const { e, step, to } = c;
      if (suppressedSet.has(`email:${to}`) || suppressedSet.has(`domain:${to.split('@')[1] ?? ''}`)) {
        run(e, step, { status: 'skipped', detail: 'suppressed' });
        end(e.id, 'suppressed');
        continue;
      }
      const consent = consentOf.get(e.contact_id) ?? null;
      if (consent === 'withdrawn' || (e.sequence.settings.require_consent && consent !== 'granted')) {
        run(e, step, { status: 'skipped', detail: `consent ${consent ?? 'missing'}` });
        end(e.id, consent === 'withdrawn' ? 'unsubscribed' : 'no_consent');
        continue;
      }
      sending.push(c);
    }
    // The plan's e-mails a day (issue 30): what is past it waits for the next UTC day.
    const counted = sending.filter((c) => c.channel.kind === 'email').length;
    if (counted > 0) {
      const room = await roomLeft(scope, 'emails_per_day');
      if (room && room.left < counted) {
        let allowed = room.left;
        const tomorrow = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
        sending = sending.filter((c) => {
          if (c.channel.kind !== 'email') return true;
          if (allowed > 0) {
            allowed -= 1;
            return true;
          }
          later.push({ id: c.e.id, at: tomorrow });
          return false;
        });
      }
    }

    if (sending.length > 0) await queueBatch(services, scope, sending, run, next, now);

    if (runs.length)
      await scope.conn.query(
        `insert into sequence_step_runs (org_id, enrollment_id, sequence_id, step_id, idempotency_key, type, variant, status, message_id, detail)
         select $1, x.enrollment_id, x.sequence_id, x.step_id, x.key, x.type, x.variant, x.status, x.message_id, x.detail
           from jsonb_to_recordset($2::jsonb) as x(enrollment_id uuid, sequence_id uuid, step_id uuid, key text,
             type text, variant int, status text, message_id uuid, detail text)
         on conflict (org_id, idempotency_key) do nothing`,
        [orgId, JSON.stringify(runs)],
      );
    if (advancing.length)
      await scope.conn.query(
        `update sequence_enrollments e set step_index = e.step_index + 1, next_run_at = x.at, updated_at = now()
           from jsonb_to_recordset($2::jsonb) as x(id uuid, at timestamptz)
          where e.org_id = $1 and e.id = x.id`,
        [orgId, JSON.stringify(advancing)],
      );
    if (later.length)
      await scope.conn.query(
        `update sequence_enrollments e set next_run_at = x.at, updated_at = now()
           from jsonb_to_recordset($2::jsonb) as x(id uuid, at timestamptz)
          where e.org_id = $1 and e.id = x.id`,
        [orgId, JSON.stringify(later)],
      );
    if (finishing.length) await endEnrollmentsIn(scope, services, { ids: finishing }, 'finished');
    for (const [reason, ids] of ending) await endEnrollmentsIn(scope, services, { ids }, reason);
    return { done: mine.length, left };
  });
}

/**
 * The messages of a batch, rendered in memory and written in bulk (issue 25): a thread of the
 * enrollment on that mailbox is continued (In-Reply-To, References), else one is opened; each
 * message is `queued` with its idempotency key and a Message-ID derived from it, its send job in
 * the same transaction (`queueMessage`'s rows, many at once).
 */
async function queueBatch(
  services: Services,
  scope: TenantScope,
  sending: {
    e: Due;
    steps: StepRow[];
    step: StepRow;
    contact: Record<string, unknown>;
    template: TemplateText | undefined;
    channel: ChannelRow;
    to: string;
  }[],
  run: (e: Due, step: StepRow, r: { status: string; variant?: number; messageId?: string }) => void,
  next: (e: Due, steps: StepRow[], at: Date) => void,
  now: Date,
): Promise<void> {
  const orgId = scope.ctx.orgId;
  // The enrollment's latest thread on its mailbox, and that thread's latest message.
  const { rows: threads } = await scope.conn.query<{
    enrollment_id: string;
    conversation_id: string;
    subject: string | null;
    message_id: string | null;
    references: string[] | null;
  }>(
    `select t.enrollment_id, t.conversation_id, t.subject, last.message_id, last."references"
       from (select distinct on (r.enrollment_id) r.enrollment_id, v.id as conversation_id, v.subject
               from jsonb_to_recordset($2::jsonb) as x(enrollment_id uuid, channel_id uuid)
               join sequence_step_runs r on r.org_id = $1 and r.enrollment_id = x.enrollment_id
               join messages m on m.org_id = r.org_id and m.id = r.message_id and m.channel_id = x.channel_id
               join conversations v on v.org_id = m.org_id and v.id = m.conversation_id
              order by r.enrollment_id, r.created_at desc) t
       left join lateral (select message_id, "references" from messages
                           where org_id = $1 and conversation_id = t.conversation_id and message_id is not null
                           order by created_at desc limit 1) last on true`,
    [orgId, JSON.stringify(sending.map((s) => ({ enrollment_id: s.e.id, channel_id: s.channel.id })))],
  );
  const threadOf = new Map(threads.map((t) => [t.enrollment_id, t]));
  const opened: Record<string, unknown>[] = [];
  const continued: { id: string; preview: string }[] = [];
  const rows: Record<string, unknown>[] = [];
  const jobs: { data: { org_id: string; message_id: string }; options: { singletonKey: string } }[] = [];
  for (const [ord, { e, steps, step, contact, template, channel, to }] of sending.entries()) {
    const sender = { name: channel.fromName ?? channel.name, email: channel.address };
    const render = (text: string) => renderVariables(text, { contact, sender });
    const variants = variantsOf(step.settings, template);
    const variant = e.variant % variants.length;
    const v = variants[variant]!;
    const thread = threadOf.get(e.id);
    const subject = render(v.subject);
    const unsubscribe = `${services.config.baseUrl}/api/v1/public/unsubscribe/${signUnsubscribe(
      services.config.secret,
      { orgId, enrollmentId: e.id },
    )}`;
    const text = `${render(v.body)}\n\n--\nUnsubscribe: ${unsubscribe}\n`;
    let conversationId: string;
    if (thread) {
      conversationId = thread.conversation_id;
      continued.push({ id: conversationId, preview: previewOf(text) });
    } else {
      conversationId = newId();
      opened.push({
        id: conversationId,
        channel_id: channel.id,
        contact_id: e.contact_id,
        counterpart: to,
        subject,
        assignee_id: e.owner_id,
        preview: previewOf(text),
      });
    }
    // As `queueMessage` words it: a new thread's subject, else the thread's as a reply.
    const threadSubject = thread?.subject ?? null;
    const messageSubject = thread
      ? threadSubject
        ? /^re:/i.test(threadSubject)
          ? threadSubject
          : `Re: ${threadSubject}`
        : null
      : subject;
    const id = newId();
    const domain = channel.address.split('@')[1] ?? 'cairn.local';
    rows.push({
      id,
      ord,
      conversation_id: conversationId,
      channel_id: channel.id,
      message_id: `<seq.${hex(e.id)}.${hex(step.id)}@${domain}>`,
      in_reply_to: thread?.message_id ?? null,
      references: thread?.message_id ? [...(thread.references ?? []), thread.message_id].slice(-50) : [],
      from_address: channel.address,
      to_address: to,
      subject: messageSubject,
      text,
      key: keyOf(e, step),
      // RFC 8058: one-click unsubscribe; RFC 2369: List-Unsubscribe.
      headers: {
        'List-Unsubscribe': `<${unsubscribe}>`,
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      },
    });
    jobs.push({ data: { org_id: orgId, message_id: id }, options: { singletonKey: `message-send:${id}` } });
    run(e, step, { status: 'queued', messageId: id, variant });
    next(e, steps, now);
  }
  if (opened.length)
    await scope.conn.query(
      `insert into conversations (org_id, id, channel_id, contact_id, counterpart, subject, assignee_id,
          last_message_at, last_preview, updated_at)
       select $1, x.id, x.channel_id, x.contact_id, x.counterpart, x.subject, x.assignee_id,
              clock_timestamp(), x.preview, clock_timestamp()
         from jsonb_to_recordset($2::jsonb) as x(id uuid, channel_id uuid, contact_id uuid, counterpart text,
           subject text, assignee_id text, preview text)`,
      [orgId, JSON.stringify(opened)],
    );
  if (continued.length)
    await scope.conn.query(
      `update conversations v set last_message_at = clock_timestamp(), last_preview = x.preview, updated_at = clock_timestamp()
         from jsonb_to_recordset($2::jsonb) as x(id uuid, preview text)
        where v.org_id = $1 and v.id = x.id`,
      [orgId, JSON.stringify(continued)],
    );
  // The wall-clock time, a microsecond apart: messages keep their order as `queueMessage` writes them.
  await scope.conn.query(
    `insert into messages (org_id, id, conversation_id, channel_id, direction, message_id, in_reply_to,
        "references", from_address, to_addresses, subject, text, status, idempotency_key, headers, sent_by, created_at)
     select $1, x.id, x.conversation_id, x.channel_id, 'out', x.message_id, x.in_reply_to, x."references",
            x.from_address, array[x.to_address], x.subject, x.text, 'queued', x.key, x.headers, $2,
            clock_timestamp() + x.ord * interval '1 microsecond'
       from jsonb_to_recordset($3::jsonb) as x(id uuid, ord int, conversation_id uuid, channel_id uuid,
         message_id text, in_reply_to text, "references" text[], from_address text, to_address text,
         subject text, text text, key text, headers jsonb)`,
    [orgId, scope.ctx.actor.id, JSON.stringify(rows)],
  );
  await announceInbox(scope.conn, orgId);
  await services.jobs.sendMany(scope.conn, MESSAGE_SEND_QUEUE, jobs);
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

/**
 * A step's variants in order: A is its message template's subject and body (issue 25) while the
 * template is stored (the step's own subject when the template has none), else the step's own;
 * then its variants B, C...
 */
function variantsOf(st: StepSettings, template: TemplateText | undefined) {
  const a = template
    ? { subject: template.subject || (st.subject ?? ''), body: template.body }
    : { subject: st.subject ?? '', body: st.body ?? '' };
  return [a, ...(st.variants ?? [])];
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
  // The step's message template (issue 25), and `{{company}}` for it.
  const template = st.template_id
    ? (await templatesIn(scope, [st.template_id])).get(st.template_id)
    : undefined;
  if (template)
    contact = { ...contact, company: (await companyNamesIn(scope, [e.contact_id])).get(e.contact_id) ?? '' };
  // `{{sender.name}}`, `{{sender.email}}`: the mailbox's, once it is known.
  let sender: Record<string, unknown> = {};
  const render = (text: string) => renderVariables(text, { contact, sender });
  const name = [contact.first_name, contact.last_name].filter(Boolean).join(' ') || 'the contact';
  const automatic = step.type === 'SMS' || (step.type === 'EMAIL' && !st.manual);
  if (!automatic) {
    const variants = variantsOf(st, template);
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
  const variants = variantsOf(st, template);
  const variant = kind === 'email' ? e.variant % variants.length : 0;
  const v = variants[variant]!;
  if (!v.body) {
    await recordRun(scope, e, step, { status: 'skipped', detail: 'The message template was deleted' });
    return advance(scope, services, e, steps, now);
  }
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
  const text = kind === 'email' ? `${render(v.body)}\n\n--\nUnsubscribe: ${unsubscribe}\n` : render(v.body);
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
