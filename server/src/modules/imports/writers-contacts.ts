// Contact rows, one at a time (updates of matched contacts; new ones go in bulk-contacts.ts).

import type { TenantScope } from '../../db/tenant.js';
import { normalizeEmail } from '../../platform/registry/email.js';
import { normalizeTag } from '../../platform/registry/field-values.js';
import type { ContactCreateInput, ContactUpdateInput, ContactView } from '../contacts/contact.dto.js';
import { createContactIn } from '../contacts/contact.service.js';
import { type ContactChangeResult, updateContactsIn } from '../contacts/contact-updates.service.js';
import type { CellProblem, MatchKey } from './import.schema.js';
import type { RowDraft } from './import-values.js';
import {
  conflictingMatch,
  customOf,
  failedRow,
  findCompany,
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
  const emails = [...new Set(((v.email as string[] | undefined) ?? []).map(normalizeEmail))];
  const phones = ((v.phone as { e164: string; raw: string }[] | undefined) ?? []).filter(
    (p, i, all) => all.findIndex((q) => q.e164 === p.e164) === i,
  );
  const tags = [...new Set([...((v.tags as string[] | undefined) ?? []), ...(run.options.tags ?? [])])];
  if (!first && !last && emails.length === 0 && phones.length === 0) {
    return failedRow([
      { column: null, code: 'required', message: 'A contact needs a name, an e-mail or a phone' },
    ]);
  }
  return {
    first,
    last,
    emails,
    phones,
    tags,
    ownerId: resolveOwner(run, v.owner, problems),
    // A Cairn export lists a contact's companies, the primary first, separated by "; ".
    companyRef: str(v.company)?.split('; ')[0]?.trim() || undefined,
    custom: customOf(run, v, problems),
    externalId: str(v.external_id),
    source: str(v.source) ?? 'import',
    leadStatus: str(v.lead_status) ?? null,
    notes: str(v.notes) ?? null,
    problems,
  };
}

/** A person's name as a row or a contact gives it ('' without one). */
export const fullName = (first: string | null | undefined, last: string | null | undefined) =>
  [first, last].filter(Boolean).join(' ');

/** The full names of contacts by id, one query. */
export async function contactNames(scope: TenantScope, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const { rows } = await scope.conn.query(
    'select id, first_name, last_name from contacts where org_id = $1 and id = any($2::uuid[])',
    [scope.ctx.orgId, [...new Set(ids)]],
  );
  return new Map(
    (rows as { id: string; first_name: string | null; last_name: string | null }[]).map((r) => [
      r.id,
      fullName(r.first_name, r.last_name),
    ]),
  );
}

/**
 * The record a contact row matches and by what, in the writers' order: external id, then any of
 * its e-mails, then its phones. `pointed` says which record a key points to.
 */
export function matchOf(
  run: RunSettings,
  c: ContactDraft,
  pointed: (kind: 'external' | 'email' | 'phone', value: string) => string | null | undefined,
): { id: string; key: RowMatch } | null {
  const external = c.externalId ? pointed('external', c.externalId) : null;
  if (external) return { id: external, key: matchOn(run, 'external_id', c.externalId!) };
  for (const e of c.emails) {
    const id = pointed('email', e);
    if (id) return { id, key: matchOn(run, 'email', e) };
  }
  for (const p of c.phones) {
    const id = pointed('phone', p.e164);
    if (id) return { id, key: matchOn(run, 'phone', p.raw) };
  }
  return null;
}

/**
 * The problem of a contact row that matched a contact going by another name: `conflicting_match`
 * when it matched by e-mail or phone (maybe another person), `renamed` when an external id match
 * renames the contact (`overwrite`). Null when the names agree or one is missing.
 */
export function contactConflict(
  run: RunSettings,
  c: ContactDraft,
  recordName: string | undefined,
  by: MatchKey,
): CellProblem | null {
  const rowName = fullName(c.first, c.last);
  if (!rowName || !recordName || sameName(rowName, recordName)) return null;
  const renames = run.dedup === 'overwrite';
  const target = run.headerOf('first_name')
    ? 'first_name'
    : run.headerOf('full_name')
      ? 'full_name'
      : 'last_name';
  if (by !== 'external_id') return conflictingMatch(run, 'contact', target, rowName, recordName, by, renames);
  if (!renames) return null;
  return problem(run, target, 'renamed', `Contact "${recordName}" is renamed "${rowName}"`, rowName);
}

export const unknownCompany = (run: RunSettings, ref: string) =>
  problem(run, 'company', 'unknown_company', 'No company with this name or external id: not linked', ref);

