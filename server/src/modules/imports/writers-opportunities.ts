// Opportunity rows, one at a time (updates of matched ones; new ones go in bulk-opportunities.ts).
import type { OpportunityUpdateInput, OpportunityView } from '../opportunities/opportunity.dto.js';
import { createOpportunityIn } from '../opportunities/opportunity.service.js';
import {
  type OpportunityChangeResult,
  updateOpportunitiesIn,
} from '../opportunities/opportunity-updates.service.js';
import {
  addStageIn,
  createPipelineIn,
  ensureDefaultPipeline,
  loadPipeline,
} from '../pipelines/pipeline.service.js';
import type { CellProblem } from './import.schema.js';
import type { Money, RowDraft } from './import-values.js';
import {
  customOf,
  failedRow,
  findCompany,
  findContact,
  firstId,
  matchOn,
  type PipelineView,
  problem,
  type RowResult,
  type RowWriter,
  type RunContext,
  type RunSettings,
  recordOfExternalId,
  rememberExternalId,
  resolveOwner,
  setCustom,
  setField,
  str,
} from './import-writers.js';
import { unknownCompany } from './writers-contacts.js';

const WON = /^(closed[ -]?)?won$/i;

const LOST = /^(closed[ -]?)?lost$/i;

const stageKind = (name: string) => (WON.test(name) ? 'won' : LOST.test(name) ? 'lost' : 'open');

const stageInput = (name: string) => {
  const kind = stageKind(name);
  return { name, kind, probability: kind === 'won' ? 100 : kind === 'lost' ? 0 : 50 } as const;
};

/** Stage names as a new pipeline has them: open ones first, won then lost last, each in the order given. */
const orderStages = (names: string[]) => [
  ...names.filter((n) => stageKind(n) === 'open'),
  ...names.filter((n) => stageKind(n) === 'won'),
  ...names.filter((n) => stageKind(n) === 'lost'),
];

/**
 * Where a stage created for a row goes: before the first stage that comes after it in the user's
 * `stage_order`, else (open) before the first won or lost stage, else last.
 */
function stagePosition(run: RunSettings, pipeline: PipelineView, name: string): number {
  const order = (run.options.stage_order ?? []).map((s) => s.toLowerCase());
  const at = order.indexOf(name.toLowerCase());
  if (at !== -1) {
    const later = new Set(order.slice(at + 1));
    const next = pipeline.stages.findIndex((s) => later.has(s.name.toLowerCase()));
    if (next !== -1) return next;
  }
  const firstClosed = pipeline.stages.findIndex((s) => s.kind !== 'open');
  return stageKind(name) === 'open' && firstClosed !== -1 ? firstClosed : pipeline.stages.length;
}

async function pipelineFor(
  run: RunContext,
  ref: string | undefined,
  firstStage: string | undefined,
): Promise<PipelineView | null> {
  const key = (ref ?? '').toLowerCase();
  const cached = run.pipelines.get(key);
  if (cached) return cached;
  const { scope, services } = run;
  let pipeline: PipelineView | null = null;
  if (!ref) pipeline = await ensureDefaultPipeline(scope, services);
  else {
    const id = await firstId(
      scope,
      'select id from pipelines where org_id = $1 and (id::text = $2 or lower(name) = lower($2)) and archived_at is null limit 1',
      [ref],
    );
    if (id) pipeline = await loadPipeline(scope, id);
    else if (run.options.create_missing_stages) {
      // The stages the user listed, in their order, with the row's own if it is not among them.
      const named = [...(run.options.stage_order ?? [])];
      if (firstStage && !named.some((s) => s.toLowerCase() === firstStage.toLowerCase()))
        named.push(firstStage);
      if (named.length === 0) named.push('New');
      pipeline = await createPipelineIn(scope, services, {
        name: ref,
        stages: orderStages(named).map((name) => stageInput(name)),
      });
    }
  }
  if (pipeline) run.pipelines.set(key, pipeline);
  return pipeline;
}

