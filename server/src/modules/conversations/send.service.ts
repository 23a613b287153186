import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { newId } from '../../db/ids.js';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { assertRoom } from '../../platform/plans/plan-limits.js';
import type { ChannelRow } from './channel.service.js';
import { isMetaKind, messages } from './conversation.schema.js';
import { type AttachmentMeta, previewOf } from './inbound.service.js';
import { announceInbox } from './inbox-stream.js';

/** The queue of outgoing messages: one job per message, its id the idempotency key. */
export const MESSAGE_SEND_QUEUE = 'message.send';
export type SendJob = { org_id: string; message_id: string };

export const domainOf = (address: string) => address.split('@')[1] ?? 'cairn.local';

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