/**
 * A contact row: matched by external id, then any of its e-mails, then its phones (E.164);
 * within the file too, since earlier rows are already written in this transaction. A matched
 * contact gets `contactPatch`.
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
  const matching = await findMatch(run, prepared);
  const existingId = matching?.id ?? null;
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
  const key = matching!.key;
  const conflict = contactConflict(
    run,
    prepared,
    (await contactNames(scope, [existingId])).get(existingId),
    key.by,
  );
  if (conflict) problems.push(conflict);
  if (run.dedup === 'skip') return { outcome: 'skipped', recordId: existingId, problems, match: key };
  const [result] = await updateContactsIn(scope, services, [
    { id: existingId, input: contactUpdate(run, prepared, companyId) },
  ]);
  return { ...updatedContactRow(run, prepared, companyId, existingId, result!), match: key };
};

/** `matchOf` on the database (within the file too: earlier rows are written in this transaction). */
async function findMatch(run: RunContext, c: ContactDraft) {
  const { scope } = run;
  const byEmail = c.emails.length
    ? await rowsOf<{ email: string; id: string }>(
        scope,
        'select email, contact_id as id from contact_emails where org_id = $1 and active and email = any($2::text[])',
        [c.emails],
      )
    : [];
  const byPhone = c.phones.length
    ? await rowsOf<{ phone: string; id: string }>(
        scope,
        'select phone, id from contacts where org_id = $1 and archived_at is null and phone = any($2::text[])',
        [c.phones.map((p) => p.e164)],
      )
    : [];
  const external = c.externalId ? await recordOfExternalId(scope, 'contact', c.externalId) : null;
  return matchOf(run, c, (kind, value) =>
    kind === 'external'
      ? external
      : kind === 'email'
        ? byEmail.find((r) => r.email === value)?.id
        : byPhone.find((r) => r.phone === value)?.id,
  );
}

async function rowsOf<T>(scope: TenantScope, text: string, params: unknown[]): Promise<T[]> {
  return (await scope.conn.query(text, [scope.ctx.orgId, ...params])).rows as T[];
}

/**
 * The update a contact row makes to the contact it matched, under the import's dedup mode: e-mails,
 * phones, tags and its company are added (never removed), other fields follow the mode
 * (`setField`). `before` holds the values it changes as they were, as an update input (undo).
 * @returns null `patch` when the row changes nothing
 */
export function contactPatch(
  run: RunSettings,
  row: ContactDraft,
  companyId: string | null,
  c: ContactView,
): { patch: ContactUpdateInput | null; before: Record<string, unknown> } {
  const { first, last, emails, phones, tags, ownerId, custom } = row;
  const patch: Record<string, unknown> = {};
  const before: Record<string, unknown> = {};
  setField(run, patch, before, 'first_name', first, c.first_name);
  setField(run, patch, before, 'last_name', last, c.last_name);
  setField(run, patch, before, 'owner_id', ownerId ?? undefined, c.owner_id);
  setField(run, patch, before, 'lead_status', row.leadStatus ?? undefined, c.lead_status);
  setField(run, patch, before, 'notes', row.notes ?? undefined, c.notes);
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
  if (union(c.tags, tags, normalizeTag).length) {
    before.tags = c.tags;
    patch.tags = [...c.tags, ...union(c.tags, tags, normalizeTag)];
  }
  if (companyId && !c.companies.some((x) => x.id === companyId)) {
    before.companies = c.companies.map((x) => ({ id: x.id, primary: x.primary }));
    patch.companies = [
      ...(before.companies as object[]),
      { id: companyId, primary: !c.companies.some((x) => x.primary) },
    ];
  }
  setCustom(run, patch, before, custom, c.custom);
  return { patch: Object.keys(patch).length ? (patch as ContactUpdateInput) : null, before };
}

/** `contactPatch` as the input of an `updateContactsIn` change. */
export const contactUpdate =
  (run: RunSettings, row: ContactDraft, companyId: string | null) => (c: ContactView) =>
    contactPatch(run, row, companyId, c).patch;

/**
 * A matched contact row's result from its `updateContactsIn` result: `updated` with what it
 * overwrote, `skipped` when it changed nothing. @throws the update's error (a refused row)
 */
export function updatedContactRow(
  run: RunSettings,
  row: ContactDraft,
  companyId: string | null,
  id: string,
  result: ContactChangeResult,
): RowResult {
  if (!result.ok) throw result.error;
  if (!result.written) return { outcome: 'skipped', recordId: id, problems: row.problems };
  const { before } = contactPatch(run, row, companyId, result.before);
  return { outcome: 'updated', recordId: id, before, problems: row.problems };
}
