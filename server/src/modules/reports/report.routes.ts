import { and, asc, eq } from 'drizzle-orm';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import { assertRight } from '../../platform/access/access-profile.js';
import { forbidden, notFound } from '../../platform/errors/app-error.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { FilterNode } from '../../platform/query/query.schema.js';
import { addDays, relativePeriod } from '../../platform/query/query.values.js';
import { orgNameOf } from '../quotes/quote-send.service.js';
import { getSalesSettings } from '../quotes/sales-settings.service.js';
import { dashboards, savedReports } from './report.schema.js';
import { clockOf, ReportResult, ReportSpec, reportCsv, runReport } from './report-engine.js';
import { renderReportPdf } from './report-pdf.js';
import {
  STANDARD_REPORT_KEYS,
  StandardReport,
  StandardReportQuery,
  standardReport,
} from './standard-reports.js';

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
const View = z.enum(REPORT_VIEWS).describe('How the report is drawn');
const Sharing = z.enum(['private', 'role', 'organization']);

const ReportInput = z
  .strictObject({
    name: z.string().trim().min(1).max(100),
    spec: ReportSpec,
    view: View.default('bar'),
    sharing: Sharing.default('private'),
    role_key: z
      .string()
      .min(1)
      .max(64)
      .nullable()
      .optional()
      .describe('With sharing "role": the role whose members see it'),
  })
  .meta({ id: 'SavedReportCreate' });
const ReportPatch = z
  .strictObject({
    name: z.string().trim().min(1).max(100).optional(),
    spec: ReportSpec.optional(),
    view: View.optional(),
    sharing: Sharing.optional(),
    role_key: z.string().min(1).max(64).nullable().optional(),
  })
  .meta({ id: 'SavedReportUpdate' });
