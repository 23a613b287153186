import { sql } from 'drizzle-orm';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { cachedObjectDef } from '../../platform/registry/registry.service.js';
import { latestConsentIn } from '../consent/consent.service.js';
import type { ChannelRow } from '../conversations/channel.service.js';
import { channelIn, openConversationIn } from '../conversations/conversation.service.js';
import { queueMessage, suppressionOf } from '../conversations/send.service.js';
import { signUnsubscribe } from '../sequences/unsubscribe-link.js';
import { readRecord } from '../workflows/workflow-records.js';
import { renderVariables } from '../workflows/workflow-templates.js';
import { segmentWhere } from './broadcast-segment.js';

/**
 * The broadcast run (issue 33). Its first run materializes the recipients (the segment's live
 * contacts, at most the plan's limit, one row per contact); then batches of pending recipients,
 * each batch one transaction that locks its rows (`for update skip locked`: two workers never
 * take one recipient), checks each against the suppression list and the consent ledger exactly
 * as sequences do (`suppressionOf`, `latestConsentIn`), and hands the message to the inbox's
 * sending layer (`queueMessage`, idempotency key `bc:<broadcast>:<contact>`, unique) in the same
 * transaction that marks the recipient `queued`. A worker killed at any point committed a whole
 * batch or none of it; the send job's claim (`queued` -> `sending`, committed before the SMTP
 * dialogue) sends each message at most once. A throttled broadcast hands over at most
 * `per_minute` messages a minute per channel (every broadcast on it counted) and sleeps between.
 */

export const BROADCAST_RUN_QUEUE = 'broadcast.run';
type RunJob = { org_id: string; broadcast_id: string };

/** Recipients one transaction hands over. */
const BATCH = 100;

const rowsOf = <T>(r: unknown): T[] => (Array.isArray(r) ? r : (r as { rows: T[] }).rows) as T[];
const hex = (id: string) => id.replaceAll('-', '');

/** Arms the run job of a broadcast now or at `at`, in the caller's transaction. */
export async function armBroadcastRun(scope: TenantScope, services: Services, id: string, at?: Date) {
  const when = at && at.getTime() > Date.now() ? at : undefined;
  const minute = Math.floor((when ?? new Date()).getTime() / 60_000);
  await services.jobs.send(
    scope.conn,
    BROADCAST_RUN_QUEUE,
    { org_id: scope.ctx.orgId, broadcast_id: id } satisfies RunJob,
    { singletonKey: `broadcast-run:${id}:${minute}`, ...(when ? { startAfter: when } : {}) },
  );
}

type Broadcast = {
  id: string;
  name: string;
  kind: 'email' | 'sms';
  channel_id: string;
  subject: string | null;
  body: string;
  segment: { filter?: unknown; q?: string };
  status: string;
  per_minute: number | null;
  require_consent: boolean;
  recipient_count: number;
};

/** Materializes the recipients of a scheduled broadcast whose time came. @returns it, or null when it is not to run */
async function start(scope: TenantScope, services: Services, id: string): Promise<Broadcast | null> {
  const { rows } = await scope.conn.query<Broadcast & { scheduled_at: string | null }>(
    'select * from broadcasts where org_id = $1 and id = $2 for update',
    [scope.ctx.orgId, id],
  );
  const b = rows[0];
  if (!b || (b.status !== 'scheduled' && b.status !== 'sending')) return null;
  if (b.status === 'sending') return b;
  // Armed for later (a job sent early by a retry): wait for the time.
  if (b.scheduled_at && new Date(b.scheduled_at).getTime() > Date.now() + 1000) return null;
  const where = await segmentWhere(scope, b.segment);
  const address = b.kind === 'sms' ? sql`r.phone` : sql`lower(r.email)`;
  const inserted = rowsOf<{ n: number }>(
    await scope.tx.execute(sql`
      with picked as (
        select r.id, ${address} as address from contacts r where ${where}
         order by r.created_at, r.id limit ${services.config.broadcastMaxRecipients})
      , ins as (
        insert into broadcast_recipients (org_id, id, broadcast_id, contact_id, address)
        select ${scope.ctx.orgId}, gen_random_uuid(), ${id}, picked.id, picked.address from picked
        on conflict (org_id, broadcast_id, contact_id) do nothing returning 1)
      select count(*)::int as n from ins`),
  );
  const count = inserted[0]?.n ?? 0;
  await scope.conn.query(
    `update broadcasts set status = 'sending', started_at = now(), recipient_count = $3, updated_at = now()
      where org_id = $1 and id = $2`,
    [scope.ctx.orgId, id, count],
  );
  await emitEvent(scope, services.jobs, {
    type: 'broadcast.started',
    subject: { object: 'broadcast', id },
    data: { name: b.name, kind: b.kind, count },
  });
  return { ...b, status: 'sending', recipient_count: count };
}

