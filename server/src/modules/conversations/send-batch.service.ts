import { and, eq, inArray, sql } from 'drizzle-orm';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { emitEvents, type NewEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { recordIntegration } from '../ops/integration-health.service.js';
import type { ChannelRow } from './channel.service.js';
import { type ChannelKind, channels, isMetaKind, messages } from './conversation.schema.js';
import { previewOf } from './inbound.service.js';
import { announceInbox } from './inbox-stream.js';
import { domainOf, MESSAGE_SEND_QUEUE, type SendJob } from './send.service.js';
import { deliver, IN_DOUBT, type Outcome, SEND_LEASE_MS, sentCopiesOf } from './send-delivery.js';

/**
 * The send queue's consumer (issue 25): the jobs of one fetch claimed, handed to their transports
 * (`send-delivery.ts`) and recorded in waves, and the sweep of sends left behind. Queuing a message
 * is `send.service.ts`.
 */

/**
 * Send jobs one worker fetches and sends as one batch (issue 25): a claim, the transports at
 * once, one record. The messages a worker killed mid-batch leaves in doubt are settled together.
 */
const SEND_BATCH = 50;

/**
 * Messages of a batch claimed, handed to their transports and recorded together (a wave): a
 * worker killed mid-batch leaves at most one wave `sending` (in doubt) rather than the whole fetch
 * (its later waves are still `queued`, sent by the next worker). Ten is twice a mailbox's pooled
 * SMTP connections (`pooledSmtpTransportOf`: 5), so the pool stays busy; two transactions per
 * ten messages.
 */
const SEND_WAVE = 10;

/** Retries of a send that failed for a passing reason (a network error, a 4xx SMTP answer, Twilio 429/5xx), seconds. */
const RETRY_SCHEDULE_S = [30, 120, 600];

type MessageRow = typeof messages.$inferSelect;
/** A message this worker holds the claim of, and what to do with it. */
type Claimed = { message: MessageRow; channel: ChannelRow; reason: string | null; inDoubt: boolean };

/** The job for one message. */
export async function sendMessage(services: Services, job: SendJob): Promise<void> {
  await sendMessages(services, [job]);
}

/**
 * The send jobs of one fetch, set-based (issue 25), per organization and in waves of
 * `SEND_WAVE` messages:
 *
 * 1. one transaction claims every message of the wave still `queued` in one statement (`queued`
 *    -> `sending` with `claimed_at`, `for update skip locked`), reads their mailboxes and the
 *    suppression list for all their recipients, and commits before anything is sent, so a message
 *    is never sent twice however often its job runs;
 * 2. the messages are handed to their transports at once (the pooled SMTP connections, a
 *    provider's API, Twilio);
 * 3. one transaction records every outcome (`sent` with the provider's id; `queued` again with a
 *    retry job for a passing failure; `failed` with the provider's reason, retried by hand:
 *    `POST /messages/:id/retry`) and the wave's `message.sent` / `message.failed` events.
 *
 * A message of the wave not `queued` was claimed before: by a live worker (looked at again when
 * the claim's lease ends), or one killed mid-send; such messages are settled together by their
 * mailbox's sent copy (`sentCopiesOf`): marked sent, sent now (claimed again), or `failed` in
 * doubt for a person.
 */
export async function sendMessages(services: Services, jobs: SendJob[]): Promise<void> {
  const byOrg = new Map<string, string[]>();
  for (const job of jobs) byOrg.set(job.org_id, [...(byOrg.get(job.org_id) ?? []), job.message_id]);
  for (const [orgId, ids] of byOrg) {
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += SEND_WAVE)
      await sendWaveOf(services, orgId, unique.slice(i, i + SEND_WAVE));
  }
}