const SavedReport = z
  .object({
    id: z.uuid(),
    name: z.string(),
    object: z.string(),
    spec: z.record(z.string(), z.unknown()),
    view: z.string(),
    sharing: Sharing,
    role_key: z.string().nullable(),
    owner_id: z.uuid(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'SavedReport' });

const DATE_PRESETS = ['today', '7_days', '30_days', 'this_quarter', 'custom'] as const;
const DateRange = z
  .strictObject({
    preset: z.enum(DATE_PRESETS),
    from: z.iso.date().optional().describe('With custom: the first day'),
    to: z.iso.date().optional().describe('With custom: the last day'),
  })
  .meta({ id: 'DashboardDateRange' });
const DashboardFilters = z
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
const Widget = z
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
const DashboardInput = z
  .strictObject({
    name: z.string().trim().min(1).max(100),
    sharing: z.enum(['private', 'organization']).default('private'),
    widgets: z.array(Widget).max(30).default([]),
    filters: DashboardFilters.default({ date_range: null, date_field: 'created_at', filter: null }),
  })
  .meta({ id: 'DashboardCreate' });
const DashboardPatch = z
  .strictObject({
    name: z.string().trim().min(1).max(100).optional(),
    sharing: z.enum(['private', 'organization']).optional(),
    widgets: z.array(Widget).max(30).optional(),
    filters: DashboardFilters.optional(),
  })
  .meta({ id: 'DashboardUpdate' });
const Dashboard = z
  .object({
    id: z.uuid(),
    name: z.string(),
    sharing: z.enum(['private', 'organization']),
    widgets: z.array(z.record(z.string(), z.unknown())),
    filters: z.record(z.string(), z.unknown()),
    owner_id: z.uuid(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'Dashboard' });
const WidgetData = z
  .object({
    id: z.string(),
    report_id: z.string(),
    name: z.string().nullable(),
    view: z.string(),
    result: ReportResult.nullable(),
    previous: z
      .object({ value: z.number().nullable(), count: z.number().int() })
      .nullable()
      .describe(
        'A single-number widget under a date range: the same measure over the period just before (as long; this quarter: the last one)',
      ),
    problem: z
      .object({ status: z.number().int(), code: z.string(), detail: z.string() })
      .nullable()
      .describe('Why the widget has no result (its report was removed, a field is hidden from you...)'),
  })
  .meta({ id: 'DashboardWidgetData' });

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };
const IdParams = z.strictObject({ id: z.uuid() });

type ReportRow = typeof savedReports.$inferSelect;
const reportView = (r: ReportRow) => ({
  id: r.id,
  name: r.name,
  object: r.object,
  spec: r.spec,
  view: r.view,
  sharing: r.sharing,
  role_key: r.roleKey,
  owner_id: r.ownerId,
  created_at: r.createdAt,
  updated_at: r.updatedAt,
});
type DashboardRow = typeof dashboards.$inferSelect;
const dashboardView = (r: DashboardRow) => ({
  id: r.id,
  name: r.name,
  sharing: r.sharing,
  widgets: r.widgets,
  filters: r.filters,
  owner_id: r.ownerId,
  created_at: r.createdAt,
  updated_at: r.updatedAt,
});

/** Whether the caller sees a saved report: its owner's, their role's, or the organization's. */
const seesReport = (ctx: TenantContext, r: ReportRow) =>
  r.ownerId === ctx.actor.id ||
  r.sharing === 'organization' ||
  (r.sharing === 'role' && r.roleKey !== null && r.roleKey === ctx.role);

/** A dashboard's date range given in the query, overriding its own. */
const DashboardRange = z.strictObject({
  preset: z.enum(DATE_PRESETS).optional().describe("Overrides the dashboard's date range"),
  from: z.iso.date().optional(),
  to: z.iso.date().optional(),
});

/** A date range in words, as a printed dashboard states it. */
function rangeLabel(range: z.infer<typeof DateRange>): string {
  if (range.preset !== 'custom')
    return {
      today: 'Today',
      '7_days': 'Last 7 days',
      '30_days': 'Last 30 days',
      this_quarter: 'This quarter',
    }[range.preset];
  return `${range.from ?? 'the start'} to ${range.to ?? 'today'}`;
}

/** Sends a PDF as a download named after `name`. */
function sendPdf(reply: FastifyReply, name: string, pdf: Buffer) {
  const file = name.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 60) || 'report';
  return reply
    .type('application/pdf')
    .header('content-disposition', `attachment; filename="${file}.pdf"`)
    .send(pdf);
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

/** Reports (ad hoc, saved, standard, CSV) and dashboards (issue 30). */
export function registerReportRoutes(app: ApiApp, services: Services): void {
  const tags = ['reports'];
  const isAdmin = (role: string | null | undefined) => role === 'admin';

  const loadReport = async (ctx: TenantContext, id: string) =>
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
  const assertShareable = (
    role: string | null | undefined,
    sharing: string | undefined,
    roleKey?: string | null,
  ) => {
    if (sharing && sharing !== 'private' && role === 'viewer')
      throw forbidden('Viewers save private reports only');
    if (sharing === 'role' && !roleKey) throw forbidden('Name the role a report is shared with (role_key)');
  };

  /**
   * Every widget's result for `ctx`, with the dashboard's date range (or `query`'s) and filter
   * applied to each; a widget that cannot run (its report gone, a field hidden) carries a problem.
   */
  const dashboardData = async (
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
        const report = await loadReport(ctx, w.report_id);
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
  const printContext = async (ctx: TenantContext) => ({
    organization: await orgNameOf(services, ctx.orgId),
    locale: (await getSalesSettings(services, ctx)).locale,
    at: new Date(),
  });

  app.post(
    '/reports/run',
    {
      config: { access: 'records:read', rights: { object: '*', right: 'read' } },
      schema: {
        operationId: 'runReport',
        tags,
        summary: 'Run a report definition: groups, measure, and the filter behind every cell',
        description:
          'Hidden or unknown fields answer 400 `invalid_query` naming `body.group_by[i].field` or `body.measure.field`; ' +
          'past `limit` groups the rest are summed up in an "other" cell and `note` says so.',
        body: ReportSpec,
        response: { 200: ReportResult, ...errors },
      },
    },
    async (req) => runReport(services, req.tenant, req.body),
  );

  app.get(
    '/reports',
    {
      config: { access: 'records:read', rights: 'none' },
      schema: {
        operationId: 'listReports',
        tags,
        summary: 'The saved reports the caller sees: their own, their role’s and the organization’s',
        response: { 200: z.object({ data: z.array(SavedReport) }), 401: Problem, 403: Problem },
      },
    },
    async (req) => {
      const ctx = req.tenant;
      const rows = await withTenant(
        services.database,
        ctx,
        ({ tx }) =>
          tx
            .select()
            .from(savedReports)
            .where(eq(savedReports.orgId, ctx.orgId))
            .orderBy(asc(savedReports.name)),
        { readOnly: true },
      );
      return { data: rows.filter((r) => seesReport(ctx, r)).map(reportView) };
    },
  );

  app.post(
    '/reports',
    {
      config: { access: 'records:read', rights: 'none' },
      schema: {
        operationId: 'createReport',
        tags,
        summary: 'Save a report (checked now against the registry and your field rights)',
        body: ReportInput,
        response: { 201: SavedReport, ...errors },
      },
    },
    async (req, reply) => {
      const ctx = req.tenant;
      const input = req.body;
      assertShareable(req.principal?.role, input.sharing, input.role_key);
      await runReport(services, ctx, { ...input.spec, limit: 1 }, { path: 'body.spec' });
      const row = await withTenant(services.database, ctx, async ({ tx }) => {
        const [created] = await tx
          .insert(savedReports)
          .values({
            orgId: ctx.orgId,
            name: input.name,
            object: input.spec.object,
            spec: input.spec as Record<string, unknown>,
            view: input.view,
            sharing: input.sharing,
            roleKey: input.sharing === 'role' ? (input.role_key ?? null) : null,
            ownerId: ctx.actor.id!,
          })
          .returning();
        return created!;
      });
      return reply.code(201).send(reportView(row));
    },
  );

  app.get(
    '/reports/:id',
    {
      config: { access: 'records:read', rights: 'none' },
      schema: {
        operationId: 'getReport',
        tags,
        summary: 'A saved report',
        params: IdParams,
        response: { 200: SavedReport, ...errors },
      },
    },
    async (req) => reportView(await loadReport(req.tenant, req.params.id)),
  );

  app.patch(
    '/reports/:id',
    {
      config: { access: 'records:read', rights: 'none' },
      schema: {
        operationId: 'updateReport',
        tags,
        summary: 'Change a saved report (its owner, or an admin)',
        params: IdParams,
        body: ReportPatch,
        response: { 200: SavedReport, ...errors },
      },
    },
    async (req) => {
      const ctx = req.tenant;
      const current = await loadReport(ctx, req.params.id);
      if (current.ownerId !== ctx.actor.id && !isAdmin(req.principal?.role))
        throw forbidden('Only its owner or an admin changes a shared report');
      const sharing = req.body.sharing ?? current.sharing;
      const roleKey = req.body.role_key !== undefined ? req.body.role_key : current.roleKey;
      assertShareable(req.principal?.role, sharing, roleKey);
      if (req.body.spec)
        await runReport(services, ctx, { ...req.body.spec, limit: 1 }, { path: 'body.spec' });
      const row = await withTenant(services.database, ctx, async ({ tx }) => {
        const [updated] = await tx
          .update(savedReports)
          .set({
            ...(req.body.name !== undefined ? { name: req.body.name } : {}),
            ...(req.body.spec !== undefined
              ? { spec: req.body.spec as Record<string, unknown>, object: req.body.spec.object }
              : {}),
            ...(req.body.view !== undefined ? { view: req.body.view } : {}),
            sharing,
            roleKey: sharing === 'role' ? roleKey : null,
            updatedAt: new Date().toISOString(),
          })
          .where(and(eq(savedReports.orgId, ctx.orgId), eq(savedReports.id, req.params.id)))
          .returning();
        return updated!;
      });
      return reportView(row);
    },
  );

  app.delete(
    '/reports/:id',
    {
      config: { access: 'records:read', rights: 'none' },
      schema: {
        operationId: 'deleteReport',
        tags,
        summary: 'Delete a saved report (its owner, or an admin)',
        params: IdParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      const ctx = req.tenant;
      const current = await loadReport(ctx, req.params.id);
      if (current.ownerId !== ctx.actor.id && !isAdmin(req.principal?.role))
        throw forbidden('Only its owner or an admin deletes a shared report');
      await withTenant(services.database, ctx, ({ tx }) =>
        tx
          .delete(savedReports)
          .where(and(eq(savedReports.orgId, ctx.orgId), eq(savedReports.id, req.params.id))),
      );
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/reports/:id/result',
    {
      config: { access: 'records:read', rights: { object: '*', right: 'read' } },
      schema: {
        operationId: 'getReportResult',
        tags,
        summary:
          'Run a saved report with the caller’s rights (a shared report shows each viewer what they may see)',
        params: IdParams,
        response: { 200: ReportResult, ...errors },
      },
    },
    async (req) => {
      const row = await loadReport(req.tenant, req.params.id);
      return runReport(services, req.tenant, ReportSpec.parse(row.spec), { path: 'spec' });
    },
  );

  app.get(
    '/reports/:id/export',
    {
      config: { access: 'records:read', rights: { object: '*', right: 'export' } },
      schema: {
        operationId: 'exportReport',
        tags,
        summary: 'A saved report as CSV: one row per group, the count and the measure (formulas neutralized)',
        params: IdParams,
        produces: ['text/csv'],
      },
    },
    async (req, reply) => {
      const row = await loadReport(req.tenant, req.params.id);
      assertRight(req.tenant, row.object, 'export');
      const result = await runReport(services, req.tenant, ReportSpec.parse(row.spec), { path: 'spec' });
      const name = row.name.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 60) || 'report';
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${name}.csv"`)
        .send(reportCsv(result));
    },
  );

  app.get(
    '/reports/:id/pdf',
    {
      config: { access: 'records:read', rights: { object: '*', right: 'export' } },
      schema: {
        operationId: 'getReportPdf',
        tags,
        summary: 'A saved report as a PDF rendered on the server: its chart (or table) and total',
        description:
          'An empty report prints "No records match this report"; needs the export right on its object.',
        params: IdParams,
        produces: ['application/pdf'],
      },
    },
    async (req, reply) => {
      const row = await loadReport(req.tenant, req.params.id);
      assertRight(req.tenant, row.object, 'export');
      const result = await runReport(services, req.tenant, ReportSpec.parse(row.spec), { path: 'spec' });
      const pdf = await renderReportPdf({
        ...(await printContext(req.tenant)),
        title: row.name,
        subtitle: `Report on ${result.object} · ${result.time_zone}`,
        sections: [{ name: row.name, view: row.view, result, problem: null }],
      });
      return sendPdf(reply, row.name, pdf);
    },
  );

  app.get(
    '/reports/standard',
    {
      config: { access: 'records:read', rights: { object: '*', right: 'read' } },
      schema: {
        operationId: 'getStandardReport',
        tags,
        summary:
          'A standard report: pipeline by stage, forecast, win rate, sales cycle, funnel, activity, records by...',
        querystring: StandardReportQuery.extend({
          report: z.enum(STANDARD_REPORT_KEYS).describe('Which report'),
        }),
        response: { 200: StandardReport, ...errors },
      },
    },
    async (req) => {
      const { report, ...options } = req.query;
      return standardReport(services, req.tenant, report, options);
    },
  );

  // ---- dashboards
  const dTags = ['dashboards'];
  const loadDashboard = async (ctx: TenantContext, id: string) =>
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
  const assertWidgets = async (ctx: TenantContext, widgets: z.infer<typeof Widget>[]) => {
    for (const [i, w] of widgets.entries()) {
      try {
        await loadReport(ctx, w.report_id);
      } catch {
        throw notFound('Report', w.report_id);
      }
      if (w.x + w.w > 12) throw forbidden(`Widget ${i} runs past the 12 columns of the grid`);
    }
  };

  app.get(
    '/dashboards',
    {
      config: { access: 'records:read', rights: 'none' },
      schema: {
        operationId: 'listDashboards',
        tags: dTags,
        summary: "The caller's dashboards and the organization's",
        response: { 200: z.object({ data: z.array(Dashboard) }), 401: Problem, 403: Problem },
      },
    },
    async (req) => {
      const ctx = req.tenant;
      const rows = await withTenant(
        services.database,
        ctx,
        ({ tx }) =>
          tx.select().from(dashboards).where(eq(dashboards.orgId, ctx.orgId)).orderBy(asc(dashboards.name)),
        { readOnly: true },
      );
      return {
        data: rows
          .filter((r) => r.sharing === 'organization' || r.ownerId === ctx.actor.id)
          .map(dashboardView),
      };
    },
  );

  app.post(
    '/dashboards',
    {
      config: { access: 'records:read', rights: 'none' },
      schema: {
        operationId: 'createDashboard',
        tags: dTags,
        summary: 'Create a dashboard (viewers: private ones)',
        body: DashboardInput,
        response: { 201: Dashboard, ...errors },
      },
    },
    async (req, reply) => {
      const ctx = req.tenant;
      const input = req.body;
      if (input.sharing === 'organization' && req.principal?.role === 'viewer')
        throw forbidden('Viewers save private dashboards only');
      await assertWidgets(ctx, input.widgets);
      const row = await withTenant(services.database, ctx, async ({ tx }) => {
        const [created] = await tx
          .insert(dashboards)
          .values({
            orgId: ctx.orgId,
            name: input.name,
            sharing: input.sharing,
            widgets: input.widgets,
            filters: input.filters as Record<string, unknown>,
            ownerId: ctx.actor.id!,
          })
          .returning();
        return created!;
      });
      return reply.code(201).send(dashboardView(row));
    },
  );

  app.get(
    '/dashboards/:id',
    {
      config: { access: 'records:read', rights: 'none' },
      schema: {
        operationId: 'getDashboard',
        tags: dTags,
        summary: 'A dashboard',
        params: IdParams,
        response: { 200: Dashboard, ...errors },
      },
    },
    async (req) => dashboardView(await loadDashboard(req.tenant, req.params.id)),
  );

  app.patch(
    '/dashboards/:id',
    {
      config: { access: 'records:read', rights: 'none' },
      schema: {
        operationId: 'updateDashboard',
        tags: dTags,
        summary: 'Change a dashboard: name, sharing, widgets (placed and sized on a 12-column grid), filters',
        params: IdParams,
        body: DashboardPatch,
        response: { 200: Dashboard, ...errors },
      },
    },
    async (req) => {
      const ctx = req.tenant;
      const current = await loadDashboard(ctx, req.params.id);
      if (current.ownerId !== ctx.actor.id && !isAdmin(req.principal?.role))
        throw forbidden('Only its owner or an admin changes a shared dashboard');
      if (req.body.sharing === 'organization' && req.principal?.role === 'viewer')
        throw forbidden('Viewers save private dashboards only');
      if (req.body.widgets) await assertWidgets(ctx, req.body.widgets);
      const row = await withTenant(services.database, ctx, async ({ tx }) => {
        const [updated] = await tx
          .update(dashboards)
          .set({
            ...(req.body.name !== undefined ? { name: req.body.name } : {}),
            ...(req.body.sharing !== undefined ? { sharing: req.body.sharing } : {}),
            ...(req.body.widgets !== undefined ? { widgets: req.body.widgets } : {}),
            ...(req.body.filters !== undefined
              ? { filters: req.body.filters as Record<string, unknown> }
              : {}),
            updatedAt: new Date().toISOString(),
          })
          .where(and(eq(dashboards.orgId, ctx.orgId), eq(dashboards.id, req.params.id)))
          .returning();
        return updated!;
      });
      return dashboardView(row);
    },
  );

  app.delete(
    '/dashboards/:id',
    {
      config: { access: 'records:read', rights: 'none' },
      schema: {
        operationId: 'deleteDashboard',
        tags: dTags,
        summary: 'Delete a dashboard (its owner, or an admin)',
        params: IdParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      const ctx = req.tenant;
      const current = await loadDashboard(ctx, req.params.id);
      if (current.ownerId !== ctx.actor.id && !isAdmin(req.principal?.role))
        throw forbidden('Only its owner or an admin deletes a shared dashboard');
      await withTenant(services.database, ctx, ({ tx }) =>
        tx.delete(dashboards).where(and(eq(dashboards.orgId, ctx.orgId), eq(dashboards.id, req.params.id))),
      );
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/dashboards/:id/data',
    {
      config: { access: 'records:read', rights: { object: '*', right: 'read' } },
      schema: {
        operationId: 'getDashboardData',
        tags: dTags,
        summary:
          "Every widget's result, with the dashboard's date range and filter (or the query's) applied to each",
        description:
          'A widget whose report is gone or names a field hidden from the caller carries a `problem` instead of a result.',
        params: IdParams,
        querystring: DashboardRange,
        response: { 200: z.object({ widgets: z.array(WidgetData), filters: DashboardFilters }), ...errors },
      },
    },
    async (req) => dashboardData(req.tenant, await loadDashboard(req.tenant, req.params.id), req.query),
  );

  app.get(
    '/dashboards/:id/pdf',
    {
      config: { access: 'records:read', rights: { object: '*', right: 'read' } },
      schema: {
        operationId: 'getDashboardPdf',
        tags: dTags,
        summary:
          'The dashboard as a PDF rendered on the server: every widget drawn, with its date range and filter',
        description:
          'A widget that cannot run prints its problem; an empty one prints "No records match". Same query as `/data`.',
        params: IdParams,
        querystring: DashboardRange,
        produces: ['application/pdf'],
      },
    },
    async (req, reply) => {
      const ctx = req.tenant;
      const board = await loadDashboard(ctx, req.params.id);
      const data = await dashboardData(ctx, board, req.query);
      const range = data.filters.date_range;
      const pdf = await renderReportPdf({
        ...(await printContext(ctx)),
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
      return sendPdf(reply, board.name, pdf);
    },
  );
}
