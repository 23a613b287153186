// Contacts an import creates, written a batch at a time (import-bulk.ts).

import { newId } from '../../db/ids.js';
import { sendInOrder, type TenantScope } from '../../db/tenant.js';
import { contactDisplayName } from '../../platform/registry/display-name.js';
import { normalizeTag } from '../../platform/registry/field-values.js';
import { recordTitlesIn } from '../../platform/registry/record-lookup.js';
import { emitContactsCreatedIn } from '../contacts/contact.service.js';
import { insertContactEmails } from '../contacts/contact-emails.service.js';
import { updateContactsIn } from '../contacts/contact-updates.service.js';
import { ensureTags } from '../tags/tag.service.js';
import {
  findCompanies,
  insertOrDefer,
  lookedUp,
  PIPELINE_DEPTH,
  type PipelinedWriter,
  recordsOfExternalIds,
  rememberExternalIds,
  rows,
  type StoredCustom,
  storedCustoms,
  updateOrDefer,
  type WriteOne,
} from './import-bulk.js';
import type { RowDraft } from './import-values.js';
import {
  failedRow,
  type RowMatch,
  type RowResult,
  type RunContext,
  type RunSettings,
} from './import-writers.js';
import {
  type ContactDraft,
  contactConflict,
  contactNames,
  contactUpdate,
  fullName,
  matchOf,
  prepareContact,
  unknownCompany,
  updatedContactRow,
} from './writers-contacts.js';

/** A row planned as a new contact, with its custom values as they will be stored. */
type NewContact = {
  id: string;
  row: number;
  c: ContactDraft;
  companyId: string | null;
  custom: Record<string, unknown>;
};
/** A row matching contact `id`, to be updated. */
type Matched = { row: number; id: string; c: ContactDraft; companyId: string | null; match: RowMatch };

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
  /** Set by `lookupContactBatch`: the records its rows match, and each row's custom values. */
  found?: ContactKeys & {
    companies: Map<string, string>;
    custom: (StoredCustom | null)[];
    /** The full names of the contacts matched, by id (a row naming someone else is a conflict). */
    names: Map<string, string>;
  };
  /** Set by `planContactBatch`. */
  plan?: ContactPlan;
};

const emptyKeys = (): ContactKeys => ({ external: new Map(), email: new Map(), phone: new Map() });

/** Reads a batch's rows (no database access): the first step of a contact batch (`contactBulkWriter`). */
export function prepareContactBatch(run: RunSettings, drafts: RowDraft[]): ContactBatch {
  return { drafts, prepared: drafts.map((draft) => prepareContact(run, draft)) };
}

/**
 * Looks up, for a whole batch, the active contacts its rows match (external id, e-mail, primary
 * phone) and the companies they name. Needs no write: the runner does it in a transaction of its
 * own while earlier batches are being written (their keys reach `planContactBatch` from their
 * plans).
 */
export async function lookupContactBatch(scope: TenantScope, batch: ContactBatch): Promise<void> {
  const ready = batch.prepared.filter((p): p is ContactDraft => !('outcome' in p));
  const externals = ready.flatMap((p) => (p.externalId ? [p.externalId] : []));
  const emails = ready.flatMap((p) => p.emails);
  const phones = ready.flatMap((p) => p.phones.map((x) => x.e164));
  const found = {
    ...emptyKeys(),
    companies: new Map<string, string>(),
    custom: [] as (StoredCustom | null)[],
    names: new Map<string, string>(),
  };
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
  found.names = await contactNames(scope, [
    ...found.external.values(),
    ...found.email.values(),
    ...found.phone.values(),
  ]);
  found.companies = await findCompanies(
    scope,
    ready.flatMap((p) => (p.companyRef ? [p.companyRef] : [])),
  );
  found.custom = await storedCustoms(
    scope,
    'contact',
    batch.prepared.map((p) => ('outcome' in p ? null : p.custom)),
  );
  batch.found = found;
}