/** An opportunity row's values as the opportunity writers use them (no database access). */
export type OpportunityDraft = {
  externalId: string | undefined;
  pipelineRef: string | undefined;
  stageRef: string | undefined;
  companyRef: string | undefined;
  contactRef: string | undefined;
  fields: {
    title: string;
    amount: number | undefined;
    currency: string | undefined;
    expected_close_date: string | undefined;
    /** When a won or lost deal closed (a date or date-time from the file); ignored for open stages. */
    closed_at: string | undefined;
    owner_id: string | null;
    tags: string[];
    custom: Record<string, unknown>;
  };
  problems: CellProblem[];
};

export function prepareOpportunity(run: RunSettings, draft: RowDraft): OpportunityDraft {
  const v = draft.values;
  const problems: CellProblem[] = [];
  const externalId = str(v.external_id);
  return {
    externalId,
    pipelineRef: str(v.pipeline) ?? run.options.pipeline,
    stageRef: str(v.stage),
    companyRef: str(v.company),
    contactRef: str(v.contact),
    fields: {
      title: str(v.title) ?? externalId ?? 'Imported opportunity',
      amount: (v.amount as Money | undefined)?.amount,
      currency: str(v.currency)?.toUpperCase() ?? (v.amount as Money | undefined)?.currency ?? undefined,
      expected_close_date: str(v.expected_close_date),
      closed_at: str(v.closed_at),
      owner_id: resolveOwner(run, v.owner, problems) ?? run.importerId,
      tags: [...new Set([...((v.tags as string[] | undefined) ?? []), ...(run.options.tags ?? [])])],
      custom: customOf(run, v, problems),
    },
    problems,
  };
}

/**
 * The pipeline and stage of an opportunity row (creating them when `create_missing_stages`
 * says so), or the failed result of a row whose pipeline or stage is unknown.
 */
export async function placeOpportunity(
  run: RunContext,
  o: OpportunityDraft,
): Promise<{ pipeline: PipelineView; stage: PipelineView['stages'][number] } | RowResult> {
  const { scope, services } = run;
  const { pipelineRef, stageRef } = o;
  let pipeline = await pipelineFor(run, pipelineRef, stageRef);
  if (!pipeline)
    return failedRow([
      problem(run, 'pipeline', 'unknown_pipeline', 'No pipeline with this name', pipelineRef),
    ]);
  // A stage by name, or by its id (a file exported by Cairn).
  let stage = stageRef
    ? pipeline.stages.find((s) => s.name.toLowerCase() === stageRef.toLowerCase() || s.id === stageRef)
    : (pipeline.stages.find((s) => s.kind === 'open') ?? pipeline.stages[0]);
  if (!stage && stageRef) {
    if (!run.options.create_missing_stages)
      return failedRow([
        problem(run, 'stage', 'unknown_stage', `"${pipeline.name}" has no stage with this name`, stageRef),
      ]);
    pipeline = await addStageIn(scope, services, pipeline.id, {
      ...stageInput(stageRef),
      position: stagePosition(run, pipeline, stageRef),
    });
    run.pipelines.set((pipelineRef ?? '').toLowerCase(), pipeline);
    stage = pipeline.stages.find((s) => s.name.toLowerCase() === stageRef.toLowerCase())!;
  }
  return { pipeline, stage: stage! };
}

export const unknownContact = (run: RunSettings, ref: string) =>
  problem(run, 'contact', 'unknown_contact', 'No contact with this e-mail, name or external id', ref);

/**
 * An opportunity row: pipeline by name or id (column, else the `pipeline` option, else the default
 * pipeline), stage by name or id within it (an unknown stage fails the row unless
 * `create_missing_stages`; a created "Won"/"Lost" stage is a won/lost stage), owner by name or
 * e-mail, company by external id or name, contact by external id, e-mail or name. Matched by
 * external id only; an update never moves the stage.
 */
