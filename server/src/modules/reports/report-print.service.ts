import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import { assertRight } from '../../platform/access/access-profile.js';
import { notFound } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { FilterNode } from '../../platform/query/query.schema.js';
import { addDays, relativePeriod } from '../../platform/query/query.values.js';
import { orgNameOf } from '../quotes/quote-send.service.js';
import { getSalesSettings } from '../quotes/sales-settings.service.js';
import { dashboards, savedReports } from './report.schema.js';
import { clockOf, ReportSpec, runReport } from './report-engine.js';
import { renderReportPdf } from './report-pdf.js';

// What the report and dashboard routes and the scheduled delivery share: loading a saved report or
// a dashboard as a member sees it, running a dashboard's widgets, and printing either as a PDF.

export const REPORT_VIEWS = [
  'bar',
  'stacked_bar',
  'line',
  'area',
  'pie',
  'funnel',
  'number',
  'table',
] as const;
export const View = z.enum(REPORT_VIEWS).describe('How the report is drawn');
export const Sharing = z.enum(['private', 'role', 'organization']);

export const DATE_PRESETS = ['today', '7_days', '30_days', 'this_quarter', 'custom'] as const;
export const DateRange = z
  .strictObject({
    preset: z.enum(DATE_PRESETS),
    from: z.iso.date().optional().describe('With custom: the first day'),
    to: z.iso.date().optional().describe('With custom: the last day'),
  })
  .meta({ id: 'DashboardDateRange' });
export const DashboardFilters = z
  .strictObject({
    date_range: DateRange.nullable().default(null),
    date_field: z
      .string()
      .min(1)
      .max(100)
      .default('created_at')
      .describe('The date field the range applies to'),
    filter: FilterNode.nullable().default(null).describe('Applied to every widget'),
  })
  .meta({ id: 'DashboardFilters' });
export const Widget = z
  .strictObject({
    id: z.string().min(1).max(40),
    report_id: z.uuid(),
    view: View.optional().describe("Default: the report's own view"),
    title: z.string().max(100).optional(),
    x: z.number().int().min(0).max(11),
    y: z.number().int().min(0).max(1000),
    w: z.number().int().min(1).max(12),
    h: z.number().int().min(1).max(20),
  })
  .meta({ id: 'DashboardWidget' });

export type ReportRow = typeof savedReports.$inferSelect;
export type DashboardRow = typeof dashboards.$inferSelect;

/** Whether the caller sees a saved report: its owner's, their role's, or the organization's. */
export const seesReport = (ctx: TenantContext, r: ReportRow) =>
  r.ownerId === ctx.actor.id ||
  r.sharing === 'organization' ||
  (r.sharing === 'role' && r.roleKey !== null && r.roleKey === ctx.role);

/** A dashboard's date range given in the query, overriding its own. */
export const DashboardRange = z.strictObject({
  preset: z.enum(DATE_PRESETS).optional().describe("Overrides the dashboard's date range"),
  from: z.iso.date().optional(),
  to: z.iso.date().optional(),
});

/** A date range in words, as a printed dashboard states it. */
export function rangeLabel(range: z.infer<typeof DateRange>): string {
  if (range.preset !== 'custom')
    return {
      today: 'Today',
      '7_days': 'Last 7 days',
      '30_days': 'Last 30 days',
      this_quarter: 'This quarter',
    }[range.preset];
  return `${range.from ?? 'the start'} to ${range.to ?? 'today'}`;
}

/**
 * The filter of the period just before a dashboard's date range, as long as it (today: yesterday;
 * the last 7 days: the 7 before; this quarter: the last quarter; a custom range: as many days before
 * `from`), in the organization's time zone. Undefined without a range or for a range open at one end.
 */
function previousRangeFilter(
  field: string,
  range: z.infer<typeof DateRange> | null,
  timeZone: string,
): FilterNode | undefined {
  if (!range) return undefined;
  const clock = { now: new Date(), timeZone };
  if (range.preset === 'this_quarter') return { field, op: 'eq', value: { relative: 'last_quarter' } };
  const period =
    range.preset === 'custom'
      ? range.from && range.to
        ? { start: range.from, end: addDays(range.to, 1) }
        : undefined
      : relativePeriod(range.preset === 'today' ? 'today' : `last_${parseInt(range.preset, 10)}_days`, clock);
  if (!period) return undefined;
  const days = Math.round((Date.parse(period.end) - Date.parse(period.start)) / 86_400_000);
  return {
    and: [
      { field, op: 'gte', value: addDays(period.start, -days) },
      { field, op: 'lt', value: period.start },
    ],
  };
}

/** The filter a dashboard's date range puts on `field`. */
function rangeFilter(field: string, range: z.infer<typeof DateRange> | null): FilterNode | undefined {
  if (!range) return undefined;
  if (range.preset === 'custom') {
    if (range.from && range.to) return { field, op: 'between', value: [range.from, range.to] };
    if (range.from) return { field, op: 'gte', value: range.from };
    if (range.to) return { field, op: 'lte', value: range.to };
    return undefined;
  }
  const token = {
    today: 'today',
    '7_days': 'last_7_days',
    '30_days': 'last_30_days',
    this_quarter: 'this_quarter',
  }[range.preset];
  return { field, op: 'eq', value: { relative: token } };
}

