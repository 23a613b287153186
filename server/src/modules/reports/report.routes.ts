import { and, asc, eq } from 'drizzle-orm';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import { assertRight } from '../../platform/access/access-profile.js';
import { forbidden, notFound } from '../../platform/errors/app-error.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { defaultDashboardConsumer } from './default-dashboard.js';
import { dashboards, savedReports } from './report.schema.js';
import { ReportResult, ReportSpec, reportCsv, runReport } from './report-engine.js';
import {
  DashboardFilters,
  DashboardRange,
  type DashboardRow,
  dashboardData,
  dashboardPdf,
  loadDashboard,
  loadReport,
  type ReportRow,
  reportPdf,
  Sharing,
  seesReport,
  View,
  Widget,
} from './report-print.service.js';
import {
  STANDARD_REPORT_KEYS,
  StandardReport,
  StandardReportQuery,
  standardReport,
} from './standard-reports.js';

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

/** Sends a PDF as a download named after `name`. */
function sendPdf(reply: FastifyReply, name: string, pdf: Buffer) {
  const file = name.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 60) || 'report';
  return reply
    .type('application/pdf')
    .header('content-disposition', `attachment; filename="${file}.pdf"`)
    .send(pdf);
}

/** Reports (ad hoc, saved, standard, CSV) and dashboards (issue 30). */
export function registerReportRoutes(app: ApiApp, services: Services): void {
  services.events.register(defaultDashboardConsumer);
  const tags = ['reports'];
  const isAdmin = (role: string | null | undefined) => role === 'admin';

  const assertShareable = (
    role: string | null | undefined,
    sharing: string | undefined,
    roleKey?: string | null,
  ) => {
    if (sharing && sharing !== 'private' && role === 'viewer')
      throw forbidden('Viewers save private reports only');
    if (sharing === 'role' && !roleKey) throw forbidden('Name the role a report is shared with (role_key)');
  };

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
    async (req) => reportView(await loadReport(services, req.tenant, req.params.id)),
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
      const current = await loadReport(services, ctx, req.params.id);
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
      const current = await loadReport(services, ctx, req.params.id);
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
      const row = await loadReport(services, req.tenant, req.params.id);
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
      const row = await loadReport(services, req.tenant, req.params.id);
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
      const row = await loadReport(services, req.tenant, req.params.id);
      const pdf = await reportPdf(services, req.tenant, row);
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
  const assertWidgets = async (ctx: TenantContext, widgets: z.infer<typeof Widget>[]) => {
    for (const [i, w] of widgets.entries()) {
      try {
        await loadReport(services, ctx, w.report_id);
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
    async (req) => dashboardView(await loadDashboard(services, req.tenant, req.params.id)),
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
      const current = await loadDashboard(services, ctx, req.params.id);
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
      const current = await loadDashboard(services, ctx, req.params.id);
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
    async (req) =>
      dashboardData(
        services,
        req.tenant,
        await loadDashboard(services, req.tenant, req.params.id),
        req.query,
      ),
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
      const board = await loadDashboard(services, ctx, req.params.id);
      const pdf = await dashboardPdf(services, ctx, board, req.query);
      return sendPdf(reply, board.name, pdf);
    },
  );
}
