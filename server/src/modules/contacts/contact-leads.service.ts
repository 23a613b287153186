import { and, eq } from 'drizzle-orm';
import type { TenantScope } from '../../db/tenant.js';
import { conflict } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import type { ContactView } from './contact.dto.js';
import { contactCompanies, contacts } from './contact.schema.js';
import { contactViews, displayName, loadRow } from './contact-views.service.js';

/** A lead's conversion, the contacts' side: its status, its company link and its event. */

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

/**
 * The `contact.converted` event of a lead converted into `opportunity` (linked to `companyId`
 * when given), emitted in the caller's transaction after the opportunity's own events.
 */
export async function emitLeadConvertedIn(
  scope: TenantScope,
  services: Services,
  contact: ContactView,
  opportunity: { id: string; title: string },
  companyId: string | null,
): Promise<void> {
  await emitEvent(scope, services.jobs, {
    type: 'contact.converted',
    subject: { object: 'contact', id: contact.id },
    data: {
      name: displayName(contact),
      opportunity_id: opportunity.id,
      opportunity_title: opportunity.title,
      company_id: companyId,
    },
    related: [
      { object: 'opportunity', id: opportunity.id },
      ...(companyId ? [{ object: 'company', id: companyId }] : []),
    ],
  });
}