/** What `planContactBatch` decided for a batch before anything is written. */
type ContactPlan = {
  /** Per draft: its result once known (failed and skipped rows now, new ones after the insert). */
  results: (RowResult | null)[];
  created: NewContact[];
  matched: Matched[];
  /** External ids of skipped rows, pointing at the record they matched. */
  remembered: { externalId: string; id: string }[];
  /** Rows the bulk statements could not write, left for `writeOne`. */
  later: number[];
  /** Per draft: the record the row is planned to end with. */
  ids: (string | null)[];
  /** The batch's keys, pointing at those records (`finishContactBatch` replaces them when a row ends otherwise). */
  keys: ContactKeys;
  /** The earlier batches whose keys this plan relied on, with their keys as they were then. */
  used: { batch: ContactBatch; keys: ContactKeys }[];
  /** Set by `registerContactTags`: lower-cased name -> the tag as registered, for the new contacts' tags. */
  tags?: Map<string, string>;
};

/** Each key of the batch's rows, pointing at the record its row ends with (`ids`). */
function keysOf(batch: ContactBatch, ids: readonly (string | null | undefined)[]): ContactKeys {
  const keys = emptyKeys();
  for (const [i, c] of batch.prepared.entries()) {
    const id = ids[i];
    if ('outcome' in c || !id) continue;
    if (c.externalId) keys.external.set(c.externalId, id);
    for (const e of c.emails) keys.email.set(e, id);
    if (c.phones[0]) keys.phone.set(c.phones[0].e164, id);
  }
  return keys;
}

/**
 * Decides, without the database, what each row of a looked-up batch becomes. A row matching an
 * existing contact (`found`, the keys of `earlier` batches, which may not be committed yet, or a
 * row earlier in this batch: external id, then e-mail, then primary phone, as `writeContact`) is
 * skipped (dedup `skip`) or updated (`finishContactBatch`, in file order); the others are new
 * contacts with ids of their own. Sets `batch.plan`; planning again (after a new lookup) starts
 * over. Batches are planned in file order: each relies on the plans before it.
 */
export function planContactBatch(run: RunSettings, batch: ContactBatch, earlier: ContactBatch[]): void {
  const found = lookedUp(batch);
  const used = earlier.flatMap((b) => (b.plan ? [{ batch: b, keys: b.plan.keys }] : []));
  // Where a key points: this batch's own rows first, then the database, then newer batches' over older.
  const own = emptyKeys();
  const layers: ContactKeys[] = [own, found, ...used.map((u) => u.keys).reverse()];
  const pointed = (kind: keyof ContactKeys, value: string): string | undefined => {
    for (const layer of layers) {
      const id = layer[kind].get(value);
      if (id) return id;
    }
    return undefined;
  };
  const results: (RowResult | null)[] = batch.prepared.map((p) => ('outcome' in p ? p : null));
  const ids: (string | null)[] = batch.prepared.map(() => null);
  // The names of the contacts a row may match: in the database, or new in an earlier batch or row.
  const names = new Map(found.names);
  for (const u of used)
    for (const n of u.batch.plan?.created ?? []) names.set(n.id, fullName(n.c.first, n.c.last));
  const created: NewContact[] = [];
  const matched: Matched[] = [];
  const remembered: { externalId: string; id: string }[] = [];
  for (const [i, prepared] of batch.prepared.entries()) {
    if ('outcome' in prepared) continue;
    const companyId = prepared.companyRef ? (found.companies.get(prepared.companyRef) ?? null) : null;
    // Not changed in place: planning again starts from the draft as read.
    let c: ContactDraft =
      prepared.companyRef && !companyId
        ? { ...prepared, problems: [...prepared.problems, unknownCompany(run, prepared.companyRef)] }
        : prepared;
    const matching = matchOf(run, c, pointed);
    if (matching) {
      const { id: match, key } = matching;
      ids[i] = match;
      const conflict = contactConflict(run, c, names.get(match), key.by);
      if (conflict) c = { ...c, problems: [...c.problems, conflict] };
      if (c.externalId) own.external.set(c.externalId, match);
      if (run.dedup === 'skip') {
        results[i] = { outcome: 'skipped', recordId: match, problems: c.problems, match: key };
        if (c.externalId) remembered.push({ externalId: c.externalId, id: match });
      } else {
        // The update adds this row's e-mails to the match: later rows find it by them.
        matched.push({ row: i, id: match, c, companyId, match: key });
        for (const e of c.emails) if (!pointed('email', e)) own.email.set(e, match);
      }
      continue;
    }
    const stored = found.custom[i]!;
    if (!stored.ok) {
      results[i] = failedRow([...c.problems, stored.problem]);
      continue;
    }
    const id = newId();
    ids[i] = id;
    created.push({ id, row: i, c, companyId, custom: stored.custom });
    names.set(id, fullName(c.first, c.last));
    if (c.externalId) own.external.set(c.externalId, id);
    for (const e of c.emails) own.email.set(e, id);
    if (c.phones[0]) own.phone.set(c.phones[0].e164, id);
  }
  batch.plan = { results, created, matched, remembered, later: [], ids, keys: keysOf(batch, ids), used };
}

