// What the row-by-row import writers (writers-contacts, writers-companies, writers-opportunities,
// writers-activities) share: the run, a row's result, references and the dedup-mode rules.
import { isId } from '../../db/ids.js';
import type { TenantScope } from '../../db/tenant.js';
import type { Services } from '../../platform/http/types.js';
import { toE164 } from '../../platform/registry/phone.js';
import type { loadPipeline } from '../pipelines/pipeline.service.js';
import {
  type CellProblem,
  type DedupMode,
  externalIds,
  type ImportOptionValues,
  MATCHED,
  type MatchKey,
  type RowOutcome,
} from './import.schema.js';
import type { TargetKind } from './import-targets.js';
import type { Money, RowDraft } from './import-values.js';

export type PipelineView = Awaited<ReturnType<typeof loadPipeline>>;

/** What every batch of an import shares: its settings and lookups made once. */
export type RunSettings = {
  services: Services;
  importId: string;
  /** The user who started the import: owner of records whose owner is unknown. */
  importerId: string | null;
  dedup: DedupMode;
  options: ImportOptionValues;
  members: { id: string; name: string; email: string }[];
  /** How the cells of each custom field (by key) were read: `customOf` turns them into its values. */
  customKinds: ReadonlyMap<string, TargetKind>;
  /** The file column a target was read from, for problems found while writing. */
  headerOf: (target: string) => string | null;
  pipelines: Map<string, PipelineView>;
  /** A custom object's import (`bulk-records.ts`): the object, its relation targets and match field. */
  object?: string | undefined;
  /** `custom.<key>` of each relation field -> the object it points to. */
  relations?: ReadonlyMap<string, string> | undefined;
  /** The field (key) rows are matched on (`match_field`), if any. */
  matchField?: string | undefined;
};

/** A batch's run: the import's settings and the batch's tenant transaction. */
export type RunContext = RunSettings & { scope: TenantScope };

/** What happened to one row. `before` holds the overwritten values (an update input) for revert. */
export type RowResult = {
  outcome: RowOutcome;
  recordId: string | null;
  before?: Record<string, unknown> | undefined;
  problems: CellProblem[];
  /** A skipped or updated row: what it matched its record by (the key, its value, its column). */
  match?: RowMatch | undefined;
};

export type RowMatch = { by: MatchKey; value: string; column: string | null };

const MATCH_WORDS: Record<MatchKey, string> = {
  external_id: 'external id',
  email: 'e-mail',
  phone: 'phone',
  domain: 'domain',
  name: 'name',
  field: 'its match field',
};

/** The note a matched row keeps (`MATCHED`): why it was skipped or updated rather than created. */
export const matchNote = (m: RowMatch): CellProblem => ({
  column: m.column,
  code: MATCHED,
  message: `Matched an existing record (or an earlier row of the file) by ${MATCH_WORDS[m.by]}`,
  value: m.value,
  by: m.by,
});

/** A row's match on `by` (its column from the mapping): `RowMatch`. */
export const matchOn = (run: RunSettings, by: MatchKey, value: string, target: string = by): RowMatch => ({
  by,
  value,
  column: run.headerOf(target),
});

/**
 * The problem of a row whose record goes by another name than the row's (a different person for
 * the same e-mail, a different company for the same phone): listed whatever the mode, and saying
 * whether the update renames the record.
 */
export function conflictingMatch(
  run: RunSettings,
  object: string,
  nameTarget: string,
  rowName: string,
  recordName: string,
  by: MatchKey,
  renames: boolean,
): CellProblem {
  return problem(
    run,
    nameTarget,
    'conflicting_match',
    `Matched ${object} "${recordName}" by ${MATCH_WORDS[by]}, but this row names "${rowName}": ` +
      (renames ? `the ${object} is renamed` : `the ${object} keeps its name`),
    rowName,
  );
}

