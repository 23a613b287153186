import { and, desc, eq, isNull, lt, sql } from 'drizzle-orm';
import type { Database, SqlExecutor } from '../../db/client.js';
import { newId } from '../../db/ids.js';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import { type AuditSource, appendAudit } from '../audit/audit.js';
import { apiKeys } from '../auth/api-key.schema.js';
import { forgetCachedSessions } from '../auth/auth.routes.js';
import { members } from '../auth/auth.schema.js';
import { revokeAllSessions } from '../auth/sessions.js';
import { AppError, notFound } from '../errors/app-error.js';
import type { Guard, GuardCrossing, GuardHandlers } from './guard.js';
import { guardIncidents } from './guard.schema.js';
import { type GuardMetric, METRIC_LABELS } from './guard-budgets.js';

export type IncidentView = {
  id: string;
  subject: { type: 'user' | 'api_key'; user_id: string; api_key_id: string | null; label: string };
  role: string;
  metric: GuardMetric;
  metric_label: string;
  count: number;
  warn: number;
  block: number;
  window_seconds: number;
  counts: Record<string, number>;
  trace_ids: string[];
  sessions_revoked: number;
  api_keys_revoked: number;
  status: 'open' | 'resolved';
  /** The user is still locked out of the organization (an API key stays revoked either way). */
  locked: boolean;
  opened_at: string;
  resolved_at: string | null;
  resolved_by: string | null;
  resolution: 'unlocked' | 'kept_locked' | null;
  note: string | null;
};

type Row = typeof guardIncidents.$inferSelect & { locked: boolean };

function viewOf(r: Row): IncidentView {
  return {
    id: r.id,
    subject: { type: r.subjectType, user_id: r.userId, api_key_id: r.apiKeyId, label: r.subjectLabel },
    role: r.role,
    metric: r.metric as GuardMetric,
    metric_label: METRIC_LABELS[r.metric as GuardMetric] ?? r.metric,
    count: r.count,
    warn: r.warn,
    block: r.block,
    window_seconds: r.windowSeconds,
    counts: r.counts as Record<string, number>,
    trace_ids: r.traceIds as string[],
    sessions_revoked: r.sessionsRevoked,
    api_keys_revoked: r.apiKeysRevoked,
    status: r.status,
    locked: r.locked,
    opened_at: r.openedAt.toISOString(),
    resolved_at: r.resolvedAt?.toISOString() ?? null,
    resolved_by: r.resolvedBy,
    resolution: r.resolution,
    note: r.note,
  };
}

/** The guard acts as `system`, labelled so in the audit log. */
const GUARD_SOURCE = (traceId: string): AuditSource => ({
  actor: { type: 'system', id: null },
  actorLabel: 'guard',
  traceId,
});

/** One sentence an admin reads about a crossing: who, what, how many, in which window. */
export function crossingSentence(c: GuardCrossing, kind: 'warn' | 'block'): string {
  const who = c.subject.type === 'api_key' ? `API key "${c.subject.label}"` : c.subject.label;
  const window = windowText(c.budget.window_seconds);
  const what = METRIC_LABELS[c.metric];
  return kind === 'block'
    ? `${who} was stopped by the guard: ${c.total.toLocaleString('en')} ${what} in ${window} (block threshold ${c.budget.block.toLocaleString('en')})`
    : `${who} reached the guard's warn threshold: ${c.total.toLocaleString('en')} ${what} in ${window} (warn ${c.budget.warn.toLocaleString('en')}, block ${c.budget.block.toLocaleString('en')})`;
}

export function windowText(seconds: number): string {
  if (seconds % 3600 === 0) return seconds === 3600 ? '1 hour' : `${seconds / 3600} hours`;
  if (seconds % 60 === 0) return seconds === 60 ? '1 minute' : `${seconds / 60} minutes`;
  return `${seconds} seconds`;
}

/**
 * Opens the incident of a block crossing, once per subject (a second crossing while one is open,
 * from this process or another, joins it): a user is locked out of the organization, their
 * sessions end and the API keys they issued there are revoked; an API key is revoked. Audited as
 * `guard.incident_opened`. @returns the new incident's id, or null when one was already open
 */
