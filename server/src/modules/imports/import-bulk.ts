// The bulk write path of imports, shared by its writers (bulk-contacts, bulk-companies,
// bulk-opportunities): batch lookups, the savepoint that falls back to row by row, external ids.
import { isId } from '../../db/ids.js';
import type { TenantScope } from '../../db/tenant.js';
import { AppError } from '../../platform/errors/app-error.js';
import { mapDatabaseError } from '../../platform/errors/db-errors.js';
import { checkedInDatabase, parseCustomValuesIn } from '../../platform/registry/field-references.js';
import { mergeCustom, parseCustomValues } from '../../platform/registry/field-values.js';
import { objectDef } from '../../platform/registry/registry.service.js';
import { STANDARD_OBJECTS } from '../../platform/registry/standard-objects.js';
import type { CellProblem } from './import.schema.js';
import type { RowDraft } from './import-values.js';
import { failedRow, type RowResult, type RunContext, type RunSettings } from './import-writers.js';

/** Writes one row in its own savepoint; a row that fails comes back as a failed result. */
export type WriteOne = (draft: RowDraft) => Promise<RowResult>;

/** The problem a known error (bad value, constraint) leaves on a failed row. */
export function problemOf(error: unknown): CellProblem | null {
  const known = error instanceof AppError ? error : mapDatabaseError(error);
  if (!known) return null;
  return { column: null, code: String(known.code), message: known.errors?.[0]?.message ?? known.message };
}

export async function rows<T>(scope: TenantScope, text: string, params: unknown[]): Promise<T[]> {
  return (await scope.conn.query(text, [scope.ctx.orgId, ...params])).rows as T[];
}

export const TABLES: Record<string, string> = {
  contact: 'contacts',
  company: 'companies',
  opportunity: 'opportunities',
};

/**
 * The active records of `object` that external ids point to, or whose own ids they are (a file
 * exported by Cairn): `recordOfExternalId` for many.
 * @returns external id -> record id, for the ids found
 */
export async function recordsOfExternalIds(
  scope: TenantScope,
  object: 'contact' | 'company' | 'opportunity',
  externalIds: string[],
): Promise<Map<string, string>> {
  if (externalIds.length === 0) return new Map();
  const found = await rows<{ ref: string; id: string }>(
    scope,
    `select x.external_id as ref, x.record_id as id from external_ids x
       join ${TABLES[object]} r on r.org_id = x.org_id and r.id = x.record_id and r.archived_at is null
      where x.org_id = $1 and x.object = $2 and x.external_id = any($3::text[])`,
    [object, externalIds],
  );
  const byRef = new Map(found.map((r) => [r.ref, r.id]));
  // A file exported by Cairn names records by their own ids.
  const ids = new Map(
    externalIds.filter((ref) => !byRef.has(ref) && isId(ref)).map((ref) => [ref.toLowerCase(), ref]),
  );
  if (ids.size > 0)
    for (const r of await rows<{ id: string }>(
      scope,
      `select id from ${TABLES[object]} where org_id = $1 and id = any($2::uuid[]) and archived_at is null`,
      [[...ids.keys()]],
    ))
      byRef.set(ids.get(r.id)!, r.id);
  return byRef;
}

/**
 * Companies by external id, then by name, or opportunities by external id, then by title
 * (case-insensitive, the oldest first), among active records: `findCompany` and
 * `findOpportunity` for many references in two queries.
 * @returns reference -> record id, for the references found
 */
