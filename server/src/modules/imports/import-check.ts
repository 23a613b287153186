// The preview's check: every row of the file (up to CHECK_MAX_ROWS) read as the run reads it, and
// what the rows name (owners, members, companies, contacts, opportunities, pipelines, stages)
// resolved with one query per kind of reference, not per row. So the preview says, before the
// user presses start, how many rows the run will fail or import without a value, and why.
import { type TenantContext, withTenant } from '../../db/tenant.js';
import type { Services } from '../../platform/http/types.js';
import { listPipelines } from '../pipelines/pipeline.service.js';
import { type ActivityDraft, prepareNote, prepareTask } from './bulk-activities.js';
import { findRelated, prepareRecord, type RelationRef, unknownRelated } from './bulk-records.js';
import type { CellProblem } from './import.schema.js';
import { findCompanies, findContacts, findOpportunities } from './import-bulk.js';
import { type ImportTarget, isCustomObject } from './import-targets.js';
import { closeTo, type RowDraft } from './import-values.js';
import { type PipelineView, problem, type RunSettings } from './import-writers.js';
import { prepareCompany } from './writers-companies.js';
import { prepareContact, unknownCompany } from './writers-contacts.js';
import { prepareOpportunity, unknownContact } from './writers-opportunities.js';
import { prepareProduct } from './writers-products.js';

/** Rows checked by a preview: every row of a file up to this size, the first ones above it. */
export const CHECK_MAX_ROWS = 100_000;

/** What a problem does to its rows: the row is not imported, or it is imported without that value. */
export type CheckEffect = 'fails_row' | 'loses_value';

/** One problem the run will report, by code and column: on how many rows, and its commonest values. */
export type CheckedProblem = {
  code: string;
  column: string | null;
  effect: CheckEffect;
  rows: number;
  values: { value: string; rows: number; suggestion?: string | undefined }[];
};

/** A value of a column that is probably a misspelling of a value other rows of the file use. */
export type Misspelling = {
  column: string;
  value: string;
  rows: number;
  suggestion: string;
  suggestion_rows: number;
};

export type ImportCheck = {
  rows_checked: number;
  total_rows: number;
  /** The file has more rows than were checked: the counts are those of its first `rows_checked`. */
  sampled: boolean;
  rows_failing: number;
  rows_losing_values: number;
  rows_with_problems: number;
  problems: CheckedProblem[];
  misspellings: Misspelling[];
};

type LinkObject = 'company' | 'contact' | 'opportunity';

/** One row as read, before its references are resolved. */
type RowFacts = {
  /** The problems of its cells (`readRow`), reported whatever else happens. */
  cells: CellProblem[];
  /** The row fails without the database (no name, no title...). */
  failed: CellProblem[] | null;
  /** Problems found while preparing it (an unknown owner or member). */
  lost: CellProblem[];
  /** What it names, in the order the run looks them up. */
  links: { object: LinkObject; ref: string }[];
  pipeline?: string | undefined;
  stage?: string | undefined;
  parent?: string | undefined;
  /** A custom object's relation cells (`prepareRecord`). */
  relations?: RelationRef[] | undefined;
};

const none: CellProblem[] = [];

/** Reads one row's facts with the object's own prepare step (the run's rules, no database). */
function factsOf(object: string, run: RunSettings, draft: RowDraft, required: ImportTarget[]): RowFacts {
  const base = { cells: draft.problems.length ? draft.problems : none, links: [] };
  if (isCustomObject(object)) {
    const r = prepareRecord(run, draft);
    // A required field left empty (or whose cell could not be read) fails the row, as the engine will.
    const missing = required.filter((t) => draft.values[t.key] === undefined);
    const failed = missing.map((t) =>
      problem(run, t.key, 'required', `${t.label} is required: the row is not imported`),
    );
    return { ...base, failed: failed.length ? failed : null, lost: r.problems, relations: r.relations };
  }
  if (object === 'opportunity') {
    const o = prepareOpportunity(run, draft);
    return {
      ...base,
      failed: null,
      lost: o.problems,
      links: [
        ...(o.companyRef ? [{ object: 'company' as const, ref: o.companyRef }] : []),
        ...(o.contactRef ? [{ object: 'contact' as const, ref: o.contactRef }] : []),
      ],
      pipeline: o.pipelineRef,
      stage: o.stageRef,
    };
  }
  if (object === 'contact') {
    const c = prepareContact(run, draft);
    if ('outcome' in c) return { ...base, failed: c.problems, lost: none };
    return {
      ...base,
      failed: null,
      lost: c.problems,
      links: c.companyRef ? [{ object: 'company', ref: c.companyRef }] : [],
    };
  }
  if (object === 'product') {
    const p = prepareProduct(run, draft);
    if ('outcome' in p) return { ...base, failed: p.problems, lost: none };
    return { ...base, failed: null, lost: p.problems };
  }
  if (object === 'company') {
    const c = prepareCompany(run, draft);
    if ('outcome' in c) return { ...base, failed: c.problems, lost: none };
    return { ...base, failed: null, lost: c.problems, parent: c.parentRef };
  }
  const a: ActivityDraft = object === 'task' ? prepareTask(run, draft) : prepareNote(run, draft);
  if (a.result) return { ...base, failed: a.result.problems, lost: none };
  return { ...base, failed: null, lost: a.problems, links: a.refs };
}

