import { randomUUID } from 'node:crypto';
import { generateNKeysBetween } from 'fractional-indexing';
import type { TenantScope } from '../../db/tenant.js';
import { AppError } from '../../platform/errors/app-error.js';
import { mapDatabaseError } from '../../platform/errors/db-errors.js';
import { emitEvents, type NewEvent } from '../../platform/events/events.js';
import { parseCustomValuesIn } from '../../platform/registry/field-references.js';
import { mergeCustom } from '../../platform/registry/field-values.js';
import { objectDef } from '../../platform/registry/registry.service.js';
import { ensureTags } from '../tags/tag.service.js';
import type { CellProblem } from './import.schema.js';
import type { RowDraft } from './import-values.js';
import {
  type CompanyDraft,
  type ContactDraft,
  type OpportunityDraft,
  parentPending,
  placeOpportunity,
  prepareCompany,
  prepareContact,
  prepareOpportunity,
  type RowResult,
  type RunContext,
  type RunSettings,
  unknownCompany,
  unknownContact,
} from './import-writers.js';

/** Writes one row in its own savepoint; a row that fails comes back as a failed result. */
export type WriteOne = (draft: RowDraft) => Promise<RowResult>;

/** The problem a known error (bad value, constraint) leaves on a failed row. */
export function problemOf(error: unknown): CellProblem | null {
  const known = error instanceof AppError ? error : mapDatabaseError(error);
  if (!known) return null;
  return { column: null, code: String(known.code), message: known.errors?.[0]?.message ?? known.message };
}

async function rows<T>(scope: TenantScope, text: string, params: unknown[]): Promise<T[]> {
  return (await scope.conn.query(text, [scope.ctx.orgId, ...params])).rows as T[];
}

const TABLES: Record<string, string> = {
  contact: 'contacts',
  company: 'companies',
  opportunity: 'opportunities',
};

/**
 * The active records of `object` that external ids point to: `recordOfExternalId` for many.
 * @returns external id -> record id, for the ids found
 */
async function recordsOfExternalIds(
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
  return new Map(found.map((r) => [r.ref, r.id]));
}

/**
 * Companies by external id, then by name (case-insensitive, the oldest first), among active
 * companies: `findCompany` for many references in two queries.
 * @returns reference -> company id, for the references found
 */