async function sendWaveOf(services: Services, orgId: string, ids: string[]): Promise<void> {
  const ctx: TenantContext = { orgId, actor: { type: 'system', id: null } };
  const taken = await withTenant(services.database, ctx, async (scope) => {
    const claimed = await scope.tx
      .update(messages)
      .set({ status: 'sending', attempts: sql`${messages.attempts} + 1`, claimedAt: sql`clock_timestamp()` })
      .where(
        and(
          eq(messages.orgId, orgId),
          inArray(
            messages.id,
            scope.tx
              .select({ id: messages.id })
              .from(messages)
              .where(and(eq(messages.orgId, orgId), inArray(messages.id, ids), eq(messages.status, 'queued')))
              .for('update', { skipLocked: true }),
          ),
        ),
      )
      .returning();
    const claimedIds = new Set(claimed.map((m) => m.id));
    const others = ids.filter((id) => !claimedIds.has(id));
    // Claimed before: `sending` still, with how long its claim's lease has left.
    const { rows: held } = others.length
      ? await scope.conn.query<{ id: string; left_ms: number }>(
          `select id, greatest(0, extract(epoch from (coalesce(claimed_at, '-infinity') + $3 * interval '1 millisecond' - clock_timestamp())) * 1000)::float8 as left_ms
             from messages where org_id = $1 and id = any($2::uuid[]) and status = 'sending'`,
          [orgId, others, SEND_LEASE_MS],
        )
      : { rows: [] };
    // Held by a live worker, or one that died within the lease: looked at again once it ends.
    const live = held.filter((h) => h.left_ms > 0);
    await services.jobs.sendMany(
      scope.conn,
      MESSAGE_SEND_QUEUE,
      live.map((h) => ({
        data: { org_id: orgId, message_id: h.id } satisfies SendJob,
        options: { startAfter: new Date(Date.now() + h.left_ms + 1000) },
      })),
    );
    const doubtIds = held.filter((h) => h.left_ms <= 0).map((h) => h.id);
    const doubtful = doubtIds.length
      ? await scope.tx
          .select()
          .from(messages)
          .where(
            and(eq(messages.orgId, orgId), inArray(messages.id, doubtIds), eq(messages.status, 'sending')),
          )
      : [];
    const channelIds = [...new Set([...claimed, ...doubtful].map((m) => m.channelId))];
    const mailboxes = new Map(
      (channelIds.length
        ? await scope.tx
            .select()
            .from(channels)
            .where(and(eq(channels.orgId, orgId), inArray(channels.id, channelIds)))
        : []
      ).map((c) => [c.id, c]),
    );
    const reasons = await suppressionsOf(
      scope,
      claimed.map((m) => ({ kind: mailboxes.get(m.channelId)!.kind, address: m.toAddresses[0] ?? '' })),
    );
    return {
      claimed: claimed.map((message, i) => ({
        message,
        channel: mailboxes.get(message.channelId)!,
        reason: reasons[i] ?? null,
        inDoubt: false,
      })),
      doubtful: doubtful.map((message) => ({ message, channel: mailboxes.get(message.channelId)! })),
    };
  });

  const sending: Claimed[] = [...taken.claimed];
  const settled: { claimed: Claimed; outcome: Outcome }[] = [];
  // Left `sending` by a dead worker: settled by each mailbox's sent copy, one connection each.
  const doubtByChannel = new Map<string, { channel: ChannelRow; messages: MessageRow[] }>();
  for (const d of taken.doubtful) {
    const entry = doubtByChannel.get(d.channel.id) ?? { channel: d.channel, messages: [] };
    entry.messages.push(d.message);
    doubtByChannel.set(d.channel.id, entry);
  }
  const resend: MessageRow[] = [];
  for (const { channel, messages: held } of doubtByChannel.values()) {
    const copies = await sentCopiesOf(
      services,
      channel,
      held.flatMap((m) => (m.messageId ? [m.messageId] : [])),
    );
    for (const message of held) {
      const claimed = { message, channel, reason: null, inDoubt: true };
      if (copies === 'ask' || !message.messageId)
        settled.push({ claimed, outcome: { ok: false, error: IN_DOUBT, retry: false } });
      else if (copies.has(message.messageId))
        settled.push({ claimed, outcome: { ok: true, providerId: message.messageId } });
      else resend.push(message);
    }
  }
  if (resend.length) {
    // Claimed again, by this job only (the claim it read), and sent now.
    const again = await withTenant(services.database, ctx, async (scope) => {
      const { rows } = await scope.conn.query<{ id: string }>(
        `update messages m set claimed_at = clock_timestamp(), attempts = m.attempts + 1
           from jsonb_to_recordset($2::jsonb) as x(id uuid, claimed_at timestamptz)
          where m.org_id = $1 and m.id = x.id and m.status = 'sending' and m.claimed_at = x.claimed_at
          returning m.id`,
        [orgId, JSON.stringify(resend.map((m) => ({ id: m.id, claimed_at: m.claimedAt })))],
      );
      return new Set(rows.map((r) => r.id));
    });
    for (const message of resend)
      if (again.has(message.id))
        sending.push({
          message: { ...message, attempts: message.attempts + 1 },
          channel: doubtByChannel.get(message.channelId)!.channel,
          reason: null,
          inDoubt: false,
        });
  }

  const delivered = await Promise.all(
    sending.map(async (claimed) => ({
      claimed,
      outcome: claimed.reason
        ? ({ ok: false, error: `recipient_suppressed: ${claimed.reason}`, retry: false } as Outcome)
        : await deliver(services, claimed.channel, claimed.message),
    })),
  );
  const outcomes = [...settled, ...delivered];
  if (outcomes.length === 0) return;
  // A suppressed recipient is not the channel failing; the built-in local mailbox has no server.
  // A mailbox's successes coalesce into one write (`recordIntegration`).
  await Promise.all(
    delivered
      .filter(({ claimed }) => !claimed.reason && claimed.channel.kind !== 'local')
      .map(({ claimed: { channel }, outcome }) =>
        recordIntegration(services, orgId, {
          kind: channel.kind === 'sms' ? 'twilio' : isMetaKind(channel.kind) ? 'meta' : 'smtp',
          ref: channel.id,
          name: channel.name,
          ok: outcome.ok,
          error: outcome.ok ? null : outcome.error,
        }),
      ),
  );
  await recordOutcomes(services, ctx, outcomes);
}