async function findNamed(
  scope: TenantScope,
  object: 'company' | 'opportunity',
  refs: string[],
): Promise<Map<string, string>> {
  const unique = [...new Set(refs)];
  const found = await recordsOfExternalIds(scope, object, unique);
  const byName = unique.filter((ref) => !found.has(ref));
  if (byName.length === 0) return found;
  // The name a record goes by, as the object registry says (companies' name, opportunities' title).
  const def = STANDARD_OBJECTS[object]!;
  const name = `lower(${def.titleSql!('t')})`;
  const ids = new Map(
    (
      await rows<{ name: string; id: string }>(
        scope,
        `select distinct on (${name}) ${name} as name, t.id from ${def.table} t
          where t.org_id = $1 and ${name} = any($2::text[]) and t.archived_at is null
          order by ${name}, t.created_at`,
        [byName.map((ref) => ref.toLowerCase())],
      )
    ).map((r) => [r.name, r.id]),
  );
  for (const ref of byName) {
    const id = ids.get(ref.toLowerCase());
    if (id) found.set(ref, id);
  }
  return found;
}

/** Companies by external id, then name: `findNamed`. */
export const findCompanies = (scope: TenantScope, refs: string[]) => findNamed(scope, 'company', refs);

/** Opportunities by external id, then title: `findNamed`. */
export const findOpportunities = (scope: TenantScope, refs: string[]) =>
  findNamed(scope, 'opportunity', refs);

/**
 * Contacts by external id, then e-mail, then full name (case-insensitive, the oldest first),
 * among active contacts: `findContact` for many references in three queries.
 * @returns reference -> contact id, for the references found
 */
export async function findContacts(scope: TenantScope, refs: string[]): Promise<Map<string, string>> {
  let left = [...new Set(refs)];
  const found = await recordsOfExternalIds(scope, 'contact', left);
  left = left.filter((ref) => !found.has(ref));
  if (left.length > 0) {
    const byEmail = new Map(
      (
        await rows<{ email: string; id: string }>(
          scope,
          `select email, contact_id as id from contact_emails
            where org_id = $1 and active and email = any($2::text[])`,
          [left.map((ref) => ref.toLowerCase())],
        )
      ).map((r) => [r.email, r.id]),
    );
    for (const ref of left) {
      const id = byEmail.get(ref.toLowerCase());
      if (id) found.set(ref, id);
    }
    left = left.filter((ref) => !found.has(ref));
  }
  if (left.length > 0) {
    const byName = new Map(
      (
        await rows<{ name: string; id: string }>(
          scope,
          `select distinct on (lower(concat_ws(' ', first_name, last_name)))
              lower(concat_ws(' ', first_name, last_name)) as name, id
             from contacts
            where org_id = $1 and archived_at is null
              and lower(concat_ws(' ', first_name, last_name)) = any($2::text[])
            order by lower(concat_ws(' ', first_name, last_name)), created_at`,
          [left.map((ref) => ref.toLowerCase())],
        )
      ).map((r) => [r.name, r.id]),
    );
    for (const ref of left) {
      const id = byName.get(ref.toLowerCase());
      if (id) found.set(ref, id);
    }
  }
  return found;
}

/**
 * Runs a batch's inserts in a savepoint: each new row's result becomes `created`. When a
 * constraint refuses them (someone else wrote a conflicting record meanwhile) they are rolled
 * back and the new rows join `later`, to be written one by one with their own outcomes.
 */
export async function insertOrDefer(
  scope: TenantScope,
  created: { id: string; row: number; problems: CellProblem[] }[],
  insert: (savepoint: TenantScope) => Promise<void>,
  results: (RowResult | null)[],
  later: number[],
): Promise<void> {
  if (created.length === 0) return;
  try {
    await scope.tx.transaction((sp) => insert({ ...scope, tx: sp }));
  } catch (error) {
    if (!problemOf(error)) throw error;
    later.push(...created.map((n) => n.row));
    return;
  }
  for (const n of created) results[n.row] = { outcome: 'created', recordId: n.id, problems: n.problems };
}

/**
 * Runs a batch's updates (rows matching a record, dedup `update_empty` or `overwrite`) with one
 * bulk update in a savepoint: `resultOf` turns each row's answer into its result, a row the
 * update refused (`resultOf` throws its error) fails with the reason and the row's `problems`,
 * and a row whose record the update did not find (`resultOf` returns null) joins `later`.
 * When a constraint refuses the whole (someone else wrote a conflicting record meanwhile) it is
 * rolled back and the rows join `later`, to be written one by one with their own outcomes. So do
 * they when `later` already holds rows (the batch's inserts fell back: a match may be a record
 * never written).
 */