export async function findCompanies(scope: TenantScope, refs: string[]): Promise<Map<string, string>> {
  const unique = [...new Set(refs)];
  const found = await recordsOfExternalIds(scope, 'company', unique);
  const byName = unique.filter((ref) => !found.has(ref));
  if (byName.length === 0) return found;
  const ids = new Map(
    (
      await rows<{ name: string; id: string }>(
        scope,
        `select distinct on (lower(name)) lower(name) as name, id from companies
          where org_id = $1 and lower(name) = any($2::text[]) and archived_at is null
          order by lower(name), created_at`,
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

type NewContact = { id: string; row: number; c: ContactDraft; companyId: string | null };

/** Which record each dedup key points to: external id, e-mail, primary phone (E.164). */
export type ContactKeys = {
  external: Map<string, string>;
  email: Map<string, string>;
  phone: Map<string, string>;
};

/** A batch of contact rows on its way: read, then looked up, then written. */
export type ContactBatch = {
  drafts: RowDraft[];
  /** Per draft: its values, or the result of a row that cannot be written at all. */
  prepared: (ContactDraft | RowResult)[];
  found?: ContactKeys & { companies: Map<string, string> };
};

const emptyKeys = (): ContactKeys => ({ external: new Map(), email: new Map(), phone: new Map() });

/** Reads a batch's rows (no database access): the first step of `writeContactBatch`. */
export function prepareContactBatch(run: RunSettings, drafts: RowDraft[]): ContactBatch {
  return { drafts, prepared: drafts.map((draft) => prepareContact(run, draft)) };
}

/**
 * Looks up, for a whole batch, the active contacts its rows match (external id, e-mail, primary
 * phone) and the companies they name. Needs no write: the runner does it in a transaction of its
 * own while the previous batch is being written (that batch's keys reach `writeContactBatch`
 * through its `carry`).
 */
export async function lookupContactBatch(scope: TenantScope, batch: ContactBatch): Promise<void> {
  const ready = batch.prepared.filter((p): p is ContactDraft => !('outcome' in p));
  const externals = ready.flatMap((p) => (p.externalId ? [p.externalId] : []));
  const emails = ready.flatMap((p) => p.emails);
  const phones = ready.flatMap((p) => p.phones.map((x) => x.e164));
  const found = { ...emptyKeys(), companies: new Map<string, string>() };
  found.external = await recordsOfExternalIds(scope, 'contact', externals);
  if (emails.length > 0)
    for (const r of await rows<{ email: string; id: string }>(
      scope,
      `select email, contact_id as id from contact_emails
        where org_id = $1 and active and email = any($2::text[])`,
      [emails],
    ))
      found.email.set(r.email, r.id);
  if (phones.length > 0)
    for (const r of await rows<{ phone: string; id: string }>(
      scope,
      // The oldest first, so the newest wins below (as the row-by-row `limit 1` finds one of them).
      `select phone, id from contacts where org_id = $1 and archived_at is null and phone = any($2::text[])
        order by created_at`,
      [phones],
    ))
      found.phone.set(r.phone, r.id);
  found.companies = await findCompanies(
    scope,
    ready.flatMap((p) => (p.companyRef ? [p.companyRef] : [])),
  );
  batch.found = found;
}

/**
 * Writes a looked-up batch of contact rows with a handful of statements whatever its size. A row
 * matching an existing contact (`found`, the previous batch's `carry`, or a row earlier in this
 * batch: external id, then e-mail, then primary phone, as `writeContact`) is skipped (dedup
 * `skip`) or handed to `writeOne` after the inserts (the other modes: the per-row update path).
 * The new contacts go in with one insert each for contacts, their e-mails, company links and
 * external ids, and their events with one insert and one dispatch job. If the inserts fail (a
 * contact written by someone else meanwhile took an e-mail), they are rolled back and every new
 * row goes through `writeOne`, so each row still gets its own outcome. On return `carry` holds
 * this batch's keys, for the next batch.
 * @returns one result per draft, in order
 */
export async function writeContactBatch(
  run: RunContext,
  batch: ContactBatch,
  carry: ContactKeys,
  writeOne: WriteOne,
): Promise<RowResult[]> {
  const { scope } = run;
  const found = batch.found ?? { ...emptyKeys(), companies: new Map<string, string>() };
  const results: (RowResult | null)[] = batch.prepared.map((p) => ('outcome' in p ? p : null));
  // Keys the lookup could not see (the previous batch was not committed yet) come from the carry.
  const keys: ContactKeys = {
    external: new Map([...carry.external, ...found.external]),
    email: new Map([...carry.email, ...found.email]),
    phone: new Map([...carry.phone, ...found.phone]),
  };
  const object = await objectDef(scope.tx, scope.ctx.orgId, 'contact');

  const created: NewContact[] = [];
  const later: number[] = [];
  const remembered: { externalId: string; id: string }[] = [];
  for (const [i, c] of batch.prepared.entries()) {
    if ('outcome' in c) continue;
    const companyId = c.companyRef ? (found.companies.get(c.companyRef) ?? null) : null;
    if (c.companyRef && !companyId) c.problems.push(unknownCompany(run, c.companyRef));
    const match =
      (c.externalId ? keys.external.get(c.externalId) : undefined) ??
      c.emails.map((e) => keys.email.get(e)).find(Boolean) ??
      c.phones.map((p) => keys.phone.get(p.e164)).find(Boolean);
    if (match) {
      if (run.dedup === 'skip') {
        results[i] = { outcome: 'skipped', recordId: match, problems: c.problems };
        if (c.externalId) {
          remembered.push({ externalId: c.externalId, id: match });
          keys.external.set(c.externalId, match);
        }
      } else {
        // The update path adds this row's e-mails and phones to the match: later rows find it by them.
        later.push(i);
        if (c.externalId) keys.external.set(c.externalId, match);
        for (const e of c.emails) if (!keys.email.has(e)) keys.email.set(e, match);
      }
      continue;
    }
    try {
      c.custom = mergeCustom(
        {},
        await parseCustomValuesIn(scope, object, c.custom, { path: 'body.custom', creating: true }),
      );
    } catch (error) {
      const p = problemOf(error);
      if (!p) throw error;
      results[i] = { outcome: 'failed', recordId: null, problems: [...c.problems, p] };
      continue;
    }
    const id = randomUUID();
    created.push({ id, row: i, c, companyId });
    if (c.externalId) keys.external.set(c.externalId, id);
    for (const e of c.emails) keys.email.set(e, id);
    if (c.phones[0]) keys.phone.set(c.phones[0].e164, id);
  }

  await insertOrDefer(
    scope,
    created.map((n) => ({ ...n, problems: n.c.problems })),
    (sp) => insertContacts(run, sp, created),
    results,
    later,
  );
  if (remembered.length > 0) await rememberExternalIds(run, 'contact', remembered);
  for (const i of later.sort((a, b) => a - b)) results[i] = await writeOne(batch.drafts[i]!);

  // The next batch's carry: each row's keys, pointing to the record its row ended up with.
  carry.external.clear();
  carry.email.clear();
  carry.phone.clear();
  for (const [i, c] of batch.prepared.entries()) {
    const id = results[i]?.recordId;
    if ('outcome' in c || !id) continue;
    if (c.externalId) carry.external.set(c.externalId, id);
    for (const e of c.emails) carry.email.set(e, id);
    if (c.phones[0]) carry.phone.set(c.phones[0].e164, id);
  }
  return results.map((r) => r!);
}

/**
 * Runs a batch's inserts in a savepoint: each new row's result becomes `created`. When a
 * constraint refuses them (someone else wrote a conflicting record meanwhile) they are rolled
 * back and the new rows join `later`, to be written one by one with their own outcomes.
 */
async function insertOrDefer(
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

/** The inserts of `writeContactBatch` for its new contacts. */
async function insertContacts(run: RunContext, scope: TenantScope, created: NewContact[]): Promise<void> {
  const { orgId, actor } = scope.ctx;
  const tags = await ensureTags(
    scope,
    created.flatMap((n) => n.c.tags),
  );
  const canonical = new Map(tags.map((t) => [t.toLowerCase(), t]));
  const records = created.map(({ id, c }) => {
    const phones = c.phones.map((p, i) => ({ e164: p.e164, raw: p.raw, primary: i === 0 }));
    return {
      id,
      first_name: c.first ?? null,
      last_name: c.last ?? null,
      email: c.emails[0] ?? null,
      emails: c.emails.map((value, i) => ({ value, primary: i === 0 })),
      phone: phones[0]?.e164 ?? null,
      phones,
      tags: [...new Set(c.tags.map((t) => canonical.get(t.trim().toLowerCase()) ?? t.trim()))].filter(
        Boolean,
      ),
      owner_id: c.ownerId ?? null,
      source: c.source,
      lead_status: c.leadStatus,
      notes: c.notes,
      custom: c.custom,
    };
  });
  await scope.conn.query(
    `insert into contacts (org_id, id, first_name, last_name, email, emails, phone, phones, tags, owner_id,
        source, lead_status, notes, custom, created_by, updated_by)
     select $1, x.id, x.first_name, x.last_name, x.email, x.emails, x.phone, x.phones, x.tags, x.owner_id,
        x.source, x.lead_status, x.notes, x.custom, $2, $2
       from jsonb_to_recordset($3::jsonb) as x(id uuid, first_name text, last_name text, email text,
        emails jsonb, phone text, phones jsonb, tags text[], owner_id uuid, source text, lead_status text,
        notes text, custom jsonb)`,
    [orgId, actor.id, JSON.stringify(records)],
  );
  const emails = created.flatMap(({ id, c }) => c.emails.map((email) => ({ contact_id: id, email })));
  if (emails.length > 0)
    await scope.conn.query(
      `insert into contact_emails (org_id, contact_id, email, active)
       select $1, x.contact_id, x.email, true from jsonb_to_recordset($2::jsonb) as x(contact_id uuid, email text)`,
      [orgId, JSON.stringify(emails)],
    );
  const links = created.filter((n) => n.companyId);
  if (links.length > 0)
    await scope.conn.query(
      `insert into contact_companies (org_id, contact_id, company_id, is_primary)
       select $1, x.contact_id, x.company_id, true
         from jsonb_to_recordset($2::jsonb) as x(contact_id uuid, company_id uuid)`,
      [orgId, JSON.stringify(links.map((n) => ({ contact_id: n.id, company_id: n.companyId })))],
    );
  const companyNames = new Map(
    links.length
      ? (
          await rows<{ id: string; name: string }>(
            scope,
            'select id, name from companies where org_id = $1 and id = any($2::uuid[])',
            [[...new Set(links.map((n) => n.companyId!))]],
          )
        ).map((r) => [r.id, r.name])
      : [],
  );
  const events: NewEvent[] = [];
  for (const [i, { id, companyId }] of created.entries()) {
    const r = records[i]!;
    const name =
      [r.first_name, r.last_name].filter(Boolean).join(' ') || r.email || r.phone || 'Unnamed contact';
    events.push({
      type: 'contact.created',
      subject: { object: 'contact', id },
      data: { name, email: r.email },
    });
    if (companyId)
      events.push({
        type: 'contact.company_linked',
        subject: { object: 'contact', id },
        data: { name, company_id: companyId, company_name: companyNames.get(companyId) },
        related: [{ object: 'company', id: companyId }],
      });
  }
  await emitEvents(scope, run.services.jobs, events);
  const external = created.flatMap((n) => (n.c.externalId ? [{ externalId: n.c.externalId, id: n.id }] : []));
  if (external.length > 0) await rememberExternalIds(run, 'contact', external, scope);
}

/** `rememberExternalId` for many records: one upsert. */
async function rememberExternalIds(
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

export function contactBulkWriter(): BulkWriter {
  const carry = emptyKeys();
  return {
    prepare: prepareContactBatch,
    lookup: (scope, batch) => lookupContactBatch(scope, batch as ContactBatch),
    write: (run, batch, writeOne) => writeContactBatch(run, batch as ContactBatch, carry, writeOne),
  };
}

export function companyBulkWriter(): BulkWriter {
  const carry = emptyCompanyKeys();
  return {
    prepare: (run, drafts): CompanyBatch => ({ drafts, prepared: drafts.map((d) => prepareCompany(run, d)) }),
    lookup: (scope, batch) => lookupCompanyBatch(scope, batch as CompanyBatch),
    write: (run, batch, writeOne) => writeCompanyBatch(run, batch as CompanyBatch, carry, writeOne),
  };
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

// ---------------------------------------------------------------- opportunities

/** A batch of opportunity rows on its way: read, then looked up, then written. */
export type OpportunityBatch = {
  drafts: RowDraft[];
  prepared: OpportunityDraft[];
  found?: { external: Map<string, string>; companies: Map<string, string>; contacts: Map<string, string> };
};

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
 * column, the file's last row topmost, as row-by-row creation would leave them.
 * @returns one result per draft, in order
 */
export async function writeOpportunityBatch(
  run: RunContext,
  batch: OpportunityBatch,
  carry: Map<string, string>,
  writeOne: WriteOne,
): Promise<RowResult[]> {
  const { scope } = run;
  const found = batch.found ?? { external: new Map(), companies: new Map(), contacts: new Map() };
  const external = new Map([...carry, ...found.external]);
  const results: (RowResult | null)[] = batch.prepared.map(() => null);
  const object = await objectDef(scope.tx, scope.ctx.orgId, 'opportunity');
  const created: NewOpportunity[] = [];
  const later: number[] = [];
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
      if (run.dedup === 'skip') results[i] = { outcome: 'skipped', recordId: match, problems: o.problems };
      else later.push(i);
      continue;
    }
    try {
      o.fields.custom = mergeCustom(
        {},
        await parseCustomValuesIn(scope, object, o.fields.custom, { path: 'body.custom', creating: true }),
      );
    } catch (error) {
      const p = problemOf(error);
      if (!p) throw error;
      results[i] = { outcome: 'failed', recordId: null, problems: [...o.problems, p] };
      continue;
    }
    const id = randomUUID();
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
  await insertOrDefer(
    scope,
    created.map((n) => ({ ...n, problems: n.o.problems })),
    (sp) => insertOpportunities(run, sp, created),
    results,
    later,
  );
  for (const i of later.sort((a, b) => a - b)) results[i] = await writeOne(batch.drafts[i]!);
  carry.clear();
  for (const [i, o] of batch.prepared.entries()) {
    const id = results[i]?.recordId;
    if (o.externalId && id) carry.set(o.externalId, id);
  }
  return results.map((r) => r!);
}

async function insertOpportunities(run: RunContext, scope: TenantScope, created: NewOpportunity[]) {
  const { orgId, actor } = scope.ctx;
  const tags = await ensureTags(
    scope,
    created.flatMap((n) => n.o.fields.tags),
  );
  const canonical = new Map(tags.map((t) => [t.toLowerCase(), t]));
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
      rank: ranks.get(n.id)!,
      tags: [...new Set(f.tags.map((t) => canonical.get(t.trim().toLowerCase()) ?? t.trim()))].filter(
        Boolean,
      ),
      custom: f.custom,
    };
  });
  await scope.conn.query(
    `insert into opportunities (org_id, id, title, amount, currency, expected_close_date, owner_id, contact_id,
        company_id, pipeline_id, stage_id, status, closed_at, rank, source, tags, custom, created_by, updated_by)
     select $1, x.id, x.title, x.amount, x.currency, x.expected_close_date, x.owner_id, x.contact_id,
        x.company_id, x.pipeline_id, x.stage_id, x.status, case when x.closed then now() end, x.rank, 'import',
        x.tags, x.custom, $2, $2
       from jsonb_to_recordset($3::jsonb) as x(id uuid, title text, amount numeric, currency text,
        expected_close_date date, owner_id uuid, contact_id uuid, company_id uuid, pipeline_id uuid,
        stage_id uuid, status text, closed boolean, rank text, tags text[], custom jsonb)`,
    [orgId, actor.id, JSON.stringify(records)],
  );
  await scope.conn.query(
    `insert into opportunity_stage_history (org_id, opportunity_id, from_stage_id, to_stage_id, status, moved_by)
     select $1, x.id, null, x.stage_id, x.status, $2
       from jsonb_to_recordset($3::jsonb) as x(id uuid, stage_id uuid, status text)`,
    [
      orgId,
      actor.id,
      JSON.stringify(records.map((r) => ({ id: r.id, stage_id: r.stage_id, status: r.status }))),
    ],
  );
  await emitEvents(
    scope,
    run.services.jobs,
    created.map((n, i) => {
      const r = records[i]!;
      return {
        type: 'opportunity.created',
        subject: { object: 'opportunity', id: n.id },
        data: { name: r.title, stage: n.stage.name, amount: n.o.fields.amount ?? null, currency: r.currency },
        related: [
          ...(r.contact_id ? [{ object: 'contact', id: r.contact_id }] : []),
          ...(r.company_id ? [{ object: 'company', id: r.company_id }] : []),
        ],
      };
    }),
  );
  const ids = created.flatMap((n) => (n.o.externalId ? [{ externalId: n.o.externalId, id: n.id }] : []));
  if (ids.length > 0) await rememberExternalIds(run, 'opportunity', ids, scope);
}

// ---------------------------------------------------------------- companies

/** Which company each dedup key points to: external id, phone (E.164), domain, lower-cased name. */
type CompanyKeys = {
  external: Map<string, string>;
  phone: Map<string, string>;
  domain: Map<string, string>;
  name: Map<string, string>;
};

const emptyCompanyKeys = (): CompanyKeys => ({
  external: new Map(),
  phone: new Map(),
  domain: new Map(),
  name: new Map(),
});

/** A batch of company rows on its way: read, then looked up, then written. */
export type CompanyBatch = {
  drafts: RowDraft[];
  prepared: (CompanyDraft | RowResult)[];
  found?: CompanyKeys & { parents: Map<string, string> };
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
  batch.found = {
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
  };
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
  const found = batch.found ?? { ...emptyCompanyKeys(), parents: new Map<string, string>() };
  const results: (RowResult | null)[] = batch.prepared.map((p) => ('outcome' in p ? p : null));
  const keys: CompanyKeys = {
    external: new Map([...carry.external, ...found.external]),
    phone: new Map([...carry.phone, ...found.phone]),
    domain: new Map([...carry.domain, ...found.domain]),
    name: new Map([...carry.name, ...found.name]),
  };
  const keep = (c: CompanyDraft, id: string, k: CompanyKeys = keys) => {
    if (c.externalId) k.external.set(c.externalId, id);
    if (c.phone && !k.phone.has(c.phone)) k.phone.set(c.phone, id);
    if (c.domain && !k.domain.has(c.domain)) k.domain.set(c.domain, id);
    if (!k.name.has(c.input.name.toLowerCase())) k.name.set(c.input.name.toLowerCase(), id);
  };
  const object = await objectDef(scope.tx, scope.ctx.orgId, 'company');
  const created: NewCompany[] = [];
  const later: number[] = [];
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
    const match =
      (c.externalId ? keys.external.get(c.externalId) : undefined) ??
      (c.phone ? keys.phone.get(c.phone) : undefined) ??
      (c.domain ? keys.domain.get(c.domain) : undefined) ??
      keys.name.get(c.input.name.toLowerCase());
    if (match) {
      if (run.dedup === 'skip') {
        results[i] = { outcome: 'skipped', recordId: match, problems: c.problems };
        if (c.externalId) {
          remembered.push({ externalId: c.externalId, id: match });
          keys.external.set(c.externalId, match);
        }
      } else {
        later.push(i);
        keep(c, match);
      }
      continue;
    }
    try {
      c.custom = mergeCustom(
        {},
        await parseCustomValuesIn(scope, object, c.custom, { path: 'body.custom', creating: true }),
      );
    } catch (error) {
      const p = problemOf(error);
      if (!p) throw error;
      results[i] = { outcome: 'failed', recordId: null, problems: [...c.problems, p] };
      continue;
    }
    const id = randomUUID();
    created.push({ id, row: i, c, parentId });
    keep(c, id);
  }
  await insertOrDefer(
    scope,
    created.map((n) => ({ ...n, problems: n.c.problems })),
    (sp) => insertCompanies(run, sp, created),
    results,
    later,
  );
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
  const canonical = new Map(tags.map((t) => [t.toLowerCase(), t]));
  const records = created.map(({ id, c, parentId }) => ({
    id,
    name: c.input.name,
    domain: c.domain ?? null,
    website: c.input.website ?? null,
    phone: c.phone ?? null,
    address: c.input.address ?? {},
    industry: c.input.industry ?? null,
    size: c.input.size ?? null,
    tags: [...new Set(c.tags.map((t) => canonical.get(t.trim().toLowerCase()) ?? t.trim()))].filter(Boolean),
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
  await emitEvents(
    scope,
    run.services.jobs,
    records.map((r) => ({
      type: 'company.created',
      subject: { object: 'company', id: r.id },
      data: { name: r.name },
    })),
  );
  const ids = created.flatMap((n) => (n.c.externalId ? [{ externalId: n.c.externalId, id: n.id }] : []));
  if (ids.length > 0) await rememberExternalIds(run, 'company', ids, scope);
}