/** Messages the channel may still take this minute under the throttle; Infinity when none. */
async function allowance(scope: TenantScope, b: Broadcast): Promise<number> {
  if (!b.per_minute) return Number.POSITIVE_INFINITY;
  const { rows } = await scope.conn.query<{ n: number }>(
    `select count(*)::int as n from messages where org_id = $1 and channel_id = $2
        and idempotency_key like 'bc:%' and created_at > now() - interval '1 minute'`,
    [scope.ctx.orgId, b.channel_id],
  );
  return Math.max(0, b.per_minute - (rows[0]?.n ?? 0));
}

type Recipient = { id: string; contact_id: string };

async function setRecipient(
  scope: TenantScope,
  id: string,
  status: string,
  more: { detail?: string; messageId?: string; address?: string | null } = {},
) {
  await scope.conn.query(
    `update broadcast_recipients set status = $3, detail = $4, message_id = $5, address = coalesce($6, address), updated_at = now()
      where org_id = $1 and id = $2`,
    [scope.ctx.orgId, id, status, more.detail ?? null, more.messageId ?? null, more.address ?? null],
  );
}

/** One recipient: checked, rendered and handed to the sending layer, or skipped with why. */
async function handOver(
  scope: TenantScope,
  services: Services,
  b: Broadcast,
  channel: ChannelRow,
  r: Recipient,
) {
  const def = await cachedObjectDef(scope.tx, scope.ctx.orgId, 'contact');
  let contact: Record<string, unknown>;
  try {
    contact = await readRecord(scope, def, r.contact_id);
  } catch {
    return setRecipient(scope, r.id, 'skipped', { detail: 'The contact was archived or deleted' });
  }
  const raw = b.kind === 'sms' ? (contact.phone as string | null) : (contact.email as string | null);
  if (!raw)
    return setRecipient(scope, r.id, 'skipped', {
      detail: b.kind === 'sms' ? 'The contact has no phone number' : 'The contact has no e-mail',
    });
  const to = b.kind === 'sms' ? raw : raw.toLowerCase();
  const reason = await suppressionOf(scope, b.kind, to);
  if (reason)
    return setRecipient(
      scope,
      r.id,
      reason === 'unsubscribed' || reason === 'sms_stop' ? 'unsubscribed' : 'skipped',
      {
        detail: `suppressed (${reason})`,
        address: to,
      },
    );
  const consent = await latestConsentIn(scope, r.contact_id, b.kind);
  if (consent === 'withdrawn')
    return setRecipient(scope, r.id, 'unsubscribed', { detail: 'consent withdrawn', address: to });
  if (b.require_consent && consent !== 'granted')
    return setRecipient(scope, r.id, 'skipped', { detail: 'consent missing', address: to });
  const sender = { name: channel.fromName ?? channel.name, email: channel.address };
  const render = (text: string) => renderVariables(text, { contact, sender });
  const subject = b.kind === 'email' ? render(b.subject ?? '') : null;
  const conversationId = await openConversationIn(scope, channel, to, {
    contactId: r.contact_id,
    subject,
    assigneeId: null,
  });
  // The same signed link and page as sequences (RFC 8058 one-click); the token names the recipient.
  const unsubscribe = `${services.config.baseUrl}/api/v1/public/unsubscribe/${signUnsubscribe(
    services.config.secret,
    {
      orgId: scope.ctx.orgId,
      enrollmentId: r.id,
    },
  )}`;
  const text = b.kind === 'email' ? `${render(b.body)}\n\n--\nUnsubscribe: ${unsubscribe}\n` : render(b.body);
  const messageId = await queueMessage(
    services,
    scope,
    channel,
    { id: conversationId, counterpart: to, subject },
    { text, ...(subject ? { subject } : {}) },
    {
      idempotencyKey: `bc:${b.id}:${r.contact_id}`,
      messageIdLocal: `bc.${hex(b.id)}.${hex(r.contact_id)}`,
      ...(b.kind === 'email'
        ? {
            headers: {
              'List-Unsubscribe': `<${unsubscribe}>`,
              'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
            },
          }
        : {}),
    },
  );
  await setRecipient(scope, r.id, 'queued', { messageId, address: to });
}

