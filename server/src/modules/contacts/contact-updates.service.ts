import type { TenantContext, TenantScope } from '../../db/tenant.js';
import { withTenant } from '../../db/tenant.js';
import { AppError, conflict } from '../../platform/errors/app-error.js';
import { changesBetween } from '../../platform/events/changes.js';
import type { NewEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { parseCustomValuesIn } from '../../platform/registry/field-references.js';
import { mergeCustom } from '../../platform/registry/field-values.js';
import { objectDef } from '../../platform/registry/registry.service.js';
import {
  applyChanges,
  type ChangeState,
  type RecordChange,
  type RecordChangeResult,
} from '../records/record-changes.js';
import { ReferenceLookups, type Wanted } from '../records/reference-lookups.js';
import type { ContactUpdateInput, ContactView } from './contact.dto.js';
import { contacts } from './contact.schema.js';
import { linkEvents } from './contact-company-links.service.js';
import { insertContactEmails, normalizeEmails, normalizePhones } from './contact-emails.service.js';
import { contactViews, displayName } from './contact-views.service.js';

type ContactRow = typeof contacts.$inferSelect;

/** The fields whose before and after a `contact.updated` event records. */
const COMPARED: (keyof ContactView)[] = [
  'first_name',
  'last_name',
  'job_title',
  'emails',
  'phones',
  'tags',
  'owner_id',
  'source',
  'lead_status',
  'notes',
  'custom',
];

/** One update of `updateContactsIn` (see `RecordChange`). */
export type ContactChange = RecordChange<ContactView, ContactUpdateInput>;
/** What became of one `ContactChange`. */
export type ContactChangeResult = RecordChangeResult<ContactView>;

/**
 * Updates the given fields (absent ones keep their value; null clears). Records one
 * `contact.updated` event with each changed field's before and after, plus link/unlink events.
 * @throws 404, 400, 409 `duplicate_email`, 409 `archived` (restore first)
 */
export async function updateContact(
  services: Services,
  ctx: TenantContext,
  id: string,
  input: ContactUpdateInput,
): Promise<ContactView> {
  return withTenant(services.database, ctx, (scope) => updateContactIn(scope, services, id, input));
}

/** `updateContact` inside the caller's tenant transaction (import, merge). */
export async function updateContactIn(
  scope: TenantScope,
  services: Services,
  id: string,
  input: ContactUpdateInput,
): Promise<ContactView> {
  const [result] = await updateContactsIn(scope, services, [{ id, input }]);
  if (!result!.ok) throw result!.error;
  return result!.after;
}

/** `ReferenceLookups` with the owners of e-mails: another contact's e-mail is refused. */
class ContactLookups extends ReferenceLookups {
  /** E-mail -> the active contact that has it; '' for none. */
  readonly emailOwner = new Map<string, string>();

  override async read(wanted: Wanted & { emails?: string[] }): Promise<void> {
    await super.read(wanted);
    for (const r of await this.query<{ email: string; id: string }>(
      'select email, contact_id as id from contact_emails where org_id = $1 and active and email = any($2::text[])',
      this.unknown(this.emailOwner, wanted.emails, ''),
    ))
      this.emailOwner.set(r.email, r.id);
  }
}

const wantedBy = (inputs: ContactUpdateInput[]) => ({
  emails: inputs.flatMap((i) => (i.emails ? normalizeEmails(i.emails).map((e) => e.value) : [])),
  companies: inputs.flatMap((i) => (i.companies ?? []).map((c) => c.id)),
  members: inputs.flatMap((i) => (i.owner_id ? [i.owner_id] : [])),
  tags: inputs.flatMap((i) => i.tags ?? []),
});

/** A contact while a batch is applied, and whether its e-mails or company links changed. */
type State = ChangeState<ContactRow, ContactView> & { emails: boolean; links: boolean };

/**
 * `updateContactIn` for many contacts in a handful of statements whatever their number: the
 * contacts are read (locked) once, each item is checked and applied in order in memory (an item
 * sees the contact as the items before it left it; one contact may come more than once), then
 * every changed contact is written with one statement per table, and the events with one insert.
 * An item refused (unknown or archived contact, bad value, an e-mail another contact has, unknown
 * company or owner) changes nothing and its error is its result; the others are written. Each
 * item that was written records the events `updateContactIn` records.
 * A constraint the checks could not foresee (a contact written by someone else meanwhile took an
 * e-mail) throws, as a database error, with nothing of the batch written: run it in a savepoint
 * to fall back.
 * @returns one result per item, in order
 */
export async function updateContactsIn(
  scope: TenantScope,
  services: Services,
  changes: ContactChange[],
): Promise<ContactChangeResult[]> {
  const object = await objectDef(scope.tx, scope.ctx.orgId, 'contact');
  const lookups = new ContactLookups(scope);
  return applyChanges(scope, services, changes, {
    label: 'Contact',
    table: contacts,
    views: (rows) => contactViews(scope, rows),
    start: (row, view) => {
      // The contacts' own e-mails: an item may keep them; another contact's e-mail is refused.
      for (const e of row.emails) lookups.emailOwner.set(e.value, row.id);
      return { row, view, emails: false, links: false, written: false };
    },
    readAhead: (inputs) => lookups.read(wantedBy(inputs)),
    apply: (s, input) => apply(scope, lookups, object, s, input),
    write: async (written) => {
      await lookups.saveTags(written.flatMap((s) => s.row.tags));
      await write(scope, written);
    },
  });
}

/**
 * One item applied in memory to its contact: the checks and rules of `updateContactIn`, the
 * e-mail owners updated for the items after it.
 * @returns its events: `contact.updated` with what changed, one per company linked or unlinked
 * @throws AppError as `updateContactIn` (400 bad value, 409 `duplicate_email`, 422 unknown owner or company)
 */
async function apply(
  scope: TenantScope,
  lookups: ContactLookups,
  object: Awaited<ReturnType<typeof objectDef>>,
  s: State,
  input: ContactUpdateInput,
): Promise<NewEvent[]> {
  const id = s.row.id;
  const custom = input.custom
    ? await parseCustomValuesIn(scope, object, input.custom, { path: 'body.custom', creating: false })
    : undefined;
  // Read ahead already, unless an earlier item changed what this one asks for.
  await lookups.read(wantedBy([input]));
  if (input.owner_id) lookups.assertMember(input.owner_id, 'body.owner_id');
  const emails = input.emails ? normalizeEmails(input.emails) : undefined;
  const phones = input.phones ? normalizePhones(input.phones) : undefined;
  if (emails) {
    const taken = emails.findIndex((e) => {
      const owner = lookups.emailOwner.get(e.value);
      return owner && owner !== id;
    });
    if (taken !== -1)
      throw conflict(
        `Another contact already has the e-mail ${emails[taken]!.value}`,
        `body.emails[${taken}].value`,
        'duplicate_email',
      );
  }
  const names = new Map(s.view.companies.map((c) => [c.id, c.name]));
  let companies = s.view.companies;
  const links = { added: [] as string[], removed: [] as string[] };
  if (input.companies) {
    const missing = input.companies.findIndex((l) => typeof lookups.company.get(l.id) !== 'string');
    if (missing !== -1)
      throw new AppError(422, 'reference_not_found', 'No company with this id', {
        path: `body.companies[${missing}].id`,
      });
    const unique = [...new Set(input.companies.map((l) => l.id))];
    const primary =
      input.companies[
        Math.max(
          0,
          input.companies.findIndex((l) => l.primary),
        )
      ]?.id;
    for (const c of unique) names.set(c, lookups.company.get(c)!);
    companies = unique.map((c) => ({ id: c, name: names.get(c)!, primary: c === primary }));
    const beforeIds = s.view.companies.map((c) => c.id);
    links.added = unique.filter((c) => !beforeIds.includes(c));
    links.removed = beforeIds.filter((c) => !unique.includes(c));
  }
  if (emails) {
    for (const e of s.row.emails)
      if (lookups.emailOwner.get(e.value) === id) lookups.emailOwner.delete(e.value);
    for (const e of emails) lookups.emailOwner.set(e.value, id);
  }
  const row: ContactRow = {
    ...s.row,
    ...(input.first_name !== undefined ? { firstName: input.first_name } : {}),
    ...(input.last_name !== undefined ? { lastName: input.last_name } : {}),
    ...(input.job_title !== undefined ? { jobTitle: input.job_title } : {}),
    ...(emails ? { emails, email: emails.find((e) => e.primary)?.value ?? null } : {}),
    ...(phones ? { phones, phone: phones.find((p) => p.primary)?.e164 ?? null } : {}),
    ...(input.tags ? { tags: lookups.tags(input.tags) } : {}),
    ...(input.owner_id !== undefined ? { ownerId: input.owner_id } : {}),
    ...(input.source !== undefined ? { source: input.source } : {}),
    ...(input.lead_status !== undefined ? { leadStatus: input.lead_status } : {}),
    ...(input.notes !== undefined ? { notes: input.notes } : {}),
    ...(custom ? { custom: mergeCustom(s.row.custom, custom) } : {}),
    updatedBy: scope.ctx.actor.id,
    updatedAt: new Date().toISOString(),
  };
  const view: ContactView = {
    ...s.view,
    first_name: row.firstName,
    last_name: row.lastName,
    job_title: row.jobTitle,
    email: row.email,
    emails: row.emails,
    phone: row.phone,
    phones: row.phones,
    tags: row.tags,
    owner_id: row.ownerId,
    companies,
    source: row.source,
    lead_status: row.leadStatus,
    notes: row.notes,
    custom: row.custom,
    updated_by: row.updatedBy,
    updated_at: row.updatedAt,
  };
  const before = s.view;
  s.row = row;
  s.view = view;
  s.emails ||= Boolean(emails);
  s.links ||= links.added.length + links.removed.length > 0;
  const changes = changesBetween(before, view, COMPARED);
  const name = displayName(view);
  return [
    ...(Object.keys(changes).length > 0
      ? [{ type: 'contact.updated' as const, subject: { object: 'contact', id }, data: { name, changes } }]
      : []),
    ...linkEvents({ id, name }, links, names),
  ];
}

/** Writes the contacts `updateContactsIn` changed: their rows, then e-mails and links where they changed. */
async function write(scope: TenantScope, written: State[]): Promise<void> {
  const { orgId } = scope.ctx;
  await scope.conn.query(
    `update contacts c set first_name = x.first_name, last_name = x.last_name, job_title = x.job_title, email = x.email,
        emails = x.emails, phone = x.phone, phones = x.phones, tags = x.tags, owner_id = x.owner_id,
        source = x.source, lead_status = x.lead_status, notes = x.notes, custom = x.custom,
        updated_by = x.updated_by, updated_at = x.updated_at
       from jsonb_to_recordset($2::jsonb) as x(id uuid, first_name text, last_name text, job_title text, email text,
        emails jsonb, phone text, phones jsonb, tags text[], owner_id uuid, source text, lead_status text,
        notes text, custom jsonb, updated_by uuid, updated_at timestamptz)
      where c.org_id = $1 and c.id = x.id`,
    [
      orgId,
      JSON.stringify(
        written.map(({ row: r }) => ({
          id: r.id,
          first_name: r.firstName,
          last_name: r.lastName,
          job_title: r.jobTitle,
          email: r.email,
          emails: r.emails,
          phone: r.phone,
          phones: r.phones,
          tags: r.tags,
          owner_id: r.ownerId,
          source: r.source,
          lead_status: r.leadStatus,
          notes: r.notes,
          custom: r.custom,
          updated_by: r.updatedBy,
          updated_at: r.updatedAt,
        })),
      ),
    ],
  );
  // Deleted first for all, then inserted: an e-mail one contact gave up another may take.
  const emails = written.filter((s) => s.emails);
  if (emails.length > 0) {
    await scope.conn.query('delete from contact_emails where org_id = $1 and contact_id = any($2::uuid[])', [
      orgId,
      emails.map((s) => s.row.id),
    ]);
    await insertContactEmails(
      scope,
      emails.flatMap((s) => s.row.emails.map((e) => ({ contact_id: s.row.id, email: e.value }))),
    );
  }
  const links = written.filter((s) => s.links);
  if (links.length > 0) {
    await scope.conn.query(
      'delete from contact_companies where org_id = $1 and contact_id = any($2::uuid[])',
      [orgId, links.map((s) => s.row.id)],
    );
    const values = links.flatMap((s) =>
      s.view.companies.map((c) => ({ contact_id: s.row.id, company_id: c.id, is_primary: c.primary })),
    );
    if (values.length > 0)
      await scope.conn.query(
        `insert into contact_companies (org_id, contact_id, company_id, is_primary)
         select $1, x.contact_id, x.company_id, x.is_primary
           from jsonb_to_recordset($2::jsonb) as x(contact_id uuid, company_id uuid, is_primary boolean)`,
        [orgId, JSON.stringify(values)],
      );
  }
}
