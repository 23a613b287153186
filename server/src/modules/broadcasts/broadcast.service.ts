import { sql } from 'drizzle-orm';
import { newId } from '../../db/ids.js';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError, badRequest, notFound } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { channelIn } from '../conversations/conversation.service.js';
import { cancelQueuedMessagesIn } from '../conversations/send.service.js';
import type {
  BroadcastCreate,
  BroadcastUpdate,
  BroadcastView,
  RecipientStatus,
  SegmentPreview,
} from './broadcast.dto.js';
import { armBroadcastRun } from './broadcast-runner.service.js';
import { segmentWhere } from './broadcast-segment.js';

/**
 * Broadcasts (issue 33): one e-mail or SMS to the contacts a segment (the contacts' list query)
 * selects. A draft is edited freely; `send` checks the segment (not empty, not above the plan's
 * limit `BROADCAST_MAX_RECIPIENTS`) and arms the run job now or at `at`; `cancel` stops whatever
 * is not yet handed to the sending layer, and withdraws the messages still queued there.
 */

type Row = Record<string, unknown>;
const rowsOf = <T>(r: unknown): T[] => (Array.isArray(r) ? r : (r as { rows: T[] }).rows) as T[];
const iso = (v: unknown) => (v == null ? null : new Date(v as string).toISOString());

/** The recipient's status as a user reads it: its row, or (once queued) its message's fate. */
export const RECIPIENT_STATUS_SQL = `case
    when r.status <> 'queued' then r.status
    when exists (select 1 from delivery_reports d where d.org_id = r.org_id and d.kind = 'hard'
                  and d.original_message_id = m.message_id) then 'bounced'
    when m.status in ('sent', 'delivered', 'failed') then m.status
    else 'queued' end`;

async function statsOf(scope: TenantScope, ids: string[]): Promise<Map<string, Record<string, number>>> {
  const out = new Map<string, Record<string, number>>();
  if (ids.length === 0) return out;
  const { rows } = await scope.conn.query<{ broadcast_id: string; status: string; n: number }>(
    `select r.broadcast_id, ${RECIPIENT_STATUS_SQL} as status, count(*)::int as n
       from broadcast_recipients r left join messages m on m.org_id = r.org_id and m.id = r.message_id
      where r.org_id = $1 and r.broadcast_id = any($2::uuid[]) group by 1, 2`,
    [scope.ctx.orgId, ids],
  );
  for (const r of rows) {
    const s = out.get(r.broadcast_id) ?? {};
    s[r.status] = r.n;
    out.set(r.broadcast_id, s);
  }
  return out;
}

async function viewsOf(scope: TenantScope, rows: Row[]): Promise<BroadcastView[]> {
  const stats = await statsOf(
    scope,
    rows.map((r) => r.id as string),
  );
  return rows.map((r) => ({
    id: r.id as string,
    name: r.name as string,
    kind: r.kind as 'email' | 'sms',
    channel_id: r.channel_id as string,
    subject: (r.subject as string | null) ?? null,
    body: r.body as string,
    segment: r.segment as BroadcastView['segment'],
    status: r.status as BroadcastView['status'],
    per_minute: (r.per_minute as number | null) ?? null,
    require_consent: Boolean(r.require_consent),
    scheduled_at: iso(r.scheduled_at),
    started_at: iso(r.started_at),
    finished_at: iso(r.finished_at),
    cancelled_at: iso(r.cancelled_at),
    recipient_count: Number(r.recipient_count),
    stats: stats.get(r.id as string) ?? {},
    created_at: iso(r.created_at)!,
    updated_at: iso(r.updated_at)!,
  }));
}

async function rowIn(scope: TenantScope, id: string, lock = false): Promise<Row> {
  const { rows } = await scope.conn.query<Row>(
    `select * from broadcasts where org_id = $1 and id = $2${lock ? ' for update' : ''}`,
    [scope.ctx.orgId, id],
  );
  if (!rows[0]) throw notFound('Broadcast', id);
  return rows[0];
}

/** The channel's kind, checked: an active e-mail mailbox or SMS number. @throws 400 on `path` */
async function kindOf(scope: TenantScope, channelId: string, path: string): Promise<'email' | 'sms'> {
  const channel = await channelIn(scope, channelId, path);
  if (channel.kind === 'sms') return 'sms';
  return 'email';
}

