import type { TenantScope } from '../../db/tenant.js';
import { cachedObjectDef } from '../../platform/registry/registry.service.js';
import { COALESCE_WINDOW_MINUTES, type NotificationKind } from './notification-kinds.js';

/** The PostgreSQL channel a committed notification is announced on (payload `<org_id>:<user_id>`). */
export const NOTIFY_CHANNEL = 'cairn_notifications';

/** One notification to deliver, before the recipient's settings and the coalescing window. */
export type NotificationDraft = {
  recipientId: string;
  kind: NotificationKind;
  object: string;
  recordId: string;
  recordName: string | null;
  actorId: string | null;
  detail?: string | null;
  eventId: string;
  /** Once-only key (a task due on a day): a second draft with it is dropped, not coalesced. */
  onceKey?: string;
  /** How many events it stands for (a bulk assignment's: one notification for many records). */
  count?: number;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Delivers a draft in the consumer's tenant transaction: dropped when the recipient is not a
 * member of the organization or turned the kind's in-app notifications off; otherwise a
 * same-kind unread notification on the same record for the same recipient created within the
 * coalescing window takes it (count + 1, latest actor and time), else a new row is written. The
 * recipient's process(es) are told on commit (`pg_notify`, see notification-stream.ts).
 * @returns whether a notification was written or updated
 */
export async function deliverNotification(scope: TenantScope, draft: NotificationDraft): Promise<boolean> {
  const { conn, ctx } = scope;
  if (!UUID.test(draft.recipientId) || !UUID.test(draft.recordId)) return false;
  const { rows: allowed } = await conn.query<{ ok: boolean }>(
    `select exists (select 1 from members m where m.organization_id = $1 and m.user_id = $2)
        and coalesce((select s.in_app from notification_settings s
                       where s.org_id = $1 and s.user_id = $2 and s.kind = $3), true) as ok`,
    [ctx.orgId, draft.recipientId, draft.kind],
  );
  if (!allowed[0]?.ok) return false;
  const values = [
    ctx.orgId,
    draft.recipientId,
    draft.kind,
    draft.object,
    draft.recordId,
    draft.recordName,
    draft.actorId,
    draft.detail ?? null,
    draft.eventId,
    draft.count ?? 1,
  ];
  let written: boolean;
  if (draft.onceKey) {
    const { rows } = await conn.query(
      `insert into notifications (org_id, recipient_id, kind, object, record_id, record_name, actor_id,
          detail, event_id, count, once_key)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       on conflict (org_id, recipient_id, once_key) do nothing returning id`,
      [...values, draft.onceKey],
    );
    written = rows.length > 0;
  } else {
    // Two consumers' transactions coalescing into the same row wait for each other here.
    await conn.query(`select pg_advisory_xact_lock(hashtext($1))`, [
      `notification:${ctx.orgId}:${draft.recipientId}:${draft.kind}:${draft.object}:${draft.recordId}`,
    ]);
    const { rows } = await conn.query(
      `update notifications set count = count + $10, updated_at = clock_timestamp(), record_name = $6,
              actor_id = $7, detail = $8, event_id = $9
        where org_id = $1 and recipient_id = $2 and kind = $3 and object = $4 and record_id = $5
          and read_at is null and once_key is null
          and created_at > clock_timestamp() - interval '${COALESCE_WINDOW_MINUTES} minutes'
        returning id`,
      values,
    );
    if (rows.length === 0) {
      await conn.query(
        `insert into notifications (org_id, recipient_id, kind, object, record_id, record_name, actor_id,
            detail, event_id, count, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, clock_timestamp(), clock_timestamp())`,
        values,
      );
    }
    written = true;
  }
  if (written) {
    await conn.query(`select pg_notify($1, $2)`, [NOTIFY_CHANNEL, `${ctx.orgId}:${draft.recipientId}`]);
  }
  return written;
}

/**
 * A record's owner and name, read through the registry (the object's table, its `owner_id`
 * column and its title SQL), or undefined when the object or the record is unknown. For any
 * registry object, so a notification needs no code per object.
 */
export async function recordFacts(
  scope: TenantScope,
  object: string,
  id: string,
): Promise<{ ownerId: string | null; name: string | null } | undefined> {
  if (!UUID.test(id)) return undefined;
  let def: Awaited<ReturnType<typeof cachedObjectDef>>;
  try {
    def = await cachedObjectDef(scope.tx, scope.ctx.orgId, object);
  } catch {
    return undefined; // an object the registry does not know (any more)
  }
  const owner = def.fields.find((f) => f.key === 'owner_id' && f.storage.kind === 'column');
  const ownerSql = owner?.storage.kind === 'column' ? `r."${owner.storage.column}"::text` : 'null::text';
  const nameSql = def.titleSql ? `${def.titleSql('r')}::text` : 'null::text';
  const { rows } = await scope.conn.query<{ owner_id: string | null; name: string | null }>(
    `select ${ownerSql} as owner_id, ${nameSql} as name from "${def.table}" r
      where r.org_id = $1 and r.id = $2`,
    [scope.ctx.orgId, id],
  );
  const row = rows[0];
  return row ? { ownerId: row.owner_id, name: row.name } : undefined;
}

/**
 * The keys of an object's status fields: `status` and `stage` where the object has them, and any
 * field of type `status` (a pipeline of statuses); undefined for an object the registry does not
 * know. Read from the registry's in-process cache, so an update that changes no status costs no
 * query.
 */
export async function statusFieldsOf(scope: TenantScope, object: string): Promise<string[] | undefined> {
  try {
    const def = await cachedObjectDef(scope.tx, scope.ctx.orgId, object);
    return def.fields
      .filter((f) => ['status', 'stage'].includes(f.key) || (f.type as string) === 'status')
      .map((f) => f.key);
  } catch {
    return undefined;
  }
}

/**
 * `deliverNotification` for many once-keyed drafts (a workflow step on a batch of records), in
 * three statements whatever their number: the same recipient checks (a member, the kind's in-app
 * setting on), one insert that drops a draft whose once-key was delivered before, one
 * `pg_notify` per recipient written to.
 * @returns whether each draft was written, in order
 */
export async function deliverOnceNotifications(
  scope: TenantScope,
  drafts: (NotificationDraft & { onceKey: string })[],
): Promise<boolean[]> {
  const { conn, ctx } = scope;
  const valid = drafts.map((d) => UUID.test(d.recipientId) && UUID.test(d.recordId));
  const rows = drafts.flatMap((d, i) =>
    valid[i]
      ? [
          {
            recipient_id: d.recipientId,
            kind: d.kind,
            object: d.object,
            record_id: d.recordId,
            record_name: d.recordName,
            actor_id: d.actorId,
            detail: d.detail ?? null,
            event_id: d.eventId,
            count: d.count ?? 1,
            once_key: d.onceKey,
          },
        ]
      : [],
  );
  if (rows.length === 0) return drafts.map(() => false);
  const { rows: written } = await conn.query<{ recipient_id: string; once_key: string }>(
    `insert into notifications (org_id, recipient_id, kind, object, record_id, record_name, actor_id,
        detail, event_id, count, once_key)
     select $1, x.recipient_id, x.kind, x.object, x.record_id, x.record_name, x.actor_id, x.detail,
            x.event_id, x.count, x.once_key
       from jsonb_to_recordset($2::jsonb) as x(recipient_id uuid, kind text, object text, record_id uuid,
            record_name text, actor_id uuid, detail text, event_id uuid, count int, once_key text)
      where exists (select 1 from members m where m.organization_id = $1 and m.user_id = x.recipient_id)
        and coalesce((select s.in_app from notification_settings s
                       where s.org_id = $1 and s.user_id = x.recipient_id and s.kind = x.kind), true)
     on conflict (org_id, recipient_id, once_key) do nothing
     returning recipient_id::text as recipient_id, once_key`,
    [ctx.orgId, JSON.stringify(rows)],
  );
  const done = new Set(written.map((w) => `${w.recipient_id}:${w.once_key}`));
  for (const recipient of new Set(written.map((w) => w.recipient_id)))
    await conn.query(`select pg_notify($1, $2)`, [NOTIFY_CHANNEL, `${ctx.orgId}:${recipient}`]);
  return drafts.map((d) => done.has(`${d.recipientId.toLowerCase()}:${d.onceKey}`));
}
