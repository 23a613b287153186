import { and, eq, inArray, isNotNull, isNull } from 'drizzle-orm';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { assertMember } from '../../platform/access/membership.js';
import { AppError } from '../../platform/errors/app-error.js';
import { emitEvent, emitEvents } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { parseCustomValuesIn } from '../../platform/registry/field-references.js';
import { mergeCustom } from '../../platform/registry/field-values.js';
import { findRecordIn } from '../../platform/registry/record-lookup.js';
import { objectDef } from '../../platform/registry/registry.service.js';
import { ensureDefaultPipeline, loadPipeline } from '../pipelines/pipeline.service.js';
import { ensureTags } from '../tags/tag.service.js';
import type { OpportunityCreateInput, OpportunityView } from './opportunity.dto.js';
import { opportunities } from './opportunity.schema.js';
import { rankIn, recordHistory } from './opportunity-moves.service.js';
import { loadRow, opportunityViews, type Row, related } from './opportunity-views.service.js';

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
      // Null: the stage's (the database's trigger sets it).
      forecastCategory: input.forecast_category ?? null,
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

/** A deal's row (locked), in the caller's transaction: its line items' owner reads it. @throws 404 */
export const opportunityRowIn = (scope: TenantScope, id: string, forUpdate = false) =>
  loadRow(scope, id, forUpdate);

/**
 * Sets how a deal's line items are priced (issue 29): the price list they read, and whether the
 * deal's amount follows their total. The amount itself changes through `updateOpportunityIn`.
 */
export async function setOpportunityPricingIn(
  scope: TenantScope,
  id: string,
  pricing: { priceListId: string | null; amountFromLines: boolean },
): Promise<void> {
  await scope.tx
    .update(opportunities)
    .set({ priceListId: pricing.priceListId, amountFromLines: pricing.amountFromLines })
    .where(and(eq(opportunities.orgId, scope.ctx.orgId), eq(opportunities.id, id)));
}
