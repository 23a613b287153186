// Company updates: one (the API, a merge) or many in one go (an import batch, its undo), with the
// same rules and events either way.
import { and, eq, inArray, isNull, notInArray } from 'drizzle-orm';
import type { TenantContext, TenantScope } from '../../db/tenant.js';
import { withTenant } from '../../db/tenant.js';
import { AppError } from '../../platform/errors/app-error.js';
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
import type { CompanyUpdateInput, CompanyView } from './company.dto.js';
import { companies } from './company.schema.js';
import { companyViewOf, companyViews, domainOf, phoneOf } from './company.service.js';

type CompanyRow = typeof companies.$inferSelect;

/** The fields whose before and after a `company.updated` event records. */
const COMPARED: (keyof CompanyView)[] = [
  'name',
  'domain',
  'website',
  'phone',
  'address',
  'industry',
  'size',
  'tags',
  'owner_id',
  'parent_id',
  'notes',
  'custom',
];

/** How far up a parent chain the cycle check looks (as deep as any real group of companies). */
const MAX_DEPTH = 50;

/** One update of `updateCompaniesIn` (see `RecordChange`). */
export type CompanyChange = RecordChange<CompanyView, CompanyUpdateInput>;
/** What became of one `CompanyChange`. */
export type CompanyChangeResult = RecordChangeResult<CompanyView>;

/** Updates the given fields; one `company.updated` event with before/after. @throws 404, 409 `archived` */
export async function updateCompany(
  services: Services,
  ctx: TenantContext,
  id: string,
  input: CompanyUpdateInput,
): Promise<CompanyView> {
  return withTenant(services.database, ctx, (scope) => updateCompanyIn(scope, services, id, input));
}

/**
 * `updateCompany` inside the caller's tenant transaction (import, merge).
 * @throws 404, 409 `archived`, 400 bad value, 422 `reference_not_found` / `parent_cycle`
 */
export async function updateCompanyIn(
  scope: TenantScope,
  services: Services,
  id: string,
  input: CompanyUpdateInput,
): Promise<CompanyView> {
  const [result] = await updateCompaniesIn(scope, services, [{ id, input }]);
  if (!result!.ok) throw result!.error;
  return result!.after;
}

/**
 * Points the active child companies of `fromIds` (their `parent_id`) at `toId` inside the
 * caller's tenant transaction (a company merge and its undo), one `company.updated` each;
 * `onlyIds` limits it to those children, `exceptIds` leaves those out (the merged companies).
 * @returns what moved, each child with the parent it had
 * @throws 422 `parent_cycle` when `toId` descends from one of the children
 */
export async function reparentChildrenIn(
  scope: TenantScope,
  services: Services,
  fromIds: string[],
  toId: string,
  options: { onlyIds?: string[]; exceptIds?: string[] } = {},
): Promise<{ id: string; from: string }[]> {
  if (fromIds.length === 0) return [];
  const rows = await scope.tx
    .select({ id: companies.id, parentId: companies.parentId })
    .from(companies)
    .where(
      and(
        eq(companies.orgId, scope.ctx.orgId),
        inArray(companies.parentId, fromIds),
        isNull(companies.archivedAt),
        options.onlyIds ? inArray(companies.id, options.onlyIds) : undefined,
        options.exceptIds?.length ? notInArray(companies.id, options.exceptIds) : undefined,
      ),
    );
  const moved = await updateCompaniesIn(
    scope,
    services,
    rows.map((r) => ({ id: r.id, input: { parent_id: toId } })),
  );
  for (const r of moved) if (!r.ok) throw r.error;
  return rows.map((r) => ({ id: r.id, from: r.parentId! }));
}

/** `ReferenceLookups` with parent chains: company id -> its parent, and whether it is archived. */
class CompanyLookups extends ReferenceLookups {
  readonly parentOf = new Map<string, { parentId: string | null; archived: boolean } | null>();

  override async read(wanted: Wanted & { parents?: string[] }): Promise<void> {
    await super.read(wanted);
    const ids = this.unknown(this.parentOf, wanted.parents, null);
    for (const r of await this.query<{ id: string; parent_id: string | null; archived: boolean }>(
      `with recursive up(id, parent_id, archived, depth) as (
         select id, parent_id, archived_at is not null, 0 from companies where org_id = $1 and id = any($2::uuid[])
         union all
         select c.id, c.parent_id, c.archived_at is not null, up.depth + 1
           from companies c join up on c.org_id = $1 and c.id = up.parent_id
          where up.depth < ${MAX_DEPTH})
       select distinct id, parent_id, archived from up`,
      ids,
    ))
      this.parentOf.set(r.id, { parentId: r.parent_id, archived: r.archived });
  }
}

const wantedBy = (inputs: CompanyUpdateInput[]) => ({
  members: inputs.flatMap((i) => (i.owner_id ? [i.owner_id] : [])),
  tags: inputs.flatMap((i) => i.tags ?? []),
  parents: inputs.flatMap((i) => (i.parent_id ? [i.parent_id] : [])),
});

type State = ChangeState<CompanyRow, CompanyView>;

/**
 * `updateCompanyIn` for many companies in a handful of statements whatever their number, as
 * `updateContactsIn` does for contacts: read (locked) once, each item checked and applied in order
 * in memory (one company may come more than once; a parent set by an earlier item counts in the
 * cycle check of a later one), one update statement for all, the events with one insert. An item
 * refused (unknown or archived company, bad value, unknown owner or parent, a parent cycle)
 * changes nothing and its error is its result.
 * @returns one result per item, in order
 */
