import { and, asc, eq, inArray, isNull, max, sql } from 'drizzle-orm';
import { z } from 'zod';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError, badRequest, conflict, notFound } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { pipelineStages, pipelines } from './pipeline.schema.js';

/**
 * What the records that stand in a pipeline's stages (opportunities) let the pipeline do with
 * them, each in the caller's transaction. The opportunities module registers it
 * (`setStageHolders`), so pipelines do not depend on it.
 */
export type StageHolders = {
  /** How many records stand in any stage of the pipeline. */
  countInPipeline(scope: TenantScope, pipelineId: string): Promise<number>;
  /** How many records stand in the stage. */
  countInStage(scope: TenantScope, stageId: string): Promise<number>;
  /** Moves every record of stage `from` to stage `to` (a deleted stage's records); how many moved. */
  moveStage(
    scope: TenantScope,
    services: Services,
    from: { id: string; name: string },
    to: { id: string; name: string },
  ): Promise<number>;
};
let holders: StageHolders | undefined;

/** Registers what stands in stages (the opportunities module, at start-up). */
export function setStageHolders(registered: StageHolders): void {
  holders = registered;
}

function stageHolders(): StageHolders {
  if (!holders) throw new Error('No module registered what stands in pipeline stages (setStageHolders)');
  return holders;
}

export const StageInput = z.strictObject({
  name: z.string().trim().min(1).max(80),
  probability: z.number().int().min(0).max(100).default(0).describe('Win probability, percent'),
  kind: z.enum(['open', 'won', 'lost']).default('open'),
});
export type StageInputValue = z.infer<typeof StageInput>;

export const DEFAULT_STAGES: StageInputValue[] = [
  { name: 'Lead in', probability: 10, kind: 'open' },
  { name: 'Qualified', probability: 25, kind: 'open' },
  { name: 'Proposal', probability: 50, kind: 'open' },
  { name: 'Negotiation', probability: 75, kind: 'open' },
  { name: 'Won', probability: 100, kind: 'won' },
  { name: 'Lost', probability: 0, kind: 'lost' },
];

export type StageView = {
  id: string;
  name: string;
  position: number;
  probability: number;
  kind: 'open' | 'won' | 'lost';
};
export type PipelineView = {
  id: string;
  name: string;
  is_default: boolean;
  position: number;
  stages: StageView[];
};

async function stagesOf(scope: TenantScope, pipelineIds: string[]) {
  if (pipelineIds.length === 0) return [];
  return scope.tx
    .select()
    .from(pipelineStages)
    .where(and(eq(pipelineStages.orgId, scope.ctx.orgId), inArray(pipelineStages.pipelineId, pipelineIds)))
    .orderBy(asc(pipelineStages.position));
}

function view(
  p: typeof pipelines.$inferSelect,
  stages: (typeof pipelineStages.$inferSelect)[],
): PipelineView {
  return {
    id: p.id,
    name: p.name,
    is_default: p.isDefault,
    position: p.position,
    stages: stages
      .filter((s) => s.pipelineId === p.id)
      .map((s) => ({
        id: s.id,
        name: s.name,
        position: s.position,
        probability: s.probability,
        kind: s.kind,
      })),
  };
}

