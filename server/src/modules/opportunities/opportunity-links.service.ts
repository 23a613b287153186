import { and, eq, inArray, isNull } from 'drizzle-orm';
import type { TenantScope } from '../../db/tenant.js';
import { opportunities } from './opportunity.schema.js';

/**
 * The active opportunities linked to one of `ids` (contacts or companies, as `object` says), with
 * the id each is linked to; only those among `onlyIds` when given. For a merge moving them.
 */
export async function opportunitiesLinkedToIn(
  scope: TenantScope,
  object: 'contact' | 'company',
  ids: string[],
  onlyIds?: string[],
): Promise<{ id: string; from: string | null }[]> {
  const column = object === 'contact' ? opportunities.contactId : opportunities.companyId;
  return scope.tx
    .select({ id: opportunities.id, from: column })
    .from(opportunities)
    .where(
      and(
        eq(opportunities.orgId, scope.ctx.orgId),
        inArray(column, ids),
        isNull(opportunities.archivedAt),
        onlyIds ? inArray(opportunities.id, onlyIds) : undefined,
      ),
    );
}
