import { and, eq, inArray, isNotNull, isNull } from 'drizzle-orm';
import { auditView } from '../../db/columns.js';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { assertMember } from '../../platform/access/membership.js';
import { AppError, badRequest, notFound } from '../../platform/errors/app-error.js';
import { emitEvent, emitEvents, type NewEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { parseCustomValuesIn } from '../../platform/registry/field-references.js';
import { mergeCustom } from '../../platform/registry/field-values.js';
import { toE164 } from '../../platform/registry/phone.js';
import { objectDef } from '../../platform/registry/registry.service.js';
import { ensureTags } from '../tags/tag.service.js';
import type { CompanyCreateInput, CompanyView } from './company.dto.js';
import { companies } from './company.schema.js';
import { companyContactHooks } from './company-contacts.hooks.js';

type CompanyRow = typeof companies.$inferSelect;

/**
 * `https://www.Acme.com/about` -> `acme.com`; a bare domain is lower-cased and kept.
 * @throws 400 `invalid_domain` naming `field` when `value` has a scheme but is not a URL
 */
export function domainOf(value: string, field = 'body.domain'): string {
  let host = value.split('/')[0]!;
  if (/^[a-z]+:\/\//i.test(value)) {
    if (!URL.canParse(value)) throw badRequest('Not a valid web address', field, 'invalid_domain');
    host = new URL(value).hostname;
  }
  return host.toLowerCase().replace(/^www\./, '');
}

/** A company phone as stored: E.164. @throws 400 `invalid_phone` naming `body.phone` */
export function phoneOf(raw: string | null | undefined): string | null | undefined {
  if (raw === undefined || raw === null) return raw;
  const e164 = toE164(raw);
  if (!e164) throw badRequest('Not a valid phone number', 'body.phone', 'invalid_phone');
  return e164;
}

/** A company's view from its row; `contact_count` as given. */
export function companyViewOf(r: CompanyRow, contactCount = 0): CompanyView {
  return {
    id: r.id,
    name: r.name,
    domain: r.domain,
    website: r.website,
    phone: r.phone,
    address: Object.fromEntries(Object.entries(r.address).filter(([, v]) => typeof v === 'string')) as Record<
      string,
      string
    >,
    industry: r.industry,
    size: r.size,
    tags: r.tags,
    owner_id: r.ownerId,
    parent_id: r.parentId,
    notes: r.notes,
    custom: r.custom,
    contact_count: contactCount,
    ...auditView(r),
  };
}

/** Views of companies, with how many contacts each has (one query). */
export async function companyViews(scope: TenantScope, rows: CompanyRow[]): Promise<CompanyView[]> {
  if (rows.length === 0) return [];
  const counts = await companyContactHooks().countContacts(
    scope,
    rows.map((r) => r.id),
  );
  return rows.map((r) => companyViewOf(r, counts.get(r.id) ?? 0));
}

/**
 * A parent must be an active company of the tenant and must not make a cycle (a company cannot
 * be its own ancestor). @throws 422 `reference_not_found` / `parent_cycle` naming `body.parent_id`
 */
async function assertParent(scope: TenantScope, parentId: string, childId: string | null): Promise<void> {
  const { rows } = await scope.conn.query(
    `with recursive up(id, parent_id, depth) as (
       select id, parent_id, 0 from companies where org_id = $1 and id = $2 and archived_at is null
       union all
       select c.id, c.parent_id, up.depth + 1 from companies c join up on c.org_id = $1 and c.id = up.parent_id
        where up.depth < 50)
     select id from up`,
    [scope.ctx.orgId, parentId],
  );
  if (rows.length === 0)
    throw new AppError(422, 'reference_not_found', 'No company with this id', { path: 'body.parent_id' });
  if (childId && rows.some((r) => (r as { id: string }).id === childId))
    throw new AppError(422, 'parent_cycle', 'A company cannot be its own parent or ancestor', {
      path: 'body.parent_id',
    });
}

async function loadRow(scope: TenantScope, id: string, forUpdate = false): Promise<CompanyRow> {
  const query = scope.tx
    .select()
    .from(companies)
    .where(and(eq(companies.orgId, scope.ctx.orgId), eq(companies.id, id)));
  const [row] = forUpdate ? await query.for('update') : await query;
  if (!row) throw notFound('Company', id);
  return row;
}

/** Creates a company. @throws 400 bad fields, 422 unknown owner */
export async function createCompany(
  services: Services,
  ctx: TenantContext,
  input: CompanyCreateInput,
): Promise<CompanyView> {
  return withTenant(services.database, ctx, (scope) => createCompanyIn(scope, services, input));
}

/** Creates a company inside a tenant transaction (lead conversion, import). */
export async function createCompanyIn(
  scope: TenantScope,
  services: Services,
  input: CompanyCreateInput,
): Promise<CompanyView> {
  const { ctx } = scope;
  {
    const object = await objectDef(scope.tx, ctx.orgId, 'company');
    const custom = await parseCustomValuesIn(scope, object, input.custom, {
      path: 'body.custom',
      creating: true,
    });
    if (input.owner_id) await assertMember(scope, input.owner_id, 'body.owner_id');
    if (input.parent_id) await assertParent(scope, input.parent_id, null);
    const [row] = await scope.tx
      .insert(companies)
      .values({
        orgId: ctx.orgId,
        name: input.name,
        domain: input.domain
          ? domainOf(input.domain)
          : input.website
            ? domainOf(input.website, 'body.website')
            : null,
        website: input.website ?? null,
        phone: phoneOf(input.phone) ?? null,
        address: input.address ?? {},
        industry: input.industry ?? null,
        size: input.size ?? null,
        tags: await ensureTags(scope, input.tags ?? []),
        ownerId: input.owner_id ?? null,
        parentId: input.parent_id ?? null,
        notes: input.notes ?? null,
        custom: mergeCustom({}, custom),
        createdBy: ctx.actor.id,
        updatedBy: ctx.actor.id,
      })
      .returning();
    await emitEvent(scope, services.jobs, {
      type: 'company.created',
      subject: { object: 'company', id: row!.id },
      data: { name: row!.name },
    });
    return (await companyViews(scope, [row!]))[0]!;
  }
}

export async function getCompany(services: Services, ctx: TenantContext, id: string): Promise<CompanyView> {
  return withTenant(services.database, ctx, (scope) => companyViewIn(scope, id), { readOnly: true });
}

/**
 * Archives a company. Its contacts stay as they are; only their links to it are removed (each
 * contact's timeline shows the unlink). Idempotent.
 */
export async function archiveCompany(
  services: Services,
  ctx: TenantContext,
  id: string,
): Promise<CompanyView> {
  return withTenant(services.database, ctx, (scope) => setCompanyArchivedIn(scope, services, id, true));
}

/** Restores an archived company (its former links are not restored). */
export async function restoreCompany(
  services: Services,
  ctx: TenantContext,
  id: string,
): Promise<CompanyView> {
  return withTenant(services.database, ctx, (scope) => setCompanyArchivedIn(scope, services, id, false));
}

/**
 * Archives (`archive`) or restores a company inside the caller's tenant transaction (merge and
 * its undo). Archiving removes its contact links; restoring does not bring them back. Idempotent.
 * @throws 404
 */
export async function setCompanyArchivedIn(
  scope: TenantScope,
  services: Services,
  id: string,
  archive: boolean,
): Promise<CompanyView> {
  const row = await loadRow(scope, id, true);
  if (Boolean(row.archivedAt) === archive) return (await companyViews(scope, [row]))[0]!;
  const [updated] = await setCompaniesArchived(scope, services, [id], archive);
  return (await companyViews(scope, [updated!]))[0]!;
}

/**
 * Archives or restores many companies in one statement per table (a bulk action): those not yet
 * in the wanted state change. Archiving removes their contact links (a `contact.company_unlinked`
 * event each, after its company's `company.archived`); all events go in one insert.
 * @returns the rows of the companies that changed
 */
export async function setCompaniesArchived(
  scope: TenantScope,
  services: Services,
  ids: string[],
  archive: boolean,
): Promise<CompanyRow[]> {
  const { ctx } = scope;
  if (ids.length === 0) return [];
  const now = new Date().toISOString();
  const rows = await scope.tx
    .update(companies)
    .set({ archivedAt: archive ? now : null, updatedBy: ctx.actor.id, updatedAt: now })
    .where(
      and(
        eq(companies.orgId, ctx.orgId),
        inArray(companies.id, ids),
        archive ? isNull(companies.archivedAt) : isNotNull(companies.archivedAt),
      ),
    )
    .returning();
  if (rows.length === 0) return [];
  if (!archive) {
    await emitEvents(
      scope,
      services.jobs,
      rows.map((row) => ({
        type: 'company.restored',
        subject: { object: 'company', id: row.id },
        data: { name: row.name },
      })),
    );
    return rows;
  }
  const unlinked = await companyContactHooks().unlinkContacts(scope, rows);
  await emitEvents(
    scope,
    services.jobs,
    rows.flatMap((row): NewEvent[] => {
      const links = unlinked.get(row.id);
      return [
        {
          type: 'company.archived',
          subject: { object: 'company', id: row.id },
          data: { name: row.name, unlinked_contacts: links?.contactIds ?? [] },
        },
        ...(links?.events ?? []),
      ];
    }),
  );
  return rows;
}

/** A company as the API shows it, inside the caller's tenant transaction. @throws 404 */
export async function companyViewIn(scope: TenantScope, id: string): Promise<CompanyView> {
  return (await companyViews(scope, [await loadRow(scope, id)]))[0]!;
}

/** Deletes a company for good (admins); its contacts stay. */
export async function deleteCompany(services: Services, ctx: TenantContext, id: string): Promise<void> {
  await withTenant(services.database, ctx, async (scope) => {
    const row = await loadRow(scope, id, true);
    await scope.tx.delete(companies).where(and(eq(companies.orgId, ctx.orgId), eq(companies.id, id)));
    await emitEvent(scope, services.jobs, {
      type: 'company.deleted',
      subject: { object: 'company', id },
      data: { name: row.name },
    });
  });
}

/** The `company.created` events of companies created in bulk (an import), in one insert. */
export async function emitCompaniesCreatedIn(
  scope: TenantScope,
  services: Services,
  created: { id: string; name: string }[],
): Promise<void> {
  await emitEvents(
    scope,
    services.jobs,
    created.map(({ id, name }) => ({
      type: 'company.created' as const,
      subject: { object: 'company', id },
      data: { name },
    })),
  );
}
