import { and, desc, eq, gte, lt, lte, type SQL } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import type { AuditAction } from './audit.js';
import { auditLog } from './audit.schema.js';

/** Which entries to read: by actor (a user's or API key's id), action and time range, newest first. */
export type AuditFilter = {
  actor?: string | undefined;
  action?: AuditAction | undefined;
  /** ISO 8601, inclusive. */
  from?: string | undefined;
  /** ISO 8601, inclusive. */
  to?: string | undefined;
};

export type AuditEntryView = {
  id: string;
  occurred_at: string;
  action: string;
  actor: { type: string; id: string | null; label: string | null };
  ip: string | null;
  user_agent: string | null;
  trace_id: string | null;
  target: { type: string; id: string } | null;
  details: Record<string, unknown>;
};

function viewOf(row: typeof auditLog.$inferSelect): AuditEntryView {
  return {
    id: row.id,
    occurred_at: new Date(row.occurredAt).toISOString(),
    action: row.action,
    actor: { type: row.actorType, id: row.actorId, label: row.actorLabel },
    ip: row.ip,
    user_agent: row.userAgent,
    trace_id: row.traceId,
    target: row.targetType && row.targetId ? { type: row.targetType, id: row.targetId } : null,
    details: (row.details ?? {}) as Record<string, unknown>,
  };
}

/**
 * One page of the organization's audit log, newest first. The cursor is the last entry's id
 * (UUIDv7 ids sort in time order, so the primary key is the page order).
 */
export async function listAudit(
  database: Database,
  ctx: TenantContext,
  filter: AuditFilter,
  page: { limit: number; cursor?: string | undefined },
): Promise<{ data: AuditEntryView[]; next_cursor: string | null }> {
  const where: SQL[] = [eq(auditLog.orgId, ctx.orgId)];
  if (filter.actor) where.push(eq(auditLog.actorId, filter.actor));
  if (filter.action) where.push(eq(auditLog.action, filter.action));
  if (filter.from) where.push(gte(auditLog.occurredAt, filter.from));
  if (filter.to) where.push(lte(auditLog.occurredAt, filter.to));
  if (page.cursor) where.push(lt(auditLog.id, page.cursor));
  const rows = await withTenant(
    database,
    ctx,
    ({ tx }) =>
      tx
        .select()
        .from(auditLog)
        .where(and(...where))
        .orderBy(desc(auditLog.id))
        .limit(page.limit + 1),
    { readOnly: true },
  );
  const more = rows.length > page.limit;
  const data = rows.slice(0, page.limit).map(viewOf);
  return { data, next_cursor: more ? data[data.length - 1]!.id : null };
}

/** Every entry the filter selects, newest first, page by page (each its own short transaction). */
export async function* allAudit(
  database: Database,
  ctx: TenantContext,
  filter: AuditFilter,
): AsyncGenerator<AuditEntryView[]> {
  let cursor: string | undefined;
  for (;;) {
    const page = await listAudit(database, ctx, filter, { limit: 500, cursor });
    if (page.data.length) yield page.data;
    if (!page.next_cursor) return;
    cursor = page.next_cursor;
  }
}
