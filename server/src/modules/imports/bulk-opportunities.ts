// Opportunities an import creates, written a batch at a time (import-bulk.ts).

import { generateNKeysBetween } from 'fractional-indexing';
import { newId } from '../../db/ids.js';
import type { TenantScope } from '../../db/tenant.js';
import { normalizeTag } from '../../platform/registry/field-values.js';
import { emitOpportunitiesCreatedIn } from '../opportunities/opportunity.service.js';
import { updateOpportunitiesIn } from '../opportunities/opportunity-updates.service.js';
import { ensureTags } from '../tags/tag.service.js';
import {
  type BulkWriter,
  findCompanies,
  findContacts,
  finishWithExternalIds,
  insertOrDefer,
  lookedUp,
  recordsOfExternalIds,
  rememberExternalIds,
  rows,
  type StoredCustom,
  storedCustoms,
  updateOrDefer,
  type WriteOne,
} from './import-bulk.js';
import type { RowDraft } from './import-values.js';
import { failedRow, matchOn, type RowResult, type RunContext } from './import-writers.js';
import { unknownCompany } from './writers-contacts.js';
import {
  type OpportunityDraft,
  type OpportunityMatchRow,
  opportunityUpdate,
  placeOpportunity,
  prepareOpportunity,
  unknownContact,
  updatedOpportunityRow,
} from './writers-opportunities.js';

/** A batch of opportunity rows on its way: read, then looked up, then written. */
export type OpportunityBatch = {
  drafts: RowDraft[];
  prepared: OpportunityDraft[];
  /** Set by `lookupOpportunityBatch`: the records its rows name, and each row's custom values. */
  found?: {
    external: Map<string, string>;
    companies: Map<string, string>;
    contacts: Map<string, string>;
    custom: (StoredCustom | null)[];
  };
};

/** Looks up, for a whole batch, the opportunities its external ids name and its companies and contacts. */
export async function lookupOpportunityBatch(scope: TenantScope, batch: OpportunityBatch): Promise<void> {
  const externals = batch.prepared.flatMap((p) => (p.externalId ? [p.externalId] : []));
  const external = await recordsOfExternalIds(scope, 'opportunity', externals);
  batch.found = {
    external,
    companies: await findCompanies(
      scope,
      batch.prepared.flatMap((p) => (p.companyRef ? [p.companyRef] : [])),
    ),
    contacts: await findContacts(
      scope,
      batch.prepared.flatMap((p) => (p.contactRef ? [p.contactRef] : [])),
    ),
    custom: await storedCustoms(
      scope,
      'opportunity',
      batch.prepared.map((p) => p.fields.custom),
    ),
  };
}

type NewOpportunity = {
  id: string;
  row: number;
  o: OpportunityDraft;
  pipelineId: string;
  stage: { id: string; name: string; kind: string };
  companyId: string | null;
  contactId: string | null;
};

/**
 * `writeContactBatch` for opportunities: pipeline and stage placed row by row (cached; created
 * when `create_missing_stages` says so), matched by external id only (the lookup, the previous
 * batch's `carry`, earlier rows of this batch). New ones go in with one insert each for the
 * opportunities, their stage history, external ids and events; each new card goes on top of its
 * column, the file's last row topmost, as row-by-row creation would leave them. Matched ones are
 * skipped (dedup `skip`) or updated with one `updateOpportunitiesIn` for the batch, in file order.
 * @returns one result per draft, in order
 */
export async function writeOpportunityBatch(
  run: RunContext,
  batch: OpportunityBatch,
  carry: Map<string, string>,
  writeOne: WriteOne,
): Promise<RowResult[]> {
  const { scope } = run;
  const found = lookedUp(batch);
  const external = new Map([...carry, ...found.external]);
  const results: (RowResult | null)[] = batch.prepared.map(() => null);
  const created: NewOpportunity[] = [];
  const matched: (OpportunityMatchRow & { row: number; id: string })[] = [];
  for (const [i, o] of batch.prepared.entries()) {
    const placed = await placeOpportunity(run, o);
    if ('outcome' in placed) {
      results[i] = placed;
      continue;
    }
    const companyId = o.companyRef ? (found.companies.get(o.companyRef) ?? null) : null;
    if (o.companyRef && !companyId) o.problems.push(unknownCompany(run, o.companyRef));
    const contactId = o.contactRef ? (found.contacts.get(o.contactRef) ?? null) : null;
    if (o.contactRef && !contactId) o.problems.push(unknownContact(run, o.contactRef));
    const match = o.externalId ? external.get(o.externalId) : undefined;
    if (match) {
      if (run.dedup === 'skip')
        results[i] = {
          outcome: 'skipped',
          recordId: match,
          problems: o.problems,
          match: matchOn(run, 'external_id', o.externalId!),
        };
      else matched.push({ row: i, id: match, o, values: batch.drafts[i]!.values, companyId, contactId });
      continue;
    }
    const stored = found.custom[i]!;
    if (!stored.ok) {
      results[i] = failedRow([...o.problems, stored.problem]);
      continue;
    }
    o.fields.custom = stored.custom;
    const id = newId();
    created.push({
      id,
      row: i,
      o,
      pipelineId: placed.pipeline.id,
      stage: placed.stage,
      companyId,
      contactId,
    });
    if (o.externalId) external.set(o.externalId, id);
  }
  const later: number[] = [];
  await insertOrDefer(
    scope,
    created.map((n) => ({ ...n, problems: n.o.problems })),
    (sp) => insertOpportunities(run, sp, created),
    results,
    later,
  );
  await updateOrDefer(
    scope,
    matched,
    (sp) =>
      updateOpportunitiesIn(
        sp,
        run.services,
        matched.map((m) => ({ id: m.id, input: opportunityUpdate(run, m) })),
      ),
    (m, r) => ({
      ...updatedOpportunityRow(run, m, m.id, r),
      match: matchOn(run, 'external_id', m.o.externalId!),
    }),
    (m) => m.o.problems,
    results,
    later,
  );
  return finishWithExternalIds(
    batch.drafts,
    batch.prepared.map((o) => o.externalId),
    results,
    later,
    writeOne,
    carry,
  );
}

