import { newId } from '../../db/ids.js';
import type { TenantScope } from '../../db/tenant.js';
import type { EventConsumer } from '../../platform/events/dispatcher.js';
import { dashboards, savedReports } from './report.schema.js';
import type { ReportSpec } from './report-engine.js';

/**
 * The dashboard every new organization starts with ("Sales overview", shared with the
 * organization), as HubSpot's and Pipedrive's default sales dashboards do: its widgets are saved
 * reports shared with the organization, so a member can open, change or unpin each one. Fields
 * are the standard objects' (opportunity status, stage, amount, owner, close date; contact lead
 * status and source; task status and assignee), so the widgets work before any customization.
 * The dashboard's date range applies to `created_at` unless a widget's report says otherwise.
 */
const DEFAULT_WIDGETS: {
  name: string;
  view: 'bar' | 'stacked_bar' | 'line' | 'pie' | 'funnel' | 'number' | 'table';
  spec: ReportSpec;
  place: { x: number; y: number; w: number; h: number };
}[] = [
  {
    name: 'Open deals',
    view: 'number',
    spec: {
      object: 'opportunity',
      filter: { field: 'status', op: 'eq', value: 'open' },
      group_by: [],
      measure: { op: 'count' },
    },
    place: { x: 0, y: 0, w: 3, h: 2 },
  },
  {
    name: 'Open pipeline value',
    view: 'number',
    spec: {
      object: 'opportunity',
      filter: { field: 'status', op: 'eq', value: 'open' },
      group_by: [],
      measure: { op: 'sum', field: 'amount' },
    },
    place: { x: 3, y: 0, w: 3, h: 2 },
  },
  {
    name: 'Won value',
    view: 'number',
    spec: {
      object: 'opportunity',
      filter: { field: 'status', op: 'eq', value: 'won' },
      group_by: [],
      measure: { op: 'sum', field: 'amount' },
    },
    place: { x: 6, y: 0, w: 3, h: 2 },
  },
  {
    name: 'New contacts',
    view: 'number',
    spec: { object: 'contact', group_by: [], measure: { op: 'count' } },
    place: { x: 9, y: 0, w: 3, h: 2 },
  },
  {
    name: 'Open pipeline by stage',
    view: 'funnel',
    spec: {
      object: 'opportunity',
      filter: { field: 'status', op: 'eq', value: 'open' },
      group_by: [{ field: 'stage_id' }],
      measure: { op: 'sum', field: 'amount' },
    },
    place: { x: 0, y: 2, w: 6, h: 4 },
  },
  {
    name: 'Won value by owner per month',
    view: 'stacked_bar',
    spec: {
      object: 'opportunity',
      filter: { field: 'status', op: 'eq', value: 'won' },
      group_by: [{ field: 'closed_at', bucket: 'month' }, { field: 'owner_id' }],
      measure: { op: 'sum', field: 'amount' },
    },
    place: { x: 6, y: 2, w: 6, h: 4 },
  },
  {
    name: 'Deals by status',
    view: 'pie',
    spec: { object: 'opportunity', group_by: [{ field: 'status' }], measure: { op: 'count' } },
    place: { x: 0, y: 6, w: 4, h: 4 },
  },
  {
    name: 'Contacts by lead status',
    view: 'pie',
    spec: { object: 'contact', group_by: [{ field: 'lead_status' }], measure: { op: 'count' } },
    place: { x: 4, y: 6, w: 4, h: 4 },
  },
  {
    name: 'Contacts by source',
    view: 'bar',
    spec: { object: 'contact', group_by: [{ field: 'source' }], measure: { op: 'count' } },
    place: { x: 8, y: 6, w: 4, h: 4 },
  },
  {
    name: 'Open tasks by assignee',
    view: 'bar',
    spec: {
      object: 'task',
      filter: { field: 'status', op: 'neq', value: 'done' },
      group_by: [{ field: 'assignee_id' }],
      measure: { op: 'count' },
    },
    place: { x: 0, y: 10, w: 12, h: 4 },
  },
];

/** The default dashboard's name. */
export const DEFAULT_DASHBOARD_NAME = 'Sales overview';

/**
 * Creates the "Sales overview" dashboard and its ten reports for a new organization, owned by its
 * first admin and shared with the organization.
 */
async function createDefaultDashboard(scope: TenantScope, ownerId: string): Promise<void> {
  const orgId = scope.ctx.orgId;
  const ids = DEFAULT_WIDGETS.map(() => newId());
  await scope.tx.insert(savedReports).values(
    DEFAULT_WIDGETS.map((w, i) => ({
      orgId,
      id: ids[i]!,
      name: w.name,
      object: w.spec.object,
      spec: w.spec as Record<string, unknown>,
      view: w.view,
      sharing: 'organization' as const,
      ownerId,
    })),
  );
  await scope.tx.insert(dashboards).values({
    orgId,
    name: DEFAULT_DASHBOARD_NAME,
    sharing: 'organization',
    ownerId,
    widgets: DEFAULT_WIDGETS.map((w, i) => ({ id: `w${i + 1}`, report_id: ids[i]!, ...w.place })),
    filters: { date_range: null, date_field: 'created_at', filter: null },
  });
}

/**
 * The consumer of `organization.created` that gives the new organization its default dashboard,
 * owned by the member who created it (the event's actor). Once per organization: the dispatcher
 * hands an event to a consumer at most once.
 */
export const defaultDashboardConsumer: EventConsumer = {
  name: 'reports.default_dashboard',
  types: ['organization.created'],
  handle: async (batch, scope) => {
    for (const event of batch)
      if (event.actor.type === 'user' && event.actor.id) await createDefaultDashboard(scope, event.actor.id);
  },
};