/**
 * The suppression list's answer for many recipients at once (`suppressionOf`'s rule: the
 * address on its channel kind, or an e-mail's whole domain). @returns each one's reason or null
 */
async function suppressionsOf(
  scope: TenantScope,
  recipients: { kind: string; address: string }[],
): Promise<(string | null)[]> {
  if (recipients.length === 0) return [];
  const keyOf = (kind: string) => (kind === 'sms' || isMetaKind(kind) ? kind : 'email');
  const { rows } = await scope.conn.query<{ kind: string; address: string; reason: string }>(
    `select channel_kind as kind, address, reason from message_suppressions
      where org_id = $1 and (channel_kind, address) in (select * from unnest($2::text[], $3::text[]))`,
    [
      scope.ctx.orgId,
      recipients.flatMap((r) => (keyOf(r.kind) === 'email' ? ['email', 'domain'] : [keyOf(r.kind)])),
      recipients.flatMap((r) => (keyOf(r.kind) === 'email' ? [r.address, domainOf(r.address)] : [r.address])),
    ],
  );
  const reasons = new Map(rows.map((r) => [`${r.kind}:${r.address}`, r.reason]));
  return recipients.map((r) =>
    keyOf(r.kind) === 'email'
      ? (reasons.get(`email:${r.address}`) ?? reasons.get(`domain:${domainOf(r.address)}`) ?? null)
      : (reasons.get(`${keyOf(r.kind)}:${r.address}`) ?? null),
  );
}

/**
 * A batch's outcomes in one transaction: each message's status (a passing failure queued again
 * with its retry job), and one `message.sent` or `message.failed` event each (set-based:
 * `emitEvents`, one per sender).
 */