async function insertOpportunities(run: RunContext, scope: TenantScope, created: NewOpportunity[]) {
  const { orgId, actor } = scope.ctx;
  const tags = await ensureTags(
    scope,
    created.flatMap((n) => n.o.fields.tags),
  );
  const canonical = new Map(tags.map((t) => [normalizeTag(t), t]));
  // Each new card on top of its column, the last row topmost (as one create after another).
  const ranks = new Map<string, string>();
  const byStage = new Map<string, NewOpportunity[]>();
  for (const n of created) byStage.set(n.stage.id, [...(byStage.get(n.stage.id) ?? []), n]);
  for (const [stageId, cards] of byStage) {
    await scope.conn.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [`${orgId}:${stageId}`]);
    const top = (
      await rows<{ rank: string }>(
        scope,
        'select rank from opportunities where org_id = $1 and stage_id = $2 order by rank limit 1',
        [stageId],
      )
    )[0]?.rank;
    const keys = generateNKeysBetween(null, top ?? null, cards.length);
    for (const [i, n] of cards.entries()) ranks.set(n.id, keys[cards.length - 1 - i]!);
  }
  const records = created.map((n) => {
    const f = n.o.fields;
    const status = n.stage.kind === 'open' ? 'open' : n.stage.kind;
    return {
      id: n.id,
      title: f.title,
      amount: f.amount ?? null,
      currency: f.currency ?? (f.amount != null ? 'USD' : null),
      expected_close_date: f.expected_close_date ?? null,
      owner_id: f.owner_id,
      contact_id: n.contactId,
      company_id: n.companyId,
      pipeline_id: n.pipelineId,
      stage_id: n.stage.id,
      status,
      closed: status !== 'open',
      closed_at: status !== 'open' ? (f.closed_at ?? null) : null,
      rank: ranks.get(n.id)!,
      tags: [...new Set(f.tags.map((t) => canonical.get(normalizeTag(t)) ?? t.trim()))].filter(Boolean),
      custom: f.custom,
    };
  });
  await scope.conn.query(
    `insert into opportunities (org_id, id, title, amount, currency, expected_close_date, owner_id, contact_id,
        company_id, pipeline_id, stage_id, status, closed_at, rank, source, tags, custom, created_by, updated_by)
     select $1, x.id, x.title, x.amount, x.currency, x.expected_close_date, x.owner_id, x.contact_id,
        x.company_id, x.pipeline_id, x.stage_id, x.status, case when x.closed then coalesce(x.closed_at, now()) end,
        x.rank, 'import',
        x.tags, x.custom, $2, $2
       from jsonb_to_recordset($3::jsonb) as x(id uuid, title text, amount numeric, currency text,
        expected_close_date date, owner_id uuid, contact_id uuid, company_id uuid, pipeline_id uuid,
        stage_id uuid, status text, closed boolean, closed_at timestamptz, rank text, tags text[], custom jsonb)`,
    [orgId, actor.id, JSON.stringify(records)],
  );
  await scope.conn.query(
    `insert into opportunity_stage_history (org_id, id, opportunity_id, from_stage_id, to_stage_id, to_stage_name,
        status, moved_by)
     select $1, x.history_id, x.id, null, x.stage_id, s.name, x.status, $2
       from jsonb_to_recordset($3::jsonb) as x(history_id uuid, id uuid, stage_id uuid, status text)
       left join pipeline_stages s on s.org_id = $1 and s.id = x.stage_id`,
    [
      orgId,
      actor.id,
      JSON.stringify(
        records.map((r) => ({ history_id: newId(), id: r.id, stage_id: r.stage_id, status: r.status })),
      ),
    ],
  );
  await emitOpportunitiesCreatedIn(
    scope,
    run.services,
    created.map((n, i) => {
      const r = records[i]!;
      const amount = n.o.fields.amount ?? null;
      return {
        ...r,
        id: n.id,
        stage: n.stage.name,
        amount,
        contactId: r.contact_id,
        companyId: r.company_id,
      };
    }),
  );
  const ids = created.flatMap((n) => (n.o.externalId ? [{ externalId: n.o.externalId, id: n.id }] : []));
  if (ids.length > 0) await rememberExternalIds(run, 'opportunity', ids, scope);
}

export function opportunityBulkWriter(): BulkWriter {
  const carry = new Map<string, string>();
  return {
    prepare: (run, drafts): OpportunityBatch => ({
      drafts,
      prepared: drafts.map((d) => prepareOpportunity(run, d)),
    }),
    lookup: (scope, batch) => lookupOpportunityBatch(scope, batch as OpportunityBatch),
    write: (run, batch, writeOne) => writeOpportunityBatch(run, batch as OpportunityBatch, carry, writeOne),
  };
}