/** Creates a pipeline with its stages (in the given order) inside a tenant transaction. */
export async function createPipelineIn(
  scope: TenantScope,
  services: Services,
  input: { name: string; stages: StageInputValue[]; isDefault?: boolean },
): Promise<PipelineView> {
  if (input.stages.length === 0) throw badRequest('A pipeline needs at least one stage', 'body.stages');
  const names = input.stages.map((s) => s.name.toLowerCase());
  const dup = names.findIndex((n, i) => names.indexOf(n) !== i);
  if (dup !== -1) throw badRequest('Stage names must differ', `body.stages[${dup}].name`);
  const [{ last } = { last: null }] = await scope.tx
    .select({ last: max(pipelines.position) })
    .from(pipelines)
    .where(eq(pipelines.orgId, scope.ctx.orgId));
  const [existing] = await scope.tx
    .select({ id: pipelines.id })
    .from(pipelines)
    .where(and(eq(pipelines.orgId, scope.ctx.orgId), sql`lower(${pipelines.name}) = lower(${input.name})`));
  if (existing) throw conflict(`A pipeline named "${input.name}" exists`, 'body.name', 'duplicate_name');
  const [p] = await scope.tx
    .insert(pipelines)
    .values({
      orgId: scope.ctx.orgId,
      name: input.name,
      isDefault: input.isDefault ?? last === null,
      position: (last ?? -1) + 1,
    })
    .returning();
  const stages = await scope.tx
    .insert(pipelineStages)
    .values(input.stages.map((s, i) => ({ orgId: scope.ctx.orgId, pipelineId: p!.id, position: i, ...s })))
    .returning();
  await emitEvent(scope, services.jobs, {
    type: 'pipeline.created',
    subject: { object: 'pipeline', id: p!.id },
    data: { name: p!.name, stages: stages.map((s) => s.name) },
  });
  return view(p!, stages);
}

/** The tenant's default pipeline, created with the standard stages if it has none yet. */
export async function ensureDefaultPipeline(scope: TenantScope, services: Services): Promise<PipelineView> {
  const [p] = await scope.tx
    .select()
    .from(pipelines)
    .where(and(eq(pipelines.orgId, scope.ctx.orgId), isNull(pipelines.archivedAt)))
    .orderBy(sql`${pipelines.isDefault} desc`, asc(pipelines.position))
    .limit(1);
  if (p) return view(p, await stagesOf(scope, [p.id]));
  return createPipelineIn(scope, services, { name: 'Sales', stages: DEFAULT_STAGES, isDefault: true });
}

export async function listPipelines(services: Services, ctx: TenantContext): Promise<PipelineView[]> {
  return withTenant(services.database, ctx, async (scope) => {
    const rows = await scope.tx
      .select()
      .from(pipelines)
      .where(and(eq(pipelines.orgId, ctx.orgId), isNull(pipelines.archivedAt)))
      .orderBy(asc(pipelines.position));
    if (rows.length === 0) return [await ensureDefaultPipeline(scope, services)];
    const stages = await stagesOf(
      scope,
      rows.map((r) => r.id),
    );
    return rows.map((r) => view(r, stages));
  });
}

/** A pipeline with its stages. @throws 404 */
export async function loadPipeline(scope: TenantScope, id: string): Promise<PipelineView> {
  // One round trip: the pipeline with its stages in order (a hot path: every card move reads it).
  const result = await scope.tx.execute<{ pipeline: PipelineView | null }>(sql`
    select json_build_object(
             'id', p.id, 'name', p.name, 'is_default', p.is_default, 'position', p.position,
             'stages', coalesce((select json_agg(json_build_object('id', s.id, 'name', s.name, 'position', s.position,
                                   'probability', s.probability, 'kind', s.kind) order by s.position)
                                  from pipeline_stages s where s.org_id = p.org_id and s.pipeline_id = p.id), '[]'::json)
           ) as pipeline
      from pipelines p where p.org_id = ${scope.ctx.orgId} and p.id = ${id}`);
  const rows = (Array.isArray(result) ? result : (result as { rows: { pipeline: PipelineView }[] }).rows) as {
    pipeline: PipelineView;
  }[];
  if (!rows[0]) throw notFound('Pipeline', id);
  return rows[0].pipeline;
}

export async function getPipeline(services: Services, ctx: TenantContext, id: string) {
  return withTenant(services.database, ctx, (scope) => loadPipeline(scope, id));
}

export async function createPipeline(
  services: Services,
  ctx: TenantContext,
  input: { name: string; stages?: StageInputValue[] },
) {
  return withTenant(services.database, ctx, (scope) =>
    createPipelineIn(scope, services, { name: input.name, stages: input.stages ?? DEFAULT_STAGES }),
  );
}

