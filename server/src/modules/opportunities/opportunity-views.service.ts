import { and, eq, sql } from 'drizzle-orm';
import type { TenantScope } from '../../db/tenant.js';
import { notFound } from '../../platform/errors/app-error.js';
import { contactTitleSql } from '../../platform/registry/display-name.js';
import type { OpportunityView } from './opportunity.dto.js';
import { opportunities } from './opportunity.schema.js';

/** Opportunities as the API shows them (days in stage, stage and pipeline names), and their rows by id. */

export type Row = typeof opportunities.$inferSelect;

export const DAY_MS = 86_400_000;

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
      forecast_category: r.forecastCategory,
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

export async function loadRow(scope: TenantScope, id: string, forUpdate = false): Promise<Row> {
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