function checkContent(kind: string, subject: string | null | undefined) {
  if (kind === 'email' && !subject?.trim())
    throw badRequest('An e-mail broadcast needs a subject', 'body.subject', 'validation_failed');
}

/**
 * How many contacts the segment selects (counted up to the limit + 1), how many of them have an
 * address for the channel's kind and are not suppressed, and the first ten.
 */
export async function previewSegment(
  services: Services,
  ctx: TenantContext,
  input: { channel_id?: string | undefined; segment: { filter?: unknown; q?: string | undefined } },
): Promise<SegmentPreview> {
  const limit = services.config.broadcastMaxRecipients;
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      const kind = input.channel_id ? await kindOf(scope, input.channel_id, 'body.channel_id') : 'email';
      return previewIn(scope, kind, input.segment, limit);
    },
    { readOnly: true },
  );
}

async function previewIn(
  scope: TenantScope,
  kind: 'email' | 'sms',
  segment: { filter?: unknown; q?: string | undefined },
  limit: number,
): Promise<SegmentPreview> {
  const where = await segmentWhere(scope, segment);
  const address = kind === 'sms' ? sql`r.phone` : sql`lower(r.email)`;
  const [counts] = rowsOf<{ count: number; reachable: number }>(
    await scope.tx.execute(sql`
      select count(*)::int as count,
             count(*) filter (where a is not null and not exists (
               select 1 from message_suppressions s where s.org_id = ${scope.ctx.orgId}
                 and ((s.channel_kind = ${kind} and s.address = a)
                   or (${kind} = 'email' and s.channel_kind = 'domain' and s.address = split_part(a, '@', 2)))))::int as reachable
        from (select ${address} as a from contacts r where ${where} limit ${limit + 1}) x`),
  );
  const sample = rowsOf<{ id: string; name: string; address: string | null }>(
    await scope.tx.execute(sql`
      select r.id, coalesce(nullif(trim(concat_ws(' ', r.first_name, r.last_name)), ''), r.email, '') as name,
             ${address} as address
        from contacts r where ${where} order by r.created_at, r.id limit 10`),
  );
  return { count: counts?.count ?? 0, reachable: counts?.reachable ?? 0, limit, sample };
}

export async function listBroadcasts(services: Services, ctx: TenantContext): Promise<BroadcastView[]> {
  return withTenant(services.database, ctx, async (scope) => {
    const { rows } = await scope.conn.query<Row>(
      'select * from broadcasts where org_id = $1 order by created_at desc, id limit 500',
      [ctx.orgId],
    );
    return viewsOf(scope, rows);
  });
}

export async function getBroadcast(
  services: Services,
  ctx: TenantContext,
  id: string,
): Promise<BroadcastView> {
  return withTenant(
    services.database,
    ctx,
    async (scope) => (await viewsOf(scope, [await rowIn(scope, id)]))[0]!,
  );
}

/** A draft broadcast. @throws 400 for an unknown channel, a missing subject or a bad segment */
export async function createBroadcast(
  services: Services,
  ctx: TenantContext,
  input: BroadcastCreate,
): Promise<BroadcastView> {
  return withTenant(services.database, ctx, async (scope) => {
    const kind = await kindOf(scope, input.channel_id, 'body.channel_id');
    checkContent(kind, input.subject);
    await segmentWhere(scope, input.segment);
    const { rows } = await scope.conn.query<Row>(
      `insert into broadcasts (org_id, id, name, kind, channel_id, subject, body, segment, per_minute, require_consent, created_by, updated_by)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) returning *`,
      [
        ctx.orgId,
        newId(),
        input.name,
        kind,
        input.channel_id,
        kind === 'sms' ? null : (input.subject ?? null),
        input.body,
        JSON.stringify(input.segment),
        input.per_minute ?? null,
        input.require_consent ?? false,
        ctx.actor.id,
      ],
    );
    await emitEvent(scope, services.jobs, {
      type: 'broadcast.created',
      subject: { object: 'broadcast', id: rows[0]!.id as string },
      data: { name: input.name, kind },
    });
    return (await viewsOf(scope, rows))[0]!;
  });
}