async function recordOutcomes(
  services: Services,
  ctx: TenantContext,
  outcomes: { claimed: Claimed; outcome: Outcome }[],
): Promise<void> {
  const orgId = ctx.orgId;
  await withTenant(services.database, ctx, async (scope) => {
    const rows: { id: string; status: string; error: string | null; provider_id: string | null }[] = [];
    const retries: { data: SendJob; options: { startAfter: Date } }[] = [];
    const final: typeof outcomes = [];
    for (const o of outcomes) {
      const { message } = o.claimed;
      const { outcome } = o;
      const retryIn = !outcome.ok && outcome.retry ? RETRY_SCHEDULE_S[message.attempts - 1] : undefined;
      if (!outcome.ok && retryIn !== undefined) {
        rows.push({ id: message.id, status: 'queued', error: outcome.error, provider_id: null });
        retries.push({
          data: { org_id: orgId, message_id: message.id },
          options: { startAfter: new Date(Date.now() + retryIn * 1000) },
        });
        continue;
      }
      rows.push(
        outcome.ok
          ? { id: message.id, status: 'sent', error: null, provider_id: outcome.providerId }
          : { id: message.id, status: 'failed', error: outcome.error, provider_id: null },
      );
      final.push(o);
    }
    await scope.conn.query(
      `update messages m set status = x.status, error = x.error,
              provider_id = case when x.status = 'sent' then x.provider_id else m.provider_id end,
              sent_at = case when x.status = 'sent' then clock_timestamp() else m.sent_at end
         from jsonb_to_recordset($2::jsonb) as x(id uuid, status text, error text, provider_id text)
        where m.org_id = $1 and m.id = x.id`,
      [orgId, JSON.stringify(rows)],
    );
    await services.jobs.sendMany(scope.conn, MESSAGE_SEND_QUEUE, retries);
    await announceInbox(scope.conn, orgId);
    if (final.length === 0) return;
    const { rows: people } = await scope.conn.query<{
      id: string;
      contact_id: string | null;
      name: string | null;
    }>(
      `select v.id, v.contact_id, nullif(trim(concat_ws(' ', c.first_name, c.last_name)), '') as name
         from conversations v left join contacts c on c.org_id = v.org_id and c.id = v.contact_id
        where v.org_id = $1 and v.id = any($2::uuid[])`,
      [orgId, [...new Set(final.map((o) => o.claimed.message.conversationId))]],
    );
    const personOf = new Map(people.map((p) => [p.id, p]));
    // The events in the batch's order, grouped by who sent the message (the events' actor).
    const bySender = new Map<string | null, NewEvent[]>();
    for (const { claimed, outcome } of final) {
      const { message, channel } = claimed;
      const contactId = personOf.get(message.conversationId)?.contact_id ?? null;
      const event = {
        type: outcome.ok ? 'message.sent' : 'message.failed',
        subject: contactId
          ? { object: 'contact', id: contactId }
          : { object: 'conversation', id: message.conversationId },
        related: contactId ? [{ object: 'conversation', id: message.conversationId }] : [],
        data: {
          name: contactId
            ? (personOf.get(message.conversationId)?.name ?? null)
            : (message.toAddresses[0] ?? null),
          conversation_id: message.conversationId,
          message_id: message.id,
          channel_id: channel.id,
          channel_kind: channel.kind as ChannelKind,
          subject: message.subject,
          preview: previewOf(message.text),
          ...(outcome.ok ? {} : { error: outcome.error }),
        },
      } as NewEvent;
      bySender.set(message.sentBy, [...(bySender.get(message.sentBy) ?? []), event]);
    }
    for (const [sentBy, batch] of bySender)
      await emitEvents(
        { ...scope, ctx: { ...ctx, actor: { type: 'user', id: sentBy } } },
        services.jobs,
        batch,
      );
  });
}

/** A failed message queued again (same Message-ID, same idempotency key). @throws 409 unless failed */