/**
 * Registers the tags of a planned batch's new contacts (`ensureTags`). The runner does it in a
 * transaction of its own, committed before the batch's: two batches written at once then never
 * wait for each other's new tag (which, the later one having written it first, would be a
 * deadlock PostgreSQL cannot see, the earlier one waiting on the database and the later one on
 * the earlier one's commit). A row that fails after all leaves its tag registered.
 */
export async function registerContactTags(scope: TenantScope, batch: ContactBatch): Promise<void> {
  const plan = batch.plan!;
  const tags = await ensureTags(
    scope,
    plan.created.flatMap((n) => n.c.tags),
  );
  plan.tags = new Map(tags.map((t) => [normalizeTag(t), t]));
}

/**
 * Whether a plan relied on keys an earlier batch no longer has: that batch's rows ended otherwise
 * than planned (`finishContactBatch`), or it was planned again. The batch is then planned again.
 */
export function contactPlanIsStale(batch: ContactBatch): boolean {
  return Boolean(batch.plan?.used.some((u) => u.batch.plan?.keys !== u.keys));
}

/**
 * Writes a planned batch's new contacts with one insert each for contacts, their e-mails, company
 * links and external ids, and their events with one insert and one dispatch job: nothing another
 * batch of the import writes, so it may run before the batches before it have committed. If a
 * constraint refuses them (a contact written by someone else meanwhile took an e-mail), they are
 * rolled back and those rows are left to `finishContactBatch`.
 */
export async function insertContactBatch(run: RunContext, batch: ContactBatch): Promise<void> {
  const plan = batch.plan!;
  await insertOrDefer(
    run.scope,
    plan.created.map((n) => ({ ...n, problems: n.c.problems })),
    (sp) => insertContacts(run, sp, plan),
    plan.results,
    plan.later,
  );
}

/**
 * The rest of a planned batch, once the batches before it have committed: the matched contacts
 * updated with one `updateContactsIn`, in file order (`contactPatch`), the external ids of skipped
 * rows remembered, and the rows the bulk statements could not write (`later`) written through
 * `writeOne`, so each row still gets its own outcome. When a row ends with another record than
 * planned, the batch's keys are replaced by what it wrote (later batches planned on the old ones
 * are planned again: `contactPlanIsStale`).
 * @returns one result per draft, in order
 */
export async function finishContactBatch(
  run: RunContext,
  batch: ContactBatch,
  writeOne: WriteOne,
): Promise<RowResult[]> {
  const { scope } = run;
  const plan = batch.plan!;
  const { results, later, matched } = plan;
  await updateOrDefer(
    scope,
    matched,
    (sp) =>
      updateContactsIn(
        sp,
        run.services,
        matched.map((m) => ({ id: m.id, input: contactUpdate(run, m.c, m.companyId) })),
      ),
    (m, r) => ({ ...updatedContactRow(run, m.c, m.companyId, m.id, r), match: m.match }),
    (m) => m.c.problems,
    results,
    later,
  );
  const remembered = [...plan.remembered];
  for (const m of matched)
    if (m.c.externalId && results[m.row] && results[m.row]!.outcome !== 'failed')
      remembered.push({ externalId: m.c.externalId, id: m.id });
  if (remembered.length > 0) await rememberExternalIds(run, 'contact', remembered);
  for (const i of later.sort((a, b) => a - b)) results[i] = await writeOne(batch.drafts[i]!);
  const ended = results.map((r) => r?.recordId ?? null);
  if (ended.some((id, i) => id !== plan.ids[i])) plan.keys = keysOf(batch, ended);
  // Checked for staleness before: letting go of the earlier batches lets them be collected.
  plan.used = [];
  return results.map((r) => r!);
}

