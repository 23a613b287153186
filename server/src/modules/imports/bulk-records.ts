// The generic import writer (issue 21: "the import's per-object writers become one writer plus
// hooks"): rows of any custom object written a batch at a time through the record engine's batch
// writes (`createRecordsIn`, `updateRecordsIn`), which check every value by the engine's rules and
// emit one `record.*` event per record. Relations are filled by the related record's name or id,
// looked up once per batch (a many-to-many relation's cell names several, separated by `;`, each
// one not found is its row's problem); rows are matched on the import's `match_field`.
import { isId, newId } from '../../db/ids.js';
import type { TenantScope } from '../../db/tenant.js';
import { AppError } from '../../platform/errors/app-error.js';
import { objectDef } from '../../platform/registry/registry.service.js';
import { STANDARD_OBJECTS } from '../../platform/registry/standard-objects.js';
import { createRecordsIn, type NewRecord, updateRecordsIn } from '../records/record-batch.service.js';
import { linkedIdsOf } from '../records/record-links.service.js';
import type { CellProblem } from './import.schema.js';
import {
  type BulkWriter,
  findCompanies,
  findContacts,
  findOpportunities,
  lookedUp,
  rows,
} from './import-bulk.js';
import type { RowDraft } from './import-values.js';
import {
  customOf,
  failedRow,
  matchOn,
  problem,
  type RowResult,
  type RowWriter,
  type RunContext,
  type RunSettings,
  resolveOwner,
  setCustom,
  str,
} from './import-writers.js';

/**
 * A relation cell of a row: the field, the object it points to, and the name or id the cell gave;
 * `many`: one of the names or ids of a many-to-many relation's cell.
 */
export type RelationRef = { key: string; object: string; ref: string; many?: boolean };

/** A row of a custom object as the writer uses it (no database read yet). */
export type RecordDraft = {
  custom: Record<string, unknown>;
  relations: RelationRef[];
  ownerId: string | null | undefined;
  tags: string[];
  /** The match field's value, lower-cased, when the import matches rows on a field. */
  matchValue: string | undefined;
  problems: CellProblem[];
};

/** A record the batch's rows may match: its id and values. */
type Known = { id: string; custom: Record<string, unknown> };

export type RecordBatch = {
  drafts: RowDraft[];
  prepared: RecordDraft[];
  /** The field rows are matched on, if any. */
  field: string | undefined;
  /** Set by `lookup`: relations by object then reference, and records by match value. */
  found?: { related: Map<string, Map<string, string>>; matched: Map<string, Known> };
};

/** Reads a custom object's row: its values, the relations it names, owner, tags, match value. */
export function prepareRecord(run: RunSettings, draft: RowDraft): RecordDraft {
  const relationFields = run.relations ?? new Map<string, string>();
  const values: Record<string, unknown> = {};
  const relations: RelationRef[] = [];
  for (const [target, value] of Object.entries(draft.values)) {
    const object = relationFields.get(target);
    if (object && Array.isArray(value))
      for (const ref of value) relations.push({ key: target.slice(7), object, ref: String(ref), many: true });
    else if (object) {
      const ref = str(value);
      if (ref) relations.push({ key: target.slice(7), object, ref });
    } else values[target] = value;
  }
  const problems: CellProblem[] = [];
  const custom = customOf(run, values, problems);
  const field = run.matchField;
  const match = field ? custom[field] : undefined;
  return {
    custom,
    relations,
    ownerId: resolveOwner(run, draft.values.owner, problems),
    tags: [...new Set([...((draft.values.tags as string[] | undefined) ?? []), ...(run.options.tags ?? [])])],
    matchValue:
      typeof match === 'string' || typeof match === 'number' ? String(match).toLowerCase() : undefined,
    problems,
  };
}

/**
 * The problem of a relation cell naming no live record: the field is left empty; for one name of
 * a many-to-many cell, the record is not linked to it (the others found are linked).
 */
export const unknownRelated = (run: RunSettings, r: RelationRef) =>
  problem(
    run,
    `custom.${r.key}`,
    `unknown_${STANDARD_OBJECTS[r.object] ? r.object : 'record'}`,
    `No ${STANDARD_OBJECTS[r.object]?.labelSingular.toLowerCase() ?? r.object} has this name or id: ${r.many ? 'not linked' : 'the field is left empty'}`,
    r.ref,
  );

/**
 * Live records of `object` by id or by name (case-insensitive, the oldest first): companies by
 * external id or name, contacts by external id, e-mail or name, opportunities by external id or
 * title, a custom object's records by id or display field. One query or a few, whatever the count.
 * @returns reference -> record id, for the references found
 */
