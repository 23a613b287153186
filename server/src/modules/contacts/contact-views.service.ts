import { and, asc, eq, getTableColumns, inArray, sql } from 'drizzle-orm';
import { auditView } from '../../db/columns.js';
import { preparedSelect } from '../../db/prepared.js';
import type { TenantScope } from '../../db/tenant.js';
import { notFound } from '../../platform/errors/app-error.js';
import { type ContactNameFields, contactDisplayName } from '../../platform/registry/display-name.js';
import { recordTitleSql } from '../../platform/registry/record-lookup.js';
import type { ContactView } from './contact.dto.js';
import { contactCompanies, contacts } from './contact.schema.js';

/** Contacts as the API shows them (with their company links), and their rows by id. */

export type ContactRow = typeof contacts.$inferSelect;

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
    job_title: r.jobTitle,
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

export async function loadView(scope: TenantScope, id: string): Promise<ContactView> {
  const [row] = await selectContactView(scope.tx, { orgId: scope.ctx.orgId, id });
  if (!row) throw notFound('Contact', id);
  const { links, ...contact } = row;
  return contactView(contact, links);
}

export async function loadRow(scope: TenantScope, id: string, forUpdate = false): Promise<ContactRow> {
  const query = scope.tx
    .select()
    .from(contacts)
    .where(and(eq(contacts.orgId, scope.ctx.orgId), eq(contacts.id, id)));
  const [row] = forUpdate ? await query.for('update') : await query;
  if (!row) throw notFound('Contact', id);
  return row;
}

/** A contact's name in its events and timelines: the registry's one rule (`contactDisplayName`). */
export const displayName: (c: ContactNameFields) => string = contactDisplayName;