/** Names as people would compare them: case, accents and spacing aside. */
export const sameName = (a: string, b: string) => {
  const norm = (x: string) =>
    x.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();
  return norm(a) === norm(b);
};

export type RowWriter = (run: RunContext, draft: RowDraft) => Promise<RowResult>;

/** The result of a row that was not written, with why. */
export const failedRow = (problems: CellProblem[]): RowResult => ({
  outcome: 'failed',
  recordId: null,
  problems,
});

export const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

const isEmpty = (v: unknown) =>
  v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0);

/**
 * A row's custom values by key, as the records API takes them (`parseCustomValues`). A user
 * field's cell names a member by name or e-mail and becomes the member's id (a name no member
 * has leaves the field empty, with an `unknown_member` problem); a phone goes as typed when it
 * reads the same without the import's region, else as E.164; an amount without currency is in USD.
 */
export function customOf(
  run: RunSettings,
  values: Record<string, unknown>,
  problems: CellProblem[],
): Record<string, unknown> {
  const custom: Record<string, unknown> = {};
  for (const [target, value] of Object.entries(values)) {
    if (!target.startsWith('custom.')) continue;
    const key = target.slice(7);
    const kind = run.customKinds.get(key);
    const ref = str(value);
    if (kind === 'reference' && ref) custom[key] = memberOf(run, ref, target, problems);
    else if (kind === 'phone' && value) custom[key] = phoneInput(value as { e164: string; raw: string });
    else if (kind === 'currency' && value) custom[key] = moneyInput(value as Money);
    else custom[key] = value;
  }
  return custom;
}

/** A custom currency value: an amount whose cell named no currency is in USD, as an opportunity's. */
const moneyInput = (money: Money) => ({ amount: money.amount, currency: money.currency ?? 'USD' });

const phoneInput = (phone: { e164: string; raw: string }): string =>
  toE164(phone.raw) === phone.e164 ? phone.raw : phone.e164;

/** The member with this e-mail or name (case-insensitive), or null with an `unknown_member` problem. */
function memberOf(run: RunSettings, ref: string, target: string, problems: CellProblem[]): string | null {
  const id = findMember(run, ref);
  if (!id)
    problems.push(
      problem(
        run,
        target,
        'unknown_member',
        'No member has this name or e-mail: the field is left empty',
        ref,
      ),
    );
  return id;
}

/** A member by id (as Cairn exports a user field), e-mail or name, case-insensitive. */
const findMember = (run: RunSettings, ref: string): string | null => {
  const lower = ref.toLowerCase();
  const member = run.members.find(
    (m) => m.id === ref || m.email.toLowerCase() === lower || m.name.toLowerCase() === lower,
  );
  return member?.id ?? null;
};

export function problem(
  run: RunSettings,
  target: string,
  code: string,
  message: string,
  value?: string,
): CellProblem {
  return { column: run.headerOf(target), code, message, ...(value !== undefined ? { value } : {}) };
}

/**
 * The record an external id points to, when it is still active; failing that, the active record
 * whose own id it is (a file exported by Cairn).
 */
export async function recordOfExternalId(
  scope: TenantScope,
  object: string,
  externalId: string,
): Promise<string | null> {
  const table = {
    contact: 'contacts',
    company: 'companies',
    opportunity: 'opportunities',
    task: 'tasks',
    note: 'notes',
    product: 'products',
  }[object];
  // Notes have no archive: they are deleted.
  const active = object === 'note' ? '' : 'and r.archived_at is null';
  const { rows } = await scope.conn.query(
    `select x.record_id from external_ids x join ${table} r on r.org_id = x.org_id and r.id = x.record_id
      where x.org_id = $1 and x.object = $2 and x.external_id = $3 ${active}`,
    [scope.ctx.orgId, object, externalId],
  );
  const found = (rows[0] as { record_id: string } | undefined)?.record_id;
  if (found || !isId(externalId)) return found ?? null;
  // A file exported by Cairn names records by their own ids.
  return firstId(scope, `select r.id from ${table} r where r.org_id = $1 and r.id = $2 ${active}`, [
    externalId,
  ]);
}

