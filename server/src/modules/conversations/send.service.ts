import { createHash, randomUUID } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { newId } from '../../db/ids.js';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError } from '../../platform/errors/app-error.js';
import { emitEvents, type NewEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { systemMail } from '../../platform/mail/mail.schema.js';
import { assertRoom } from '../../platform/plans/plan-limits.js';
import { recordIntegration } from '../ops/integration-health.service.js';
import { type ChannelRow, imapClientOf, pooledSmtpTransportOf } from './channel.service.js';
import { type ChannelKind, channels, isMetaKind, messages } from './conversation.schema.js';
import { sendThroughProvider } from './email-provider.js';
import { type AttachmentMeta, previewOf } from './inbound.service.js';
import { announceInbox } from './inbox-stream.js';
import { mailAttachmentsOf } from './message-attachments.service.js';
import { sendMetaMessage } from './meta-graph.js';
import { twilioClient } from './twilio.js';

/** The queue of outgoing messages: one job per message, its id the idempotency key. */
export const MESSAGE_SEND_QUEUE = 'message.send';
type SendJob = { org_id: string; message_id: string };

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

const domainOf = (address: string) => address.split('@')[1] ?? 'cairn.local';

/**
 * Whether `address` may be sent to on `kind`: no row in the suppression list (an unsubscribe, an
 * SMS STOP, a hard bounce, a complaint), for the address or (e-mail) its whole domain.
 * @returns the reason it is suppressed, or null
 */
export async function suppressionOf(
  scope: TenantScope,
  kind: string,
  address: string,
): Promise<string | null> {
  const { rows } = await scope.conn.query<{ reason: string }>(
    `select reason from message_suppressions
      where org_id = $1 and ((channel_kind = $2 and address = $3) or (channel_kind = 'domain' and address = $4))
      limit 1`,
    [
      scope.ctx.orgId,
      kind === 'sms' || isMetaKind(kind) ? kind : 'email',
      address,
      kind === 'sms' || isMetaKind(kind) ? '' : domainOf(address),
    ],
  );
  return rows[0]?.reason ?? null;
}

export const suppressed = (address: string, reason: string) =>
  new AppError(422, 'recipient_suppressed', `${address} is on the suppression list (${reason}): not sent`, {
    path: 'body.to',
  });

/** What a caller other than the inbox (a sequence) sets on a queued message. */
export type QueueOptions = {
  /** The idempotency key (unique per organization; default the message's id). */
  idempotencyKey?: string;
  /** The Message-ID's local part (default a random UUID): derived from the idempotency key. */
  messageIdLocal?: string;
  /** Extra e-mail headers (List-Unsubscribe, List-Unsubscribe-Post). */
  headers?: Record<string, string>;
  /** Send no earlier than this. */
  startAfter?: Date;
};

/**
 * Queues a message to send on a conversation, in the caller's transaction: stored as `queued`
 * with its Message-ID and idempotency key, and its send job enqueued with it.
 * @throws 422 `recipient_suppressed`
 */
export async function queueMessage(
  services: Services,
  scope: TenantScope,
  channel: ChannelRow,
  conversation: { id: string; counterpart: string; subject: string | null },
  input: { text: string; subject?: string | undefined; attachments?: AttachmentMeta[] | undefined },
  options: QueueOptions = {},
): Promise<string> {
  const orgId = scope.ctx.orgId;
  const reason = await suppressionOf(scope, channel.kind, conversation.counterpart);
  if (reason) throw suppressed(conversation.counterpart, reason);
  // The plan's e-mails a day (issue 30): 429 `plan_limit_reached` until the next UTC day.
  if (channel.kind === 'email') await assertRoom(scope, 'emails_per_day');
  const id = newId();
  let inReplyTo: string | null = null;
  let references: string[] = [];
  const bySender = channel.kind === 'sms' || isMetaKind(channel.kind);
  if (!bySender) {
    const { rows } = await scope.conn.query<{ message_id: string; references: string[] }>(
      `select message_id, "references" from messages where org_id = $1 and conversation_id = $2 and message_id is not null
        order by created_at desc limit 1`,
      [orgId, conversation.id],
    );
    if (rows[0]) {
      inReplyTo = rows[0].message_id;
      references = [...rows[0].references, rows[0].message_id].slice(-50);
    }
  }
  const subject = bySender
    ? null
    : (input.subject ??
      (conversation.subject
        ? /^re:/i.test(conversation.subject)
          ? conversation.subject
          : `Re: ${conversation.subject}`
        : null));
  await scope.tx.insert(messages).values({
    orgId,
    id,
    conversationId: conversation.id,
    channelId: channel.id,
    direction: 'out',
    messageId: bySender ? null : `<${options.messageIdLocal ?? randomUUID()}@${domainOf(channel.address)}>`,
    inReplyTo,
    references,
    fromAddress: channel.address,
    toAddresses: [conversation.counterpart],
    subject,
    text: input.text,
    attachments: input.attachments ?? [],
    status: 'queued',
    idempotencyKey: options.idempotencyKey ?? id,
    headers: options.headers ?? {},
    sentBy: scope.ctx.actor.id,
    // The wall-clock time: messages of one transaction keep their order in the thread.
    createdAt: sql`clock_timestamp()`,
  });
  await scope.conn.query(
    `update conversations set last_message_at = clock_timestamp(), last_preview = $3, updated_at = clock_timestamp()
      where org_id = $1 and id = $2`,
    [orgId, conversation.id, previewOf(input.text)],
  );
  await announceInbox(scope.conn, orgId);
  await services.jobs.send(
    scope.conn,
    MESSAGE_SEND_QUEUE,
    { org_id: orgId, message_id: id } satisfies SendJob,
    {
      singletonKey: `message-send:${id}`,
      ...(options.startAfter ? { startAfter: options.startAfter } : {}),
    },
  );
  return id;
}

type Outcome = { ok: true; providerId: string | null } | { ok: false; error: string; retry: boolean };

/** Sends over the channel; never throws: the outcome says what the provider answered. */
async function deliver(
  services: Services,
  channel: ChannelRow,
  message: typeof messages.$inferSelect,
): Promise<Outcome> {
  const to = message.toAddresses[0] ?? '';
  try {
    if (isMetaKind(channel.kind)) return await sendMetaMessage(services, channel, to, message.text);
    if (channel.kind === 'sms') {
      const sent = await twilioClient(services, channel).messages.create({
        from: channel.address,
        to,
        body: message.text,
      });
      return { ok: true, providerId: sent.sid };
    }
    const files = await mailAttachmentsOf(services, message.orgId, message.attachments);
    if (channel.kind === 'local') {
      // The built-in local mailbox: kept in the organization's outbox, reaching no one.
      const kept = await Promise.all(
        files.map(async (f) => {
          const content = await buffer(f.content);
          return {
            filename: f.filename,
            content_type: f.contentType,
            sha256: createHash('sha256').update(content).digest('hex'),
            base64: content.toString('base64'),
          };
        }),
      );
      await withTenant(
        services.database,
        { orgId: message.orgId, actor: { type: 'system', id: null } },
        ({ tx }) =>
          tx.insert(systemMail).values({
            orgId: message.orgId,
            id: newId(),
            kind: 'conversation',
            recipient: to,
            subject: message.subject ?? '(no subject)',
            text: message.text,
            attachments: kept,
          }),
      );
      return { ok: true, providerId: message.messageId };
    }
    if (channel.settings.provider) {
      if (files.length) {
        for (const f of files) f.content.destroy();
        return {
          ok: false,
          error:
            'attachments_not_supported: this channel sends through a provider API; send attachments from an SMTP mailbox',
          retry: false,
        };
      }
      return await sendThroughProvider(services, channel, {
        from: { address: channel.address, name: channel.fromName },
        to,
        subject: message.subject ?? '',
        text: message.text,
        headers: {
          ...(message.messageId ? { 'Message-ID': message.messageId } : {}),
          ...(message.inReplyTo ? { 'In-Reply-To': message.inReplyTo } : {}),
          ...(message.references.length ? { References: message.references.join(' ') } : {}),
          ...message.headers,
        },
        cairnId: message.id,
      });
    }
    const info = await pooledSmtpTransportOf(services, channel).sendMail({
      from: channel.fromName ? { name: channel.fromName, address: channel.address } : channel.address,
      to,
      subject: message.subject ?? '',
      text: message.text,
      messageId: message.messageId ?? undefined,
      headers: message.headers,
      ...(files.length ? { attachments: files } : {}),
      ...(message.inReplyTo ? { inReplyTo: message.inReplyTo } : {}),
      ...(message.references.length ? { references: message.references } : {}),
    });
    return { ok: true, providerId: info.messageId ?? null };
  } catch (error) {
    const e = error as { message?: string; responseCode?: number; status?: number; code?: unknown };
    const text = (e.message ?? String(error)).slice(0, 500);
    // SMTP 5xx and Twilio 4xx are final; anything else (network, 4xx SMTP, 429, 5xx) may pass.
    const retry = text.startsWith('attachment_missing')
      ? false
      : typeof e.responseCode === 'number'
        ? e.responseCode < 500
        : typeof e.status === 'number'
          ? e.status === 429 || e.status >= 500
          : true;
    return { ok: false, error: text, retry };
  }
}

/**
 * How long a send's claim holds: longer than one SMTP dialogue can take (connection, greeting and
 * socket timeouts). A message still `sending` past it was claimed by a worker that died mid-send.
 */
export const SEND_LEASE_MS = 90_000;

/** The error of a message whose send is in doubt, left to a person (issue 25). */
export const IN_DOUBT =
  'in_doubt: the worker sending this message stopped mid-send and the mailbox keeps no sent copy to check; ' +
  'it may or may not have reached the recipient. Check with them before sending it again (Retry)';

/**
 * Which of a mailbox's messages claimed by a worker that died mid-send reached the server (issue
 * 25): the Message-ID is fixed before the SMTP dialogue, so the mailbox's sent copy (its IMAP
 * folder with the `\Sent` special use, or named Sent) answers it: found, it was sent; absent, the
 * dialogue never finished and it is sent now. One IMAP connection for all of them (a mail server
 * caps connections per user: Dovecot's default is 10). A channel without such a folder (no IMAP,
 * an SMS, a provider) cannot tell: `ask`, a person decides.
 * @returns the Message-IDs found in the sent folder, or `ask`
 */
async function sentCopiesOf(
  services: Services,
  channel: ChannelRow,
  messageIds: string[],
): Promise<Set<string> | 'ask'> {
  if (channel.kind !== 'email' || !channel.settings.imap || channel.settings.provider) return 'ask';
  const client = imapClientOf(services, channel);
  client.on('error', () => {});
  try {
    await client.connect();
    const boxes = (await client.list()).filter(
      (b) => b.specialUse === '\\Sent' || /^(sent|sent items|sent messages|sent mail)$/i.test(b.name),
    );
    if (boxes.length === 0) return 'ask';
    const found = new Set<string>();
    for (const box of boxes) {
      const lock = await client.getMailboxLock(box.path, { readOnly: true });
      try {
        for (const id of messageIds) {
          if (found.has(id)) continue;
          const uids = await client.search({ header: { 'message-id': id } }, { uid: true });
          if (uids && uids.length > 0) found.add(id);
        }
      } finally {
        lock.release();
      }
    }
    return found;
  } catch {
    return 'ask';
  } finally {
    await client.logout().catch(() => {});
  }
}

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
export async function retryMessage(services: Services, ctx: TenantContext, id: string): Promise<void> {
  await withTenant(services.database, ctx, async (scope) => {
    const [m] = await scope.tx
      .update(messages)
      .set({ status: 'queued', attempts: 0 })
      .where(and(eq(messages.orgId, ctx.orgId), eq(messages.id, id), eq(messages.status, 'failed')))
      .returning({ id: messages.id });
    if (!m) {
      const [exists] = await scope.tx
        .select({ id: messages.id })
        .from(messages)
        .where(and(eq(messages.orgId, ctx.orgId), eq(messages.id, id)));
      if (!exists) throw new AppError(404, 'not_found', `Message ${id} was not found`);
      throw new AppError(409, 'invalid_state', 'Only a failed message can be sent again');
    }
    await services.jobs.send(scope.conn, MESSAGE_SEND_QUEUE, {
      org_id: ctx.orgId,
      message_id: id,
    } satisfies SendJob);
    await announceInbox(scope.conn, ctx.orgId);
  });
}

/**
 * Cancels messages still `queued` (not yet claimed by their send job), in the caller's
 * transaction: they become `failed` with `reason` and their job finds nothing to send. A message
 * already claimed is past cancelling.
 */
export async function cancelQueuedMessagesIn(
  scope: TenantScope,
  ids: string[],
  reason: string,
): Promise<void> {
  if (ids.length === 0) return;
  await scope.conn.query(
    `update messages set status = 'failed', error = $3 where org_id = $1 and id = any($2::uuid[]) and status = 'queued'`,
    [scope.ctx.orgId, ids, reason],
  );
}

/** The install's sweep of sends left behind (issue 25), every SWEEP_EVERY_S seconds. */
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