export async function openIncident(database: Database, c: GuardCrossing): Promise<string | null> {
  const s = c.subject;
  const ctx: TenantContext = { orgId: s.orgId, actor: { type: 'system', id: null }, traceId: c.traceId };
  const id = newId();
  const opened = await withTenant(database, ctx, async (scope) => {
    const inserted = await scope.tx
      .insert(guardIncidents)
      .values({
        orgId: s.orgId,
        id,
        subject: s.subject,
        subjectType: s.type,
        userId: s.userId,
        apiKeyId: s.apiKeyId,
        subjectLabel: s.label,
        role: s.role,
        metric: c.metric,
        count: c.total,
        warn: c.budget.warn,
        block: c.budget.block,
        windowSeconds: c.budget.window_seconds,
        counts: c.counts,
        traceIds: c.traceIds,
      })
      .onConflictDoNothing()
      .returning({ id: guardIncidents.id });
    if (inserted.length === 0) return false;
    const revokedKeys = await scope.tx
      .update(apiKeys)
      .set({ revokedAt: new Date() })
      .where(
        and(
          eq(apiKeys.orgId, s.orgId),
          isNull(apiKeys.revokedAt),
          s.type === 'api_key' ? eq(apiKeys.id, s.apiKeyId!) : eq(apiKeys.createdBy, s.userId),
        ),
      )
      .returning({ id: apiKeys.id });
    // The organization's last admin is not locked out (nobody would be left to review): their
    // sessions and keys still end.
    const lock = s.type === 'user' && !(await isLastAdmin(scope.conn, s.orgId, s.userId));
    if (lock) {
      await scope.tx
        .update(members)
        .set({ guardLockedAt: new Date(), guardIncidentId: id })
        .where(and(eq(members.organizationId, s.orgId), eq(members.userId, s.userId)));
    }
    await scope.tx
      .update(guardIncidents)
      .set({ apiKeysRevoked: revokedKeys.length })
      .where(and(eq(guardIncidents.orgId, s.orgId), eq(guardIncidents.id, id)));
    await appendAudit(scope, GUARD_SOURCE(c.traceId), {
      action: 'guard.incident_opened',
      target: s.type === 'api_key' ? { type: 'api_key', id: s.apiKeyId! } : { type: 'user', id: s.userId },
      details: {
        incident_id: id,
        subject: s.label,
        metric: c.metric,
        count: c.total,
        block: c.budget.block,
        window_seconds: c.budget.window_seconds,
        counts: c.counts,
        trace_ids: c.traceIds,
        api_keys_revoked: revokedKeys.map((k) => k.id),
        locked: lock,
      },
    });
    return true;
  });
  if (!opened) return null;
  if (s.type === 'user') {
    const ended = await revokeAllSessions(database, s.userId);
    await withTenant(database, ctx, ({ tx }) =>
      tx
        .update(guardIncidents)
        .set({ sessionsRevoked: ended })
        .where(and(eq(guardIncidents.orgId, s.orgId), eq(guardIncidents.id, id))),
    );
  }
  forgetCachedSessions();
  return id;
}

/** Whether `userId` is an admin of the organization and no other admin is free of a guard lock. */
async function isLastAdmin(conn: SqlExecutor, orgId: string, userId: string): Promise<boolean> {
  const { rows } = await conn.query<{ last: boolean }>(
    `select exists (select 1 from members where organization_id = $1 and user_id = $2 and role = 'admin')
        and not exists (select 1 from members m where m.organization_id = $1 and m.user_id <> $2
                          and m.role = 'admin'
                          and m.guard_locked_at is null) as last`,
    [orgId, userId],
  );
  return rows[0]?.last ?? false;
}

/** Records a warn crossing in the audit log (`guard.warned`). */
export async function auditWarning(database: Database, c: GuardCrossing): Promise<void> {
  const s = c.subject;
  await withTenant(
    database,
    { orgId: s.orgId, actor: { type: 'system', id: null }, traceId: c.traceId },
    (scope) =>
      appendAudit(scope, GUARD_SOURCE(c.traceId), {
        action: 'guard.warned',
        target: s.type === 'api_key' ? { type: 'api_key', id: s.apiKeyId! } : { type: 'user', id: s.userId },
        details: {
          subject: s.label,
          metric: c.metric,
          count: c.total,
          warn: c.budget.warn,
          block: c.budget.block,
          window_seconds: c.budget.window_seconds,
          trace_ids: c.traceIds,
        },
      }),
  );
}

/** Tells an organization's admins (an in-app notification each); supplied by the notifications side. */
export type AdminAlert = (alert: {
  orgId: string;
  kind: 'warn' | 'block';
  /** The incident (block) or a new id (warn): what the notification points at. */
  id: string;
  subjectLabel: string;
  sentence: string;
}) => Promise<void>;

/** The guard's handlers: audit and alert on warn; open the incident, audit and alert on block. */
export function incidentHandlers(database: Database, alert: AdminAlert): GuardHandlers {
  return {
    async onWarn(c) {
      await auditWarning(database, c);
      await alert({
        orgId: c.subject.orgId,
        kind: 'warn',
        id: newId(),
        subjectLabel: c.subject.label,
        sentence: crossingSentence(c, 'warn'),
      });
    },
    async onBlock(c) {
      const id = await openIncident(database, c);
      if (!id) return;
      await alert({
        orgId: c.subject.orgId,
        kind: 'block',
        id,
        subjectLabel: c.subject.label,
        sentence: crossingSentence(c, 'block'),
      });
    },
  };
}