/** A saved report `ctx` sees. @throws 404 */
export const loadReport = async (services: Services, ctx: TenantContext, id: string) =>
  withTenant(
    services.database,
    ctx,
    async ({ tx }) => {
      const [row] = await tx
        .select()
        .from(savedReports)
        .where(and(eq(savedReports.orgId, ctx.orgId), eq(savedReports.id, id)));
      if (!row || !seesReport(ctx, row)) throw notFound('Report', id);
      return row;
    },
    { readOnly: true },
  );

/** A dashboard `ctx` sees: its own or the organization's. @throws 404 */
export const loadDashboard = async (services: Services, ctx: TenantContext, id: string) =>
  withTenant(
    services.database,
    ctx,
    async ({ tx }) => {
      const [row] = await tx
        .select()
        .from(dashboards)
        .where(and(eq(dashboards.orgId, ctx.orgId), eq(dashboards.id, id)));
      if (!row || (row.sharing === 'private' && row.ownerId !== ctx.actor.id))
        throw notFound('Dashboard', id);
      return row;
    },
    { readOnly: true },
  );

/**
 * Every widget's result for `ctx`, with the dashboard's date range (or `query`'s) and filter
 * applied to each; a widget that cannot run (its report gone, a field hidden) carries a problem.
 */
export const dashboardData = async (
  services: Services,
  ctx: TenantContext,
  board: { filters: unknown; widgets: unknown },
  query: z.infer<typeof DashboardRange>,
) => {
  const filters = DashboardFilters.parse(board.filters);
  if (query.preset)
    filters.date_range = {
      preset: query.preset,
      ...(query.from ? { from: query.from } : {}),
      ...(query.to ? { to: query.to } : {}),
    };
  const withFilter = (range: FilterNode | undefined): FilterNode | undefined =>
    range && filters.filter ? { and: [range, filters.filter] } : (range ?? filters.filter ?? undefined);
  const extra = withFilter(rangeFilter(filters.date_field, filters.date_range));
  const before = previousRangeFilter(
    filters.date_field,
    filters.date_range,
    (await clockOf(services, ctx.orgId)).timeZone,
  );
  const widgets = [];
  for (const w of board.widgets as z.infer<typeof Widget>[]) {
    const base = { id: w.id, report_id: w.report_id };
    try {
      const report = await loadReport(services, ctx, w.report_id);
      const spec = ReportSpec.parse(report.spec);
      const result = await runReport(services, ctx, spec, { path: 'spec', extraFilter: extra });
      const view = w.view ?? report.view;
      const previous =
        view === 'number' && before
          ? (await runReport(services, ctx, spec, { path: 'spec', extraFilter: withFilter(before) })).total
          : null;
      widgets.push({ ...base, name: w.title ?? report.name, view, result, previous, problem: null });
    } catch (error) {
      const e = error as { status?: number; code?: string; message?: string };
      if (!e.status || e.status >= 500) throw error;
      widgets.push({
        ...base,
        name: w.title ?? null,
        view: w.view ?? 'table',
        result: null,
        previous: null,
        problem: { status: e.status, code: e.code ?? 'error', detail: e.message ?? '' },
      });
    }
  }
  return { widgets, filters };
};

/** The organization's name and locale, which a printed report carries. */
export const printContext = async (services: Services, ctx: TenantContext) => ({
  organization: await orgNameOf(services, ctx.orgId),
  locale: (await getSalesSettings(services, ctx)).locale,
  at: new Date(),
});

/**
 * A saved report as a PDF, run with `ctx`'s rights (its chart or table, and total).
 * @throws 403 without the export right on its object, 400 when a field became hidden from `ctx`
 */
export async function reportPdf(services: Services, ctx: TenantContext, row: ReportRow): Promise<Buffer> {
  assertRight(ctx, row.object, 'export');
  const result = await runReport(services, ctx, ReportSpec.parse(row.spec), { path: 'spec' });
  return renderReportPdf({
    ...(await printContext(services, ctx)),
    title: row.name,
    subtitle: `Report on ${result.object} · ${result.time_zone}`,
    sections: [{ name: row.name, view: row.view, result, problem: null }],
  });
}

/**
 * A dashboard as a PDF, every widget run with `ctx`'s rights and the dashboard's date range (or
 * `query`'s); a widget that cannot run for `ctx` prints its problem.
 */
export async function dashboardPdf(
  services: Services,
  ctx: TenantContext,
  board: DashboardRow,
  query: z.infer<typeof DashboardRange>,
): Promise<Buffer> {
  const data = await dashboardData(services, ctx, board, query);
  const range = data.filters.date_range;
  return renderReportPdf({
    ...(await printContext(services, ctx)),
    title: board.name,
    subtitle: `${range ? rangeLabel(range) : 'All time'} · ${(await clockOf(services, ctx.orgId)).timeZone}`,
    sections: data.widgets.map((w) => ({
      name: w.name ?? 'Widget',
      view: w.view,
      result: w.result,
      previous: w.previous,
      problem: w.problem ? `${w.problem.detail} (${w.problem.code})` : null,
    })),
  });
}