export async function updateCompaniesIn(
  scope: TenantScope,
  services: Services,
  changes: CompanyChange[],
): Promise<CompanyChangeResult[]> {
  const object = await objectDef(scope.tx, scope.ctx.orgId, 'company');
  const lookups = new CompanyLookups(scope);
  // The batch's companies as the items so far left them, for the parent cycle check.
  const state = new Map<string, State>();
  return applyChanges(scope, services, changes, {
    label: 'Company',
    table: companies,
    views: (rows) => companyViews(scope, rows),
    start: (row, view) => {
      const s = { row, view, written: false };
      state.set(row.id, s);
      return s;
    },
    readAhead: (inputs) => lookups.read(wantedBy(inputs)),
    apply: (s, input) => apply(scope, lookups, object, state, s, input),
    write: async (written) => {
      await lookups.saveTags(written.flatMap((s) => s.row.tags));
      await write(scope, written);
    },
  });
}

/**
 * A parent must be an active company of the tenant and must not make a cycle (a company cannot be
 * its own ancestor): the chain is walked up through this batch's companies as the items before
 * left them, and the others as stored. @throws 422 `reference_not_found` / `parent_cycle`
 */
async function assertParent(
  lookups: CompanyLookups,
  state: Map<string, State>,
  parentId: string,
  childId: string,
): Promise<void> {
  const node = (id: string) => {
    const s = state.get(id);
    return s ? { parentId: s.row.parentId, archived: s.row.archivedAt !== null } : lookups.parentOf.get(id);
  };
  await lookups.read({ parents: [parentId] });
  const parent = node(parentId);
  if (!parent || parent.archived)
    throw new AppError(422, 'reference_not_found', 'No company with this id', { path: 'body.parent_id' });
  let at: string | null = parentId;
  for (let depth = 0; at && depth <= MAX_DEPTH; depth++) {
    if (at === childId)
      throw new AppError(422, 'parent_cycle', 'A company cannot be its own parent or ancestor', {
        path: 'body.parent_id',
      });
    let up = node(at);
    if (up === undefined) {
      await lookups.read({ parents: [at] });
      up = node(at);
    }
    at = up?.parentId ?? null;
  }
}

/**
 * One item applied in memory to its company (its state's row and view replaced): the checks and
 * rules of `updateCompanyIn`.
 * @returns its event: `company.updated` with what changed, if anything did
 */
async function apply(
  scope: TenantScope,
  lookups: CompanyLookups,
  object: Awaited<ReturnType<typeof objectDef>>,
  state: Map<string, State>,
  s: State,
  input: CompanyUpdateInput,
): Promise<NewEvent[]> {
  const before = s.view;
  const custom = input.custom
    ? await parseCustomValuesIn(scope, object, input.custom, { path: 'body.custom', creating: false })
    : undefined;
  // Read ahead already, unless an earlier item changed what this one asks for.
  await lookups.read(wantedBy([input]));
  if (input.owner_id) lookups.assertMember(input.owner_id, 'body.owner_id');
  if (input.parent_id) await assertParent(lookups, state, input.parent_id, s.row.id);
  const phone = phoneOf(input.phone);
  s.row = {
    ...s.row,
    ...(input.name !== undefined ? { name: input.name } : {}),
    ...(input.domain !== undefined ? { domain: input.domain ? domainOf(input.domain) : null } : {}),
    ...(input.website !== undefined ? { website: input.website } : {}),
    ...(phone !== undefined ? { phone } : {}),
    ...(input.address !== undefined ? { address: input.address } : {}),
    ...(input.industry !== undefined ? { industry: input.industry } : {}),
    ...(input.size !== undefined ? { size: input.size } : {}),
    ...(input.tags ? { tags: lookups.tags(input.tags) } : {}),
    ...(input.owner_id !== undefined ? { ownerId: input.owner_id } : {}),
    ...(input.parent_id !== undefined ? { parentId: input.parent_id } : {}),
    ...(input.notes !== undefined ? { notes: input.notes } : {}),
    ...(custom ? { custom: mergeCustom(s.row.custom, custom) } : {}),
    updatedBy: scope.ctx.actor.id,
    updatedAt: new Date().toISOString(),
  };
  s.view = { ...companyViewOf(s.row), contact_count: s.view.contact_count };
  const changes = changesBetween(before, s.view, COMPARED);
  if (Object.keys(changes).length === 0) return [];
  return [
    {
      type: 'company.updated',
      subject: { object: 'company', id: s.row.id },
      data: { name: s.view.name, changes },
    },
  ];
}

/** Writes the companies `updateCompaniesIn` changed: one statement. */
async function write(scope: TenantScope, written: State[]): Promise<void> {
  await scope.conn.query(
    `update companies c set name = x.name, domain = x.domain, website = x.website, phone = x.phone,
        address = x.address, industry = x.industry, size = x.size, tags = x.tags, owner_id = x.owner_id,
        parent_id = x.parent_id, notes = x.notes, custom = x.custom, updated_by = x.updated_by,
        updated_at = x.updated_at
       from jsonb_to_recordset($2::jsonb) as x(id uuid, name text, domain text, website text, phone text,
        address jsonb, industry text, size text, tags text[], owner_id uuid, parent_id uuid, notes text,
        custom jsonb, updated_by uuid, updated_at timestamptz)
      where c.org_id = $1 and c.id = x.id`,
    [
      scope.ctx.orgId,
      JSON.stringify(
        written.map(({ row: r }) => ({
          id: r.id,
          name: r.name,
          domain: r.domain,
          website: r.website,
          phone: r.phone,
          address: r.address,
          industry: r.industry,
          size: r.size,
          tags: r.tags,
          owner_id: r.ownerId,
          parent_id: r.parentId,
          notes: r.notes,
          custom: r.custom,
          updated_by: r.updatedBy,
          updated_at: r.updatedAt,
        })),
      ),
    ],
  );
}
