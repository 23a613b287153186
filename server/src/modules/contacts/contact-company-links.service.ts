import { and, asc, count, eq, inArray, isNull } from 'drizzle-orm';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError, notFound } from '../../platform/errors/app-error.js';
import { emitEvents, type NewEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { findRecordIn, recordTitlesIn } from '../../platform/registry/record-lookup.js';
import type { ContactCreateInput, ContactView } from './contact.dto.js';
import { contactCompanies, contacts } from './contact.schema.js';
import { contactViews, displayName } from './contact-views.service.js';

/** A contact's links to the survivor and the merged companies before a company merge. */
export type ContactLinksBefore = { contact_id: string; links: { company_id: string; primary: boolean }[] };

/** Contacts' names (the registry's one rule), by id. */
async function namesOf(scope: TenantScope, ids: string[]): Promise<Map<string, string>> {
  const rows = await scope.tx
    .select({
      id: contacts.id,
      first_name: contacts.firstName,
      last_name: contacts.lastName,
      email: contacts.email,
      phone: contacts.phone,
    })
    .from(contacts)
    .where(and(eq(contacts.orgId, scope.ctx.orgId), inArray(contacts.id, ids)));
  return new Map(rows.map((r) => [r.id, displayName(r)]));
}

/**
 * Moves the contact links of companies `fromIds` to company `toId` (a company merge) inside the
 * caller's transaction: every contact linked to one of them is linked once to `toId`, as its
 * primary company when one of those links was primary (a contact keeps one primary). Emits the
 * contacts' `contact.company_linked` / `contact.company_unlinked` events (reason `company_merged`).
 * @returns each moved contact's links to `toId` and `fromIds` before, for `restoreCompanyLinksIn`
 */
export async function moveCompanyLinksIn(
  scope: TenantScope,
  services: Services,
  fromIds: string[],
  toId: string,
): Promise<ContactLinksBefore[]> {
  const { orgId } = scope.ctx;
  const rows = await scope.tx
    .select({
      contactId: contactCompanies.contactId,
      companyId: contactCompanies.companyId,
      primary: contactCompanies.isPrimary,
    })
    .from(contactCompanies)
    .where(and(eq(contactCompanies.orgId, orgId), inArray(contactCompanies.companyId, [toId, ...fromIds])))
    .orderBy(contactCompanies.contactId, contactCompanies.createdAt);
  const contactIds = [...new Set(rows.filter((r) => r.companyId !== toId).map((r) => r.contactId))];
  if (contactIds.length === 0) return [];
  const moved = contactIds.map((id) => ({
    contact_id: id,
    links: rows
      .filter((r) => r.contactId === id)
      .map((r) => ({ company_id: r.companyId, primary: r.primary })),
  }));
  await scope.tx
    .delete(contactCompanies)
    .where(
      and(
        eq(contactCompanies.orgId, orgId),
        inArray(contactCompanies.contactId, contactIds),
        inArray(contactCompanies.companyId, fromIds),
      ),
    );
  const linked = (m: ContactLinksBefore) => m.links.some((l) => l.company_id === toId);
  const primary = (m: ContactLinksBefore) => m.links.some((l) => l.primary);
  const added = moved.filter((m) => !linked(m));
  if (added.length)
    await scope.tx
      .insert(contactCompanies)
      .values(added.map((m) => ({ orgId, contactId: m.contact_id, companyId: toId, isPrimary: primary(m) })));
  const promoted = moved.filter((m) => linked(m) && primary(m)).map((m) => m.contact_id);
  if (promoted.length)
    await scope.tx
      .update(contactCompanies)
      .set({ isPrimary: true })
      .where(
        and(
          eq(contactCompanies.orgId, orgId),
          inArray(contactCompanies.contactId, promoted),
          eq(contactCompanies.companyId, toId),
        ),
      );
  const names = await namesOf(scope, contactIds);
  for (const m of moved) {
    const diff = {
      added: linked(m) ? [] : [toId],
      removed: m.links.map((l) => l.company_id).filter((id) => id !== toId),
    };
    await emitLinkEvents(
      scope,
      services,
      { id: m.contact_id, name: names.get(m.contact_id) ?? '' },
      diff,
      'company_merged',
    );
  }
  return moved;
}

/**
 * Undoes `moveCompanyLinksIn` (undo of a company merge) inside the caller's transaction: each
 * contact still linked to `survivorId` gets its links back as they were before; a contact
 * unlinked from it since stays as it is, and one given another primary company since keeps it.
 * Emits the link events (reason `merge_undone`).
 */
export async function restoreCompanyLinksIn(
  scope: TenantScope,
  services: Services,
  survivorId: string,
  moved: ContactLinksBefore[],
): Promise<void> {
  const { orgId } = scope.ctx;
  if (moved.length === 0) return;
  const names = await namesOf(
    scope,
    moved.map((m) => m.contact_id),
  );
  for (const m of moved) {
    const current = await scope.tx
      .select({ companyId: contactCompanies.companyId, primary: contactCompanies.isPrimary })
      .from(contactCompanies)
      .where(and(eq(contactCompanies.orgId, orgId), eq(contactCompanies.contactId, m.contact_id)));
    if (!current.some((l) => l.companyId === survivorId)) continue;
    const involved = new Set([survivorId, ...m.links.map((l) => l.company_id)]);
    const otherPrimary = current.some((l) => l.primary && !involved.has(l.companyId));
    const survivorLink = m.links.find((l) => l.company_id === survivorId);
    const survivorOf = and(
      eq(contactCompanies.orgId, orgId),
      eq(contactCompanies.contactId, m.contact_id),
      eq(contactCompanies.companyId, survivorId),
    );
    if (survivorLink)
      await scope.tx
        .update(contactCompanies)
        .set({ isPrimary: survivorLink.primary && !otherPrimary })
        .where(survivorOf);
    else await scope.tx.delete(contactCompanies).where(survivorOf);
    const back = m.links.filter(
      (l) => l.company_id !== survivorId && !current.some((c) => c.companyId === l.company_id),
    );
    if (back.length)
      await scope.tx.insert(contactCompanies).values(
        back.map((l) => ({
          orgId,
          contactId: m.contact_id,
          companyId: l.company_id,
          isPrimary: l.primary && !otherPrimary,
        })),
      );
    await emitLinkEvents(
      scope,
      services,
      { id: m.contact_id, name: names.get(m.contact_id) ?? '' },
      { added: back.map((l) => l.company_id), removed: survivorLink ? [] : [survivorId] },
      'merge_undone',
    );
  }
}

/** The company's linked contacts (active ones), by name (first 200). @throws 404 for no such company */
export async function companyContacts(
  services: Services,
  ctx: TenantContext,
  companyId: string,
): Promise<ContactView[]> {
  return withTenant(services.database, ctx, async (scope) => {
    if (!(await findRecordIn(scope, 'company', companyId))) throw notFound('Company', companyId);
    const rows = await scope.tx
      .select({ contact: contacts })
      .from(contactCompanies)
      .innerJoin(
        contacts,
        and(eq(contacts.orgId, contactCompanies.orgId), eq(contacts.id, contactCompanies.contactId)),
      )
      .where(
        and(
          eq(contactCompanies.orgId, ctx.orgId),
          eq(contactCompanies.companyId, companyId),
          isNull(contacts.archivedAt),
        ),
      )
      .orderBy(asc(contacts.lastName), asc(contacts.firstName))
      .limit(200);
    return contactViews(
      scope,
      rows.map((r) => r.contact),
    );
  });
}

/** How many contacts link to each of the companies `companyIds` (a company with none: absent). */
export async function countCompanyContactsIn(
  scope: TenantScope,
  companyIds: string[],
): Promise<Map<string, number>> {
  const counts = await scope.tx
    .select({ companyId: contactCompanies.companyId, n: count() })
    .from(contactCompanies)
    .where(and(eq(contactCompanies.orgId, scope.ctx.orgId), inArray(contactCompanies.companyId, companyIds)))
    .groupBy(contactCompanies.companyId);
  return new Map(counts.map((c) => [c.companyId, Number(c.n)]));
}

/**
 * Removes every contact link to the companies being archived, inside the caller's transaction.
 * @returns by company id, the unlinked contacts and their `contact.company_unlinked` events
 *   (reason `company_archived`), for the caller to emit after the company's own
 */
export async function unlinkArchivedCompaniesIn(
  scope: TenantScope,
  companies: { id: string; name: string }[],
): Promise<Map<string, { contactIds: string[]; events: NewEvent[] }>> {
  const unlinked = await scope.tx
    .delete(contactCompanies)
    .where(
      and(
        eq(contactCompanies.orgId, scope.ctx.orgId),
        inArray(
          contactCompanies.companyId,
          companies.map((c) => c.id),
        ),
      ),
    )
    .returning({ contactId: contactCompanies.contactId, companyId: contactCompanies.companyId });
  const names = await namesOf(scope, [...new Set(unlinked.map((u) => u.contactId))]);
  const byCompany = new Map<string, { contactIds: string[]; events: NewEvent[] }>();
  for (const company of companies) {
    const contactIds = unlinked.filter((u) => u.companyId === company.id).map((u) => u.contactId);
    const companyName = new Map([[company.id, company.name]]);
    byCompany.set(company.id, {
      contactIds,
      events: contactIds.flatMap((id) =>
        linkEvents(
          { id, name: names.get(id) ?? '' },
          { added: [], removed: [company.id] },
          companyName,
          'company_archived',
        ),
      ),
    });
  }
  return byCompany;
}

/** Sets the contact's company links. @throws 422 naming `body.companies[i].id` for an unknown company */
export async function replaceCompanies(
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
