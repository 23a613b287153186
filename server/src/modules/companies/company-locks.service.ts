import { and, eq, inArray, isNull } from 'drizzle-orm';
import type { TenantScope } from '../../db/tenant.js';
import { companies } from './company.schema.js';

/**
 * The ids of the active (not archived) companies among `ids`, locked for update until the
 * caller's transaction ends (a merge locks what it merges). Missing, archived and other tenants'
 * ids are left out.
 */
export async function lockActiveCompanyIdsIn(scope: TenantScope, ids: string[]): Promise<{ id: string }[]> {
  return scope.tx
    .select({ id: companies.id })
    .from(companies)
    .where(
      and(eq(companies.orgId, scope.ctx.orgId), inArray(companies.id, ids), isNull(companies.archivedAt)),
    )
    .for('update');
}
