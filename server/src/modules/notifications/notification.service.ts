import { and, desc, eq, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import { users } from '../../platform/auth/auth.schema.js';
import { badRequest, notFound } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { STANDARD_OBJECTS } from '../../platform/registry/standard-objects.js';
import type {
  NotificationListQueryInput,
  NotificationSettingsUpdateInput,
  NotificationView,
} from './notification.dto.js';
import { notificationSettings, notifications } from './notification.schema.js';
import { NOTIFY_CHANNEL } from './notification-delivery.service.js';
import { KIND_LABELS, NOTIFICATION_KINDS, type NotificationKind } from './notification-kinds.js';

type Row = typeof notifications.$inferSelect;

/** The recipient of the caller's notifications: only a signed-in member has any. */
function recipientOf(ctx: TenantContext): string {
  if (ctx.actor.type !== 'user' || !ctx.actor.id) throw notFound('Notification');
  return ctx.actor.id;
}

const label = (object: string) => STANDARD_OBJECTS[object]?.labelSingular.toLowerCase() ?? object;

/** A notification's sentence, from its kind, its actor's current name and its record. */
function titleOf(r: Row, actorName: string | null): string {
  const who = actorName ?? 'Someone';
  const what = `${label(r.object)} ${r.recordName ?? ''}`.trimEnd();
  const times = r.count > 1 ? ` (${r.count} times)` : '';
  switch (r.kind as NotificationKind) {
    case 'assigned':
      return `${who} assigned you ${what}${r.detail ? ` ${r.detail}` : ''}`;
    case 'status_changed':
      return `${actorName ?? 'Cairn'} moved ${what}${r.detail ? ` to ${r.detail}` : ''}${times}`;
    case 'task_assigned':
      return `${who} assigned you the ${what}${r.detail ? ` ${r.detail}` : ''}`;
    case 'task_due':
      return `Your ${what} is due today`;
    case 'task_overdue':
      return `Your ${what} is overdue`;
    case 'task_reminder':
      return `Reminder: ${what}`;
    case 'mention':
      return `${who} mentioned you in a note on ${what}${times}`;
    case 'security_alert':
      return r.detail ?? `Security alert about ${r.recordName ?? 'an account'}`;
    case 'form_submitted':
      return `New submission of the form ${r.detail ?? ''}: ${what}${times}`.trimEnd();
    case 'ops_alert':
      return r.detail ?? `${what} needs attention`;
    case 'workflow':
      return `${r.detail ?? 'A workflow notified you'} (${what})`;
    case 'handoff_waiting':
      return `${who} handed ${what} to your queue${r.detail ? ` (${r.detail})` : ''}`;
    case 'handoff_accepted':
      return `${who} accepted ${what}${r.detail ? ` for ${r.detail}` : ''}`;
    case 'handoff_denied':
      return `${who} denied ${what} and sent it back${r.detail ? `: ${r.detail}` : ''}`;
    default:
      return `${what} changed`;
  }
}

async function viewsOf(services: Services, rows: Row[]): Promise<NotificationView[]> {
  const ids = [...new Set(rows.map((r) => r.actorId).filter((id): id is string => !!id))];
  // Names as they are now, read as the timeline does (users are not a tenant table).
  const names = new Map(
    ids.length
      ? (
          await services.database.db
            .select({ id: users.id, name: users.name })
            .from(users)
            .where(inArray(users.id, ids))
        ).map((u) => [u.id, u.name])
      : [],
  );
  return rows.map((r) => {
    const actorName = r.actorId ? (names.get(r.actorId) ?? 'A former member') : null;
    return {
      id: r.id,
      kind: r.kind as NotificationKind,
      title: titleOf(r, actorName),
      record: { object: r.object, id: r.recordId, name: r.recordName },
      actor: r.actorId ? { id: r.actorId, name: actorName! } : null,
      detail: r.detail,
      count: r.count,
      read: r.readAt !== null,
      read_at: r.readAt,
      created_at: r.createdAt,
      updated_at: r.updatedAt,
    };
  });
}

const Cursor = z.object({ at: z.string().max(64), id: z.uuid() });

function decode(cursor: string): z.infer<typeof Cursor> {
  try {
    const parsed = Cursor.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    if (Number.isNaN(Date.parse(parsed.at))) throw new Error('bad time');
    return parsed;
  } catch {
    throw badRequest('The cursor is not one this list gave out', 'querystring.cursor', 'invalid_query');
  }
}

/**
 * The caller's notifications in their current organization, the latest first (a coalesced one
 * rises with its latest event), keyset-paginated; `unread=true` for the unread ones only.
 * @throws 400 at `querystring.cursor`
 */
export async function listNotifications(
  services: Services,
  ctx: TenantContext,
  query: NotificationListQueryInput,
) {
  const after = query.cursor ? decode(query.cursor) : undefined;
  const recipient = recipientOf(ctx);
  const rows = await withTenant(
    services.database,
    ctx,
    ({ tx }) =>
      tx
        .select()
        .from(notifications)
        .where(
          and(
            eq(notifications.orgId, ctx.orgId),
            eq(notifications.recipientId, recipient),
            query.unread === 'true' ? isNull(notifications.readAt) : undefined,
            after
              ? or(
                  lt(notifications.updatedAt, after.at),
                  and(eq(notifications.updatedAt, after.at), lt(notifications.id, after.id)),
                )
              : undefined,
          ),
        )
        .orderBy(desc(notifications.updatedAt), desc(notifications.id))
        .limit(query.limit + 1),
    { readOnly: true },
  );
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    data: await viewsOf(services, page),
    next_cursor:
      rows.length > query.limit && last
        ? Buffer.from(JSON.stringify({ at: last.updatedAt, id: last.id })).toString('base64url')
        : null,
  };
}

