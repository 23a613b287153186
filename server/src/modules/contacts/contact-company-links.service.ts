import { and, eq, inArray } from 'drizzle-orm';
import type { TenantScope } from '../../db/tenant.js';
import type { Services } from '../../platform/http/types.js';
import { contactCompanies, contacts } from './contact.schema.js';
import { displayName, emitLinkEvents } from './contact.service.js';

/** A contact's links to the survivor and the merged companies before a company merge. */
export type ContactLinksBefore = { contact_id: string; links: { company_id: string; primary: boolean }[] };

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
