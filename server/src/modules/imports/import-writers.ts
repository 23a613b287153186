import { and, eq, inArray } from 'drizzle-orm';
import type { TenantScope } from '../../db/tenant.js';
import type { Services } from '../../platform/http/types.js';
import type { CompanyCreateInput, CompanyUpdateInput, CompanyView } from '../companies/company.dto.js';
import { companies } from '../companies/company.schema.js';
import { createCompanyIn, updateCompanyIn } from '../companies/company.service.js';
import type { ContactCreateInput, ContactUpdateInput } from '../contacts/contact.dto.js';
import { contacts } from '../contacts/contact.schema.js';
import { contactViews, createContactIn, updateContactIn } from '../contacts/contact.service.js';
import { createNoteIn } from '../notes/note.service.js';
import type { OpportunityUpdateInput } from '../opportunities/opportunity.dto.js';
import { opportunities } from '../opportunities/opportunity.schema.js';
import {
  createOpportunityIn,
  opportunityViews,
  updateOpportunityIn,
} from '../opportunities/opportunity.service.js';
import {
  addStageIn,
  createPipelineIn,
  ensureDefaultPipeline,
  loadPipeline,
} from '../pipelines/pipeline.service.js';
import type { TaskUpdateInput } from '../tasks/task.dto.js';
import { activeTaskIn, createTaskIn, updateTaskIn } from '../tasks/task.service.js';
import type { CellProblem, DedupMode, ImportOptionValues, RowOutcome } from './import.schema.js';
import { externalIds } from './import.schema.js';
import type { RowDraft } from './import-values.js';

type PipelineView = Awaited<ReturnType<typeof loadPipeline>>;

/** What every batch of an import shares: its settings and lookups made once. */
export type RunSettings = {
  services: Services;
  importId: string;
  /** The user who started the import: owner of records whose owner is unknown. */
  importerId: string | null;
  dedup: DedupMode;
  options: ImportOptionValues;
  members: { id: string; name: string; email: string }[];
  /** The file column a target was read from, for problems found while writing. */
  headerOf: (target: string) => string | null;
  pipelines: Map<string, PipelineView>;
};

/** A batch's run: the import's settings and the batch's tenant transaction. */
export type RunContext = RunSettings & { scope: TenantScope };

/** What happened to one row. `before` holds the overwritten values (an update input) for revert. */
export type RowResult = {
  outcome: RowOutcome;
  recordId: string | null;
  before?: Record<string, unknown> | undefined;
  problems: CellProblem[];
};

export type RowWriter = (run: RunContext, draft: RowDraft) => Promise<RowResult>;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const isEmpty = (v: unknown) =>
  v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0);

function customOf(values: Record<string, unknown>): Record<string, unknown> {
  const custom: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values))
    if (key.startsWith('custom.')) custom[key.slice(7)] = value;
  return custom;
}

function problem(
  run: RunSettings,
  target: string,
  code: string,
  message: string,
  value?: string,
): CellProblem {
  return { column: run.headerOf(target), code, message, ...(value !== undefined ? { value } : {}) };
}

/** The record an external id points to, when it is still active. */
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
  }[object];
  // Notes have no archive: they are deleted.
  const active = object === 'note' ? '' : 'and r.archived_at is null';
  const { rows } = await scope.conn.query(
    `select x.record_id from external_ids x join ${table} r on r.org_id = x.org_id and r.id = x.record_id
      where x.org_id = $1 and x.object = $2 and x.external_id = $3 ${active}`,
    [scope.ctx.orgId, object, externalId],
  );
  return (rows[0] as { record_id: string } | undefined)?.record_id ?? null;
}

async function rememberExternalId(run: RunContext, object: string, externalId: unknown, recordId: string) {
  if (typeof externalId !== 'string' || !externalId) return;
  await run.scope.tx
    .insert(externalIds)
    .values({ orgId: run.scope.ctx.orgId, object, externalId, recordId, importId: run.importId })
    .onConflictDoUpdate({
      target: [externalIds.orgId, externalIds.object, externalIds.externalId],
      set: { recordId, importId: run.importId },
    });
}