/** What the rows name, found: by kind, reference -> record id (absent: not found). */
type Resolved = {
  links: Record<LinkObject, Map<string, string>>;
  /** A custom object's relations: by related object, reference -> record id. */
  related: Map<string, Map<string, string>>;
  pipelines: PipelineView[];
  /** Company rows of the file itself, by name (lower-cased) and external id: parents found after the last row. */
  fileCompanies: Set<string>;
};

/** Rows the preview keeps whole (their problems shown), the others only counted. */
export type CheckedRow = { number: number; reported: CellProblem[] };

/**
 * Checks the rows `rows` yields, as `object` rows of an import with `run`'s settings: reads
 * each, resolves what they name (one query per kind of reference), and counts the problems the
 * run will report on each row (`reportOf`). `keep` rows come back with their problems.
 */
export async function checkRows(
  services: Services,
  ctx: TenantContext,
  object: string,
  run: RunSettings,
  targets: ImportTarget[],
  rows: AsyncIterable<{ number: number; draft: RowDraft }>,
  totalRows: number,
  keep: number,
): Promise<{ check: ImportCheck; kept: CheckedRow[] }> {
  const compared = new Map(
    targets
      .filter(
        (t) =>
          !NOT_COMPARED.has(t.key) &&
          (COMPARED.has(t.key) ||
            (comparedKinds.has(t.kind) && (t.key.startsWith('custom.') || t.reference))),
      )
      .map((t) => [t.key, t.kind]),
  );
  const required = targets.filter((t) => t.required && t.key.startsWith('custom.'));
  const facts: RowFacts[] = [];
  const numbers: number[] = [];
  const fileCompanies = new Set<string>();
  const spellings = new Map<string, Map<string, number> | null>();
  for await (const { number, draft } of rows) {
    facts.push(factsOf(object, run, draft, required));
    countValues(spellings, draft, compared);
    numbers.push(number);
    if (object === 'company') {
      const name = draft.values.name;
      const externalId = draft.values.external_id;
      if (typeof name === 'string') fileCompanies.add(name.toLowerCase());
      if (typeof externalId === 'string') fileCompanies.add(externalId);
    }
    // Reading takes about 60 µs a row: other requests get their turn.
    if (facts.length % 1000 === 0) await new Promise((resolve) => setImmediate(resolve));
    if (facts.length >= CHECK_MAX_ROWS) break;
  }
  const resolved = await resolve(services, ctx, object, facts, fileCompanies);
  const byKey = new Map<
    string,
    CheckedProblem & { byValue: Map<string, { rows: number; suggestion?: string | undefined }> }
  >();
  let failing = 0;
  let losing = 0;
  let withProblems = 0;
  const kept: CheckedRow[] = [];
  const failsWhole = run.options.invalid_cells === 'fail_row';
  for (const [i, f] of facts.entries()) {
    const { reported, fatal } = reportOf(object, run, f, resolved, failsWhole);
    if (i < keep) kept.push({ number: numbers[i]!, reported });
    if (reported.length === 0) continue;
    withProblems += 1;
    if (fatal.size > 0) failing += 1;
    else losing += 1;
    const seen = new Set<string>();
    for (const p of reported) {
      const key = `${p.code}\u0000${p.column ?? ''}`;
      let entry = byKey.get(key);
      if (!entry) {
        entry = {
          code: p.code,
          column: p.column,
          effect: 'loses_value',
          rows: 0,
          values: [],
          byValue: new Map(),
        };
        byKey.set(key, entry);
      }
      if (fatal.has(p)) entry.effect = 'fails_row';
      if (seen.has(key)) continue;
      seen.add(key);
      entry.rows += 1;
      if (p.value !== undefined) {
        const seenValue = entry.byValue.get(p.value);
        if (seenValue) seenValue.rows += 1;
        else entry.byValue.set(p.value, { rows: 1, suggestion: p.suggestion });
      }
    }
  }
  const problems = [...byKey.values()]
    .map(({ byValue, ...p }) => ({
      ...p,
      values: [...byValue]
        .sort((a, b) => b[1].rows - a[1].rows)
        .slice(0, 5)
        .map(([value, v]) => ({ value, ...v })),
    }))
    .sort((a, b) => (a.effect === b.effect ? b.rows - a.rows : a.effect === 'fails_row' ? -1 : 1));
  return {
    check: {
      rows_checked: facts.length,
      total_rows: totalRows,
      sampled: facts.length < totalRows,
      rows_failing: failing,
      rows_losing_values: losing,
      rows_with_problems: withProblems,
      problems,
      misspellings: misspellingsOf(spellings, run),
    },
    kept,
  };
}