export async function rememberExternalId(
  run: RunContext,
  object: string,
  externalId: unknown,
  recordId: string,
) {
  if (typeof externalId !== 'string' || !externalId) return;
  await run.scope.tx
    .insert(externalIds)
    .values({ orgId: run.scope.ctx.orgId, object, externalId, recordId, importId: run.importId })
    .onConflictDoUpdate({
      target: [externalIds.orgId, externalIds.object, externalIds.externalId],
      set: { recordId, importId: run.importId },
    });
}

export async function firstId(scope: TenantScope, text: string, params: unknown[]): Promise<string | null> {
  const { rows } = await scope.conn.query(text, [scope.ctx.orgId, ...params]);
  return (rows[0] as { id: string } | undefined)?.id ?? null;
}

/** A member by e-mail or name (case-insensitive); an unknown one is a problem and the importer owns. */
export function resolveOwner(
  run: RunSettings,
  value: unknown,
  problems: CellProblem[],
): string | null | undefined {
  const ref = str(value);
  if (!ref) return undefined;
  return resolveOwnerAs(run, ref, 'owner', problems);
}

export function resolveOwnerAs(
  run: RunSettings,
  ref: string,
  target: string,
  problems: CellProblem[],
): string | null {
  const member = findMember(run, ref);
  if (member) return member;
  problems.push(
    problem(
      run,
      target,
      `unknown_${target}`,
      `No member has this name or e-mail; the importer is the ${target}`,
      ref,
    ),
  );
  return run.importerId;
}

/** A company by external id, then by name (case-insensitive), among active companies. */
export async function findCompany(scope: TenantScope, ref: string): Promise<string | null> {
  return (
    (await recordOfExternalId(scope, 'company', ref)) ??
    (await firstId(
      scope,
      'select id from companies where org_id = $1 and lower(name) = lower($2) and archived_at is null order by created_at limit 1',
      [ref],
    ))
  );
}

export async function findContact(scope: TenantScope, ref: string): Promise<string | null> {
  return (
    (await recordOfExternalId(scope, 'contact', ref)) ??
    (await firstId(
      scope,
      'select contact_id as id from contact_emails where org_id = $1 and email = lower($2) and active limit 1',
      [ref],
    )) ??
    (await firstId(
      scope,
      `select id from contacts where org_id = $1 and archived_at is null
          and lower(concat_ws(' ', first_name, last_name)) = lower($2) order by created_at limit 1`,
      [ref],
    ))
  );
}

/**
 * Applies the dedup mode to one field: `overwrite` replaces any different value; `update_empty`
 * fills an empty one only. Records the old value in `before` when it changes.
 */
export function setField(
  run: RunSettings,
  patch: Record<string, unknown>,
  before: Record<string, unknown>,
  key: string,
  value: unknown,
  current: unknown,
) {
  if (value === undefined) return;
  const changes =
    run.dedup === 'overwrite' ? JSON.stringify(value) !== JSON.stringify(current) : isEmpty(current);
  if (!changes) return;
  patch[key] = value;
  before[key] = current ?? null;
}

export function setCustom(
  run: RunSettings,
  patch: Record<string, unknown>,
  before: Record<string, unknown>,
  incoming: Record<string, unknown>,
  current: Record<string, unknown>,
) {
  const p: Record<string, unknown> = {};
  const b: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(incoming)) setField(run, p, b, key, value, current[key]);
  if (Object.keys(p).length > 0) {
    patch.custom = p;
    before.custom = b;
  }
}

export function union<T>(current: T[], incoming: T[], key: (x: T) => string): T[] {
  const seen = new Set(current.map(key));
  return incoming.filter((x) => !seen.has(key(x)));
}