/** Renames a pipeline or makes it the default. Nothing to change (`{}`): the pipeline as it is. */
export async function updatePipeline(
  services: Services,
  ctx: TenantContext,
  id: string,
  input: { name?: string; is_default?: boolean },
) {
  return withTenant(services.database, ctx, async (scope) => {
    const current = await loadPipeline(scope, id);
    if (!input.name && input.is_default === undefined) return current;
    if (input.is_default) {
      await scope.tx.update(pipelines).set({ isDefault: false }).where(eq(pipelines.orgId, ctx.orgId));
    }
    await scope.tx
      .update(pipelines)
      .set({
        ...(input.name ? { name: input.name } : {}),
        ...(input.is_default !== undefined ? { isDefault: input.is_default } : {}),
      })
      .where(and(eq(pipelines.orgId, ctx.orgId), eq(pipelines.id, id)));
    await emitEvent(scope, services.jobs, {
      type: 'pipeline.updated',
      subject: { object: 'pipeline', id },
      data: { ...input },
    });
    return loadPipeline(scope, id);
  });
}

/** Deletes a pipeline that holds no opportunities. @throws 409 `pipeline_not_empty` */
export async function deletePipeline(services: Services, ctx: TenantContext, id: string) {
  await withTenant(services.database, ctx, async (scope) => {
    const p = await loadPipeline(scope, id);
    const n = await stageHolders().countInPipeline(scope, id);
    if (n > 0)
      throw conflict(
        `The pipeline holds ${n} opportunities; move them first`,
        undefined,
        'pipeline_not_empty',
      );
    await scope.tx.delete(pipelines).where(and(eq(pipelines.orgId, ctx.orgId), eq(pipelines.id, id)));
    await emitEvent(scope, services.jobs, {
      type: 'pipeline.deleted',
      subject: { object: 'pipeline', id },
      data: { name: p.name },
    });
  });
}

/** Adds a stage at `position` (default: last). */
export async function addStage(
  services: Services,
  ctx: TenantContext,
  pipelineId: string,
  input: StageInputValue & { position?: number },
) {
  return withTenant(services.database, ctx, (scope) => addStageIn(scope, services, pipelineId, input));
}

/** `addStage` inside the caller's tenant transaction (import). */
export async function addStageIn(
  scope: TenantScope,
  services: Services,
  pipelineId: string,
  input: StageInputValue & { position?: number },
) {
  const { ctx } = scope;
  const p = await loadPipeline(scope, pipelineId);
  if (p.stages.some((s) => s.name.toLowerCase() === input.name.toLowerCase())) {
    throw conflict(`A stage named "${input.name}" exists`, 'body.name', 'duplicate_name');
  }
  const at = Math.min(input.position ?? p.stages.length, p.stages.length);
  const [created] = await scope.tx
    .insert(pipelineStages)
    .values({
      orgId: ctx.orgId,
      pipelineId,
      name: input.name,
      probability: input.probability,
      kind: input.kind,
      position: at,
    })
    .returning();
  const order = [...p.stages.map((s) => s.id)];
  order.splice(at, 0, created!.id);
  await writeOrder(scope, pipelineId, order);
  await emitEvent(scope, services.jobs, {
    type: 'pipeline.stage_added',
    subject: { object: 'pipeline', id: pipelineId },
    data: { name: p.name, stage: input.name },
  });
  return loadPipeline(scope, pipelineId);
}

async function writeOrder(scope: TenantScope, pipelineId: string, order: string[]) {
  // A handful of stages: one statement sets every position.
  await scope.tx.execute(sql`
    update pipeline_stages s set position = o.position - 1
      from unnest(array[${sql.join(
        order.map((id) => sql`${id}`),
        sql`, `,
      )}]::uuid[]) with ordinality as o(id, position)
     where s.org_id = ${scope.ctx.orgId} and s.pipeline_id = ${pipelineId} and s.id = o.id`);
}

/**
 * Renames a stage or changes its probability or kind. Nothing to change (`{}`): the pipeline as
 * it is. @throws 404
 */