/** Columns whose values are compared with each other: categories people type, not names or ids. */
const COMPARED = new Set([
  'industry',
  'size',
  'source',
  'lead_status',
  'address.country',
  'address.region',
  'address.city',
]);
const comparedKinds = new Set(['text', 'reference']);
const NOT_COMPARED = new Set(['external_id', 'title']);
/** A column with more distinct values than this is not a category: not compared. */
const MAX_DISTINCT = 300;

/** Counts each compared column's values (by target), dropping a column past MAX_DISTINCT values. */
function countValues(
  spellings: Map<string, Map<string, number> | null>,
  draft: RowDraft,
  kinds: Map<string, string>,
) {
  for (const [key, value] of Object.entries(draft.values)) {
    if (typeof value !== 'string' || !kinds.has(key)) continue;
    let counts = spellings.get(key);
    if (counts === null) continue;
    if (!counts) {
      counts = new Map();
      spellings.set(key, counts);
    }
    counts.set(value, (counts.get(value) ?? 0) + 1);
    if (counts.size > MAX_DISTINCT) spellings.set(key, null);
  }
}

/**
 * Values of a column that are probably misspellings of a value more rows use (`closeTo`):
 * `technolgy` beside `technology`, `GTXPro` beside `GTX Pro`.
 */
function misspellingsOf(spellings: Map<string, Map<string, number> | null>, run: RunSettings): Misspelling[] {
  const out: Misspelling[] = [];
  for (const [key, counts] of spellings) {
    if (!counts) continue;
    const column = run.headerOf(key) ?? key;
    for (const [value, rows] of counts) {
      const commoner = [...counts].filter(([v, n]) => n > rows && v !== value).map(([v]) => v);
      const suggestion = closeTo(value, commoner);
      if (suggestion) out.push({ column, value, rows, suggestion, suggestion_rows: counts.get(suggestion)! });
    }
  }
  return out.sort((a, b) => b.rows - a.rows);
}

/** Everything the rows name, one query per kind (companies, contacts, opportunities, pipelines). */
async function resolve(
  services: Services,
  ctx: TenantContext,
  object: string,
  facts: RowFacts[],
  fileCompanies: Set<string>,
): Promise<Resolved> {
  const refs: Record<LinkObject, Set<string>> = {
    company: new Set(),
    contact: new Set(),
    opportunity: new Set(),
  };
  for (const f of facts) {
    for (const l of f.links) refs[l.object].add(l.ref);
    if (f.parent) refs.company.add(f.parent);
  }
  const byObject = new Map<string, Set<string>>();
  for (const f of facts)
    for (const r of f.relations ?? [])
      byObject.set(r.object, (byObject.get(r.object) ?? new Set()).add(r.ref));
  const related = await withTenant(services.database, ctx, async (scope) => {
    const out = new Map<string, Map<string, string>>();
    for (const [o, refs] of byObject) out.set(o, await findRelated(scope, o, [...refs]));
    return out;
  });
  const links = await withTenant(services.database, ctx, async (scope) => ({
    company: refs.company.size ? await findCompanies(scope, [...refs.company]) : new Map<string, string>(),
    contact: refs.contact.size ? await findContacts(scope, [...refs.contact]) : new Map<string, string>(),
    opportunity: refs.opportunity.size
      ? await findOpportunities(scope, [...refs.opportunity])
      : new Map<string, string>(),
  }));
  const pipelines = object === 'opportunity' ? await listPipelines(services, ctx) : [];
  return { links, related, pipelines, fileCompanies };
}