export const writeOpportunity: RowWriter = async (run, draft) => {
  const { scope, services } = run;
  const v = draft.values;
  const prepared = prepareOpportunity(run, draft);
  const placed = await placeOpportunity(run, prepared);
  if ('outcome' in placed) return placed;
  const { pipeline, stage } = placed;
  const { externalId, problems } = prepared;
  let companyId: string | null = null;
  if (prepared.companyRef) {
    companyId = await findCompany(scope, prepared.companyRef);
    if (!companyId) problems.push(unknownCompany(run, prepared.companyRef));
  }
  let contactId: string | null = null;
  if (prepared.contactRef) {
    contactId = await findContact(scope, prepared.contactRef);
    if (!contactId) problems.push(unknownContact(run, prepared.contactRef));
  }
  const fields = {
    ...prepared.fields,
    company_id: companyId ?? undefined,
    contact_id: contactId ?? undefined,
  };
  const existingId = externalId ? await recordOfExternalId(scope, 'opportunity', externalId) : null;
  if (!existingId) {
    const created = await createOpportunityIn(scope, services, {
      ...fields,
      pipeline_id: pipeline.id,
      stage_id: stage.id,
      source: 'import',
    });
    await rememberExternalId(run, 'opportunity', externalId, created.id);
    return { outcome: 'created', recordId: created.id, problems };
  }
  const match = matchOn(run, 'external_id', externalId!);
  if (run.dedup === 'skip') return { outcome: 'skipped', recordId: existingId, problems, match };
  const row = { o: prepared, values: v, companyId, contactId };
  const [result] = await updateOpportunitiesIn(scope, services, [
    { id: existingId, input: opportunityUpdate(run, row) },
  ]);
  return { ...updatedOpportunityRow(run, row, existingId, result!), match };
};

/** An opportunity row matching an opportunity: its values, and the company and contact it names, found. */
export type OpportunityMatchRow = {
  o: OpportunityDraft;
  values: RowDraft['values'];
  companyId: string | null;
  contactId: string | null;
};

/**
 * The update an opportunity row makes to the opportunity it matched, under the import's dedup
 * mode (`setField`); never its stage. Title and owner only when the row has them (a row without
 * gets a generated title and the importer as owner, for new opportunities only). `before` holds
 * the values it changes as they were, as an update input (undo).
 * @returns null `patch` when the row changes nothing
 */
export function opportunityPatch(
  run: RunSettings,
  row: OpportunityMatchRow,
  c: OpportunityView,
): { patch: OpportunityUpdateInput | null; before: Record<string, unknown> } {
  const { fields } = row.o;
  const patch: Record<string, unknown> = {};
  const before: Record<string, unknown> = {};
  if (str(row.values.title)) setField(run, patch, before, 'title', fields.title, c.title);
  setField(run, patch, before, 'amount', fields.amount, c.amount);
  setField(run, patch, before, 'currency', fields.currency, c.currency);
  setField(run, patch, before, 'expected_close_date', fields.expected_close_date, c.expected_close_date);
  if (str(row.values.owner))
    setField(run, patch, before, 'owner_id', fields.owner_id ?? undefined, c.owner_id);
  setField(run, patch, before, 'company_id', row.companyId ?? undefined, c.company?.id);
  setField(run, patch, before, 'contact_id', row.contactId ?? undefined, c.contact?.id);
  setCustom(run, patch, before, fields.custom, c.custom);
  return { patch: Object.keys(patch).length ? (patch as OpportunityUpdateInput) : null, before };
}

/** `opportunityPatch` as the input of an `updateOpportunitiesIn` change. */
export const opportunityUpdate = (run: RunSettings, row: OpportunityMatchRow) => (c: OpportunityView) =>
  opportunityPatch(run, row, c).patch;

/**
 * A matched opportunity row's result from its `updateOpportunitiesIn` result: `updated` with
 * what it overwrote, `skipped` when it changed nothing. @throws the update's error (a refused row)
 */
export function updatedOpportunityRow(
  run: RunSettings,
  row: OpportunityMatchRow,
  id: string,
  result: OpportunityChangeResult,
): RowResult {
  if (!result.ok) throw result.error;
  if (!result.written) return { outcome: 'skipped', recordId: id, problems: row.o.problems };
  const { before } = opportunityPatch(run, row, result.before);
  return { outcome: 'updated', recordId: id, before, problems: row.o.problems };
}
