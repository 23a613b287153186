import { and, asc, desc, eq, gt, sql } from 'drizzle-orm';
import { generateKeyBetween } from 'fractional-indexing';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError, conflict } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { loadPipeline } from '../pipelines/pipeline.service.js';
import { stageNameSql, stageNamesIn } from '../pipelines/stage-names.service.js';
import { opportunities, opportunityStageHistory } from './opportunity.schema.js';
import {
  DAY_MS,
  daysSince,
  loadRow,
  opportunityViews,
  type Row,
  related,
} from './opportunity-views.service.js';

/** An opportunity's way through its pipeline: ranked moves across stages, close and reopen, its stage history. */

/**
 * A rank placing a card right after `afterId` in a column (or at its top). Moves into one column
 * are serialized by an advisory lock, and the rank is computed from the column as it is then,
 * so two people dropping cards at the same place get two distinct ranks.
 */
export async function rankIn(
  scope: TenantScope,
  stageId: string,
  afterId: string | null | undefined,
  excludeId?: string,
): Promise<string> {
  const { orgId } = scope.ctx;
  await scope.tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`${orgId}:${stageId}`}, 0))`);
  const inColumn = and(
    eq(opportunities.orgId, orgId),
    eq(opportunities.stageId, stageId),
    excludeId ? sql`${opportunities.id} <> ${excludeId}` : undefined,
  );
  let before: string | null = null;
  if (afterId) {
    const [after] = await scope.tx
      .select({ rank: opportunities.rank, stageId: opportunities.stageId })
      .from(opportunities)
      .where(and(eq(opportunities.orgId, orgId), eq(opportunities.id, afterId)));
    if (!after || after.stageId !== stageId) {
      throw new AppError(422, 'reference_not_found', 'after_id is not a card of the target stage', {
        path: 'body.after_id',
      });
    }
    before = after.rank;
  }
  const [next] = await scope.tx
    .select({ rank: opportunities.rank })
    .from(opportunities)
    .where(and(inColumn, before ? gt(opportunities.rank, before) : undefined))
    .orderBy(asc(opportunities.rank))
    .limit(1);
  return generateKeyBetween(before, next?.rank ?? null);
}

/** A history row for a move from stage `from` to `to`, with both stages' names as they are now. */
export async function recordHistory(
  scope: TenantScope,
  id: string,
  from: string | null,
  to: string,
  status: Row['status'],
) {
  const nameOf = (stageId: string) => stageNameSql(scope.ctx.orgId, stageId);
  await scope.tx.insert(opportunityStageHistory).values({
    orgId: scope.ctx.orgId,
    opportunityId: id,
    fromStageId: from,
    toStageId: to,
    fromStageName: from ? nameOf(from) : null,
    toStageName: nameOf(to),
    status,
    movedBy: scope.ctx.actor.id,
  });
}

/**
 * Moves an opportunity to a stage of its pipeline, after a given card (or to the top). Moving into
 * a won or lost stage closes it as such. One row update, one history entry, one event.
 * @throws 409 `closed` for a closed opportunity (reopen first), 422 for a stage of another pipeline
 */
export async function moveOpportunity(
  services: Services,
  ctx: TenantContext,
  id: string,
  input: { stage_id: string; after_id?: string | null | undefined },
) {
  return withTenant(services.database, ctx, (scope) => moveOpportunityIn(scope, services, id, input));
}

/** `moveOpportunity` inside the caller's tenant transaction (a workflow's step). */
export async function moveOpportunityIn(
  scope: TenantScope,
  services: Services,
  id: string,
  input: { stage_id: string; after_id?: string | null | undefined },
) {
  const { ctx } = scope;
  const row = await loadRow(scope, id, true);
  if (row.archivedAt) throw conflict('This opportunity is archived; restore it first', undefined, 'archived');
  if (row.status !== 'open')
    throw conflict(`This opportunity is ${row.status}; reopen it before moving it`, undefined, 'closed');
  const pipeline = await loadPipeline(scope, row.pipelineId);
  const to = pipeline.stages.find((s) => s.id === input.stage_id);
  if (!to)
    throw new AppError(422, 'reference_not_found', 'The stage is not one of this pipeline', {
      path: 'body.stage_id',
    });
  const from = pipeline.stages.find((s) => s.id === row.stageId)!;
  const rank = await rankIn(scope, to.id, input.after_id, id);
  const status = to.kind === 'open' ? 'open' : to.kind;
  const now = new Date().toISOString();
  const [updated] = await scope.tx
    .update(opportunities)
    .set({
      stageId: to.id,
      rank,
      status,
      ...(to.id !== row.stageId ? { stageEnteredAt: now } : {}),
      ...(status !== 'open' ? { closedAt: now } : {}),
      updatedAt: now,
      updatedBy: ctx.actor.id,
    })
    .where(and(eq(opportunities.orgId, ctx.orgId), eq(opportunities.id, id)))
    .returning();
  if (to.id !== row.stageId) {
    await recordHistory(scope, id, row.stageId, to.id, status);
    await emitEvent(scope, services.jobs, {
      type: status === 'open' ? 'opportunity.moved' : 'opportunity.closed',
      subject: { object: 'opportunity', id },
      data: {
        name: row.title,
        from_stage: from.name,
        to_stage: to.name,
        status,
        days_in_previous_stage: daysSince(row.stageEnteredAt),
      },
      related: related(row),
    });
  }
  return (await opportunityViews(scope, [updated!]))[0]!;
}

/**
 * Closes an opportunity as won, lost or abandoned, with an optional reason. Won and lost move it
 * to the pipeline's first stage of that kind when there is one; abandoned keeps its stage.
 * @throws 409 `closed` when it is closed already
 */
export async function closeOpportunity(
  services: Services,
  ctx: TenantContext,
  id: string,
  input: { status: 'won' | 'lost' | 'abandoned'; reason?: string | undefined },
) {
  return withTenant(services.database, ctx, (scope) => closeOpportunityIn(scope, services, id, input));
}

/** `closeOpportunity` in the caller's transaction (an order's conversion closes its deal won). */
export async function closeOpportunityIn(
  scope: TenantScope,
  services: Services,
  id: string,
  input: { status: 'won' | 'lost' | 'abandoned'; reason?: string | undefined },
) {
  const { ctx } = scope;
  {
    const row = await loadRow(scope, id, true);
    if (row.status !== 'open')
      throw conflict(`This opportunity is already ${row.status}`, undefined, 'closed');
    const pipeline = await loadPipeline(scope, row.pipelineId);
    const target =
      input.status === 'abandoned' ? undefined : pipeline.stages.find((s) => s.kind === input.status);
    const from = pipeline.stages.find((s) => s.id === row.stageId)!;
    const stageId = target?.id ?? row.stageId;
    const now = new Date().toISOString();
    const [updated] = await scope.tx
      .update(opportunities)
      .set({
        status: input.status,
        closeReason: input.reason ?? null,
        closedAt: now,
        stageId,
        ...(stageId !== row.stageId
          ? { stageEnteredAt: now, rank: await rankIn(scope, stageId, undefined, id) }
          : {}),
        updatedAt: now,
        updatedBy: ctx.actor.id,
      })
      .where(and(eq(opportunities.orgId, ctx.orgId), eq(opportunities.id, id)))
      .returning();
    await recordHistory(scope, id, row.stageId, stageId, input.status);
    await emitEvent(scope, services.jobs, {
      type: 'opportunity.closed',
      subject: { object: 'opportunity', id },
      data: {
        name: row.title,
        status: input.status,
        reason: input.reason ?? null,
        from_stage: from.name,
        to_stage: target?.name ?? from.name,
      },
      related: related(row),
    });
    return (await opportunityViews(scope, [updated!]))[0]!;
  }
}

/** Reopens a closed opportunity into `stageId` or the last open stage it was in. @throws 409 when open */
export async function reopenOpportunity(
  services: Services,
  ctx: TenantContext,
  id: string,
  stageId?: string,
) {
  return withTenant(services.database, ctx, async (scope) => {
    const row = await loadRow(scope, id, true);
    if (row.status === 'open') throw conflict('This opportunity is open', undefined, 'not_closed');
    const pipeline = await loadPipeline(scope, row.pipelineId);
    let target = stageId ? pipeline.stages.find((s) => s.id === stageId) : undefined;
    if (stageId && !target)
      throw new AppError(422, 'reference_not_found', 'The stage is not one of this pipeline', {
        path: 'body.stage_id',
      });
    if (!target) {
      const history = await scope.tx
        .select({ stageId: opportunityStageHistory.toStageId })
        .from(opportunityStageHistory)
        .where(
          and(eq(opportunityStageHistory.orgId, ctx.orgId), eq(opportunityStageHistory.opportunityId, id)),
        )
        .orderBy(desc(opportunityStageHistory.movedAt));
      target =
        history.map((h) => pipeline.stages.find((s) => s.id === h.stageId)).find((s) => s?.kind === 'open') ??
        pipeline.stages.find((s) => s.kind === 'open');
    }
    if (target?.kind !== 'open')
      throw new AppError(422, 'invalid_state', 'Reopen into an open stage', { path: 'body.stage_id' });
    const now = new Date().toISOString();
    const [updated] = await scope.tx
      .update(opportunities)
      .set({
        status: 'open',
        closeReason: null,
        closedAt: null,
        stageId: target.id,
        ...(target.id !== row.stageId
          ? { stageEnteredAt: now, rank: await rankIn(scope, target.id, undefined, id) }
          : {}),
        updatedAt: now,
        updatedBy: ctx.actor.id,
      })
      .where(and(eq(opportunities.orgId, ctx.orgId), eq(opportunities.id, id)))
      .returning();
    await recordHistory(scope, id, row.stageId, target.id, 'open');
    await emitEvent(scope, services.jobs, {
      type: 'opportunity.reopened',
      subject: { object: 'opportunity', id },
      data: { name: row.title, to_stage: target.name },
      related: related(row),
    });
    return (await opportunityViews(scope, [updated!]))[0]!;
  });
}

/** The stage history, oldest first, with the days spent in each stage. */
export async function stageHistory(services: Services, ctx: TenantContext, id: string) {
  return withTenant(services.database, ctx, async (scope) => {
    await loadRow(scope, id);
    const rows = await scope.tx
      .select()
      .from(opportunityStageHistory)
      .where(and(eq(opportunityStageHistory.orgId, ctx.orgId), eq(opportunityStageHistory.opportunityId, id)))
      .orderBy(asc(opportunityStageHistory.movedAt));
    const stageIds = [
      ...new Set(rows.flatMap((r) => [r.fromStageId, r.toStageId]).filter((x): x is string => Boolean(x))),
    ];
    const stages = await stageNamesIn(scope, stageIds);
    // A stage's name now; a deleted one's as it was when the move was made.
    const name = (sid: string | null, then: string | null) =>
      sid ? { id: sid, name: stages.find((s) => s.id === sid)?.name ?? then ?? '(deleted stage)' } : null;
    return rows.map((r, i) => {
      const until = rows[i + 1]?.movedAt ?? new Date().toISOString();
      return {
        from_stage: name(r.fromStageId, r.fromStageName),
        to_stage: name(r.toStageId, r.toStageName)!,
        status: r.status,
        moved_at: r.movedAt,
        moved_by: r.movedBy,
        days_in_stage: Math.round(((Date.parse(until) - Date.parse(r.movedAt)) / DAY_MS) * 10) / 10,
      };
    });
  });
}