/**
 * The problems the run will report on a row (its line in errors.csv), and those among them that
 * fail it. Follows the writers: cell problems first; a row failing without the database; for
 * opportunities the pipeline then the stage (either unknown fails the row, unless
 * `create_missing_stages`), then owner and custom values, company, contact; a company's parent
 * (in the database or among the file's companies); a task's or note's links in order (a note
 * linked to nothing fails).
 */
function reportOf(
  object: string,
  run: RunSettings,
  f: RowFacts,
  resolved: Resolved,
  failsWhole: boolean,
): { reported: CellProblem[]; fatal: Set<CellProblem> } {
  if (failsWhole && f.cells.length > 0) return { reported: f.cells, fatal: new Set(f.cells) };
  if (f.failed) return { reported: [...f.cells, ...f.failed], fatal: new Set(f.failed) };
  if (object === 'opportunity') {
    const placing = placementProblem(run, f, resolved.pipelines);
    if (placing) return { reported: [...f.cells, placing], fatal: new Set([placing]) };
  }
  const reported = [...f.cells, ...f.lost];
  if (f.relations) {
    for (const r of f.relations)
      if (!resolved.related.get(r.object)?.has(r.ref)) reported.push(unknownRelated(run, r));
    return { reported, fatal: new Set() };
  }
  if (object === 'company' && f.parent) {
    const found =
      resolved.links.company.has(f.parent) ||
      resolved.fileCompanies.has(f.parent) ||
      resolved.fileCompanies.has(f.parent.toLowerCase());
    if (!found)
      reported.push(
        problem(
          run,
          'parent_company',
          'unknown_parent',
          'No company with this name or external id: no parent set',
          f.parent,
        ),
      );
    return { reported, fatal: new Set() };
  }
  if (object === 'task' || object === 'note') {
    let linked = false;
    for (const { object: o, ref } of f.links) {
      if (resolved.links[o].has(ref)) {
        linked = true;
        break;
      }
      reported.push(problem(run, o, `unknown_${o}`, `No ${o} matches this: not linked`, ref));
    }
    if (object === 'note' && !linked) {
      const required = {
        column: null,
        code: 'required',
        message: 'A note must be on a contact, company or opportunity',
      };
      return { reported: [...reported, required], fatal: new Set([required]) };
    }
    return { reported, fatal: new Set() };
  }
  for (const { object: o, ref } of f.links)
    if (!resolved.links[o].has(ref))
      reported.push(o === 'company' ? unknownCompany(run, ref) : unknownContact(run, ref));
  return { reported, fatal: new Set() };
}

/**
 * The problem that keeps an opportunity row off the board (`placeOpportunity`'s rules): its
 * pipeline (column, else the `pipeline` option, else the default one) or its stage unknown, when
 * `create_missing_stages` does not create them.
 */
function placementProblem(run: RunSettings, f: RowFacts, pipelines: PipelineView[]): CellProblem | null {
  if (run.options.create_missing_stages) return null;
  let pipeline: PipelineView | undefined;
  if (f.pipeline) {
    const ref = f.pipeline.toLowerCase();
    pipeline = pipelines.find((p) => p.id === ref || p.name.toLowerCase() === ref);
    if (!pipeline)
      return problem(run, 'pipeline', 'unknown_pipeline', 'No pipeline with this name', f.pipeline);
  } else pipeline = pipelines.find((p) => p.is_default) ?? pipelines[0];
  if (!pipeline || !f.stage) return null;
  const stage = f.stage.toLowerCase();
  if (pipeline.stages.some((s) => s.name.toLowerCase() === stage || s.id === f.stage)) return null;
  return problem(run, 'stage', 'unknown_stage', `"${pipeline.name}" has no stage with this name`, f.stage);
}
