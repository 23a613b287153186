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
import { ReferenceLookups } from '../records/reference-lookups.js';
import type { OpportunityUpdateInput, OpportunityView } from './opportunity.dto.js';
import { opportunities } from './opportunity.schema.js';
import { opportunityViews, related } from './opportunity-views.service.js';

type Row = typeof opportunities.$inferSelect;

/** The fields whose before and after an `opportunity.updated` event records. */
const COMPARED = [
  'title',
  'amount',
  'currency',
  'expected_close_date',
  'owner_id',
  'contact',
  'company',
  'tags',
  'forecast_category',
  'custom',
] as const;

/** One update of `updateOpportunitiesIn` (see `RecordChange`). */
export type OpportunityChange = RecordChange<OpportunityView, OpportunityUpdateInput>;
/** What became of one `OpportunityChange`. */
export type OpportunityChangeResult = RecordChangeResult<OpportunityView>;

/** Updates fields (not the stage: use move). One `opportunity.updated` event with before/after. */
export async function updateOpportunity(
  services: Services,
  ctx: TenantContext,
  id: string,
  input: OpportunityUpdateInput,
) {
  return withTenant(services.database, ctx, (scope) => updateOpportunityIn(scope, services, id, input));
}

/**
 * `updateOpportunity` inside the caller's tenant transaction (import, merge).
 * @throws 404, 409 `archived`, 422 `reference_not_found` (owner, contact, company), 400 bad custom value
 */
export async function updateOpportunityIn(
  scope: TenantScope,
  services: Services,
  id: string,
  input: OpportunityUpdateInput,
): Promise<OpportunityView> {
  const [result] = await updateOpportunitiesIn(scope, services, [{ id, input }]);
  if (!result!.ok) throw result!.error;
  return result!.after;
}

/** An amount as numeric(18, 2) stores it: rounded half up to cents (amounts are never negative). */
function cents(amount: number): number {
  const text = String(amount);
  return text.includes('e')
    ? Math.round(amount * 100) / 100
    : Number(`${Math.round(Number(`${text}e2`))}e-2`);
}

const wantedBy = (inputs: OpportunityUpdateInput[]) => ({
  contacts: inputs.flatMap((i) => (i.contact_id ? [i.contact_id] : [])),
  companies: inputs.flatMap((i) => (i.company_id ? [i.company_id] : [])),
  members: inputs.flatMap((i) => (i.owner_id ? [i.owner_id] : [])),
  tags: inputs.flatMap((i) => i.tags ?? []),
});

type State = ChangeState<Row, OpportunityView>;

/**
 * `updateOpportunityIn` for many opportunities in a handful of statements whatever their number,
 * as `updateContactsIn` does for contacts: read (locked) once, each item checked and applied in
 * order in memory (one opportunity may come more than once), one update statement for all, the
 * events with one insert. An item refused (unknown or archived opportunity, unknown owner,
 * contact or company, bad custom value) changes nothing and its error is its result.
 * @returns one result per item, in order
 */
export async function updateOpportunitiesIn(
  scope: TenantScope,
  services: Services,
  changes: OpportunityChange[],
): Promise<OpportunityChangeResult[]> {
  const object = await objectDef(scope.tx, scope.ctx.orgId, 'opportunity');
  const lookups = new ReferenceLookups(scope);
  return applyChanges(scope, services, changes, {
    label: 'Opportunity',
    table: opportunities,
    views: (rows) => opportunityViews(scope, rows),
    start: (row, view) => ({ row, view, written: false }),
    readAhead: (inputs) => lookups.read(wantedBy(inputs)),
    apply: (s, input) => apply(scope, lookups, object, s, input),
    write: async (written) => {
      await lookups.saveTags(written.flatMap((s) => s.row.tags));
      await write(scope, written);
    },
  });
}

/**
 * One item applied in memory to its opportunity (its state's row and view replaced): the checks
 * and rules of `updateOpportunityIn`.
 * @returns its event: `opportunity.updated` with what changed, if anything did
 * @throws AppError as `updateOpportunityIn`
 */
