import type { Database, SqlExecutor } from '../../db/client.js';
import type { TenantScope } from '../../db/tenant.js';
import { ExpiringCache } from '../cache/expiring-cache.js';
import { AppError } from '../errors/app-error.js';

/**
 * Plans and limits (issue 30): the ONE place a limit is read and checked. Services call
 * `assertRoom` where a limit is crossed (a contact created, a member invited, a file uploaded, an
 * e-mail queued); the API-call limit is counted by `api-usage.ts`. Limits live in install-level
 * tables (`plans.schema.ts`) the tenant role cannot read: they are loaded here on the connecting
 * role, cached per process for `LIMITS_TTL_MS` (a change made by the operator reaches the other
 * processes within that time; the process that made it forgets its entry at once).
 */

/** The limits a plan may set. Absent: unlimited. */
export const LIMIT_KEYS = [
  'members',
  'contacts',
  'emails_per_day',
  'api_calls_per_day',
  'storage_bytes',
] as const;
export type LimitKey = (typeof LIMIT_KEYS)[number];
export type PlanLimits = Partial<Record<LimitKey, number>>;

/** What each limit counts, as a person reads it. */
export const LIMIT_LABELS: Record<LimitKey, string> = {
  members: 'members (and pending invitations)',
  contacts: 'contacts',
  emails_per_day: 'e-mails sent today (UTC)',
  api_calls_per_day: 'API calls today (UTC)',
  storage_bytes: 'bytes of stored files',
};

/** How long a process reuses an organization's limits, ms. */
export const LIMITS_TTL_MS = 5_000;

type OrgPlanState = { limits: PlanLimits; suspendedAt: Date | null; suspendedReason: string | null };
const cache = new ExpiringCache<OrgPlanState>(LIMITS_TTL_MS, 10_000);

/** The effective limits and suspension of an organization (its plan's limits, then its overrides). */
export async function planStateOf(database: Database, orgId: string): Promise<OrgPlanState> {
  const state = await cache.get(orgId, () => loadPlanState(database.raw, orgId));
  return state ?? { limits: {}, suspendedAt: null, suspendedReason: null };
}

/**
 * The same state read inside a tenant transaction: from the cache, else through the transaction's
 * own connection by `cairn_plan_state()` (migration 0045), which answers that organization's row
 * only. Never a second connection: on the embedded database (one connection) a read on another
 * connection from inside a transaction waits forever.
 */
export async function planStateIn(scope: TenantScope): Promise<OrgPlanState> {
  const state = await cache.get(scope.ctx.orgId, () => loadPlanStateIn(scope));
  return state ?? { limits: {}, suspendedAt: null, suspendedReason: null };
}

async function loadPlanStateIn(scope: TenantScope): Promise<OrgPlanState> {
  const { rows } = await scope.conn.query<PlanStateRow>(
    'select limits, overrides, suspended_at, suspended_reason from cairn_plan_state()',
  );
  return planStateFromRow(rows[0]);
}

type PlanStateRow = {
  limits: Record<string, number> | null;
  overrides: Record<string, number | null> | null;
  suspended_at: Date | string | null;
  suspended_reason: string | null;
};

function planStateFromRow(row: PlanStateRow | undefined): OrgPlanState {
  if (!row) return { limits: {}, suspendedAt: null, suspendedReason: null };
  return {
    limits: effectiveLimits(row.limits ?? {}, row.overrides ?? {}),
    suspendedAt: row.suspended_at ? new Date(row.suspended_at) : null,
    suspendedReason: row.suspended_reason,
  };
}

/** Forgets the cached state of one organization (after the operator changed it). */
export function forgetPlanState(orgId: string): void {
  cache.delete(orgId);
}

/** Reads the state from the install tables, as the connecting role (never `cairn_app`). */
export async function loadPlanState(raw: SqlExecutor, orgId: string): Promise<OrgPlanState> {
  const { rows } = await raw.query<PlanStateRow>(
    `select p.limits, op.overrides, op.suspended_at, op.suspended_reason
       from organization_plans op left join plans p on p.key = op.plan_key
      where op.organization_id = $1`,
    [orgId],
  );
  return planStateFromRow(rows[0]);
}