export const MESSAGE_SWEEP_QUEUE = 'message.send.sweep';
export const SWEEP_EVERY_S = 300;
/** A message claimed this many times is not taken again by the sweep (a person retries it). */
const SWEEP_MAX_ATTEMPTS = 5;
/** How far back the sweep looks at send jobs failed for good. */
const SWEEP_WINDOW_MS = 24 * 3_600_000;

/**
 * Takes up the sends whose recovery died too (issue 25): a send job's worker killed mid-send is
 * retried once (its heartbeat stopped) and that retry settles the message left `sending`; when
 * the retry's worker is killed as well, pg-boss fails the job for good and the message would stay
 * `sending` (or `queued`) forever. The sweep reads the send jobs failed for good in the last day
 * and queues a send job again for each of their messages still `queued`, or `sending` past the
 * claim's lease, claimed fewer than SWEEP_MAX_ATTEMPTS times (the job then settles it by the
 * mailbox's sent copy, as the first retry would have). A message sent or failed since is left.
 * @returns how many it queued again
 */
export async function sweepStuckSends(services: Services, now = new Date()): Promise<number> {
  const failed = await services.jobs.failedOf<SendJob>(
    MESSAGE_SEND_QUEUE,
    new Date(now.getTime() - SWEEP_WINDOW_MS),
  );
  const byOrg = new Map<string, Set<string>>();
  for (const { data } of failed) {
    if (typeof data?.org_id !== 'string' || typeof data.message_id !== 'string') continue;
    byOrg.set(data.org_id, (byOrg.get(data.org_id) ?? new Set()).add(data.message_id));
  }
  let queued = 0;
  for (const [orgId, ids] of byOrg) {
    const ctx: TenantContext = { orgId, actor: { type: 'system', id: null } };
    queued += await withTenant(services.database, ctx, async (scope) => {
      const { rows } = await scope.conn.query<{ id: string }>(
        `select id from messages
          where org_id = $1 and id = any($2::uuid[]) and direction = 'out' and attempts < $3
            and (status = 'queued'
                 or (status = 'sending' and coalesce(claimed_at, '-infinity') < clock_timestamp() - $4 * interval '1 millisecond'))`,
        [orgId, [...ids], SWEEP_MAX_ATTEMPTS, SEND_LEASE_MS],
      );
      for (const { id } of rows)
        await services.jobs.send(
          scope.conn,
          MESSAGE_SEND_QUEUE,
          { org_id: orgId, message_id: id } satisfies SendJob,
          { singletonKey: `message-send:${id}` },
        );
      return rows.length;
    });
  }
  return queued;
}

/** Queues the next sweep of sends left behind, unless one is queued (at worker start, then by itself). */
export async function scheduleSendSweep(services: Services): Promise<void> {
  await services.jobs.send(
    null,
    MESSAGE_SWEEP_QUEUE,
    {},
    {
      startAfter: SWEEP_EVERY_S,
      singletonKey: 'message-send-sweep',
    },
  );
}

export function defineSendJobs(services: Services): void {
  services.jobs.define<Record<string, never>>(
    { name: MESSAGE_SWEEP_QUEUE, policy: 'stately', retryLimit: 2 },
    async () => {
      try {
        await sweepStuckSends(services);
      } finally {
        await scheduleSendSweep(services);
      }
    },
  );
  services.jobs.defineBatch<SendJob>(
    // A worker that dies holding send jobs (fetched, or mid-dialogue) leaves them to be retried
    // after their heartbeat stops (issue 33): the claim (`queued` -> `sending`) makes the retry
    // send a message still queued and skip one the dead worker had claimed, so none is lost
    // before it was tried and none is sent twice.
    // The jobs of one fetch are one batch (`sendMessages`): a claim, the transports, a record.
    { name: MESSAGE_SEND_QUEUE, retryLimit: 1, concurrency: SEND_BATCH, heartbeatSeconds: 30 },
    async (jobs) =>
      sendMessages(
        services,
        jobs.map((j) => j.data),
      ),
  );
}
