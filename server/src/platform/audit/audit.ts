import type { FastifyRequest } from 'fastify';
import type { Database } from '../../db/client.js';
import { newId } from '../../db/ids.js';
import { type Actor, type TenantScope, withTenant } from '../../db/tenant.js';
import { auditLog } from './audit.schema.js';

/** The security events the audit log records (issue 22), as `<area>.<verb>`. */
export const AUDIT_ACTIONS = [
  'auth.signed_in',
  'auth.signed_out',
  'auth.sign_in_failed',
  'auth.locked_out',
  'auth.password_reset',
  'auth.sessions_revoked',
  'auth.two_factor_enabled',
  'auth.two_factor_disabled',
  'auth.two_factor_recovery_used',
  'auth.two_factor_policy_changed',
  'member.invited',
  'member.role_changed',
  'member.removed',
  'invitation.canceled',
  'api_key.issued',
  'api_key.revoked',
  'role.created',
  'role.updated',
  'role.deleted',
  'team.created',
  'team.updated',
  'team.deleted',
  'team.member_added',
  'team.member_removed',
  'records.exported',
  'records.imported',
  'records.bulk_archived',
  'records.bulk_restored',
  'record.deleted',
  'audit.exported',
  'guard.warned',
  'guard.incident_opened',
  'guard.incident_resolved',
  'guard.settings_changed',
  'personal_data.exported',
  'personal_data.erased',
  'retention.applied',
  'organization.deletion_scheduled',
  'organization.deletion_canceled',
  // The operator of the install (issue 30), in the organization's own log.
  'organization.plan_changed',
  'organization.suspended',
  'organization.restored',
  'ai.settings_changed',
  'ai.called',
  'mcp.tool_called',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** What happened, to what, with what details (never a secret: no password, no key). */
export type AuditEntry = {
  action: AuditAction;
  target?: { type: string; id: string } | undefined;
  details?: Record<string, unknown> | undefined;
};

/** Who did it and from where: the actor, how a person reads it, the client's IP, agent and trace. */
export type AuditSource = {
  actor: Actor;
  actorLabel?: string | null | undefined;
  ip?: string | null | undefined;
  userAgent?: string | null | undefined;
  traceId?: string | null | undefined;
};

const USER_AGENT_MAX = 512;

/** Appends one entry to the audit log in the caller's tenant transaction. */
export async function appendAudit(scope: TenantScope, source: AuditSource, entry: AuditEntry): Promise<void> {
  await scope.tx.insert(auditLog).values({
    orgId: scope.ctx.orgId,
    id: newId(),
    action: entry.action,
    actorType: source.actor.type === 'api_key' ? 'api_key' : source.actor.type === 'user' ? 'user' : 'system',
    actorId: source.actor.id,
    actorLabel: source.actorLabel ?? null,
    ip: source.ip ?? null,
    userAgent: source.userAgent?.slice(0, USER_AGENT_MAX) ?? null,
    traceId: source.traceId ?? null,
    targetType: entry.target?.type ?? null,
    targetId: entry.target?.id ?? null,
    details: entry.details ?? {},
  });
}

/** Appends one entry to an organization's audit log in a transaction of its own. */
export async function recordAudit(
  database: Database,
  orgId: string,
  source: AuditSource,
  entry: AuditEntry,
): Promise<void> {
  await withTenant(database, { orgId, actor: source.actor, traceId: source.traceId ?? undefined }, (scope) =>
    appendAudit(scope, source, entry),
  );
}

/** The audit source of a request: its principal (a user or an API key), client IP, agent, trace id. */
export function auditSourceOf(req: FastifyRequest): AuditSource {
  const p = req.principal;
  const actor: Actor = p
    ? p.type === 'api_key'
      ? { type: 'api_key', id: p.apiKeyId ?? null }
      : { type: 'user', id: p.userId }
    : { type: 'system', id: null };
  return {
    actor,
    actorLabel: p ? (p.type === 'api_key' ? p.name : p.email) : null,
    ip: req.ip,
    userAgent: req.headers['user-agent'] ?? null,
    traceId: String(req.id),
  };
}

/** Records a security event of a request in its organization's audit log (after the action). */
export async function auditRequest(
  database: Database,
  req: FastifyRequest,
  entry: AuditEntry,
): Promise<void> {
  await recordAudit(database, req.tenant.orgId, auditSourceOf(req), entry);
}

/**
 * Records an event about a user (a sign-in, a failed one, a lockout) in every organization the
 * user belongs to, so each one's admins see it. Nothing is recorded for an unknown e-mail: it
 * belongs to no organization.
 */
export async function auditUserEvent(
  database: Database,
  user: { email?: string; userId?: string },
  source: Omit<AuditSource, 'actor' | 'actorLabel'>,
  entry: AuditEntry,
): Promise<void> {
  const { rows } = await database.raw.query<{ user_id: string; email: string; org_id: string }>(
    `select u.id as user_id, u.email, m.organization_id as org_id
       from users u join members m on m.user_id = u.id
      where ${user.userId ? 'u.id = $1' : 'u.email = lower($1)'}`,
    [user.userId ?? (user.email ?? '').trim()],
  );
  for (const row of rows) {
    await recordAudit(
      database,
      row.org_id,
      { ...source, actor: { type: 'user', id: row.user_id }, actorLabel: row.email },
      entry,
    );
  }
}