/** How many unread notifications the caller has in their current organization. */
export async function unreadCount(services: Services, ctx: TenantContext): Promise<number> {
  const recipient = recipientOf(ctx);
  return withTenant(
    services.database,
    ctx,
    async ({ conn }) => {
      const { rows } = await conn.query<{ n: number }>(
        `select count(*)::int as n from notifications
          where org_id = $1 and recipient_id = $2 and read_at is null`,
        [ctx.orgId, recipient],
      );
      return rows[0]?.n ?? 0;
    },
    { readOnly: true },
  );
}

/**
 * Marks one of the caller's notifications read (again: a no-op) and returns it.
 * @throws 404 for an id that is not the caller's in this organization (another member's included)
 */
export async function markRead(services: Services, ctx: TenantContext, id: string) {
  const recipient = recipientOf(ctx);
  const row = await withTenant(services.database, ctx, async ({ tx }) => {
    const mine = and(
      eq(notifications.orgId, ctx.orgId),
      eq(notifications.id, id),
      eq(notifications.recipientId, recipient),
    );
    const [updated] = await tx
      .update(notifications)
      .set({ readAt: sql`coalesce(${notifications.readAt}, clock_timestamp())` })
      .where(mine)
      .returning();
    if (updated) await tx.execute(sql`select pg_notify(${NOTIFY_CHANNEL}, ${`${ctx.orgId}:${recipient}`})`);
    return updated;
  });
  if (!row) throw notFound('Notification', id);
  return (await viewsOf(services, [row]))[0]!;
}

/** Marks every unread notification of the caller in this organization read (their open streams are told). @returns how many */
export async function markAllRead(services: Services, ctx: TenantContext): Promise<{ updated: number }> {
  const recipient = recipientOf(ctx);
  return withTenant(services.database, ctx, async ({ conn }) => {
    const { rows } = await conn.query(
      `update notifications set read_at = clock_timestamp()
        where org_id = $1 and recipient_id = $2 and read_at is null returning id`,
      [ctx.orgId, recipient],
    );
    // The member's other tabs and devices update their bell.
    if (rows.length > 0)
      await conn.query(`select pg_notify($1, $2)`, [NOTIFY_CHANNEL, `${ctx.orgId}:${recipient}`]);
    return { updated: rows.length };
  });
}

/** E-mail digests are kept as a choice; no sending layer exists yet to send them. */
export const EMAIL_DIGEST_AVAILABLE = false;

/** The caller's setting for every kind (defaults where none was saved: in-app on, digest off). */
export async function getSettings(services: Services, ctx: TenantContext) {
  const user = recipientOf(ctx);
  const saved = await withTenant(
    services.database,
    ctx,
    ({ tx }) =>
      tx
        .select()
        .from(notificationSettings)
        .where(and(eq(notificationSettings.orgId, ctx.orgId), eq(notificationSettings.userId, user))),
    { readOnly: true },
  );
  const byKind = new Map(saved.map((s) => [s.kind, s]));
  return {
    data: NOTIFICATION_KINDS.map((kind) => ({
      kind,
      label: KIND_LABELS[kind],
      in_app: byKind.get(kind)?.inApp ?? true,
      email_digest: byKind.get(kind)?.emailDigest ?? false,
    })),
    email_digest_available: EMAIL_DIGEST_AVAILABLE,
  };
}

/**
 * Saves the given kinds' choices (a kind or a flag left out keeps its value) and returns every
 * kind's setting. @throws 400 when a kind is given twice
 */
export async function updateSettings(
  services: Services,
  ctx: TenantContext,
  input: NotificationSettingsUpdateInput,
) {
  const user = recipientOf(ctx);
  const seen = new Set<string>();
  input.data.forEach((s, i) => {
    if (seen.has(s.kind))
      throw badRequest(`${s.kind} is given twice`, `body.data[${i}].kind`, 'duplicate_kind');
    seen.add(s.kind);
  });
  await withTenant(services.database, ctx, async ({ tx }) => {
    for (const s of input.data) {
      await tx
        .insert(notificationSettings)
        .values({
          orgId: ctx.orgId,
          userId: user,
          kind: s.kind,
          inApp: s.in_app ?? true,
          emailDigest: s.email_digest ?? false,
        })
        .onConflictDoUpdate({
          target: [notificationSettings.orgId, notificationSettings.userId, notificationSettings.kind],
          set: {
            ...(s.in_app !== undefined ? { inApp: s.in_app } : {}),
            ...(s.email_digest !== undefined ? { emailDigest: s.email_digest } : {}),
            updatedAt: sql`clock_timestamp()`,
          },
        });
    }
  });
  return getSettings(services, ctx);
}