export async function updateOrDefer<M extends { row: number }, R>(
  scope: TenantScope,
  matched: M[],
  update: (savepoint: TenantScope) => Promise<R[]>,
  resultOf: (m: M, r: R) => RowResult | null,
  problems: (m: M) => CellProblem[],
  results: (RowResult | null)[],
  later: number[],
): Promise<void> {
  if (matched.length === 0) return;
  if (later.length > 0) {
    later.push(...matched.map((m) => m.row));
    return;
  }
  let answers: R[];
  try {
    answers = await scope.tx.transaction((sp) => update({ ...scope, tx: sp }));
  } catch (error) {
    if (!problemOf(error)) throw error;
    later.push(...matched.map((m) => m.row));
    return;
  }
  for (const [k, m] of matched.entries()) {
    try {
      const result = resultOf(m, answers[k]!);
      if (result) results[m.row] = result;
      else later.push(m.row);
    } catch (error) {
      const p = problemOf(error);
      if (!p) throw error;
      results[m.row] = failedRow([...problems(m), p]);
    }
  }
}

/**
 * The end of a batch write whose only keys are external ids: the rows left for one by one
 * (`later`) written through `writeOne` in file order, then `carry` (for the next batch) set to
 * each external id of the batch with the record its row ended up with.
 * @returns one result per row, in order
 */
export async function finishWithExternalIds(
  drafts: RowDraft[],
  externalIds: readonly (string | null | undefined)[],
  results: (RowResult | null)[],
  later: number[],
  writeOne: WriteOne,
  carry: Map<string, string>,
): Promise<RowResult[]> {
  for (const i of later.sort((a, b) => a - b)) results[i] = await writeOne(drafts[i]!);
  carry.clear();
  for (const [i, externalId] of externalIds.entries()) {
    const id = results[i]?.recordId;
    if (externalId && id) carry.set(externalId, id);
  }
  return results.map((r) => r!);
}

/** `rememberExternalId` for many records: one upsert. */
export async function rememberExternalIds(
  run: RunContext,
  object: string,
  ids: { externalId: string; id: string }[],
  scope: TenantScope = run.scope,
): Promise<void> {
  // One row per external id (the last wins, as row-by-row upserts would leave it).
  const last = [...new Map(ids.map((x) => [x.externalId, x.id])).entries()];
  await scope.conn.query(
    `insert into external_ids (org_id, object, external_id, record_id, import_id)
     select $1, $2, x.external_id, x.record_id, $3
       from jsonb_to_recordset($4::jsonb) as x(external_id text, record_id uuid)
     on conflict (org_id, object, external_id)
       do update set record_id = excluded.record_id, import_id = excluded.import_id`,
    [
      scope.ctx.orgId,
      object,
      run.importId,
      JSON.stringify(last.map(([external_id, record_id]) => ({ external_id, record_id }))),
    ],
  );
}

/** Dedup keys of a bulk writer: per kind of key (external id, e-mail...), value -> record id. */
export type KeyMaps = Record<string, Map<string, string>>;

/**
 * The keys a batch is matched against: the previous batch's `carry` (written, maybe not committed
 * yet, so the lookup could not see it) with what the lookup found over it. New maps: the batch adds
 * its own rows to them.
 */
export function keysWithCarry<K extends KeyMaps>(carry: K, found: K): K {
  return Object.fromEntries(
    Object.keys(carry).map((kind) => [kind, new Map([...carry[kind]!, ...found[kind]!])]),
  ) as K;
}

/** What `lookup` found for a batch: the runner writes a bulk batch only after its lookup. */
export function lookedUp<F>(batch: { found?: F }): F {
  if (!batch.found) throw new Error('An import batch was written before its lookup');
  return batch.found;
}

