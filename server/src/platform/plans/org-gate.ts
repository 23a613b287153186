import type { FastifyInstance } from 'fastify';
import type { Database } from '../../db/client.js';
import { AppError } from '../errors/app-error.js';
import { planLimitReached, planStateOf } from './plan-limits.js';

/**
 * The per-request half of plans (issue 30), installed after the route guard (the principal is
 * known): a suspended organization's members and keys get 403 `organization_suspended` on every
 * route that acts in the organization; routes open to any signed-in user (`authenticated`: the
 * caller's own user, sessions, organizations, and sign-in itself under `/api/auth/*`) still answer,
 * so a member can sign in, see why and switch to another organization. Then a request made with an
 * API key is counted against its organization's `api_calls_per_day` (429 `plan_limit_reached`
 * once past it). Both read the cached plan state: no query when nothing is set.
 */
export function installOrganizationGate(app: FastifyInstance, database: Database): void {
  app.addHook('onRequest', async (req) => {
    const access = req.routeOptions.config?.access;
    const orgId = req.principal?.orgId;
    if (!orgId || !access || access === 'public' || access === 'authenticated') return;
    const state = await planStateOf(database, orgId);
    if (state.suspendedAt) throw organizationSuspended(state.suspendedReason);
    if (req.principal?.type !== 'api_key') return;
    const limit = state.limits.api_calls_per_day;
    const calls = await countApiCall(database, orgId);
    if (limit !== undefined && calls > limit) throw planLimitReached('api_calls_per_day', calls - 1, limit);
  });
}

/** The refusal of a suspended organization's requests, with the operator's reason when given. */
export function organizationSuspended(reason: string | null): AppError {
  return new AppError(
    403,
    'organization_suspended',
    `This organization is suspended by the operator of this install${reason ? `: ${reason}` : ''}. ` +
      'Its data is kept; contact the operator to restore it.',
  );
}

/**
 * Counts one API call of `orgId` today (UTC) and returns the day's count, this call included. One
 * upsert on the install table, as the connecting role.
 */
export async function countApiCall(database: Database, orgId: string): Promise<number> {
  const { rows } = await database.raw.query<{ calls: string | number }>(
    `insert into organization_api_usage (organization_id, day, calls)
     values ($1, (now() at time zone 'UTC')::date, 1)
     on conflict (organization_id, day) do update set calls = organization_api_usage.calls + 1
     returning calls`,
    [orgId],
  );
  return Number(rows[0]?.calls ?? 0);
}

/** Whether jobs of `orgId` must wait (it is suspended): the job queue's gate (`jobs.gate`). */
export async function jobsPausedFor(database: Database, orgId: string): Promise<boolean> {
  return Boolean((await planStateOf(database, orgId)).suspendedAt);
}