/** The inserts of `insertContactBatch`: the plan's new contacts, their tags as registered. */
async function insertContacts(run: RunContext, scope: TenantScope, plan: ContactPlan): Promise<void> {
  const { orgId, actor } = scope.ctx;
  const { created } = plan;
  const canonical = plan.tags ?? new Map<string, string>();
  const records = created.map(({ id, c, custom }) => {
    const phones = c.phones.map((p, i) => ({ e164: p.e164, raw: p.raw, primary: i === 0 }));
    return {
      id,
      first_name: c.first ?? null,
      last_name: c.last ?? null,
      email: c.emails[0] ?? null,
      emails: c.emails.map((value, i) => ({ value, primary: i === 0 })),
      phone: phones[0]?.e164 ?? null,
      phones,
      tags: [...new Set(c.tags.map((t) => canonical.get(normalizeTag(t)) ?? t.trim()))].filter(Boolean),
      owner_id: c.ownerId ?? null,
      source: c.source,
      lead_status: c.leadStatus,
      notes: c.notes,
      custom,
    };
  });
  const links = created.filter((n) => n.companyId);
  // The contacts, their e-mails and company links leave together on a server (pipeline mode), and
  // the events follow them there when no company name is to be read first.
  const written = sendInOrder(scope, [
    () =>
      scope.conn.query(
        `insert into contacts (org_id, id, first_name, last_name, email, emails, phone, phones, tags, owner_id,
            source, lead_status, notes, custom, created_by, updated_by)
         select $1, x.id, x.first_name, x.last_name, x.email, x.emails, x.phone, x.phones, x.tags, x.owner_id,
            x.source, x.lead_status, x.notes, x.custom, $2, $2
           from jsonb_to_recordset($3::jsonb) as x(id uuid, first_name text, last_name text, email text,
            emails jsonb, phone text, phones jsonb, tags text[], owner_id uuid, source text, lead_status text,
            notes text, custom jsonb)`,
        [orgId, actor.id, JSON.stringify(records)],
      ),
    () =>
      insertContactEmails(
        scope,
        created.flatMap(({ id, c }) => c.emails.map((email) => ({ contact_id: id, email }))),
      ),
    ...(links.length > 0
      ? [
          () =>
            scope.conn.query(
              `insert into contact_companies (org_id, contact_id, company_id, is_primary)
               select $1, x.contact_id, x.company_id, true
                 from jsonb_to_recordset($2::jsonb) as x(contact_id uuid, company_id uuid)`,
              [orgId, JSON.stringify(links.map((n) => ({ contact_id: n.id, company_id: n.companyId })))],
            ),
        ]
      : []),
  ]);
  written.catch(() => {}); // awaited below, before any later failure is reported
  try {
    if (!scope.pipeline) await written;
    const companyNames = await recordTitlesIn(
      scope,
      'company',
      links.map((n) => n.companyId!),
    );
    await emitContactsCreatedIn(
      scope,
      run.services,
      created.map(({ id, companyId }, i) => {
        const r = records[i]!;
        const company = companyId ? { id: companyId, name: companyNames.get(companyId) } : undefined;
        return { id, name: contactDisplayName(r), email: r.email, ...(company ? { company } : {}) };
      }),
    );
  } catch (error) {
    await written; // its failure first: the statements after it fail only as aborted
    throw error;
  }
  await written;
  const external = created.flatMap((n) => (n.c.externalId ? [{ externalId: n.c.externalId, id: n.id }] : []));
  if (external.length > 0) await rememberExternalIds(run, 'contact', external, scope);
}

export function contactBulkWriter(): PipelinedWriter {
  const recent: ContactBatch[] = [];
  return {
    prepare: prepareContactBatch,
    lookup: (scope, batch) => lookupContactBatch(scope, batch as ContactBatch),
    plan(run, batch, fresh) {
      const b = batch as ContactBatch;
      planContactBatch(run, b, fresh ? [] : recent.filter((r) => r !== b));
      if (!recent.includes(b)) recent.push(b);
      if (recent.length > PIPELINE_DEPTH) recent.shift();
    },
    register: (scope, batch) => registerContactTags(scope, batch as ContactBatch),
    stale: (batch) => contactPlanIsStale(batch as ContactBatch),
    insert: (run, batch) => insertContactBatch(run, batch as ContactBatch),
    finish: (run, batch, writeOne) => finishContactBatch(run, batch as ContactBatch, writeOne),
  };
}
