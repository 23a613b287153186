import { and, eq, sql } from 'drizzle-orm';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { roles } from '../../platform/access/access.schema.js';
import { isRole } from '../../platform/access/permissions.js';
import { notFound } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { customObjectDefs } from '../../platform/registry/registry.service.js';
import type { ObjectDef } from '../../platform/registry/registry.types.js';
import { assertRoleExists } from '../access/role.service.js';
import { statusFieldsOf } from '../records/record-status.service.js';
import type { QueueViewOut } from './handoff.dto.js';
import { handoffQueues } from './handoff.schema.js';

/**
 * Hand-off queues (issue 21): one per role that owns a status of some custom object's status
 * field. A queue's assignment rule picks the member a new hand-off is suggested to: `manual`
 * (nobody: any member of the role takes it), `round_robin` (the role's members in turn, by user
 * id) or `least_open` (the member owning the fewest records of the object in an open status).
 */

import { ASSIGNMENT_RULES, type AssignmentRule } from './handoff.dto.js';

export { ASSIGNMENT_RULES, type AssignmentRule };

const BUILT_IN_LABELS: Record<string, string> = { admin: 'Admins', user: 'Users', viewer: 'Viewers' };

/** A role's name as people read it: the custom role's name, or the built-in role's. */
export async function roleLabel(scope: TenantScope, key: string): Promise<string> {
  if (isRole(key)) return BUILT_IN_LABELS[key]!;
  const [row] = await scope.tx
    .select({ name: roles.name })
    .from(roles)
    .where(and(eq(roles.orgId, scope.ctx.orgId), eq(roles.key, key)));
  return row?.name ?? key;
}

/** The statuses each role owns, across the tenant's live custom objects: role key -> statuses. */
export async function ownedStatuses(
  scope: TenantScope,
): Promise<Map<string, { object: ObjectDef; field: string; status: string; label: string }[]>> {
  const out = new Map<string, { object: ObjectDef; field: string; status: string; label: string }[]>();
  for (const def of await customObjectDefs(scope.tx, scope.ctx.orgId)) {
    if (def.custom?.retired) continue;
    for (const { field, config } of statusFieldsOf(def))
      for (const s of config.statuses)
        if (s.owner_role)
          out.set(s.owner_role, [
            ...(out.get(s.owner_role) ?? []),
            { object: def, field: field.key, status: s.value, label: s.label },
          ]);
  }
  return out;
}

/** The queue's rule (`manual` when it has no settings row). */
export async function queueRule(scope: TenantScope, role: string): Promise<AssignmentRule> {
  const [row] = await scope.tx
    .select({ assignment: handoffQueues.assignment })
    .from(handoffQueues)
    .where(and(eq(handoffQueues.orgId, scope.ctx.orgId), eq(handoffQueues.role, role)));
  return (row?.assignment as AssignmentRule | undefined) ?? 'manual';
}

/** Sets a queue's rule (creating its settings row). */
export async function setQueueRule(scope: TenantScope, role: string, assignment: AssignmentRule) {
  await scope.tx
    .insert(handoffQueues)
    .values({ orgId: scope.ctx.orgId, role, assignment })
    .onConflictDoUpdate({
      target: [handoffQueues.orgId, handoffQueues.role],
      set: { assignment, updatedAt: sql`now()` },
    });
}

/** The members holding `role`, by user id (locked members left out). */
async function membersOf(scope: TenantScope, role: string): Promise<string[]> {
  const { rows } = await scope.conn.query<{ user_id: string }>(
    `select user_id from members where organization_id = $1 and role = $2 and guard_locked_at is null
      order by user_id`,
    [scope.ctx.orgId, role],
  );
  return rows.map((r) => r.user_id);
}

/**
 * The member a new hand-off of `def`'s record into `role`'s queue is assigned to by the queue's
 * rule, or null (manual, or nobody holds the role). Round-robin takes the queue's settings row
 * lock, so concurrent hand-offs go to members in turn.
 */