/** Edits a draft. @throws 409 `invalid_state` once it is scheduled or sent */
export async function updateBroadcast(
  services: Services,
  ctx: TenantContext,
  id: string,
  input: BroadcastUpdate,
): Promise<BroadcastView> {
  return withTenant(services.database, ctx, async (scope) => {
    const row = await rowIn(scope, id, true);
    // Nothing to change: the broadcast as it is, whatever its state (as every PATCH of the API).
    if (Object.keys(input).length === 0) return (await viewsOf(scope, [row]))[0]!;
    if (row.status !== 'draft')
      throw new AppError(409, 'invalid_state', 'Only a draft broadcast can be edited; cancel it first');
    const channelId = input.channel_id ?? (row.channel_id as string);
    const kind = await kindOf(scope, channelId, 'body.channel_id');
    const subject = input.subject !== undefined ? input.subject : (row.subject as string | null);
    checkContent(kind, subject);
    if (input.segment) await segmentWhere(scope, input.segment);
    const { rows } = await scope.conn.query<Row>(
      `update broadcasts set name = $3, kind = $4, channel_id = $5, subject = $6, body = $7, segment = $8,
              per_minute = $9, require_consent = $10, updated_by = $11, updated_at = now()
        where org_id = $1 and id = $2 returning *`,
      [
        ctx.orgId,
        id,
        input.name ?? row.name,
        kind,
        channelId,
        kind === 'sms' ? null : subject,
        input.body ?? row.body,
        JSON.stringify(input.segment ?? row.segment),
        input.per_minute !== undefined ? input.per_minute : row.per_minute,
        input.require_consent ?? row.require_consent,
        ctx.actor.id,
      ],
    );
    return (await viewsOf(scope, rows))[0]!;
  });
}

/** Deletes a draft or a finished broadcast's record. @throws 409 while scheduled or sending */
export async function deleteBroadcast(services: Services, ctx: TenantContext, id: string): Promise<void> {
  await withTenant(services.database, ctx, async (scope) => {
    const row = await rowIn(scope, id, true);
    if (row.status === 'scheduled' || row.status === 'sending')
      throw new AppError(409, 'invalid_state', 'Cancel the broadcast before deleting it');
    await scope.conn.query('delete from broadcasts where org_id = $1 and id = $2', [ctx.orgId, id]);
  });
}

/**
 * Sends a draft now or at `at`: the segment is counted first (a segment of 0 is 422
 * `segment_empty`, one above the plan's limit 422 `segment_too_large`), then the run job is armed.
 * Its recipients are the segment's contacts when the run starts.
 */
export async function sendBroadcast(
  services: Services,
  ctx: TenantContext,
  id: string,
  at: string | undefined,
): Promise<BroadcastView> {
  return withTenant(services.database, ctx, async (scope) => {
    const row = await rowIn(scope, id, true);
    if (row.status !== 'draft')
      throw new AppError(409, 'invalid_state', `The broadcast is ${row.status}: only a draft can be sent`);
    const when = at ? new Date(at) : null;
    if (when && when.getTime() < Date.now() - 60_000)
      throw badRequest('The time to send is in the past', 'body.at', 'validation_failed');
    await channelIn(scope, row.channel_id as string, 'body.channel_id');
    const limit = services.config.broadcastMaxRecipients;
    const preview = await previewIn(scope, row.kind as 'email' | 'sms', row.segment as never, limit);
    if (preview.count === 0)
      throw new AppError(422, 'segment_empty', 'The segment selects no contact: nothing to send', {
        path: 'body.segment',
      });
    if (preview.count > limit)
      throw new AppError(
        422,
        'segment_too_large',
        `The segment selects more than ${limit.toLocaleString('en')} contacts, the most one broadcast may reach: narrow it`,
        { path: 'body.segment' },
      );
    const { rows } = await scope.conn.query<Row>(
      `update broadcasts set status = 'scheduled', scheduled_at = $3, updated_by = $4, updated_at = now()
        where org_id = $1 and id = $2 returning *`,
      [ctx.orgId, id, (when ?? new Date()).toISOString(), ctx.actor.id],
    );
    await armBroadcastRun(scope, services, id, when ?? undefined);
    await emitEvent(scope, services.jobs, {
      type: 'broadcast.scheduled',
      subject: { object: 'broadcast', id },
      data: {
        name: row.name as string,
        kind: row.kind as string,
        at: when?.toISOString() ?? null,
        count: preview.count,
      },
    });
    return (await viewsOf(scope, rows))[0]!;
  });
}