const lockedSql = sql<boolean>`exists (select 1 from members gm where gm.organization_id = ${guardIncidents.orgId}
  and gm.user_id = ${guardIncidents.userId} and gm.guard_locked_at is not null
  and ${guardIncidents.subjectType} = 'user')`;

/** The organization's incidents, newest first; `status` filters; keyset paging by id. */
export async function listIncidents(
  database: Database,
  ctx: TenantContext,
  query: { status?: 'open' | 'resolved' | undefined; limit: number; cursor?: string | undefined },
): Promise<{ data: IncidentView[]; next_cursor: string | null }> {
  const rows = await withTenant(
    database,
    ctx,
    ({ tx }) =>
      tx
        .select({ incident: guardIncidents, locked: lockedSql })
        .from(guardIncidents)
        .where(
          and(
            eq(guardIncidents.orgId, ctx.orgId),
            query.status ? eq(guardIncidents.status, query.status) : undefined,
            query.cursor ? lt(guardIncidents.id, query.cursor) : undefined,
          ),
        )
        .orderBy(desc(guardIncidents.id))
        .limit(query.limit + 1),
    { readOnly: true },
  );
  const page = rows.slice(0, query.limit).map((r) => viewOf({ ...r.incident, locked: r.locked }));
  return { data: page, next_cursor: rows.length > query.limit ? page[page.length - 1]!.id : null };
}

/** One incident. @throws 404 for an id not of this organization */
export async function getIncident(database: Database, ctx: TenantContext, id: string): Promise<IncidentView> {
  const [row] = await withTenant(
    database,
    ctx,
    ({ tx }) =>
      tx
        .select({ incident: guardIncidents, locked: lockedSql })
        .from(guardIncidents)
        .where(and(eq(guardIncidents.orgId, ctx.orgId), eq(guardIncidents.id, id))),
    { readOnly: true },
  );
  if (!row) throw notFound('Incident', id);
  return viewOf({ ...row.incident, locked: row.locked });
}

/**
 * Resolves an incident after an admin's review: `unlock` lifts the user's lock and forgets the
 * subject's counts (a revoked API key stays revoked: issue a new one); `keep_locked` closes the
 * incident and the user stays locked out (a later `unlock` of the same incident lifts it).
 * Audited as `guard.incident_resolved`.
 * @throws 404 for an id not of this organization, 409 `incident_resolved` when already resolved
 */
export async function resolveIncident(
  database: Database,
  guard: Guard,
  ctx: TenantContext,
  source: AuditSource,
  id: string,
  input: { action: 'unlock' | 'keep_locked'; note?: string | undefined },
): Promise<IncidentView> {
  const subject = await withTenant(database, ctx, async (scope) => {
    const [row] = await scope.tx
      .select()
      .from(guardIncidents)
      .where(and(eq(guardIncidents.orgId, ctx.orgId), eq(guardIncidents.id, id)))
      .for('update');
    if (!row) throw notFound('Incident', id);
    if (row.status === 'resolved' && !(row.resolution === 'kept_locked' && input.action === 'unlock')) {
      throw new AppError(409, 'incident_resolved', 'This incident is resolved already', {
        path: 'body.action',
      });
    }
    const resolution = input.action === 'unlock' ? 'unlocked' : 'kept_locked';
    await scope.tx
      .update(guardIncidents)
      .set({
        status: 'resolved',
        resolution,
        resolvedAt: new Date(),
        resolvedBy: ctx.actor.id,
        note: input.note ?? row.note,
      })
      .where(and(eq(guardIncidents.orgId, ctx.orgId), eq(guardIncidents.id, id)));
    if (input.action === 'unlock' && row.subjectType === 'user') {
      await scope.tx
        .update(members)
        .set({ guardLockedAt: null, guardIncidentId: null })
        .where(and(eq(members.organizationId, ctx.orgId), eq(members.userId, row.userId)));
    }
    await appendAudit(scope, source, {
      action: 'guard.incident_resolved',
      target: { type: 'guard_incident', id },
      details: { resolution, note: input.note ?? null, subject: row.subjectLabel },
    });
    return input.action === 'unlock' ? row.subject : null;
  });
  if (subject) {
    await guard.reset(ctx.orgId, subject);
    forgetCachedSessions();
  }
  return getIncident(database, ctx, id);
}
