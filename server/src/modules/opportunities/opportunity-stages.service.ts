import { and, count, eq } from 'drizzle-orm';
import type { TenantScope } from '../../db/tenant.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import type { StageHolders } from '../pipelines/pipeline.service.js';
import { opportunities, opportunityStageHistory } from './opportunity.schema.js';

/**
 * Opportunities as what stands in pipeline stages: the pipelines module asks through these
 * (registered with `setStageHolders`) before it deletes a pipeline or a stage, in its transaction.
 */
export const opportunityStageHolders: StageHolders = {
  async countInPipeline(scope, pipelineId) {
    const [{ n } = { n: 0 }] = await scope.tx
      .select({ n: count() })
      .from(opportunities)
      .where(and(eq(opportunities.orgId, scope.ctx.orgId), eq(opportunities.pipelineId, pipelineId)));
    return Number(n);
  },

  async countInStage(scope, stageId) {
    const [{ n } = { n: 0 }] = await scope.tx
      .select({ n: count() })
      .from(opportunities)
      .where(and(eq(opportunities.orgId, scope.ctx.orgId), eq(opportunities.stageId, stageId)));
    return Number(n);
  },

  moveStage: moveOutOfStageIn,
};

/**
 * Moves every opportunity of stage `from` to stage `to` (a deleted stage's), each move recorded in
 * its stage history and as an `opportunity.moved` event. Returns how many moved.
 */
async function moveOutOfStageIn(
  scope: TenantScope,
  services: Services,
  from: { id: string; name: string },
  to: { id: string; name: string },
): Promise<number> {
  const { ctx } = scope;
  const held = await scope.tx
    .select({
      id: opportunities.id,
      title: opportunities.title,
      status: opportunities.status,
      contactId: opportunities.contactId,
      companyId: opportunities.companyId,
    })
    .from(opportunities)
    .where(and(eq(opportunities.orgId, ctx.orgId), eq(opportunities.stageId, from.id)));
  if (held.length === 0) return 0;
  // The rows get time-ordered ids (idColumn), as every other history row; 1,000 rows a statement keeps
  // it under PostgreSQL's 65,535 parameters whatever the stage holds.
  for (let i = 0; i < held.length; i += 1000)
    await scope.tx.insert(opportunityStageHistory).values(
      held.slice(i, i + 1000).map((o) => ({
        orgId: ctx.orgId,
        opportunityId: o.id,
        fromStageId: from.id,
        toStageId: to.id,
        fromStageName: from.name,
        toStageName: to.name,
        status: o.status,
        movedBy: ctx.actor.id,
      })),
    );
  await scope.tx
    .update(opportunities)
    .set({
      stageId: to.id,
      stageEnteredAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
    })
    .where(and(eq(opportunities.orgId, ctx.orgId), eq(opportunities.stageId, from.id)));
  // Every move is an event on the opportunity's (and its contact's and company's) timeline.
  for (const o of held) {
    await emitEvent(scope, services.jobs, {
      type: 'opportunity.moved',
      subject: { object: 'opportunity', id: o.id },
      data: { name: o.title, from_stage: from.name, to_stage: to.name, reason: 'stage_deleted' },
      related: [
        ...(o.contactId ? [{ object: 'contact', id: o.contactId }] : []),
        ...(o.companyId ? [{ object: 'company', id: o.companyId }] : []),
      ],
    });
  }
  return held.length;
}
