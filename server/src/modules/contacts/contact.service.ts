import { and, asc, eq, getTableColumns, inArray, isNotNull, isNull, sql } from 'drizzle-orm';
import { auditView } from '../../db/columns.js';
import { preparedSelect } from '../../db/prepared.js';
import type { TenantContext, TenantScope } from '../../db/tenant.js';
import { withTenant } from '../../db/tenant.js';
import { assertMember } from '../../platform/access/membership.js';
import { AppError, badRequest, conflict, notFound } from '../../platform/errors/app-error.js';
import { emitEvent, emitEvents, type NewEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { type ContactNameFields, contactDisplayName } from '../../platform/registry/display-name.js';
import { normalizeEmail } from '../../platform/registry/email.js';
import { parseCustomValuesIn } from '../../platform/registry/field-references.js';
import { mergeCustom } from '../../platform/registry/field-values.js';
import { toE164 } from '../../platform/registry/phone.js';
import { recordTitleSql, recordTitlesIn } from '../../platform/registry/record-lookup.js';
import { objectDef } from '../../platform/registry/registry.service.js';
import { ensureTags } from '../tags/tag.service.js';
import type { ContactCreateInput, ContactView } from './contact.dto.js';
import {
  contactCompanies,
  contactEmails,
  contacts,
  type EmailValue,
  type PhoneValue,
} from './contact.schema.js';

type ContactRow = typeof contacts.$inferSelect;

/** Adds active e-mails to contacts: one insert for any number (import batches, batch updates). */
export async function insertContactEmails(
  scope: TenantScope,
  emails: { contact_id: string; email: string }[],
): Promise<void> {
  if (emails.length === 0) return;
  await scope.conn.query(
    `insert into contact_emails (org_id, contact_id, email, active)
     select $1, x.contact_id, x.email, true from jsonb_to_recordset($2::jsonb) as x(contact_id uuid, email text)`,
    [scope.ctx.orgId, JSON.stringify(emails)],
  );
}

/** Normalizes e-mails: lower-cased, de-duplicated, exactly one primary (the first unless one says so). */
export function normalizeEmails(input: NonNullable<ContactCreateInput['emails']>): EmailValue[] {
  const seen = new Set<string>();
  const out: EmailValue[] = [];
  for (const e of input) {
    const value = normalizeEmail(e.value);
    if (seen.has(value)) continue;
    seen.add(value);
    out.push({ value, primary: Boolean(e.primary), ...(e.label ? { label: e.label } : {}) });
  }
  const primary = out.findIndex((e) => e.primary);
  return out.map((e, i) => ({ ...e, primary: i === (primary === -1 ? 0 : primary) }));
}

/** Normalizes phones to E.164 (raw kept). @throws 400 naming `body.phones[i].number` */
export function normalizePhones(input: NonNullable<ContactCreateInput['phones']>): PhoneValue[] {
  const out = input.map((p, i) => {
    const e164 = toE164(p.number);
    if (!e164) throw badRequest('Not a valid phone number', `body.phones[${i}].number`, 'invalid_phone');
    return { e164, raw: p.number, primary: Boolean(p.primary), ...(p.label ? { label: p.label } : {}) };
  });
  const primary = out.findIndex((p) => p.primary);
  return out.map((p, i) => ({ ...p, primary: i === (primary === -1 ? 0 : primary) }));
}

async function replaceEmails(scope: TenantScope, contactId: string, emails: EmailValue[], active: boolean) {
  const { orgId } = scope.ctx;
  await scope.tx
    .delete(contactEmails)
    .where(and(eq(contactEmails.orgId, orgId), eq(contactEmails.contactId, contactId)));
  if (emails.length === 0) return;
  if (active) {
    // Checked first for a clear error naming the e-mail; the unique index still settles races (409).
    const taken = await scope.tx
      .select({ email: contactEmails.email })
      .from(contactEmails)
      .where(
        and(
          eq(contactEmails.orgId, orgId),
          eq(contactEmails.active, true),
          inArray(
            contactEmails.email,
            emails.map((e) => e.value),
          ),
        ),
      );
    const index = emails.findIndex((e) => taken.some((t) => t.email === e.value));
    if (index !== -1) {
      throw conflict(
        `Another contact already has the e-mail ${emails[index]!.value}`,
        `body.emails[${index}].value`,
        'duplicate_email',
      );
    }
  }
  await scope.tx
    .insert(contactEmails)
    .values(emails.map((e) => ({ orgId, contactId, email: e.value, active })));
}

/** Sets the contact's company links. @throws 422 naming `body.companies[i].id` for an unknown company */
async function replaceCompanies(
  scope: TenantScope,
  contactId: string,
  links: NonNullable<ContactCreateInput['companies']>,
): Promise<{ added: string[]; removed: string[] }> {
  const { orgId } = scope.ctx;
  const ids = [...new Set(links.map((l) => l.id))];
  if (ids.length > 0) {
    const found = await recordTitlesIn(scope, 'company', ids, { active: true });
    const missing = links.findIndex((l) => !found.has(l.id));
    if (missing !== -1) {
      throw new AppError(422, 'reference_not_found', 'No company with this id', {
        path: `body.companies[${missing}].id`,
      });
    }
  }
  const before = await scope.tx
    .select({ companyId: contactCompanies.companyId })
    .from(contactCompanies)
    .where(and(eq(contactCompanies.orgId, orgId), eq(contactCompanies.contactId, contactId)));
  await scope.tx
    .delete(contactCompanies)
    .where(and(eq(contactCompanies.orgId, orgId), eq(contactCompanies.contactId, contactId)));
  const primaryIndex = Math.max(
    0,
    links.findIndex((l) => l.primary),
  );
  const unique = ids.map((id) => ({ id, primary: links[primaryIndex]?.id === id }));
  if (unique.length > 0) {
    await scope.tx
      .insert(contactCompanies)
      .values(unique.map((l) => ({ orgId, contactId, companyId: l.id, isPrimary: l.primary })));
  }
  const beforeIds = before.map((b) => b.companyId);
  return {
    added: ids.filter((id) => !beforeIds.includes(id)),
    removed: beforeIds.filter((id) => !ids.includes(id)),
  };
}

/**
 * One `contact.company_linked` / `contact.company_unlinked` event per company added to or removed
 * from the contact's links, with the company's name and, when given, why (`company_merged`).
 */
export function linkEvents(
  contact: { id: string; name: string },
  diff: { added: string[]; removed: string[] },
  names: ReadonlyMap<string, string>,
  reason?: string,
): NewEvent[] {
  const event = (
    type: 'contact.company_linked' | 'contact.company_unlinked',
    companyId: string,
  ): NewEvent => ({
    type,
    subject: { object: 'contact', id: contact.id },
    data: {
      name: contact.name,
      company_id: companyId,
      company_name: names.get(companyId),
      ...(reason ? { reason } : {}),
    },
    related: [{ object: 'company', id: companyId }],
  });
  return [
    ...diff.added.map((id) => event('contact.company_linked', id)),
    ...diff.removed.map((id) => event('contact.company_unlinked', id)),
  ];
}

/** `linkEvents`, with the companies' names read, emitted in the caller's transaction. */
export async function emitLinkEvents(
  scope: TenantScope,
  services: Services,
  contact: { id: string; name: string },
  diff: { added: string[]; removed: string[] },
  reason?: string,
) {
  const ids = [...diff.added, ...diff.removed];
  if (ids.length === 0) return;
  const names = await recordTitlesIn(scope, 'company', ids);
  await emitEvents(scope, services.jobs, linkEvents(contact, diff, names, reason));
}

/** A contact's company links as the view shows them. */
type CompanyLink = { id: string; name: string; primary: boolean };

/** A linked company's name, read through the registry (companies are not this module's table). */
const companyNameSql = (links: string) => recordTitleSql('company', `${links}.org_id`, `${links}.company_id`);

/** Reads contacts with their companies, as the API shows them. */
export async function contactViews(scope: TenantScope, rows: ContactRow[]): Promise<ContactView[]> {
  if (rows.length === 0) return [];
  const name = sql.raw(companyNameSql('contact_companies'));
  const links = await scope.tx
    .select({
      contactId: contactCompanies.contactId,
      id: contactCompanies.companyId,
      name: sql<string>`${name}`,
      primary: contactCompanies.isPrimary,
    })
    .from(contactCompanies)
    .where(
      and(
        eq(contactCompanies.orgId, scope.ctx.orgId),
        inArray(
          contactCompanies.contactId,
          rows.map((r) => r.id),
        ),
      ),
    )
    .orderBy(asc(name));
  return rows.map((r) =>
    contactView(
      r,
      links.filter((l) => l.contactId === r.id).map(({ id, name, primary }) => ({ id, name, primary })),
    ),
  );
}

function contactView(r: ContactRow, links: CompanyLink[]): ContactView {
  return {
    id: r.id,
    first_name: r.firstName,
    last_name: r.lastName,
    email: r.email,
    emails: r.emails,
    phone: r.phone,
    phones: r.phones,
    tags: r.tags,
    owner_id: r.ownerId,
    companies: links,
    source: r.source,
    lead_status: r.leadStatus,
    notes: r.notes,
    custom: r.custom,
    ...auditView(r),
  };
}

/**
 * One contact with its company links in one statement (the read by id, a hot path: issue 18
 * counts its statements and its CPU, so its SQL is built once). The links are ordered by company
 * name, as `contactViews` orders them.
 */
const selectContactView = preparedSelect<ContactRow & { links: CompanyLink[] }>('contact_view_by_id', (tx) =>
  tx
    .select({
      ...getTableColumns(contacts),
      links: sql<CompanyLink[]>`coalesce((
        select json_agg(json_build_object('id', cc.company_id, 'name', cc.name, 'primary', cc.is_primary) order by cc.name)
          from (select l.company_id, l.is_primary, ${sql.raw(companyNameSql('l'))} as name
                  from ${contactCompanies} l
                 where l.org_id = contacts.org_id and l.contact_id = contacts.id) cc), '[]'::json)`,
    })
    .from(contacts)
    .where(and(eq(contacts.orgId, sql.placeholder('orgId')), eq(contacts.id, sql.placeholder('id')))),
);

async function loadView(scope: TenantScope, id: string): Promise<ContactView> {
  const [row] = await selectContactView(scope.tx, { orgId: scope.ctx.orgId, id });
  if (!row) throw notFound('Contact', id);
  const { links, ...contact } = row;
  return contactView(contact, links);
}

async function loadRow(scope: TenantScope, id: string, forUpdate = false): Promise<ContactRow> {
  const query = scope.tx
    .select()
    .from(contacts)
    .where(and(eq(contacts.orgId, scope.ctx.orgId), eq(contacts.id, id)));
  const [row] = forUpdate ? await query.for('update') : await query;
  if (!row) throw notFound('Contact', id);
  return row;
}

/** Creates a contact. @throws 400 bad fields, 409 `duplicate_email`, 422 unknown owner/company */
export async function createContact(
  services: Services,
  ctx: TenantContext,
  input: ContactCreateInput,
): Promise<ContactView> {
  return withTenant(services.database, ctx, (scope) => createContactIn(scope, services, input));
}

/** `createContact` inside the caller's tenant transaction (import, merge). */
export async function createContactIn(
  scope: TenantScope,
  services: Services,
  input: ContactCreateInput,
): Promise<ContactView> {
  const { ctx } = scope;
  const emails = normalizeEmails(input.emails ?? []);
  const phones = normalizePhones(input.phones ?? []);
  if (!input.first_name && !input.last_name && emails.length === 0 && phones.length === 0) {
    throw badRequest('A contact needs a name, an e-mail or a phone', 'body.first_name', 'required');
  }
  const object = await objectDef(scope.tx, ctx.orgId, 'contact');
  const custom = await parseCustomValuesIn(scope, object, input.custom, {
    path: 'body.custom',
    creating: true,
  });
  if (input.owner_id) await assertMember(scope, input.owner_id, 'body.owner_id');
  const [row] = await scope.tx
    .insert(contacts)
    .values({
      orgId: ctx.orgId,
      firstName: input.first_name ?? null,
      lastName: input.last_name ?? null,
      email: emails.find((e) => e.primary)?.value ?? null,
      emails,
      phone: phones.find((p) => p.primary)?.e164 ?? null,
      phones,
      tags: await ensureTags(scope, input.tags ?? []),
      ownerId: input.owner_id ?? null,
      source: input.source ?? 'manual',
      leadStatus: input.lead_status ?? null,
      notes: input.notes ?? null,
      custom: mergeCustom({}, custom),
      createdBy: ctx.actor.id,
      updatedBy: ctx.actor.id,
    })
    .returning();
  await replaceEmails(scope, row!.id, emails, true);
  const links = await replaceCompanies(scope, row!.id, input.companies ?? []);
  const [view] = await contactViews(scope, [row!]);
  await emitEvent(scope, services.jobs, {
    type: 'contact.created',
    subject: { object: 'contact', id: row!.id },
    data: { name: displayName(view!), email: view!.email },
  });
  await emitLinkEvents(scope, services, { id: row!.id, name: displayName(view!) }, links);
  return view!;
}

/** A contact's name in its events and timelines: the registry's one rule (`contactDisplayName`). */
export const displayName: (c: ContactNameFields) => string = contactDisplayName;

export async function getContact(services: Services, ctx: TenantContext, id: string): Promise<ContactView> {
  return withTenant(services.database, ctx, (scope) => loadView(scope, id), { readOnly: true });
}

/** Archives (soft-deletes) a contact: hidden from lists, its e-mails free for others. Idempotent. */
export async function archiveContact(
  services: Services,
  ctx: TenantContext,
  id: string,
): Promise<ContactView> {
  return setArchived(services, ctx, id, true);
}

/** Restores an archived contact. @throws 409 `duplicate_email` when another contact took its e-mail */
export async function restoreContact(
  services: Services,
  ctx: TenantContext,
  id: string,
): Promise<ContactView> {
  return setArchived(services, ctx, id, false);
}

async function setArchived(services: Services, ctx: TenantContext, id: string, archive: boolean) {
  return withTenant(services.database, ctx, (scope) => setArchivedIn(scope, services, id, archive));
}

/**
 * Archives (`archive`) or restores a contact inside the caller's tenant transaction (merge and
 * its undo). Archiving frees its e-mails; restoring takes them back (409 `duplicate_email` when
 * another contact has one). Idempotent. @throws 404
 */
export async function setArchivedIn(
  scope: TenantScope,
  services: Services,
  id: string,
  archive: boolean,
): Promise<ContactView> {
  const row = await loadRow(scope, id, true);
  if (Boolean(row.archivedAt) === archive) return (await contactViews(scope, [row]))[0]!;
  const [view] = await setContactsArchived(
    scope,
    services,
    [id],
    archive,
    (email) => `body.emails[${row.emails.findIndex((e) => e.value === email)}].value`,
  );
  return view!;
}

/**
 * Archives or restores many contacts in one statement per table (a bulk action): those not yet
 * in the wanted state change, each with its event (one insert for all). Archiving frees their
 * e-mails; restoring takes them back, refused as a whole (409 `duplicate_email`, at `pathOf`
 * the e-mail) when another active contact, or another contact restored with them, has one.
 * @returns the views of the contacts that changed
 */
export async function setContactsArchived(
  scope: TenantScope,
  services: Services,
  ids: string[],
  archive: boolean,
  pathOf: (email: string, contactId: string) => string = () => 'body.ids',
): Promise<ContactView[]> {
  const { ctx } = scope;
  if (ids.length === 0) return [];
  if (!archive) {
    const { rows: taken } = await scope.conn.query<{ contact_id: string; email: string }>(
      `select mine.contact_id, mine.email from contact_emails mine
          where mine.org_id = $1 and mine.contact_id = any($2::uuid[]) and not mine.active
            and exists (select 1 from contact_emails other
                         where other.org_id = $1 and other.email = mine.email
                           and other.contact_id <> mine.contact_id
                           and (other.active or other.contact_id = any($2::uuid[])))
          limit 1`,
      [ctx.orgId, ids],
    );
    const clash = taken[0];
    if (clash)
      throw conflict(
        `Another contact already has the e-mail ${clash.email}`,
        pathOf(clash.email, clash.contact_id),
        'duplicate_email',
      );
  }
  const now = new Date().toISOString();
  const rows = await scope.tx
    .update(contacts)
    .set({ archivedAt: archive ? now : null, updatedBy: ctx.actor.id, updatedAt: now })
    .where(
      and(
        eq(contacts.orgId, ctx.orgId),
        inArray(contacts.id, ids),
        archive ? isNull(contacts.archivedAt) : isNotNull(contacts.archivedAt),
      ),
    )
    .returning();
  if (rows.length === 0) return [];
  await scope.tx
    .update(contactEmails)
    .set({ active: !archive })
    .where(
      and(
        eq(contactEmails.orgId, ctx.orgId),
        inArray(
          contactEmails.contactId,
          rows.map((r) => r.id),
        ),
      ),
    );
  const views = await contactViews(scope, rows);
  await emitEvents(
    scope,
    services.jobs,
    views.map((view) => ({
      type: archive ? 'contact.archived' : 'contact.restored',
      subject: { object: 'contact', id: view.id },
      data: { name: displayName(view) },
    })),
  );
  return views;
}

/** Deletes a contact for good (admins). The event stays in the audit trail. */
export async function deleteContact(services: Services, ctx: TenantContext, id: string): Promise<void> {
  await withTenant(services.database, ctx, async (scope) => {
    const row = await loadRow(scope, id, true);
    await scope.tx.delete(contacts).where(and(eq(contacts.orgId, ctx.orgId), eq(contacts.id, id)));
    await emitEvent(scope, services.jobs, {
      type: 'contact.deleted',
      subject: { object: 'contact', id },
      data: { name: [row.firstName, row.lastName].filter(Boolean).join(' ') || row.email },
    });
  });
}

/**
 * Marks a lead converted and links it to `companyId` (primary when it has no primary company),
 * inside the caller's tenant transaction. @throws 404, 409 `not_a_lead` / `already_converted`
 */
export async function convertLeadIn(
  scope: TenantScope,
  id: string,
  companyId: string | null,
): Promise<ContactView> {
  const row = await loadRow(scope, id, true);
  if (row.archivedAt) throw conflict('This contact is archived; restore it first', undefined, 'archived');
  if (!row.leadStatus) throw conflict('This contact is not a lead', undefined, 'not_a_lead');
  if (row.leadStatus === 'converted')
    throw conflict('This lead is converted already', undefined, 'already_converted');
  const { orgId } = scope.ctx;
  if (companyId) {
    const links = await scope.tx
      .select({ companyId: contactCompanies.companyId, isPrimary: contactCompanies.isPrimary })
      .from(contactCompanies)
      .where(and(eq(contactCompanies.orgId, orgId), eq(contactCompanies.contactId, id)));
    if (!links.some((l) => l.companyId === companyId)) {
      await scope.tx
        .insert(contactCompanies)
        .values({ orgId, contactId: id, companyId, isPrimary: !links.some((l) => l.isPrimary) });
    }
  }
  const [updated] = await scope.tx
    .update(contacts)
    .set({ leadStatus: 'converted', updatedAt: new Date().toISOString(), updatedBy: scope.ctx.actor.id })
    .where(and(eq(contacts.orgId, orgId), eq(contacts.id, id)))
    .returning();
  return (await contactViews(scope, [updated!]))[0]!;
}

/** The id of the contact's primary company, if any. */
export async function primaryCompanyOf(scope: TenantScope, id: string): Promise<string | null> {
  const [link] = await scope.tx
    .select({ companyId: contactCompanies.companyId })
    .from(contactCompanies)
    .where(
      and(
        eq(contactCompanies.orgId, scope.ctx.orgId),
        eq(contactCompanies.contactId, id),
        eq(contactCompanies.isPrimary, true),
      ),
    );
  return link?.companyId ?? null;
}
