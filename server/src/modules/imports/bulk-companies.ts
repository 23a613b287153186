// Companies an import creates, written a batch at a time (import-bulk.ts).

import { newId } from '../../db/ids.js';
import type { TenantScope } from '../../db/tenant.js';
import { normalizeTag } from '../../platform/registry/field-values.js';
import { emitCompaniesCreatedIn } from '../companies/company.service.js';
import { updateCompaniesIn } from '../companies/company-updates.service.js';
import { ensureTags } from '../tags/tag.service.js';
import {
  type BulkWriter,
  findCompanies,
  insertOrDefer,
  keysWithCarry,
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
import { failedRow, type RowMatch, type RowResult, type RunContext } from './import-writers.js';
import {
  type CompanyDraft,
  companyConflict,
  companyMatchOf,
  companyNames,
  companyUpdate,
  parentPending,
  prepareCompany,
  updatedCompanyRow,
} from './writers-companies.js';

/** Which company each dedup key points to: external id, phone (E.164), domain, lower-cased name. */
type CompanyKeys = {
  external: Map<string, string>;
  phone: Map<string, string>;
  domain: Map<string, string>;
  name: Map<string, string>;
  /** Company id -> its name (a row matching a company of another name is a conflict). */
  names: Map<string, string>;
};

const emptyCompanyKeys = (): CompanyKeys => ({
  external: new Map(),
  phone: new Map(),
  domain: new Map(),
  name: new Map(),
  names: new Map(),
});

/** A batch of company rows on its way: read, then looked up, then written. */
export type CompanyBatch = {
  drafts: RowDraft[];
  prepared: (CompanyDraft | RowResult)[];
  /** Set by `lookupCompanyBatch`: the records its rows match, and each row's custom values. */
  found?: CompanyKeys & { parents: Map<string, string>; custom: (StoredCustom | null)[] };
};

/** The first company (the oldest) per value of `column`, among active companies. */
async function companiesBy(scope: TenantScope, column: 'phone' | 'domain' | 'lower(name)', values: string[]) {
  if (values.length === 0) return new Map<string, string>();
  const found = await rows<{ key: string; id: string }>(
    scope,
    `select distinct on (${column}) ${column} as key, id from companies
      where org_id = $1 and archived_at is null and ${column} = any($2::text[])
      order by ${column}, created_at`,
    [values],
  );
  return new Map(found.map((r) => [r.key, r.id]));
}

/** Looks up, for a whole batch, the active companies its rows match and the parents they name. */
export async function lookupCompanyBatch(scope: TenantScope, batch: CompanyBatch): Promise<void> {
  const ready = batch.prepared.filter((p): p is CompanyDraft => !('outcome' in p));
  const some = (f: (p: CompanyDraft) => string | undefined) =>
    ready.flatMap((p) => {
      const v = f(p);
      return v ? [v] : [];
    });
  const found = {
    external: await recordsOfExternalIds(
      scope,
      'company',
      some((p) => p.externalId),
    ),
    phone: await companiesBy(
      scope,
      'phone',
      some((p) => p.phone),
    ),
    domain: await companiesBy(
      scope,
      'domain',
      some((p) => p.domain),
    ),
    name: await companiesBy(
      scope,
      'lower(name)',
      some((p) => p.input.name.toLowerCase()),
    ),
    parents: await findCompanies(
      scope,
      some((p) => p.parentRef),
    ),
    custom: await storedCustoms(
      scope,
      'company',
      batch.prepared.map((p) => ('outcome' in p ? null : p.custom)),
    ),
  };
  const ids = [found.external, found.phone, found.domain, found.name].flatMap((m) => [...m.values()]);
  batch.found = { ...found, names: await companyNames(scope, ids) };
}

type NewCompany = { id: string; row: number; c: CompanyDraft; parentId: string | null };

/**
 * `writeContactBatch` for companies: matched by external id, then phone, then domain, then name
 * (as `writeCompany`; the lookup, the previous batch's `carry`, earlier rows of this batch). A
 * parent is found among existing companies and earlier rows (of this batch too: a parent and its
 * subsidiary go in with the same insert); one not found yet is left pending for the pass after
 * the last row. New companies go in with one insert each for the companies, their external ids
 * and their events.
 * @returns one result per draft, in order
 */
export async function writeCompanyBatch(
  run: RunContext,
  batch: CompanyBatch,
  carry: CompanyKeys,
  writeOne: WriteOne,
): Promise<RowResult[]> {
  const { scope } = run;
  const found = lookedUp(batch);
  const results: (RowResult | null)[] = batch.prepared.map((p) => ('outcome' in p ? p : null));
  const keys = keysWithCarry(carry, found);
  const keep = (c: CompanyDraft, id: string, k: CompanyKeys = keys) => {
    if (c.externalId) k.external.set(c.externalId, id);
    if (c.phone && !k.phone.has(c.phone)) k.phone.set(c.phone, id);
    if (c.domain && !k.domain.has(c.domain)) k.domain.set(c.domain, id);
    if (!k.name.has(c.input.name.toLowerCase())) k.name.set(c.input.name.toLowerCase(), id);
    if (!k.names.has(id)) k.names.set(id, c.input.name);
  };
  const created: NewCompany[] = [];
  const matched: { row: number; id: string; c: CompanyDraft; parentId: string | null; match: RowMatch }[] =
    [];
  const remembered: { externalId: string; id: string }[] = [];
  for (const [i, c] of batch.prepared.entries()) {
    if ('outcome' in c) continue;
    let parentId: string | null = null;
    if (c.parentRef) {
      parentId =
        keys.external.get(c.parentRef) ??
        found.parents.get(c.parentRef) ??
        keys.name.get(c.parentRef.toLowerCase()) ??
        null;
      if (!parentId) c.problems.push(parentPending(run, c.parentRef));
    }
    const matching = companyMatchOf(
      run,
      c,
      (kind, value) => keys[kind].get(value),
      (id) => keys.names.get(id),
    );
    if (matching) {
      const { id: match, key } = matching;
      const conflict = companyConflict(run, c, keys.names.get(match), key.by);
      if (conflict) c.problems.push(conflict);
      if (run.dedup === 'skip') {
        results[i] = { outcome: 'skipped', recordId: match, problems: c.problems, match: key };
        if (c.externalId) {
          remembered.push({ externalId: c.externalId, id: match });
          keys.external.set(c.externalId, match);
        }
      } else {
        matched.push({ row: i, id: match, c, parentId, match: key });
        keep(c, match);
      }
      continue;
    }
    const stored = found.custom[i]!;
    if (!stored.ok) {
      results[i] = failedRow([...c.problems, stored.problem]);
      continue;
    }
    c.custom = stored.custom;
    const id = newId();
    created.push({ id, row: i, c, parentId });
    keep(c, id);
  }
  const later: number[] = [];
  await insertOrDefer(
    scope,
    created.map((n) => ({ ...n, problems: n.c.problems })),
    (sp) => insertCompanies(run, sp, created),
    results,
    later,
  );
  await updateOrDefer(
    scope,
    matched,
    (sp) =>
      updateCompaniesIn(
        sp,
        run.services,
        matched.map((m) => ({ id: m.id, input: companyUpdate(run, m.c, m.parentId) })),
      ),
    (m, r) => ({ ...updatedCompanyRow(run, m.c, m.parentId, m.id, r), match: m.match }),
    (m) => m.c.problems,
    results,
    later,
  );
  for (const m of matched)
    if (m.c.externalId && results[m.row] && results[m.row]!.outcome !== 'failed')
      remembered.push({ externalId: m.c.externalId, id: m.id });
  if (remembered.length > 0) await rememberExternalIds(run, 'company', remembered);
  for (const i of later.sort((a, b) => a - b)) results[i] = await writeOne(batch.drafts[i]!);

  const next = emptyCompanyKeys();
  for (const [i, c] of batch.prepared.entries()) {
    const id = results[i]?.recordId;
    if (!('outcome' in c) && id) keep(c, id, next);
  }
  Object.assign(carry, next);
  return results.map((r) => r!);
}

async function insertCompanies(run: RunContext, scope: TenantScope, created: NewCompany[]): Promise<void> {
  const { orgId, actor } = scope.ctx;
  const tags = await ensureTags(
    scope,
    created.flatMap((n) => n.c.tags),
  );
  const canonical = new Map(tags.map((t) => [normalizeTag(t), t]));
  const records = created.map(({ id, c, parentId }) => ({
    id,
    name: c.input.name,
    domain: c.domain ?? null,
    website: c.input.website ?? null,
    phone: c.phone ?? null,
    address: c.input.address ?? {},
    industry: c.input.industry ?? null,
    size: c.input.size ?? null,
    tags: [...new Set(c.tags.map((t) => canonical.get(normalizeTag(t)) ?? t.trim()))].filter(Boolean),
    owner_id: c.ownerId ?? null,
    parent_id: parentId,
    notes: c.input.notes ?? null,
    custom: c.custom,
  }));
  await scope.conn.query(
    `insert into companies (org_id, id, name, domain, website, phone, address, industry, size, tags, owner_id,
        parent_id, notes, custom, created_by, updated_by)
     select $1, x.id, x.name, x.domain, x.website, x.phone, x.address, x.industry, x.size, x.tags, x.owner_id,
        x.parent_id, x.notes, x.custom, $2, $2
       from jsonb_to_recordset($3::jsonb) as x(id uuid, name text, domain text, website text, phone text,
        address jsonb, industry text, size text, tags text[], owner_id uuid, parent_id uuid, notes text,
        custom jsonb)`,
    [orgId, actor.id, JSON.stringify(records)],
  );
  await emitCompaniesCreatedIn(
    scope,
    run.services,
    records.map((r) => ({ id: r.id, name: r.name })),
  );
  const ids = created.flatMap((n) => (n.c.externalId ? [{ externalId: n.c.externalId, id: n.id }] : []));
  if (ids.length > 0) await rememberExternalIds(run, 'company', ids, scope);
}

export function companyBulkWriter(): BulkWriter {
  const carry = emptyCompanyKeys();
  return {
    prepare: (run, drafts): CompanyBatch => ({ drafts, prepared: drafts.map((d) => prepareCompany(run, d)) }),
    lookup: (scope, batch) => lookupCompanyBatch(scope, batch as CompanyBatch),
    write: (run, batch, writeOne) => writeCompanyBatch(run, batch as CompanyBatch, carry, writeOne),
  };
}