type Step = { next: 'batch' | 'done' | 'stop' } | { next: 'later'; at: Date };

/** One batch in one transaction. */
async function batch(services: Services, ctx: TenantContext, id: string): Promise<Step> {
  return withTenant(services.database, ctx, async (scope) => {
    const b = await start(scope, services, id);
    if (!b) return { next: 'stop' };
    let channel: ChannelRow;
    try {
      channel = await channelIn(scope, b.channel_id);
    } catch (error) {
      // A paused channel: again in an hour; a deleted one: its recipients are skipped.
      if (error instanceof AppError && error.status === 409)
        return { next: 'later', at: new Date(Date.now() + 3_600_000) };
      await scope.conn.query(
        `update broadcast_recipients set status = 'skipped', detail = 'The channel was deleted', updated_at = now()
          where org_id = $1 and broadcast_id = $2 and status = 'pending'`,
        [ctx.orgId, id],
      );
      return { next: 'done' };
    }
    const may = await allowance(scope, b);
    if (may <= 0) return { next: 'later', at: new Date(Date.now() + 60_000) };
    const { rows } = await scope.conn.query<Recipient>(
      `select id, contact_id from broadcast_recipients where org_id = $1 and broadcast_id = $2 and status = 'pending'
        order by id limit $3 for update skip locked`,
      [ctx.orgId, id, Math.min(BATCH, may)],
    );
    if (rows.length === 0) return { next: 'done' };
    for (const r of rows) await handOver(scope, services, b, channel, r);
    return { next: 'batch' };
  });
}

/** Marks the broadcast sent once no recipient is pending (another worker may still hold some). */
async function finish(services: Services, ctx: TenantContext, id: string): Promise<void> {
  await withTenant(services.database, ctx, async (scope) => {
    const { rows } = await scope.conn.query<{ name: string; kind: string; recipient_count: number }>(
      `update broadcasts b set status = 'sent', finished_at = now(), updated_at = now()
        where b.org_id = $1 and b.id = $2 and b.status = 'sending'
          and not exists (select 1 from broadcast_recipients r where r.org_id = b.org_id and r.broadcast_id = b.id and r.status = 'pending')
        returning name, kind, recipient_count`,
      [ctx.orgId, id],
    );
    if (!rows[0]) return;
    await emitEvent(scope, services.jobs, {
      type: 'broadcast.sent',
      subject: { object: 'broadcast', id },
      data: { name: rows[0].name, kind: rows[0].kind, count: rows[0].recipient_count },
    });
  });
}

/** Runs a broadcast until every recipient is handed over, the throttle asks to wait, or it is cancelled. */
export async function runBroadcast(services: Services, orgId: string, id: string): Promise<void> {
  const ctx: TenantContext = { orgId, actor: { type: 'system', id: null } };
  for (;;) {
    const step = await batch(services, ctx, id);
    if (step.next === 'batch') continue;
    if (step.next === 'done') await finish(services, ctx, id);
    if (step.next === 'later')
      await withTenant(services.database, ctx, (scope) => armBroadcastRun(scope, services, id, step.at));
    return;
  }
}

/** The run queue (issue 33). */
export function defineBroadcastJobs(services: Services): void {
  services.jobs.define<RunJob>(
    { name: BROADCAST_RUN_QUEUE, retryLimit: 5, concurrency: 2, heartbeatSeconds: 30 },
    async ({ data }) => runBroadcast(services, data.org_id, data.broadcast_id),
  );
}