export async function updateStage(
  services: Services,
  ctx: TenantContext,
  pipelineId: string,
  stageId: string,
  input: Partial<StageInputValue>,
) {
  return withTenant(services.database, ctx, async (scope) => {
    const p = await loadPipeline(scope, pipelineId);
    const stage = p.stages.find((s) => s.id === stageId);
    if (!stage) throw notFound('Stage', stageId);
    if (Object.values(input).every((v) => v === undefined)) return p;
    await scope.tx
      .update(pipelineStages)
      .set(input)
      .where(and(eq(pipelineStages.orgId, ctx.orgId), eq(pipelineStages.id, stageId)));
    await emitEvent(scope, services.jobs, {
      type: 'pipeline.stage_updated',
      subject: { object: 'pipeline', id: pipelineId },
      data: { name: p.name, stage: stage.name, changes: input },
    });
    return loadPipeline(scope, pipelineId);
  });
}

/** Reorders the stages: `stageIds` must list every stage of the pipeline exactly once. */
export async function reorderStages(
  services: Services,
  ctx: TenantContext,
  pipelineId: string,
  stageIds: string[],
) {
  return withTenant(services.database, ctx, async (scope) => {
    const p = await loadPipeline(scope, pipelineId);
    const current = new Set(p.stages.map((s) => s.id));
    if (
      stageIds.length !== current.size ||
      !stageIds.every((id) => current.has(id)) ||
      new Set(stageIds).size !== stageIds.length
    ) {
      throw badRequest('List every stage of the pipeline exactly once', 'body.stage_ids');
    }
    await writeOrder(scope, pipelineId, stageIds);
    await emitEvent(scope, services.jobs, {
      type: 'pipeline.stages_reordered',
      subject: { object: 'pipeline', id: pipelineId },
      data: { name: p.name },
    });
    return loadPipeline(scope, pipelineId);
  });
}

/**
 * Deletes a stage. One that holds opportunities needs `moveTo`, another stage of the same
 * pipeline, where they go (each move recorded in its history).
 * @throws 409 `stage_not_empty` without moveTo, 422 for a moveTo outside the pipeline, 409 `last_stage`
 */
export async function deleteStage(
  services: Services,
  ctx: TenantContext,
  pipelineId: string,
  stageId: string,
  moveTo?: string,
) {
  return withTenant(services.database, ctx, async (scope) => {
    const p = await loadPipeline(scope, pipelineId);
    const stage = p.stages.find((s) => s.id === stageId);
    if (!stage) throw notFound('Stage', stageId);
    if (p.stages.length === 1) throw conflict('A pipeline keeps at least one stage', undefined, 'last_stage');
    // Checked whenever given, so an id of another pipeline (or tenant) is refused even for an empty stage.
    const target =
      moveTo === undefined ? undefined : p.stages.find((s) => s.id === moveTo && s.id !== stageId);
    if (moveTo !== undefined && !target)
      throw new AppError(422, 'reference_not_found', 'move_to must be another stage of this pipeline', {
        path: 'querystring.move_to',
      });
    const held = await stageHolders().countInStage(scope, stageId);
    if (held > 0) {
      if (!target) {
        throw new AppError(
          409,
          'stage_not_empty',
          `The stage holds ${held} opportunities: choose a stage to move them to`,
          {
            path: 'querystring.move_to',
          },
        );
      }
      await stageHolders().moveStage(scope, services, stage, target);
    }
    await scope.tx
      .delete(pipelineStages)
      .where(and(eq(pipelineStages.orgId, ctx.orgId), eq(pipelineStages.id, stageId)));
    await writeOrder(
      scope,
      pipelineId,
      p.stages.filter((s) => s.id !== stageId).map((s) => s.id),
    );
    await emitEvent(scope, services.jobs, {
      type: 'pipeline.stage_deleted',
      subject: { object: 'pipeline', id: pipelineId },
      data: { name: p.name, stage: stage.name, moved: held },
    });
    return loadPipeline(scope, pipelineId);
  });
}