/** What every bulk batch holds: its rows as read, in file order. */
export type BulkBatch = { drafts: RowDraft[] };

/**
 * An object whose new rows are written a batch at a time, in three steps: `prepare` reads the
 * rows (no database), `lookup` finds what they match (its own transaction, while the previous
 * batch is written), `write` writes them in the batch's transaction. One per import run: it
 * carries keys from one batch to the next.
 */
export type BulkWriter = {
  prepare(run: RunSettings, drafts: RowDraft[]): BulkBatch;
  lookup(scope: TenantScope, batch: BulkBatch): Promise<void>;
  write(run: RunContext, batch: BulkBatch, writeOne: WriteOne): Promise<RowResult[]>;
};

/**
 * Batches of a `PipelinedWriter` written at once on a server database. A batch's lookup runs while
 * the batches before it are written, so as many may not have committed when it ran: its plan
 * relies on their keys.
 */
export const PIPELINE_DEPTH = 2;

/**
 * A bulk writer whose batches may be written two at a time, each on its own connection (on a
 * PostgreSQL server): `plan` decides each row's outcome (no database; batches are planned in
 * file order, each relying on the plans before it, which may not be committed yet); `register`
 * writes what its new records share with other batches (tags), in a transaction of its own; `insert`
 * writes the new records, which no other batch of the import writes, so it runs before the
 * batches before it have committed; `finish` writes the rest (updates of matched records, rows
 * left for one by one) once they have. `stale` says whether a batch was planned on keys an earlier
 * batch no longer has (its rows ended otherwise than planned): it is then looked up and planned
 * again (`fresh`: on the database alone, every earlier batch being committed).
 */
export type PipelinedWriter = Omit<BulkWriter, 'write'> & {
  plan(run: RunSettings, batch: BulkBatch, fresh: boolean): void;
  register(scope: TenantScope, batch: BulkBatch): Promise<void>;
  stale(batch: BulkBatch): boolean;
  insert(run: RunContext, batch: BulkBatch): Promise<void>;
  finish(run: RunContext, batch: BulkBatch, writeOne: WriteOne): Promise<RowResult[]>;
};

/** A new row's custom values as they will be stored, or the problem that fails the row. */
export type StoredCustom =
  | { ok: true; custom: Record<string, unknown> }
  | { ok: false; problem: CellProblem };

/**
 * The custom values each row of a batch would be created with (`parseCustomValuesIn`, creating),
 * `null` for a row that cannot be written at all (`customs[i]` null). Run by a bulk writer's
 * `lookup`, so the batch's transaction does not wait on it. Only relation and user fields need
 * the database (a query per value); an object without them is checked without an `await` per row,
 * which would let the rows read meanwhile run first.
 * @returns one entry per row, in order; a bad value or an unknown record is the row's problem
 */
export async function storedCustoms(
  scope: TenantScope,
  object: string,
  customs: (Record<string, unknown> | null)[],
): Promise<(StoredCustom | null)[]> {
  const def = await objectDef(scope.tx, scope.ctx.orgId, object);
  const options = { path: 'body.custom', creating: true };
  const stored = (values: Record<string, unknown>): StoredCustom => ({
    ok: true,
    custom: mergeCustom({}, values),
  });
  const refused = (error: unknown): StoredCustom => {
    const problem = problemOf(error);
    if (!problem) throw error;
    return { ok: false, problem };
  };
  const checksReferences = def.fields.some(checkedInDatabase);
  const out: (StoredCustom | null)[] = [];
  for (const custom of customs) {
    if (!custom) out.push(null);
    else if (!checksReferences)
      try {
        out.push(stored(parseCustomValues(def, custom, options)));
      } catch (error) {
        out.push(refused(error));
      }
    else out.push(await parseCustomValuesIn(scope, def, custom, options).then(stored, refused));
  }
  return out;
}