async function apply(
  scope: TenantScope,
  lookups: ReferenceLookups,
  object: Awaited<ReturnType<typeof objectDef>>,
  s: State,
  input: OpportunityUpdateInput,
): Promise<NewEvent[]> {
  const before = s.view;
  // Read ahead already, unless an earlier item changed what this one asks for.
  await lookups.read(wantedBy([input]));
  if (input.owner_id) lookups.assertMember(input.owner_id, 'body.owner_id');
  if (input.forecast_category !== undefined && s.row.status !== 'open') {
    const fixed = s.row.status === 'won' ? 'closed' : 'omitted';
    if (input.forecast_category !== fixed)
      throw new AppError(
        422,
        'forecast_category_fixed',
        `A ${s.row.status} deal's forecast category is ${fixed}: reopen it to change it`,
        { path: 'body.forecast_category' },
      );
  }
  const linked = (kind: 'contact' | 'company', id: string | null | undefined) => {
    if (!id) return id === null ? null : undefined;
    const name = lookups[kind].get(id);
    if (typeof name !== 'string')
      throw new AppError(422, 'reference_not_found', `No ${kind} with this id`, { path: `body.${kind}_id` });
    return { id, name };
  };
  const contact = linked('contact', input.contact_id);
  const company = linked('company', input.company_id);
  const custom = input.custom
    ? await parseCustomValuesIn(scope, object, input.custom, { path: 'body.custom', creating: false })
    : undefined;
  const amount = input.amount == null ? input.amount : cents(input.amount);
  s.row = {
    ...s.row,
    ...(input.title !== undefined ? { title: input.title } : {}),
    ...(amount !== undefined ? { amount: amount === null ? null : String(amount) } : {}),
    ...(input.currency !== undefined ? { currency: input.currency } : {}),
    ...(input.expected_close_date !== undefined ? { expectedCloseDate: input.expected_close_date } : {}),
    ...(input.owner_id !== undefined ? { ownerId: input.owner_id } : {}),
    ...(contact !== undefined ? { contactId: contact?.id ?? null } : {}),
    ...(company !== undefined ? { companyId: company?.id ?? null } : {}),
    ...(input.tags ? { tags: lookups.tags(input.tags) } : {}),
    ...(input.forecast_category !== undefined ? { forecastCategory: input.forecast_category } : {}),
    ...(custom ? { custom: mergeCustom(s.row.custom, custom) } : {}),
    updatedBy: scope.ctx.actor.id,
    updatedAt: new Date().toISOString(),
  };
  s.view = {
    ...s.view,
    title: s.row.title,
    amount: s.row.amount === null ? null : Number(s.row.amount),
    currency: s.row.currency,
    expected_close_date: s.row.expectedCloseDate,
    owner_id: s.row.ownerId,
    ...(contact !== undefined ? { contact } : {}),
    ...(company !== undefined ? { company } : {}),
    tags: s.row.tags,
    forecast_category: s.row.forecastCategory,
    custom: s.row.custom,
    updated_by: s.row.updatedBy,
    updated_at: s.row.updatedAt,
  };
  const changes = changesBetween(before, s.view, COMPARED);
  if (Object.keys(changes).length === 0) return [];
  return [
    {
      type: 'opportunity.updated',
      subject: { object: 'opportunity', id: s.row.id },
      data: { name: s.view.title, changes },
      related: related(s.row),
    },
  ];
}

/** Writes the opportunities `updateOpportunitiesIn` changed: one statement. */
async function write(scope: TenantScope, written: State[]): Promise<void> {
  await scope.conn.query(
    `update opportunities o set title = x.title, amount = x.amount, currency = x.currency,
        expected_close_date = x.expected_close_date, owner_id = x.owner_id, contact_id = x.contact_id,
        company_id = x.company_id, tags = x.tags, custom = x.custom, updated_by = x.updated_by,
        forecast_category = x.forecast_category,
        updated_at = x.updated_at
       from jsonb_to_recordset($2::jsonb) as x(id uuid, title text, amount numeric, currency text,
        expected_close_date date, owner_id uuid, contact_id uuid, company_id uuid, tags text[], custom jsonb,
        updated_by uuid, updated_at timestamptz, forecast_category text)
      where o.org_id = $1 and o.id = x.id`,
    [
      scope.ctx.orgId,
      JSON.stringify(
        written.map(({ row: r }) => ({
          id: r.id,
          title: r.title,
          amount: r.amount,
          currency: r.currency,
          expected_close_date: r.expectedCloseDate,
          owner_id: r.ownerId,
          contact_id: r.contactId,
          company_id: r.companyId,
          tags: r.tags,
          custom: r.custom,
          updated_by: r.updatedBy,
          updated_at: r.updatedAt,
          forecast_category: r.forecastCategory,
        })),
      ),
    ],
  );
}