export async function chooseAssignee(
  scope: TenantScope,
  def: ObjectDef,
  field: string,
  role: string,
): Promise<string | null> {
  const rule = await queueRule(scope, role);
  if (rule === 'manual') return null;
  const people = await membersOf(scope, role);
  if (people.length === 0) return null;
  if (rule === 'round_robin') {
    const { rows } = await scope.conn.query<{ last_assigned: string | null }>(
      `select last_assigned from handoff_queues where org_id = $1 and role = $2 for update`,
      [scope.ctx.orgId, role],
    );
    const last = rows[0]?.last_assigned ?? null;
    const next = people.find((p) => last === null || p > last) ?? people[0]!;
    await scope.conn.query(`update handoff_queues set last_assigned = $3 where org_id = $1 and role = $2`, [
      scope.ctx.orgId,
      role,
      next,
    ]);
    return next;
  }
  // least_open: the fewest records of this object owned in a status of kind open.
  const config = statusFieldsOf(def).find((s) => s.field.key === field)?.config;
  const open = (config?.statuses ?? []).filter((s) => s.kind === 'open').map((s) => s.value);
  const { rows } = await scope.conn.query<{ owner_id: string; n: string }>(
    `select owner_id, count(*) as n from records
      where org_id = $1 and object_id = $2 and owner_id = any($3::uuid[]) and archived_at is null
        and custom->>$4 = any($5::text[])
      group by owner_id`,
    [scope.ctx.orgId, def.custom!.id, people, field, open],
  );
  const load = new Map(rows.map((r) => [r.owner_id, Number(r.n)]));
  return [...people].sort((a, b) => (load.get(a) ?? 0) - (load.get(b) ?? 0) || a.localeCompare(b))[0]!;
}

/** Counts of waiting hand-offs per role, with the oldest's age and those assigned to `userId`. */
export async function waitingCounts(scope: TenantScope, userId: string | null) {
  const { rows } = await scope.conn.query<{ role: string; waiting: number; mine: number; oldest: number }>(
    `select role, count(*)::int as waiting, count(*) filter (where assigned_to = $2)::int as mine,
            floor(extract(epoch from now() - min(requested_at)))::int as oldest
       from handoffs where org_id = $1 and state = 'waiting' group by role`,
    [scope.ctx.orgId, userId],
  );
  return new Map(rows.map((r) => [r.role, r]));
}

/**
 * The queues: every role owning a status, and every role with queue settings, with its waiting
 * count, the oldest's age and whether the caller works it. Roles the caller does not hold are
 * listed too (counts are not secret among members); `mine` says who may decide.
 */
export async function listQueues(services: Services, ctx: TenantContext): Promise<QueueViewOut[]> {
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      const owned = await ownedStatuses(scope);
      const settings = await scope.tx
        .select({ role: handoffQueues.role, assignment: handoffQueues.assignment })
        .from(handoffQueues)
        .where(eq(handoffQueues.orgId, ctx.orgId));
      const counts = await waitingCounts(scope, ctx.actor.type === 'user' ? ctx.actor.id : null);
      const keys = [...new Set([...owned.keys(), ...settings.map((s) => s.role), ...counts.keys()])].sort();
      const out: QueueViewOut[] = [];
      for (const role of keys) {
        const c = counts.get(role);
        out.push({
          role,
          role_label: await roleLabel(scope, role),
          assignment: (settings.find((s) => s.role === role)?.assignment ?? 'manual') as AssignmentRule,
          mine: ctx.role === 'admin' || ctx.role === role,
          waiting: c?.waiting ?? 0,
          waiting_for_me: c?.mine ?? 0,
          oldest_age_seconds: c ? Math.max(0, c.oldest) : null,
          statuses: (owned.get(role) ?? []).map((s) => ({
            object: s.object.key,
            object_label: s.object.labelPlural,
            field: s.field,
            status: s.status,
            label: s.label,
          })),
        });
      }
      return out;
    },
    { readOnly: true },
  );
}

/** One queue. @throws 404 when no status is owned by `role` and it has no settings */
export async function getQueue(services: Services, ctx: TenantContext, role: string): Promise<QueueViewOut> {
  const queue = (await listQueues(services, ctx)).find((q) => q.role === role);
  if (!queue) throw notFound('Queue', role);
  return queue;
}

/** Sets a queue's assignment rule (admins). @throws 422 `reference_not_found` for an unknown role */
export async function updateQueue(
  services: Services,
  ctx: TenantContext,
  role: string,
  assignment: AssignmentRule,
): Promise<QueueViewOut> {
  await withTenant(services.database, ctx, async (scope) => {
    await assertRoleExists(scope, role, 'path.role');
    await setQueueRule(scope, role, assignment);
  });
  return getQueue(services, ctx, role);
}
