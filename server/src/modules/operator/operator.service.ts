import { withTenant } from '../../db/tenant.js';
import { recordAudit } from '../../platform/audit/audit.js';
import { badRequest, conflict, notFound } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import {
  forgetPlanState,
  LIMIT_KEYS,
  loadPlanState,
  type PlanLimits,
} from '../../platform/plans/plan-limits.js';
import type { OperatorActor, OrganizationUsageView, PlanInput, PlanView } from './operator.dto.js';

/**
 * The operator's view of the install (issue 30). Everything here runs as the connecting role on
 * install-level tables, or in each organization's own read-only tenant transaction for its counts
 * (tenant tables force row-level security even for their owner). Only `operator.routes.ts` calls
 * it, after checking that the caller is an operator.
 */

type OrgRow = {
  id: string;
  name: string;
  slug: string;
  created_at: Date | string;
  plan_key: string | null;
  overrides: Record<string, number | null> | null;
  suspended_at: Date | string | null;
  suspended_reason: string | null;
  members: number;
  api_calls_today: string | number | null;
};

/** The organizations, newest first, `limit` at a time after `offset`, each with its usage and plan. */
export async function listOrganizationUsage(
  services: Services,
  page: { limit: number; offset: number; q?: string | undefined },
): Promise<{ data: OrganizationUsageView[]; total: number }> {
  const q = page.q ? `%${page.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
  const { rows } = await services.database.raw.query<OrgRow>(
    `select o.id, o.name, o.slug, o.created_at, op.plan_key, op.overrides, op.suspended_at, op.suspended_reason,
            (select count(*)::int from members m where m.organization_id = o.id) as members,
            (select calls from organization_api_usage u where u.organization_id = o.id
               and u.day = (now() at time zone 'UTC')::date) as api_calls_today
       from organizations o left join organization_plans op on op.organization_id = o.id
      where $3::text is null or o.name ilike $3 or o.slug ilike $3
      order by o.created_at desc, o.id limit $1 offset $2`,
    [page.limit, page.offset, q],
  );
  const { rows: counted } = await services.database.raw.query<{ n: number }>(
    `select count(*)::int as n from organizations o where $1::text is null or o.name ilike $1 or o.slug ilike $1`,
    [q],
  );
  const data = [];
  for (const row of rows) data.push(await usageOf(services, row));
  return { data, total: counted[0]?.n ?? 0 };
}

/** One organization's usage and plan. @throws 404 when there is none with that id */
export async function getOrganizationUsage(
  services: Services,
  orgId: string,
): Promise<OrganizationUsageView> {
  const { rows } = await services.database.raw.query<OrgRow>(
    `select o.id, o.name, o.slug, o.created_at, op.plan_key, op.overrides, op.suspended_at, op.suspended_reason,
            (select count(*)::int from members m where m.organization_id = o.id) as members,
            (select calls from organization_api_usage u where u.organization_id = o.id
               and u.day = (now() at time zone 'UTC')::date) as api_calls_today
       from organizations o left join organization_plans op on op.organization_id = o.id where o.id = $1`,
    [orgId],
  );
  if (!rows[0]) throw notFound('Organization', orgId);
  return usageOf(services, rows[0]);
}

/** Counts an organization's records, files and messages in its own read-only transaction. */
async function usageOf(services: Services, row: OrgRow): Promise<OrganizationUsageView> {
  const counts = await withTenant(
    services.database,
    { orgId: row.id, actor: { type: 'system', id: null } },
    async ({ conn }) => {
      const { rows } = await conn.query<Record<string, string | number>>(
        `select (select count(*) from contacts where org_id = $1) as contacts,
                (select count(*) from companies where org_id = $1) as companies,
                (select count(*) from opportunities where org_id = $1) as opportunities,
                (select coalesce(sum(size_bytes), 0) from files where org_id = $1) as storage_bytes,
                (select count(*) from messages where org_id = $1 and direction = 'outbound' and status = 'sent') as messages_sent,
                (select count(*) from messages m join channels c on c.org_id = m.org_id and c.id = m.channel_id
                  where m.org_id = $1 and m.direction = 'outbound' and c.kind = 'email'
                    and m.created_at >= date_trunc('day', now() at time zone 'UTC') at time zone 'UTC') as emails_today`,
        [row.id],
      );
      return rows[0]!;
    },
    { readOnly: true },
  );
  const state = await loadPlanState(services.database.raw, row.id);
  const n = (v: unknown) => Number(v ?? 0);
  return {
    id: row.id,
    name: row.name,
    slug: row.slug,
    created_at: new Date(row.created_at).toISOString(),
    plan_key: row.plan_key,
    overrides: row.overrides ?? {},
    limits: state.limits,
    suspended: Boolean(row.suspended_at),
    suspended_at: row.suspended_at ? new Date(row.suspended_at).toISOString() : null,
    suspended_reason: row.suspended_reason,
    usage: {
      members: n(row.members),
      contacts: n(counts.contacts),
      records: n(counts.contacts) + n(counts.companies) + n(counts.opportunities),
      storage_bytes: n(counts.storage_bytes),
      messages_sent: n(counts.messages_sent),
      emails_today: n(counts.emails_today),
      api_calls_today: n(row.api_calls_today),
    },
  };
}

/** The plans, by key. */
export async function listPlans(services: Services): Promise<PlanView[]> {
  const { rows } = await services.database.raw.query<{
    key: string;
    name: string;
    limits: PlanLimits;
    orgs: number;
  }>(
    `select p.key, p.name, p.limits,
            (select count(*)::int from organization_plans op where op.plan_key = p.key) as orgs
       from plans p order by p.key`,
  );
  return rows.map((r) => ({ key: r.key, name: r.name, limits: r.limits, organizations: r.orgs }));
}

/** Creates or replaces the plan `key`; the organizations on it get its new limits. */
export async function putPlan(services: Services, key: string, input: PlanInput): Promise<PlanView> {
  await services.database.raw.query(
    `insert into plans (key, name, limits) values ($1, $2, $3::jsonb)
     on conflict (key) do update set name = excluded.name, limits = excluded.limits, updated_at = now()`,
    [key, input.name, JSON.stringify(cleanLimits(input.limits))],
  );
  const { rows } = await services.database.raw.query<{ organization_id: string }>(
    'select organization_id from organization_plans where plan_key = $1',
    [key],
  );
  for (const r of rows) forgetPlanState(r.organization_id);
  return (await listPlans(services)).find((p) => p.key === key)!;
}

/** Deletes a plan nobody is on. @throws 404 unknown, 409 `plan_in_use` */
export async function deletePlan(services: Services, key: string): Promise<void> {
  const plan = (await listPlans(services)).find((p) => p.key === key);
  if (!plan) throw notFound('Plan', key);
  if (plan.organizations > 0)
    throw conflict(
      `${plan.organizations} organization(s) are on plan ${key}: move them first`,
      undefined,
      'plan_in_use',
    );
  await services.database.raw.query('delete from plans where key = $1', [key]);
}

function cleanLimits(limits: Record<string, number | null | undefined>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of LIMIT_KEYS) if (typeof limits[k] === 'number') out[k] = limits[k];
  return out;
}

/**
 * Sets an organization's plan and its overrides (a number replaces the plan's limit, null makes it
 * unlimited, an absent key follows the plan). Audited in the organization's log.
 * @throws 404 unknown organization, 400 `unknown_plan` at `body.plan_key`
 */
export async function setOrganizationPlan(
  services: Services,
  actor: OperatorActor,
  orgId: string,
  input: { plan_key: string | null; overrides: Record<string, number | null> },
): Promise<OrganizationUsageView> {
  await getOrganizationUsage(services, orgId);
  if (input.plan_key) {
    const { rows } = await services.database.raw.query('select 1 from plans where key = $1', [
      input.plan_key,
    ]);
    if (rows.length === 0) throw badRequest(`No plan ${input.plan_key}`, 'body.plan_key', 'unknown_plan');
  }
  const overrides: Record<string, number | null> = {};
  for (const k of LIMIT_KEYS) if (k in input.overrides) overrides[k] = input.overrides[k] ?? null;
  await services.database.raw.query(
    `insert into organization_plans (organization_id, plan_key, overrides) values ($1, $2, $3::jsonb)
     on conflict (organization_id) do update set plan_key = excluded.plan_key, overrides = excluded.overrides,
       updated_at = now()`,
    [orgId, input.plan_key, JSON.stringify(overrides)],
  );
  forgetPlanState(orgId);
  await recordAudit(services.database, orgId, actor.source, {
    action: 'organization.plan_changed',
    target: { type: 'organization', id: orgId },
    details: { plan_key: input.plan_key, overrides, operator: actor.email },
  });
  return getOrganizationUsage(services, orgId);
}

/**
 * Suspends (`suspended` true, with an optional reason shown to its members) or restores an
 * organization. Its members get 403 `organization_suspended` within `LIMITS_TTL_MS` on every
 * process (at once on this one); its jobs wait and resume on restore. Audited.
 * @throws 404 unknown organization, 409 `already_suspended` / `not_suspended`
 */
export async function setSuspended(
  services: Services,
  actor: OperatorActor,
  orgId: string,
  suspended: boolean,
  reason: string | null,
): Promise<OrganizationUsageView> {
  const current = await getOrganizationUsage(services, orgId);
  if (current.suspended === suspended)
    throw conflict(
      suspended ? 'The organization is already suspended' : 'The organization is not suspended',
      undefined,
      suspended ? 'already_suspended' : 'not_suspended',
    );
  await services.database.raw.query(
    `insert into organization_plans (organization_id, suspended_at, suspended_reason) values ($1, $2, $3)
     on conflict (organization_id) do update set suspended_at = excluded.suspended_at,
       suspended_reason = excluded.suspended_reason, updated_at = now()`,
    [orgId, suspended ? new Date() : null, suspended ? reason : null],
  );
  forgetPlanState(orgId);
  await recordAudit(services.database, orgId, actor.source, {
    action: suspended ? 'organization.suspended' : 'organization.restored',
    target: { type: 'organization', id: orgId },
    details: { reason: suspended ? reason : null, operator: actor.email },
  });
  return getOrganizationUsage(services, orgId);
}