export async function findRelated(
  scope: TenantScope,
  object: string,
  refs: string[],
): Promise<Map<string, string>> {
  const unique = [...new Set(refs)];
  if (unique.length === 0) return new Map();
  if (object === 'company') return findCompanies(scope, unique);
  if (object === 'contact') return findContacts(scope, unique);
  if (object === 'opportunity') return findOpportunities(scope, unique);
  const def = await objectDef(scope.tx, scope.ctx.orgId, object);
  if (!def.custom) return new Map();
  const ids = unique.filter(isId).map((ref) => ref.toLowerCase());
  const found = await rows<{ key: string; id: string }>(
    scope,
    `select distinct on (key) key, id from (
       select id::text as key, id, created_at from records
        where org_id = $1 and object_id = $2 and archived_at is null and id = any($3::uuid[])
       union all
       select lower(custom->>$4), id, created_at from records
        where org_id = $1 and object_id = $2 and archived_at is null and lower(custom->>$4) = any($5::text[])
     ) x order by key, created_at`,
    [def.custom.id, ids, def.custom.displayField, unique.map((ref) => ref.toLowerCase())],
  );
  const byKey = new Map(found.map((r) => [r.key, r.id]));
  return new Map(
    unique.flatMap((ref) => {
      const id = byKey.get(ref.toLowerCase());
      return id ? [[ref, id] as const] : [];
    }),
  );
}

/**
 * The live records of the object whose match field has these values (lower-cased), the oldest
 * first, with all their values: those in `custom` and the ids their many-to-many fields link
 * (`linkedIdsOf`), so the dedup mode judges a relation's links as it judges any other value.
 */
async function recordsMatching(scope: TenantScope, object: string, field: string, values: string[]) {
  if (values.length === 0) return new Map<string, Known>();
  const def = await objectDef(scope.tx, scope.ctx.orgId, object);
  const found = await rows<{ key: string; id: string; custom: Record<string, unknown> }>(
    scope,
    `select distinct on (lower(custom->>$3)) lower(custom->>$3) as key, id, custom from records
      where org_id = $1 and object_id = $2 and archived_at is null and lower(custom->>$3) = any($4::text[])
      order by lower(custom->>$3), created_at`,
    [def.custom!.id, field, [...new Set(values)]],
  );
  const links = await linkedIdsOf(
    scope,
    def,
    found.map((r) => r.id),
  );
  return new Map(found.map((r) => [r.key, { id: r.id, custom: { ...r.custom, ...links.get(r.id) } }]));
}

/** A refused value as its row's problem, on the column of the field the engine named. */
function refusal(run: RunSettings, error: AppError): CellProblem {
  const first = error.errors?.[0];
  const key = first?.path?.startsWith('body.custom.') ? first.path.slice(12) : null;
  return {
    column: key ? run.headerOf(`custom.${key}`) : null,
    code: String(first?.code ?? error.code),
    message: first?.message ?? error.message,
  };
}

/**
 * The writer of a custom object's import, one per run (it carries the records the previous batch
 * created or changed, not committed when the next batch was looked up). Each batch: the rows read,
 * their relations and matches looked up in a few queries, then new records created with one insert
 * and matched ones updated with one update (dedup `update_empty` fills empty fields only,
 * `overwrite` replaces them, `skip` leaves them), every value checked by the record engine.
 */
export function recordBulkWriter(object: string): BulkWriter {
  const carry = new Map<string, Known>();
  return {
    prepare: (run, drafts): RecordBatch => ({
      drafts,
      prepared: drafts.map((d) => prepareRecord(run, d)),
      field: run.matchField,
    }),
    async lookup(scope, raw) {
      const batch = raw as RecordBatch;
      const byObject = new Map<string, string[]>();
      for (const p of batch.prepared)
        for (const r of p.relations) byObject.set(r.object, [...(byObject.get(r.object) ?? []), r.ref]);
      const related = new Map<string, Map<string, string>>();
      for (const [o, refs] of byObject) related.set(o, await findRelated(scope, o, refs));
      const { field } = batch;
      const matched = field
        ? await recordsMatching(
            scope,
            object,
            field,
            batch.prepared.flatMap((p) => (p.matchValue ? [p.matchValue] : [])),
          )
        : new Map<string, Known>();
      batch.found = { related, matched };
    },
    write: (run, raw, writeOne) => writeRecordBatch(run, object, raw as RecordBatch, carry, writeOne),
  };
}