async function firstId(scope: TenantScope, text: string, params: unknown[]): Promise<string | null> {
  const { rows } = await scope.conn.query(text, [scope.ctx.orgId, ...params]);
  return (rows[0] as { id: string } | undefined)?.id ?? null;
}

/** A member by e-mail or name (case-insensitive); an unknown one is a problem and the importer owns. */
function resolveOwner(run: RunSettings, value: unknown, problems: CellProblem[]): string | null | undefined {
  const ref = str(value);
  if (!ref) return undefined;
  return resolveOwnerAs(run, ref, 'owner', problems);
}

function resolveOwnerAs(
  run: RunSettings,
  ref: string,
  target: string,
  problems: CellProblem[],
): string | null {
  const lower = ref.toLowerCase();
  const member = run.members.find((m) => m.email.toLowerCase() === lower || m.name.toLowerCase() === lower);
  if (member) return member.id;
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

async function findContact(scope: TenantScope, ref: string): Promise<string | null> {
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
function setField(
  run: RunContext,
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

function setCustom(
  run: RunContext,
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

function union<T>(current: T[], incoming: T[], key: (x: T) => string): T[] {
  const seen = new Set(current.map(key));
  return incoming.filter((x) => !seen.has(key(x)));
}

// ---------------------------------------------------------------- contacts

/** A contact row's values as the contact writers use them. */
export type ContactDraft = {
  first: string | undefined;
  last: string | undefined;
  /** Lower-cased, without repeats. */
  emails: string[];
  phones: { e164: string; raw: string }[];
  tags: string[];
  /** undefined: the row names no owner. */
  ownerId: string | null | undefined;
  companyRef: string | undefined;
  custom: Record<string, unknown>;
  externalId: string | undefined;
  source: string;
  leadStatus: string | null;
  notes: string | null;
  problems: CellProblem[];
};

/**
 * Reads a contact row's values (a full name split into first and last, repeats dropped, the
 * import's tags added, the owner resolved among members), or the failed result of a row with
 * neither a name, an e-mail nor a phone. No database access.
 */
export function prepareContact(run: RunSettings, draft: RowDraft): ContactDraft | RowResult {
  const v = draft.values;
  const problems: CellProblem[] = [];
  let first = str(v.first_name);
  let last = str(v.last_name);
  const full = str(v.full_name);
  if (!first && !last && full) {
    const words = full.split(/\s+/);
    last = words.length > 1 ? words.pop() : undefined;
    first = words.join(' ');
  }
  const emails = [...new Set(((v.email as string[] | undefined) ?? []).map((e) => e.trim().toLowerCase()))];
  const phones = ((v.phone as { e164: string; raw: string }[] | undefined) ?? []).filter(
    (p, i, all) => all.findIndex((q) => q.e164 === p.e164) === i,
  );
  const tags = [...new Set([...((v.tags as string[] | undefined) ?? []), ...(run.options.tags ?? [])])];
  if (!first && !last && emails.length === 0 && phones.length === 0) {
    return {
      outcome: 'failed',
      recordId: null,
      problems: [{ column: null, code: 'required', message: 'A contact needs a name, an e-mail or a phone' }],
    };
  }
  return {
    first,
    last,
    emails,
    phones,
    tags,
    ownerId: resolveOwner(run, v.owner, problems),
    companyRef: str(v.company),
    custom: customOf(v),
    externalId: str(v.external_id),
    source: str(v.source) ?? 'import',
    leadStatus: str(v.lead_status) ?? null,
    notes: str(v.notes) ?? null,
    problems,
  };
}

export const unknownCompany = (run: RunSettings, ref: string) =>
  problem(run, 'company', 'unknown_company', 'No company with this name or external id: not linked', ref);

/**
 * A contact row: matched by external id, then any of its e-mails, then its phones (E.164);
 * within the file too, since earlier rows are already written in this transaction. E-mails,
 * phones and tags are added to a matched contact (never removed), other fields follow the mode.
 */
export const writeContact: RowWriter = async (run, draft) => {
  const { scope, services } = run;
  const prepared = prepareContact(run, draft);
  if ('outcome' in prepared) return prepared;
  const { first, last, emails, phones, tags, ownerId, custom, externalId, problems } = prepared;
  let companyId: string | null = null;
  if (prepared.companyRef) {
    companyId = await findCompany(scope, prepared.companyRef);
    if (!companyId) problems.push(unknownCompany(run, prepared.companyRef));
  }
  const existingId =
    (externalId ? await recordOfExternalId(scope, 'contact', externalId) : null) ??
    (emails.length
      ? await firstId(
          scope,
          'select contact_id as id from contact_emails where org_id = $1 and active and email = any($2::text[]) limit 1',
          [emails],
        )
      : null) ??
    (phones.length
      ? await firstId(
          scope,
          'select id from contacts where org_id = $1 and archived_at is null and phone = any($2::text[]) limit 1',
          [phones.map((p) => p.e164)],
        )
      : null);
  if (!existingId) {
    const input: ContactCreateInput = {
      first_name: first ?? null,
      last_name: last ?? null,
      emails: emails.map((value) => ({ value })),
      phones: phones.map((p) => ({ number: p.raw })),
      tags,
      ...(ownerId !== undefined ? { owner_id: ownerId } : {}),
      companies: companyId ? [{ id: companyId, primary: true }] : [],
      source: prepared.source,
      lead_status: prepared.leadStatus,
      notes: prepared.notes,
      custom,
    };
    const created = await createContactIn(scope, services, input);
    await rememberExternalId(run, 'contact', externalId, created.id);
    return { outcome: 'created', recordId: created.id, problems };
  }
  await rememberExternalId(run, 'contact', externalId, existingId);
  if (run.dedup === 'skip') return { outcome: 'skipped', recordId: existingId, problems };
  const [row] = await scope.tx
    .select()
    .from(contacts)
    .where(and(eq(contacts.orgId, scope.ctx.orgId), eq(contacts.id, existingId)));
  const [current] = await contactViews(scope, [row!]);
  const c = current!;
  const patch: Record<string, unknown> = {};
  const before: Record<string, unknown> = {};
  setField(run, patch, before, 'first_name', first, c.first_name);
  setField(run, patch, before, 'last_name', last, c.last_name);
  setField(run, patch, before, 'owner_id', ownerId ?? undefined, c.owner_id);
  setField(run, patch, before, 'lead_status', prepared.leadStatus ?? undefined, c.lead_status);
  setField(run, patch, before, 'notes', prepared.notes ?? undefined, c.notes);
  const newEmails = union(
    c.emails.map((e) => e.value),
    emails,
    (x) => x,
  );
  if (newEmails.length) {
    before.emails = c.emails.map((e) => ({
      value: e.value,
      primary: e.primary,
      ...(e.label ? { label: e.label } : {}),
    }));
    patch.emails = [...(before.emails as object[]), ...newEmails.map((value) => ({ value }))];
  }
  const newPhones = union(
    c.phones.map((p) => p.e164 ?? p.raw),
    phones.map((p) => p.e164),
    (x) => x,
  );
  if (newPhones.length) {
    before.phones = c.phones.map((p) => ({
      number: p.raw,
      primary: p.primary,
      ...(p.label ? { label: p.label } : {}),
    }));
    patch.phones = [
      ...(before.phones as object[]),
      ...phones.filter((p) => newPhones.includes(p.e164)).map((p) => ({ number: p.raw })),
    ];
  }
  if (union(c.tags, tags, (x) => x.toLowerCase()).length) {
    before.tags = c.tags;
    patch.tags = [...c.tags, ...union(c.tags, tags, (x) => x.toLowerCase())];
  }
  if (companyId && !c.companies.some((x) => x.id === companyId)) {
    before.companies = c.companies.map((x) => ({ id: x.id, primary: x.primary }));
    patch.companies = [
      ...(before.companies as object[]),
      { id: companyId, primary: !c.companies.some((x) => x.primary) },
    ];
  }
  setCustom(run, patch, before, custom, c.custom);
  if (Object.keys(patch).length === 0) return { outcome: 'skipped', recordId: existingId, problems };
  await updateContactIn(scope, services, existingId, patch as ContactUpdateInput);
  return { outcome: 'updated', recordId: existingId, before, problems };
};

// ---------------------------------------------------------------- companies

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
  if (!input.name)
    return {
      outcome: 'failed',
      recordId: null,
      problems: [problem(run, 'name', 'required', 'A company needs a name')],
    };
  const problems: CellProblem[] = [];
  return {
    input: { ...input, name: input.name },
    ownerId: resolveOwner(run, v.owner, problems),
    parentRef: str(v.parent_company),
    tags: [...new Set([...((v.tags as string[] | undefined) ?? []), ...(run.options.tags ?? [])])],
    custom: customOf(v),
    externalId: str(v.external_id),
    phone: (v.phone as { e164: string } | undefined)?.e164,
    domain: domainFrom(input.domain, input.website),
    problems,
  };
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
  const existingId =
    (externalId ? await recordOfExternalId(scope, 'company', externalId) : null) ??
    (phone
      ? await firstId(
          scope,
          'select id from companies where org_id = $1 and phone = $2 and archived_at is null limit 1',
          [phone],
        )
      : null) ??
    (domain
      ? await firstId(
          scope,
          'select id from companies where org_id = $1 and domain = $2 and archived_at is null limit 1',
          [domain],
        )
      : null) ??
    (await firstId(
      scope,
      'select id from companies where org_id = $1 and lower(name) = lower($2) and archived_at is null limit 1',
      [input.name],
    ));
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
  if (run.dedup === 'skip') return { outcome: 'skipped', recordId: existingId, problems };
  const [row] = await scope.tx
    .select()
    .from(companies)
    .where(and(eq(companies.orgId, scope.ctx.orgId), eq(companies.id, existingId)));
  const c = row!;
  const patch: Record<string, unknown> = {};
  const before: Record<string, unknown> = {};
  if (run.dedup === 'overwrite') setField(run, patch, before, 'name', input.name, c.name);
  setField(run, patch, before, 'domain', input.domain, c.domain);
  setField(run, patch, before, 'website', input.website, c.website);
  setField(run, patch, before, 'phone', input.phone, c.phone);
  setField(run, patch, before, 'industry', input.industry, c.industry);
  setField(run, patch, before, 'size', input.size, c.size);
  setField(run, patch, before, 'notes', input.notes, c.notes);
  setField(run, patch, before, 'owner_id', ownerId ?? undefined, c.ownerId);
  setField(run, patch, before, 'parent_id', parentId ?? undefined, c.parentId);
  if (input.address) {
    const merged = { ...c.address } as Record<string, string | undefined>;
    for (const [k, x] of Object.entries(input.address))
      if (run.dedup === 'overwrite' || !merged[k]) merged[k] = x;
    if (JSON.stringify(merged) !== JSON.stringify(c.address)) {
      patch.address = merged;
      before.address = c.address;
    }
  }
  if (union(c.tags, tags, (x) => x.toLowerCase()).length) {
    before.tags = c.tags;
    patch.tags = [...c.tags, ...union(c.tags, tags, (x) => x.toLowerCase())];
  }
  setCustom(run, patch, before, custom, c.custom);
  if (Object.keys(patch).length === 0) return { outcome: 'skipped', recordId: existingId, problems };
  await updateCompanyIn(scope, services, existingId, patch as CompanyUpdateInput);
  return { outcome: 'updated', recordId: existingId, before, problems };
};

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

// ---------------------------------------------------------------- opportunities

const WON = /^(closed[ -]?)?won$/i;
const LOST = /^(closed[ -]?)?lost$/i;
const stageKind = (name: string) => (WON.test(name) ? 'won' : LOST.test(name) ? 'lost' : 'open');

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
    else if (run.options.create_missing_stages)
      pipeline = await createPipelineIn(scope, services, {
        name: ref,
        stages: [{ name: firstStage ?? 'New', probability: 10, kind: stageKind(firstStage ?? '') }],
      });
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
      amount: typeof v.amount === 'number' ? v.amount : undefined,
      currency: str(v.currency)?.toUpperCase(),
      expected_close_date: str(v.expected_close_date),
      owner_id: resolveOwner(run, v.owner, problems) ?? run.importerId,
      tags: [...new Set([...((v.tags as string[] | undefined) ?? []), ...(run.options.tags ?? [])])],
      custom: customOf(v),
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
    return {
      outcome: 'failed',
      recordId: null,
      problems: [problem(run, 'pipeline', 'unknown_pipeline', 'No pipeline with this name', pipelineRef)],
    };
  let stage = stageRef
    ? pipeline.stages.find((s) => s.name.toLowerCase() === stageRef.toLowerCase())
    : (pipeline.stages.find((s) => s.kind === 'open') ?? pipeline.stages[0]);
  if (!stage && stageRef) {
    if (!run.options.create_missing_stages)
      return {
        outcome: 'failed',
        recordId: null,
        problems: [
          problem(run, 'stage', 'unknown_stage', `"${pipeline.name}" has no stage with this name`, stageRef),
        ],
      };
    const kind = stageKind(stageRef);
    const firstClosed = pipeline.stages.findIndex((s) => s.kind !== 'open');
    pipeline = await addStageIn(scope, services, pipeline.id, {
      name: stageRef,
      kind,
      probability: kind === 'won' ? 100 : kind === 'lost' ? 0 : 50,
      position: kind === 'open' && firstClosed !== -1 ? firstClosed : pipeline.stages.length,
    });
    run.pipelines.set((pipelineRef ?? '').toLowerCase(), pipeline);
    stage = pipeline.stages.find((s) => s.name.toLowerCase() === stageRef.toLowerCase())!;
  }
  return { pipeline, stage: stage! };
}

export const unknownContact = (run: RunSettings, ref: string) =>
  problem(run, 'contact', 'unknown_contact', 'No contact with this e-mail, name or external id', ref);

/**
 * An opportunity row: pipeline by name (column, else the `pipeline` option, else the default
 * pipeline), stage by name within it (an unknown stage fails the row unless
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
  if (run.dedup === 'skip') return { outcome: 'skipped', recordId: existingId, problems };
  const rows = await scope.tx
    .select()
    .from(opportunities)
    .where(and(eq(opportunities.orgId, scope.ctx.orgId), inArray(opportunities.id, [existingId])));
  const [c] = await opportunityViews(scope, rows);
  const patch: Record<string, unknown> = {};
  const before: Record<string, unknown> = {};
  if (str(v.title)) setField(run, patch, before, 'title', fields.title, c!.title);
  setField(run, patch, before, 'amount', fields.amount, c!.amount);
  setField(run, patch, before, 'currency', fields.currency, c!.currency);
  setField(run, patch, before, 'expected_close_date', fields.expected_close_date, c!.expected_close_date);
  if (str(v.owner)) setField(run, patch, before, 'owner_id', fields.owner_id ?? undefined, c!.owner_id);
  setField(run, patch, before, 'company_id', fields.company_id, c!.company?.id);
  setField(run, patch, before, 'contact_id', fields.contact_id, c!.contact?.id);
  setCustom(run, patch, before, fields.custom, c!.custom);
  if (Object.keys(patch).length === 0) return { outcome: 'skipped', recordId: existingId, problems };
  await updateOpportunityIn(scope, services, existingId, patch as OpportunityUpdateInput);
  return { outcome: 'updated', recordId: existingId, before, problems };
};

// ---------------------------------------------------------------- tasks and notes

async function findOpportunity(scope: TenantScope, ref: string): Promise<string | null> {
  return (
    (await recordOfExternalId(scope, 'opportunity', ref)) ??
    (await firstId(
      scope,
      'select id from opportunities where org_id = $1 and lower(title) = lower($2) and archived_at is null order by created_at limit 1',
      [ref],
    ))
  );
}

/** The record a task or note is about: the first filled of contact, company, opportunity that is found. */
async function linkOf(
  run: RunContext,
  v: Record<string, unknown>,
  problems: CellProblem[],
): Promise<{ object: 'contact' | 'company' | 'opportunity'; id: string } | null> {
  const finders = { contact: findContact, company: findCompany, opportunity: findOpportunity } as const;
  for (const object of ['contact', 'company', 'opportunity'] as const) {
    const ref = str(v[object]);
    if (!ref) continue;
    const id = await finders[object](run.scope, ref);
    if (id) return { object, id };
    problems.push(problem(run, object, `unknown_${object}`, `No ${object} matches this: not linked`, ref));
  }
  return null;
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);

/**
 * A task row: assignee by name or e-mail (unknown: reported, the importer is assigned), linked
 * to the first contact, company or opportunity of the row that is found. Matched by external id
 * only; a matched task's title, description, priority, due day and assignee follow the mode (its
 * link stays).
 */
export const writeTask: RowWriter = async (run, draft) => {
  const v = draft.values;
  const problems: CellProblem[] = [];
  const title = str(v.title);
  if (!title)
    return {
      outcome: 'failed',
      recordId: null,
      problems: [problem(run, 'title', 'required', 'A task needs a title')],
    };
  const externalId = str(v.external_id);
  const existingId = externalId ? await recordOfExternalId(run.scope, 'task', externalId) : null;
  if (existingId && run.dedup === 'skip') return { outcome: 'skipped', recordId: existingId, problems };
  const assignee = str(v.assignee);
  const assigneeId = assignee ? resolveOwnerAs(run, assignee, 'assignee', problems) : run.importerId;
  if (existingId) {
    const current = await activeTaskIn(run.scope, existingId);
    const patch: Record<string, unknown> = {};
    const before: Record<string, unknown> = {};
    setField(run, patch, before, 'title', title, current.title);
    setField(run, patch, before, 'description', str(v.description), current.description);
    setField(run, patch, before, 'priority', str(v.priority), current.priority);
    if (assignee) setField(run, patch, before, 'assignee_id', assigneeId, current.assignee_id);
    const dueDate = str(v.due_date);
    if (
      dueDate &&
      (run.dedup === 'overwrite' ? dueDate !== current.due_date : !current.due_date && !current.due_at)
    ) {
      patch.due_date = dueDate;
      // A timed due goes back as it was; a due day (or none) as a day.
      Object.assign(
        before,
        current.due_at && !current.due_date ? { due_at: current.due_at } : { due_date: current.due_date },
      );
    }
    if (Object.keys(patch).length === 0) return { outcome: 'skipped', recordId: existingId, problems };
    await updateTaskIn(run.scope, run.services, existingId, patch as TaskUpdateInput);
    return { outcome: 'updated', recordId: existingId, before, problems };
  }
  const link = await linkOf(run, v, problems);
  const created = await createTaskIn(run.scope, run.services, {
    title,
    description: str(v.description) ?? null,
    ...(str(v.due_date) ? { due_date: str(v.due_date) } : {}),
    ...(str(v.priority) ? { priority: v.priority as 'normal' } : {}),
    assignee_id: assigneeId,
    link,
  });
  await rememberExternalId(run, 'task', externalId, created.id);
  return { outcome: 'created', recordId: created.id, problems };
};

/**
 * A note row: plain text (each line a paragraph, HTML escaped, then sanitized as any note) on the
 * first contact, company or opportunity of the row that is found; a note on nothing fails.
 * Matched by external id only; a matched row is skipped whatever the mode.
 */
export const writeNote: RowWriter = async (run, draft) => {
  const v = draft.values;
  const problems: CellProblem[] = [];
  const body = str(v.body);
  if (!body)
    return {
      outcome: 'failed',
      recordId: null,
      problems: [problem(run, 'body', 'required', 'A note needs a text')],
    };
  const externalId = str(v.external_id);
  const existingId = externalId ? await recordOfExternalId(run.scope, 'note', externalId) : null;
  if (existingId) return { outcome: 'skipped', recordId: existingId, problems };
  const link = await linkOf(run, v, problems);
  if (!link)
    return {
      outcome: 'failed',
      recordId: null,
      problems: [
        ...problems,
        { column: null, code: 'required', message: 'A note must be on a contact, company or opportunity' },
      ],
    };
  const html = body
    .split(/\r?\n/)
    .map((line) => `<p>${escapeHtml(line)}</p>`)
    .join('');
  const created = await createNoteIn(run.scope, run.services, {
    object: link.object,
    id: link.id,
    body: html,
  });
  await rememberExternalId(run, 'note', externalId, created.id);
  return { outcome: 'created', recordId: created.id, problems };
};

export const WRITERS: Record<string, RowWriter> = {
  contact: writeContact,
  company: writeCompany,
  opportunity: writeOpportunity,
  task: writeTask,
  note: writeNote,
};
