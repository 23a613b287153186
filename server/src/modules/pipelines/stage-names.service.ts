import { and, eq, inArray, type SQL, sql } from 'drizzle-orm';
import type { TenantScope } from '../../db/tenant.js';
import { pipelineStages } from './pipeline.schema.js';

/**
 * An SQL expression for the current name of stage `stageId` of tenant `orgId` (null for none),
 * to embed in another statement (a stage-history row records the names of its stages).
 */
export function stageNameSql(orgId: string, stageId: string): SQL {
  return sql`(select ${pipelineStages.name} from ${pipelineStages}
          where ${pipelineStages.orgId} = ${orgId} and ${pipelineStages.id} = ${stageId})`;
}

/** The current names of the stages among `stageIds` that still exist, in the caller's transaction. */
export async function stageNamesIn(
  scope: TenantScope,
  stageIds: string[],
): Promise<{ id: string; name: string }[]> {
  if (stageIds.length === 0) return [];
  return scope.tx
    .select({ id: pipelineStages.id, name: pipelineStages.name })
    .from(pipelineStages)
    .where(and(eq(pipelineStages.orgId, scope.ctx.orgId), inArray(pipelineStages.id, stageIds)));
}
