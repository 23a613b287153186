// Company rows, one at a time (updates of matched companies; new ones go in bulk-companies.ts).

import { and, eq, sql } from 'drizzle-orm';
import type { TenantScope } from '../../db/tenant.js';
import { normalizeTag } from '../../platform/registry/field-values.js';
import type { CompanyCreateInput, CompanyUpdateInput, CompanyView } from '../companies/company.dto.js';
import { createCompanyIn } from '../companies/company.service.js';
import {
  type CompanyChangeResult,
  updateCompaniesIn,
  updateCompanyIn,
} from '../companies/company-updates.service.js';
import { type CellProblem, importRows, imports, type MatchKey, realProblems } from './import.schema.js';
import type { RowDraft } from './import-values.js';
import {
  conflictingMatch,
  customOf,
  failedRow,
  findCompany,
  firstId,
  matchOn,
  problem,
  type RowMatch,
  type RowResult,
  type RowWriter,
  type RunContext,
  type RunSettings,
  recordOfExternalId,
  rememberExternalId,
  resolveOwner,
  sameName,
  setCustom,
  setField,
  str,
  union,
} from './import-writers.js';

function companyInput(v: Record<string, unknown>) {
  const address = Object.fromEntries(
    Object.entries(v)
      .filter(([k]) => k.startsWith('address.'))
      .map(([k, x]) => [k.slice(8), x]),
  );
  return {
    name: str(v.name),
    domain: str(v.domain),
    website: str(v.website),
    phone: (v.phone as { e164: string; raw: string } | undefined)?.raw,
    industry: str(v.industry),
    size: str(v.size),
    notes: str(v.notes),
    address: Object.keys(address).length ? (address as Record<string, string>) : undefined,
  };
}

const domainFrom = (domain?: string, website?: string) => {
  const value = domain ?? website;
  if (!value) return undefined;
  try {
    const host = /^[a-z]+:\/\//i.test(value) ? new URL(value).hostname : value.split('/')[0]!;
    return host.toLowerCase().replace(/^www\./, '');
  } catch {
    return undefined;
  }
};

/** A company row's values as the company writers use them. */
export type CompanyDraft = {
  input: ReturnType<typeof companyInput> & { name: string };
  ownerId: string | null | undefined;
  parentRef: string | undefined;
  tags: string[];
  custom: Record<string, unknown>;
  externalId: string | undefined;
  /** E.164 */
  phone: string | undefined;
  /** From the domain or the website, lower-cased, without `www.`. */
  domain: string | undefined;
  problems: CellProblem[];
};

/** Reads a company row (no database access), or the failed result of a row without a name. */
export function prepareCompany(run: RunSettings, draft: RowDraft): CompanyDraft | RowResult {
  const v = draft.values;
  const input = companyInput(v);
  if (!input.name) return failedRow([problem(run, 'name', 'required', 'A company needs a name')]);
  const problems: CellProblem[] = [];
  return {
    input: { ...input, name: input.name },
    ownerId: resolveOwner(run, v.owner, problems),
    parentRef: str(v.parent_company),
    tags: [...new Set([...((v.tags as string[] | undefined) ?? []), ...(run.options.tags ?? [])])],
    custom: customOf(run, v, problems),
    externalId: str(v.external_id),
    phone: (v.phone as { e164: string } | undefined)?.e164,
    domain: domainFrom(input.domain, input.website),
    problems,
  };
}

type CompanyKey = 'external' | 'phone' | 'domain' | 'name';

/**
 * The company a row matches and by what: its external id, then its phone, then its domain, then
 * its name (case-insensitive). A company sharing the domain but going by another name is not a
 * match unless the import says so (`match_companies_by_domain`): two firms on one e-mail host, a
 * group's subsidiaries. `pointed` says which company a key points to, `nameOf` a company's name.
 */
export function companyMatchOf(
  run: RunSettings,
  c: CompanyDraft,
  pointed: (kind: CompanyKey, value: string) => string | null | undefined,
  nameOf: (id: string) => string | undefined,
): { id: string; key: RowMatch } | null {
  const external = c.externalId ? pointed('external', c.externalId) : null;
  if (external) return { id: external, key: matchOn(run, 'external_id', c.externalId!) };
  const phone = c.phone ? pointed('phone', c.phone) : null;
  if (phone) return { id: phone, key: matchOn(run, 'phone', c.phone!) };
  const domain = c.domain ? pointed('domain', c.domain) : null;
  const domainName = domain ? nameOf(domain) : undefined;
  if (domain && (run.options.match_companies_by_domain || !domainName || sameName(domainName, c.input.name)))
    return {
      id: domain,
      key: matchOn(run, 'domain', c.domain!, run.headerOf('domain') ? 'domain' : 'website'),
    };
  const name = pointed('name', c.input.name.toLowerCase());
  return name ? { id: name, key: matchOn(run, 'name', c.input.name) } : null;
}

