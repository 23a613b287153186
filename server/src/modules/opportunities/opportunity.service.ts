import { and, asc, desc, eq, gt, inArray, isNotNull, isNull, sql } from 'drizzle-orm';
import { generateKeyBetween } from 'fractional-indexing';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { assertMember } from '../../platform/access/membership.js';
import { AppError, conflict, notFound } from '../../platform/errors/app-error.js';
import { emitEvent, emitEvents } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { contactTitleSql } from '../../platform/registry/display-name.js';
import { parseCustomValuesIn } from '../../platform/registry/field-references.js';
import { mergeCustom } from '../../platform/registry/field-values.js';
import { findRecordIn } from '../../platform/registry/record-lookup.js';
import { objectDef } from '../../platform/registry/registry.service.js';
import { ensureDefaultPipeline, loadPipeline } from '../pipelines/pipeline.service.js';
import { stageNameSql, stageNamesIn } from '../pipelines/stage-names.service.js';
import { ensureTags } from '../tags/tag.service.js';
import type { OpportunityCreateInput, OpportunityView } from './opportunity.dto.js';
import { opportunities, opportunityStageHistory } from './opportunity.schema.js';

type Row = typeof opportunities.$inferSelect;
const DAY_MS = 86_400_000;

export const daysSince = (iso: string) => Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / DAY_MS));

/** Views of opportunities with their stage, contact and company names. */
export async function opportunityViews(scope: TenantScope, rows: Row[]): Promise<OpportunityView[]> {
  if (rows.length === 0) return [];
  const { orgId } = scope.ctx;
  const stageIds = [...new Set(rows.map((r) => r.stageId))];
  const contactIds = [...new Set(rows.map((r) => r.contactId).filter((x): x is string => Boolean(x)))];
  const companyIds = [...new Set(rows.map((r) => r.companyId).filter((x): x is string => Boolean(x)))];
  // One round trip for the names of stages, contacts and companies.
  const ids = (xs: string[]) =>
    sql`array[${sql.join(
      xs.map((x) => sql`${x}`),
      sql`, `,
    )}]::uuid[]`;
  const result = await scope.tx.execute<{
    kind: string;
    id: string;
    name: string;
    stage_kind: string | null;
    probability: number | null;
  }>(sql`
    select 'stage' as kind, id, name, kind as stage_kind, probability from pipeline_stages
     where org_id = ${orgId} and id = any(${ids(stageIds)})
    union all
    select 'contact', id, ${sql.raw(contactTitleSql('contacts'))}, null, null
      from contacts where org_id = ${orgId} and id = any(${ids(contactIds)})
    union all
    select 'company', id, name, null, null from companies where org_id = ${orgId} and id = any(${ids(companyIds)})`);
  const named = (Array.isArray(result) ? result : (result as { rows: never[] }).rows) as {
    kind: string;
    id: string;
    name: string;
    stage_kind: 'open' | 'won' | 'lost' | null;
    probability: number | null;
  }[];
  const stages = named
    .filter((n) => n.kind === 'stage')
    .map((n) => ({ id: n.id, name: n.name, kind: n.stage_kind!, probability: n.probability! }));
  const people = named.filter((n) => n.kind === 'contact').map((n) => ({ id: n.id, name: n.name }));
  const orgs = named.filter((n) => n.kind === 'company').map((n) => ({ id: n.id, name: n.name }));
  return rows.map((r) => {
    const stage = stages.find((s) => s.id === r.stageId)!;
    return {
      id: r.id,
      title: r.title,
      amount: r.amount === null ? null : Number(r.amount),
      currency: r.currency,
      expected_close_date: r.expectedCloseDate,
      owner_id: r.ownerId,
      contact: people.find((p) => p.id === r.contactId) ?? null,
      company: orgs.find((c) => c.id === r.companyId) ?? null,
      pipeline_id: r.pipelineId,
      stage: { id: stage.id, name: stage.name, kind: stage.kind, probability: stage.probability },
      status: r.status,
      close_reason: r.closeReason,
      closed_at: r.closedAt,
      rank: r.rank,
      stage_entered_at: r.stageEnteredAt,
      days_in_stage: daysSince(r.stageEnteredAt),
      source: r.source,
      tags: r.tags,
      custom: r.custom,
      created_at: r.createdAt,
      updated_at: r.updatedAt,
      created_by: r.createdBy,
      updated_by: r.updatedBy,
      archived_at: r.archivedAt,
    };
  });
}