/** A plan's limits with an organization's overrides applied (an override of null: unlimited). */
export function effectiveLimits(
  plan: Record<string, number>,
  overrides: Record<string, number | null>,
): PlanLimits {
  const out: PlanLimits = {};
  for (const key of LIMIT_KEYS) {
    const value = key in overrides ? overrides[key] : plan[key];
    if (typeof value === 'number') out[key] = value;
  }
  return out;
}

/**
 * The refusal when a limit is reached: 403 (members, contacts, storage) or 429 until the next UTC
 * day (the per-day limits), code `plan_limit_reached`, naming the limit, the usage and the limit in
 * the detail and in `errors[0]` (`path` `limits.<key>`).
 */
export function planLimitReached(key: LimitKey, usage: number, limit: number, adding = 1): AppError {
  const daily = key === 'emails_per_day' || key === 'api_calls_per_day';
  const message =
    `Plan limit reached: ${LIMIT_LABELS[key]} ${usage} of ${limit}` +
    (adding > 1 ? ` (this needs ${adding} more)` : '') +
    '. Ask the operator of this install for a larger plan.';
  const retryAfterS = daily ? Math.ceil((nextUtcMidnight().getTime() - Date.now()) / 1000) : undefined;
  return new AppError(daily ? 429 : 403, 'plan_limit_reached', message, {
    path: `limits.${key}`,
    errors: [{ path: `limits.${key}`, code: 'plan_limit_reached', message: `${usage} of ${limit}` }],
    ...(retryAfterS ? { retryAfterS } : {}),
  });
}

function nextUtcMidnight(): Date {
  const d = new Date();
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1));
}

/**
 * Current usage of a counted limit, read in the tenant's own transaction (its rows only, RLS
 * applies), counting at most `cap` rows so that the check costs as much as the limit, not the
 * table. Not for `api_calls_per_day` (`api-usage.ts` counts those).
 */
export async function usageIn(scope: TenantScope, key: LimitKey, cap: number): Promise<number> {
  const org = scope.ctx.orgId;
  const bounded = (inner: string) => `select count(*)::int as n from (${inner} limit ${cap + 1}) s`;
  const queries: Record<Exclude<LimitKey, 'api_calls_per_day'>, string> = {
    contacts: bounded('select 1 from contacts where org_id = $1'),
    // Members and pending invitations: an invitation out is a seat promised.
    members: `select ((select count(*) from members where organization_id = $1)
                 + (select count(*) from invitations where organization_id = $1 and status = 'pending'
                      and expires_at > now()))::int as n`,
    emails_per_day: bounded(
      `select 1 from messages m join channels c on c.org_id = m.org_id and c.id = m.channel_id
        where m.org_id = $1 and m.direction = 'outbound' and c.kind = 'email'
          and m.created_at >= date_trunc('day', now() at time zone 'UTC') at time zone 'UTC'`,
    ),
    storage_bytes: `select coalesce(sum(size_bytes), 0)::float8 as n from files where org_id = $1`,
  };
  if (key === 'api_calls_per_day') throw new Error('usageIn: api calls are counted by api-usage.ts');
  const { rows } = await scope.conn.query<{ n: number | string }>(queries[key], [org]);
  return Number(rows[0]?.n ?? 0);
}

/**
 * Refuses, with `planLimitReached`, when adding `adding` (rows, or bytes for `storage_bytes`) to
 * what the organization of `scope` already has would pass its plan's `key` limit. Costs nothing
 * when the organization has no such limit (the limits come from a cache). Call it inside the
 * transaction that writes, before the write. @throws AppError 403/429 `plan_limit_reached`
 */
export async function assertRoom(
  scope: TenantScope,
  key: Exclude<LimitKey, 'api_calls_per_day'>,
  adding = 1,
): Promise<void> {
  const limit = (await planStateIn(scope)).limits[key];
  if (limit === undefined) return;
  const usage = await usageIn(scope, key, limit);
  if (usage + adding > limit) throw planLimitReached(key, usage, limit, adding);
}

/**
 * How many more of `key` the organization may add now: null when it has no such limit. For work
 * that adds in bulk and stops at the limit (an import).
 */
export async function roomLeft(
  scope: TenantScope,
  key: Exclude<LimitKey, 'api_calls_per_day'>,
): Promise<{ left: number; usage: number; limit: number } | null> {
  const limit = (await planStateIn(scope)).limits[key];
  if (limit === undefined) return null;
  const usage = await usageIn(scope, key, limit);
  return { left: Math.max(0, limit - usage), usage, limit };
}