/**
 * The problem of a company row that matched a company going by another name: `conflicting_match`
 * when it matched by phone or domain, `renamed` when an external id match renames it (`overwrite`).
 */
export function companyConflict(
  run: RunSettings,
  c: CompanyDraft,
  recordName: string | undefined,
  by: MatchKey,
): CellProblem | null {
  if (!recordName || sameName(recordName, c.input.name)) return null;
  const renames = run.dedup === 'overwrite';
  if (by !== 'external_id')
    return conflictingMatch(run, 'company', 'name', c.input.name, recordName, by, renames);
  if (!renames) return null;
  return problem(
    run,
    'name',
    'renamed',
    `Company "${recordName}" is renamed "${c.input.name}"`,
    c.input.name,
  );
}

/** The names of companies by id, one query. */
export async function companyNames(scope: TenantScope, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const { rows } = await scope.conn.query(
    'select id, name from companies where org_id = $1 and id = any($2::uuid[])',
    [scope.ctx.orgId, [...new Set(ids)]],
  );
  return new Map((rows as { id: string; name: string }[]).map((r) => [r.id, r.name]));
}

/** A parent not found (yet): resolved after the last row, else reported as `unknown_parent`. */
export const parentPending = (run: RunSettings, ref: string) =>
  problem(run, 'parent_company', 'parent_pending', 'Parent company not found yet', ref);

/**
 * A company row: matched by external id, then phone (E.164), then domain (from the domain or
 * website), then name (case-insensitive). A parent not found yet is kept pending and resolved
 * after the last row, so a subsidiary may come before its parent in the file.
 */
export const writeCompany: RowWriter = async (run, draft) => {
  const { scope, services } = run;
  const prepared = prepareCompany(run, draft);
  if ('outcome' in prepared) return prepared;
  const { input, ownerId, parentRef, tags, custom, externalId, phone, domain, problems } = prepared;
  let parentId: string | null = null;
  if (parentRef) {
    parentId = await findCompany(scope, parentRef);
    if (!parentId) problems.push(parentPending(run, parentRef));
  }
  const pointed = {
    external: externalId ? await recordOfExternalId(scope, 'company', externalId) : null,
    phone: phone
      ? await firstId(
          scope,
          'select id from companies where org_id = $1 and phone = $2 and archived_at is null limit 1',
          [phone],
        )
      : null,
    domain: domain
      ? await firstId(
          scope,
          'select id from companies where org_id = $1 and domain = $2 and archived_at is null limit 1',
          [domain],
        )
      : null,
    name: await firstId(
      scope,
      'select id from companies where org_id = $1 and lower(name) = lower($2) and archived_at is null limit 1',
      [input.name],
    ),
  };
  const names = await companyNames(
    scope,
    Object.values(pointed).filter((id): id is string => Boolean(id)),
  );
  const matching = companyMatchOf(
    run,
    prepared,
    (kind) => pointed[kind],
    (id) => names.get(id),
  );
  const existingId = matching?.id ?? null;
  if (!existingId) {
    const create: CompanyCreateInput = {
      name: input.name,
      ...(input.domain ? { domain: input.domain } : {}),
      ...(input.website ? { website: input.website } : {}),
      ...(input.phone ? { phone: input.phone } : {}),
      ...(input.address ? { address: input.address } : {}),
      industry: input.industry ?? null,
      size: input.size ?? null,
      tags,
      ...(ownerId !== undefined ? { owner_id: ownerId } : {}),
      parent_id: parentId,
      notes: input.notes ?? null,
      custom,
    };
    const created = await createCompanyIn(scope, services, create);
    await rememberExternalId(run, 'company', externalId, created.id);
    return { outcome: 'created', recordId: created.id, problems };
  }
  await rememberExternalId(run, 'company', externalId, existingId);
  const key = matching!.key;
  const conflict = companyConflict(run, prepared, names.get(existingId), key.by);
  if (conflict) problems.push(conflict);
  if (run.dedup === 'skip') return { outcome: 'skipped', recordId: existingId, problems, match: key };
  const [result] = await updateCompaniesIn(scope, services, [
    { id: existingId, input: companyUpdate(run, prepared, parentId) },
  ]);
  return { ...updatedCompanyRow(run, prepared, parentId, existingId, result!), match: key };
};

/**
 * The update a company row makes to the company it matched, under the import's dedup mode: the
 * name only in `overwrite`, address parts and other fields as `setField` says, tags added (never
 * removed). `before` holds the values it changes as they were, as an update input (undo).
 * @returns null `patch` when the row changes nothing
 */