async function loadRow(scope: TenantScope, id: string, forUpdate = false): Promise<Row> {
  const q = scope.tx
    .select()
    .from(opportunities)
    .where(and(eq(opportunities.orgId, scope.ctx.orgId), eq(opportunities.id, id)));
  const [row] = forUpdate ? await q.for('update') : await q;
  if (!row) throw notFound('Opportunity', id);
  return row;
}

/** The records an opportunity's events also show on: its contact and company. */
export const related = (r: Pick<Row, 'contactId' | 'companyId'>) => [
  ...(r.contactId ? [{ object: 'contact', id: r.contactId }] : []),
  ...(r.companyId ? [{ object: 'company', id: r.companyId }] : []),
];

async function assertLinks(
  scope: TenantScope,
  input: { contact_id?: string | null; company_id?: string | null; owner_id?: string | null },
) {
  if (input.owner_id) await assertMember(scope, input.owner_id, 'body.owner_id');
  if (input.contact_id) {
    const c = await findRecordIn(scope, 'contact', input.contact_id);
    if (!c || c.archived)
      throw new AppError(422, 'reference_not_found', 'No contact with this id', { path: 'body.contact_id' });
  }
  if (input.company_id) {
    const c = await findRecordIn(scope, 'company', input.company_id);
    if (!c || c.archived)
      throw new AppError(422, 'reference_not_found', 'No company with this id', { path: 'body.company_id' });
  }
}

/**
 * A rank placing a card right after `afterId` in a column (or at its top). Moves into one column
 * are serialized by an advisory lock, and the rank is computed from the column as it is then,
 * so two people dropping cards at the same place get two distinct ranks.
 */
