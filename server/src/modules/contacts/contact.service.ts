import { and, eq, inArray, isNotNull, isNull } from 'drizzle-orm';
import type { TenantContext, TenantScope } from '../../db/tenant.js';
import { withTenant } from '../../db/tenant.js';
import { assertMember } from '../../platform/access/membership.js';
import { badRequest, conflict } from '../../platform/errors/app-error.js';
import { emitEvent, emitEvents, type NewEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { assertRoom } from '../../platform/plans/plan-limits.js';
import { parseCustomValuesIn } from '../../platform/registry/field-references.js';
import { mergeCustom } from '../../platform/registry/field-values.js';
import { objectDef } from '../../platform/registry/registry.service.js';
import { ensureTags } from '../tags/tag.service.js';
import type { ContactCreateInput, ContactView } from './contact.dto.js';
import { contactEmails, contacts } from './contact.schema.js';
import { emitLinkEvents, linkEvents, replaceCompanies } from './contact-company-links.service.js';
import { normalizeEmails, normalizePhones, replaceEmails } from './contact-emails.service.js';
import { contactViews, displayName, loadRow, loadView } from './contact-views.service.js';

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
  // The organization's plan may cap its contacts (issue 30): 403 `plan_limit_reached`.
  await assertRoom(scope, 'contacts');
  const [row] = await scope.tx
    .insert(contacts)
    .values({
      orgId: ctx.orgId,
      firstName: input.first_name ?? null,
      lastName: input.last_name ?? null,
      jobTitle: input.job_title ?? null,
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
 * Erases a contact's row in the caller's tenant transaction (GDPR erasure): its e-mails and company
 * links go with it (cascade), opportunities keep no link to it, and `contact.erased` is the
 * tombstone, holding no personal data, only the counts of what went (`removed`).
 * @throws 404 when the tenant has no such contact
 */
export async function eraseContactIn(
  scope: TenantScope,
  services: Services,
  id: string,
  removed: Record<string, number>,
): Promise<void> {
  await loadRow(scope, id, true);
  await scope.tx.delete(contacts).where(and(eq(contacts.orgId, scope.ctx.orgId), eq(contacts.id, id)));
  await emitEvent(scope, services.jobs, {
    type: 'contact.erased',
    subject: { object: 'contact', id },
    data: { removed },
  });
}

/**
 * The events of contacts created in bulk (an import): `contact.created` each, then
 * `contact.company_linked` for one linked to a company, in one insert.
 */
export async function emitContactsCreatedIn(
  scope: TenantScope,
  services: Services,
  created: { id: string; name: string; email: string | null; company?: { id: string; name?: string } }[],
): Promise<void> {
  await emitEvents(
    scope,
    services.jobs,
    created.flatMap(({ id, name, email, company }): NewEvent[] => [
      { type: 'contact.created', subject: { object: 'contact', id }, data: { name, email } },
      ...(company
        ? linkEvents(
            { id, name },
            { added: [company.id], removed: [] },
            new Map(company.name ? [[company.id, company.name]] : []),
          )
        : []),
    ]),
  );
}