export function companyPatch(
  run: RunSettings,
  row: CompanyDraft,
  parentId: string | null,
  c: CompanyView,
): { patch: CompanyUpdateInput | null; before: Record<string, unknown> } {
  const { input, ownerId, tags, custom } = row;
  const patch: Record<string, unknown> = {};
  const before: Record<string, unknown> = {};
  if (run.dedup === 'overwrite') setField(run, patch, before, 'name', input.name, c.name);
  setField(run, patch, before, 'domain', input.domain, c.domain);
  setField(run, patch, before, 'website', input.website, c.website);
  setField(run, patch, before, 'phone', input.phone, c.phone);
  setField(run, patch, before, 'industry', input.industry, c.industry);
  setField(run, patch, before, 'size', input.size, c.size);
  setField(run, patch, before, 'notes', input.notes, c.notes);
  setField(run, patch, before, 'owner_id', ownerId ?? undefined, c.owner_id);
  setField(run, patch, before, 'parent_id', parentId ?? undefined, c.parent_id);
  if (input.address) {
    const merged = { ...c.address } as Record<string, string | undefined>;
    for (const [k, x] of Object.entries(input.address))
      if (run.dedup === 'overwrite' || !merged[k]) merged[k] = x;
    if (JSON.stringify(merged) !== JSON.stringify(c.address)) {
      patch.address = merged;
      before.address = c.address;
    }
  }
  if (union(c.tags, tags, normalizeTag).length) {
    before.tags = c.tags;
    patch.tags = [...c.tags, ...union(c.tags, tags, normalizeTag)];
  }
  setCustom(run, patch, before, custom, c.custom);
  return { patch: Object.keys(patch).length ? (patch as CompanyUpdateInput) : null, before };
}

/** `companyPatch` as the input of an `updateCompaniesIn` change. */
export const companyUpdate =
  (run: RunSettings, row: CompanyDraft, parentId: string | null) => (c: CompanyView) =>
    companyPatch(run, row, parentId, c).patch;

/**
 * A matched company row's result from its `updateCompaniesIn` result: `updated` with what it
 * overwrote, `skipped` when it changed nothing. @throws the update's error (a refused row)
 */
export function updatedCompanyRow(
  run: RunSettings,
  row: CompanyDraft,
  parentId: string | null,
  id: string,
  result: CompanyChangeResult,
): RowResult {
  if (!result.ok) throw result.error;
  if (!result.written) return { outcome: 'skipped', recordId: id, problems: row.problems };
  const { before } = companyPatch(run, row, parentId, result.before);
  return { outcome: 'updated', recordId: id, before, problems: row.problems };
}

/** Sets the parent of a company created or updated earlier in the import (the pending parents pass). */
export async function setCompanyParent(
  run: RunContext,
  companyId: string,
  parentRef: string,
): Promise<CompanyView | null> {
  const parentId = await findCompany(run.scope, parentRef);
  if (!parentId || parentId === companyId) return null;
  return updateCompanyIn(run.scope, run.services, companyId, { parent_id: parentId });
}

/**
 * After the last row: sets the parent of each company whose parent was not found when its row
 * ran (it came later in the file). A parent still unknown becomes an `unknown_parent` problem.
 */
export async function resolvePendingParents(run: RunContext): Promise<void> {
  const { scope } = run;
  const pending = await scope.tx
    .select()
    .from(importRows)
    .where(
      and(
        eq(importRows.orgId, scope.ctx.orgId),
        eq(importRows.importId, run.importId),
        sql`${importRows.problems} @> '[{"code":"parent_pending"}]'::jsonb`,
      ),
    );
  for (const r of pending) {
    const ref = r.problems.find((p) => p.code === 'parent_pending')?.value ?? '';
    const set = r.recordId && r.outcome !== 'failed' ? await setCompanyParent(run, r.recordId, ref) : null;
    const problems = r.problems
      .filter((p) => p.code !== 'parent_pending' || !set)
      .map((p) =>
        p.code === 'parent_pending'
          ? {
              ...p,
              code: 'unknown_parent',
              message: 'No company with this name or external id: no parent set',
            }
          : p,
      );
    await scope.tx
      .update(importRows)
      .set({ problems, ...(realProblems(problems).length === 0 ? { cells: null } : {}) })
      .where(
        and(
          eq(importRows.orgId, r.orgId),
          eq(importRows.importId, r.importId),
          eq(importRows.rowNumber, r.rowNumber),
        ),
      );
    if (realProblems(problems).length === 0)
      await scope.tx
        .update(imports)
        .set({ withProblems: sql`${imports.withProblems} - 1` })
        .where(and(eq(imports.orgId, r.orgId), eq(imports.id, r.importId)));
  }
}