async function rankIn(
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
async function recordHistory(
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

/** Creates an opportunity in a tenant transaction (also used by lead conversion and import). */
export async function createOpportunityIn(
  scope: TenantScope,
  services: Services,
  input: OpportunityCreateInput,
): Promise<OpportunityView> {
  const { orgId } = scope.ctx;
  const pipeline = input.pipeline_id
    ? await loadPipeline(scope, input.pipeline_id).catch(() => {
        throw new AppError(422, 'reference_not_found', 'No pipeline with this id', {
          path: 'body.pipeline_id',
        });
      })
    : await ensureDefaultPipeline(scope, services);
  const stage = input.stage_id
    ? pipeline.stages.find((s) => s.id === input.stage_id)
    : (pipeline.stages.find((s) => s.kind === 'open') ?? pipeline.stages[0]);
  if (!stage)
    throw new AppError(422, 'reference_not_found', 'The stage is not one of the pipeline', {
      path: 'body.stage_id',
    });
  await assertLinks(scope, input);
  const object = await objectDef(scope.tx, orgId, 'opportunity');
  const custom = await parseCustomValuesIn(scope, object, input.custom, {
    path: 'body.custom',
    creating: true,
  });
  const status = stage.kind === 'open' ? 'open' : stage.kind;
  const [row] = await scope.tx
    .insert(opportunities)
    .values({
      orgId,
      title: input.title,
      amount: input.amount === null || input.amount === undefined ? null : String(input.amount),
      currency: input.currency ?? (input.amount != null ? 'USD' : null),
      expectedCloseDate: input.expected_close_date ?? null,
      ownerId: input.owner_id === undefined ? scope.ctx.actor.id : input.owner_id,
      contactId: input.contact_id ?? null,
      companyId: input.company_id ?? null,
      pipelineId: pipeline.id,
      stageId: stage.id,
      status,
      closedAt: status === 'open' ? null : new Date().toISOString(),
      rank: await rankIn(scope, stage.id, undefined),
      source: input.source ?? 'manual',
      tags: await ensureTags(scope, input.tags ?? []),
      custom: mergeCustom({}, custom),
      createdBy: scope.ctx.actor.id,
      updatedBy: scope.ctx.actor.id,
    })
    .returning();
  await recordHistory(scope, row!.id, null, stage.id, status);
  await emitEvent(scope, services.jobs, {
    type: 'opportunity.created',
    subject: { object: 'opportunity', id: row!.id },
    data: { name: row!.title, stage: stage.name, amount: input.amount ?? null, currency: row!.currency },
    related: related(row!),
  });
  return (await opportunityViews(scope, [row!]))[0]!;
}

export async function createOpportunity(
  services: Services,
  ctx: TenantContext,
  input: OpportunityCreateInput,
) {
  return withTenant(services.database, ctx, (scope) => createOpportunityIn(scope, services, input));
}

export async function getOpportunity(services: Services, ctx: TenantContext, id: string) {
  return withTenant(
    services.database,
    ctx,
    async (scope) => (await opportunityViews(scope, [await loadRow(scope, id)]))[0]!,
    { readOnly: true },
  );
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
  return withTenant(services.database, ctx, async (scope) => {
    const row = await loadRow(scope, id, true);
    if (row.archivedAt)
      throw conflict('This opportunity is archived; restore it first', undefined, 'archived');
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
  });
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
  return withTenant(services.database, ctx, async (scope) => {
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
  });
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

async function setArchived(services: Services, ctx: TenantContext, id: string, archive: boolean) {
  return withTenant(services.database, ctx, async (scope) => {
    const row = await loadRow(scope, id, true);
    if (Boolean(row.archivedAt) === archive) return (await opportunityViews(scope, [row]))[0]!;
    const [updated] = await setOpportunitiesArchived(scope, services, [id], archive);
    return (await opportunityViews(scope, [updated!]))[0]!;
  });
}

/**
 * Archives or restores many opportunities in one statement (a bulk action): those not yet in the
 * wanted state change, each with its event (one insert for all).
 * @returns the rows of the opportunities that changed
 */
export async function setOpportunitiesArchived(
  scope: TenantScope,
  services: Services,
  ids: string[],
  archive: boolean,
): Promise<Row[]> {
  const { ctx } = scope;
  if (ids.length === 0) return [];
  const now = new Date().toISOString();
  const rows = await scope.tx
    .update(opportunities)
    .set({ archivedAt: archive ? now : null, updatedAt: now, updatedBy: ctx.actor.id })
    .where(
      and(
        eq(opportunities.orgId, ctx.orgId),
        inArray(opportunities.id, ids),
        archive ? isNull(opportunities.archivedAt) : isNotNull(opportunities.archivedAt),
      ),
    )
    .returning();
  await emitEvents(
    scope,
    services.jobs,
    rows.map((row) => ({
      type: archive ? 'opportunity.archived' : 'opportunity.restored',
      subject: { object: 'opportunity', id: row.id },
      data: { name: row.title },
      related: related(row),
    })),
  );
  return rows;
}

export const archiveOpportunity = (s: Services, c: TenantContext, id: string) => setArchived(s, c, id, true);
export const restoreOpportunity = (s: Services, c: TenantContext, id: string) => setArchived(s, c, id, false);

export async function deleteOpportunity(services: Services, ctx: TenantContext, id: string): Promise<void> {
  await withTenant(services.database, ctx, async (scope) => {
    const row = await loadRow(scope, id, true);
    await scope.tx
      .delete(opportunities)
      .where(and(eq(opportunities.orgId, ctx.orgId), eq(opportunities.id, id)));
    await emitEvent(scope, services.jobs, {
      type: 'opportunity.deleted',
      subject: { object: 'opportunity', id },
      data: { name: row.title },
      related: related(row),
    });
  });
}

/** The `opportunity.created` events of opportunities created in bulk (an import), in one insert. */
export async function emitOpportunitiesCreatedIn(
  scope: TenantScope,
  services: Services,
  created: {
    id: string;
    title: string;
    stage: string;
    amount: number | string | null;
    currency: string | null;
    contactId: string | null;
    companyId: string | null;
  }[],
): Promise<void> {
  await emitEvents(
    scope,
    services.jobs,
    created.map((o) => ({
      type: 'opportunity.created' as const,
      subject: { object: 'opportunity', id: o.id },
      data: { name: o.title, stage: o.stage, amount: o.amount, currency: o.currency },
      related: related(o),
    })),
  );
}