/**
 * Cancels a scheduled or sending broadcast: recipients not yet handed over become `cancelled`,
 * their messages still queued in the sending layer are withdrawn; what was sent stays sent.
 * @throws 409 `invalid_state` for a draft, a sent or a cancelled broadcast
 */
export async function cancelBroadcast(
  services: Services,
  ctx: TenantContext,
  id: string,
): Promise<BroadcastView> {
  return withTenant(services.database, ctx, async (scope) => {
    const row = await rowIn(scope, id, true);
    if (row.status !== 'scheduled' && row.status !== 'sending')
      throw new AppError(409, 'invalid_state', `The broadcast is ${row.status}: nothing to cancel`);
    await scope.conn.query(
      `update broadcast_recipients set status = 'cancelled', updated_at = now()
        where org_id = $1 and broadcast_id = $2 and status = 'pending'`,
      [ctx.orgId, id],
    );
    const { rows: queued } = await scope.conn.query<{ id: string }>(
      `select m.id from broadcast_recipients r join messages m on m.org_id = r.org_id and m.id = r.message_id
        where r.org_id = $1 and r.broadcast_id = $2 and r.status = 'queued' and m.status = 'queued'`,
      [ctx.orgId, id],
    );
    const ids = queued.map((q) => q.id);
    await cancelQueuedMessagesIn(scope, ids, 'broadcast cancelled');
    if (ids.length)
      await scope.conn.query(
        `update broadcast_recipients set status = 'cancelled', updated_at = now()
          where org_id = $1 and broadcast_id = $2 and message_id = any($3::uuid[])
            and exists (select 1 from messages m where m.org_id = $1 and m.id = message_id and m.status = 'failed')`,
        [ctx.orgId, id, ids],
      );
    const { rows } = await scope.conn.query<Row>(
      `update broadcasts set status = 'cancelled', cancelled_at = now(), updated_by = $3, updated_at = now()
        where org_id = $1 and id = $2 returning *`,
      [ctx.orgId, id, ctx.actor.id],
    );
    await emitEvent(scope, services.jobs, {
      type: 'broadcast.cancelled',
      subject: { object: 'broadcast', id },
      data: { name: row.name as string, kind: row.kind as string },
    });
    return (await viewsOf(scope, rows))[0]!;
  });
}

/** The recipients with their status (optionally one status), by name. */
export async function listRecipients(
  services: Services,
  ctx: TenantContext,
  id: string,
  q: { status?: RecipientStatus | undefined; limit?: number | undefined; offset?: number | undefined },
) {
  return withTenant(services.database, ctx, async (scope) => {
    await rowIn(scope, id);
    const base = `from (select r.id, r.contact_id, r.address, r.detail, r.message_id, r.updated_at,
          ${RECIPIENT_STATUS_SQL} as status,
          nullif(trim(concat_ws(' ', c.first_name, c.last_name)), '') as name
        from broadcast_recipients r
        left join messages m on m.org_id = r.org_id and m.id = r.message_id
        left join contacts c on c.org_id = r.org_id and c.id = r.contact_id
       where r.org_id = $1 and r.broadcast_id = $2) x where ($3::text is null or x.status = $3)`;
    const args = [ctx.orgId, id, q.status ?? null];
    const { rows } = await scope.conn.query<Row>(
      `select * ${base} order by x.name nulls last, x.id limit ${q.limit ?? 100} offset ${q.offset ?? 0}`,
      args,
    );
    const { rows: total } = await scope.conn.query<{ n: number }>(`select count(*)::int as n ${base}`, args);
    return {
      data: rows.map((r) => ({
        id: r.id as string,
        contact_id: r.contact_id as string,
        name: (r.name as string | null) ?? null,
        address: (r.address as string | null) ?? null,
        status: r.status as RecipientStatus,
        detail: (r.detail as string | null) ?? null,
        message_id: (r.message_id as string | null) ?? null,
        updated_at: iso(r.updated_at)!,
      })),
      total: total[0]?.n ?? 0,
    };
  });
}