/**
 * Writes a looked-up batch: each row's relations set (an unknown one left empty, with its problem),
 * then matched to a record (the lookup's, the previous batch's, an earlier row's) or created.
 * A constraint refusing the batch's statements (a record changed meanwhile) rolls them back and
 * the rows are written one by one (`writeOne`). @returns one result per row, in order
 */
async function writeRecordBatch(
  run: RunContext,
  object: string,
  batch: RecordBatch,
  carry: Map<string, Known>,
  writeOne: ((draft: RowDraft) => Promise<RowResult>) | null,
): Promise<RowResult[]> {
  const { related, matched } = lookedUp(batch);
  const known = new Map([...matched, ...carry]);
  const results: (RowResult | null)[] = batch.prepared.map(() => null);
  const creates: { row: number; item: NewRecord & { id: string } }[] = [];
  const updates: { row: number; id: string; patch: Record<string, unknown>; match: string }[] = [];
  for (const [i, p] of batch.prepared.entries()) {
    const problems = [...p.problems];
    const custom = { ...p.custom };
    for (const r of p.relations) {
      const id = related.get(r.object)?.get(r.ref);
      if (!id) problems.push(unknownRelated(run, r));
      else if (r.many) custom[r.key] = [...((custom[r.key] as string[] | undefined) ?? []), id];
      else custom[r.key] = id;
    }
    const { field } = batch;
    const match = p.matchValue ? known.get(p.matchValue) : undefined;
    const key =
      field && p.matchValue ? matchOn(run, 'field', String(p.custom[field]), `custom.${field}`) : undefined;
    if (match && key) {
      if (run.dedup === 'skip') {
        results[i] = { outcome: 'skipped', recordId: match.id, problems, match: key };
        continue;
      }
      const patch: Record<string, unknown> = {};
      setCustom(run, patch, {}, custom, match.custom);
      const values = (patch.custom as Record<string, unknown> | undefined) ?? {};
      results[i] = { outcome: 'skipped', recordId: match.id, problems, match: key };
      if (Object.keys(values).length > 0) {
        updates.push({ row: i, id: match.id, patch: values, match: p.matchValue! });
        match.custom = { ...match.custom, ...values };
      }
      continue;
    }
    const id = newId();
    creates.push({ row: i, item: { id, custom, ownerId: p.ownerId ?? run.importerId, tags: p.tags } });
    results[i] = { outcome: 'created', recordId: id, problems };
    if (p.matchValue) known.set(p.matchValue, { id, custom });
  }
  try {
    await run.scope.tx.transaction(async (sp) => {
      const scope = { ...run.scope, tx: sp };
      const created = await createRecordsIn(
        scope,
        run.services,
        object,
        creates.map((c) => c.item),
      );
      for (const [k, outcome] of created.entries())
        if (!outcome.ok) {
          const { row } = creates[k]!;
          results[row] = failedRow([...results[row]!.problems, refusal(run, outcome.error)]);
          for (const [value, rec] of known) if (rec.id === creates[k]!.item.id) known.delete(value);
        }
      const changed = await updateRecordsIn(
        scope,
        run.services,
        object,
        updates.map((u) => ({ id: u.id, custom: u.patch })),
      );
      for (const [k, outcome] of changed.entries()) {
        const { row } = updates[k]!;
        const result = results[row]!;
        if (!outcome.ok) results[row] = failedRow([...result.problems, refusal(run, outcome.error)]);
        else if (outcome.changed)
          results[row] = { ...result, outcome: 'updated', before: { custom: outcome.before } };
      }
    });
  } catch (error) {
    if (!writeOne || !(error instanceof AppError || isConstraint(error))) throw error;
    for (const [i, draft] of batch.drafts.entries()) results[i] = await writeOne(draft);
  }
  carry.clear();
  for (const [value, rec] of known) if (results.some((r) => r?.recordId === rec.id)) carry.set(value, rec);
  return results.map((r) => r!);
}

/** A database constraint error (SQLSTATE class 23): someone wrote a conflicting record meanwhile. */
const isConstraint = (error: unknown) => /^23/.test(String((error as { code?: unknown })?.code ?? ''));

/**
 * One custom object row in its own savepoint (a batch's fallback): the same lookups and writes as
 * `recordBulkWriter`, for one row.
 */
export const writeRecord: RowWriter = async (run, draft) => {
  const object = run.object!;
  const writer = recordBulkWriter(object);
  const batch = writer.prepare(run, [draft]) as RecordBatch;
  await writer.lookup(run.scope, batch);
  const [result] = await writeRecordBatch(run, object, batch, new Map(), null);
  return result ?? failedRow([]);
};
