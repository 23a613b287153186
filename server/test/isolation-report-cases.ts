import { CASES, FILTER_STORED, holdsOwn, NO_IDS } from './isolation-cases.js';

// The isolation walk's cases for reports, dashboards and metrics (issue 30).

NO_IDS['GET /metrics'] =
  "the process's Prometheus metrics behind the install's token: route templates, no tenant data";
const STORED =
  "a saved report's filter runs through the report engine on the caller's own records (RLS, the list's filter rules)";
for (const route of [
  'POST /api/v1/reports',
  'PATCH /api/v1/reports/:id',
  'POST /api/v1/dashboards',
  'PATCH /api/v1/dashboards/:id',
])
  FILTER_STORED[route] = STORED;
FILTER_STORED['POST /api/v1/reports/run'] =
  "the list's filter compiler on the named object, whose list filter cases try every id field; the case below tries one";
CASES['POST /api/v1/reports'] = [
  {
    fields: {},
    ok: 201,
    send: () => ({
      url: '/api/v1/reports',
      body: { name: 'Walk report', spec: { object: 'opportunity', group_by: [{ field: 'stage_id' }] } },
    }),
  },
];

CASES['POST /api/v1/reports/run'] = [
  {
    fields: { 'body.filter.value': 'opportunity' },
    send: (v) => ({
      url: '/api/v1/reports/run',
      body: { object: 'opportunity', filter: { field: 'id', op: 'eq', value: v['body.filter.value'] } },
    }),
    holds: (r) => (r.body as { total?: { count: number } }).total?.count === 1,
  },
];
CASES['GET /api/v1/reports'] = [
  { fields: {}, send: () => ({ url: '/api/v1/reports' }), holds: (r) => holdsOwn(r, 'report') },
];
CASES['GET /api/v1/reports/:id'] = [
  { fields: { 'path.id': 'report' }, send: (v) => ({ url: `/api/v1/reports/${v['path.id']}` }) },
];
CASES['PATCH /api/v1/reports/:id'] = [
  {
    fields: { 'path.id': 'freshReport' },
    fresh: ['freshReport'],
    send: (v) => ({ url: `/api/v1/reports/${v['path.id']}`, body: { name: 'Renamed' } }),
  },
];
CASES['DELETE /api/v1/reports/:id'] = [
  {
    fields: { 'path.id': 'freshReport' },
    fresh: ['freshReport'],
    ok: 204,
    send: (v) => ({ url: `/api/v1/reports/${v['path.id']}` }),
  },
];
CASES['GET /api/v1/reports/:id/result'] = [
  { fields: { 'path.id': 'report' }, send: (v) => ({ url: `/api/v1/reports/${v['path.id']}/result` }) },
];
CASES['GET /api/v1/reports/:id/export'] = [
  { fields: { 'path.id': 'report' }, send: (v) => ({ url: `/api/v1/reports/${v['path.id']}/export` }) },
];
CASES['GET /api/v1/reports/:id/pdf'] = [
  { fields: { 'path.id': 'report' }, send: (v) => ({ url: `/api/v1/reports/${v['path.id']}/pdf` }) },
];
CASES['GET /api/v1/reports/standard'] = [
  {
    fields: { 'query.pipeline_id': 'pipeline' },
    send: (v) => ({
      url: `/api/v1/reports/standard?report=pipeline_by_stage&pipeline_id=${v['query.pipeline_id']}`,
    }),
  },
];
CASES['GET /api/v1/dashboards'] = [
  { fields: {}, send: () => ({ url: '/api/v1/dashboards' }), holds: (r) => holdsOwn(r, 'dashboard') },
];
CASES['POST /api/v1/dashboards'] = [
  {
    fields: { 'body.widgets[].report_id': 'report' },
    ok: 201,
    send: (v) => ({
      url: '/api/v1/dashboards',
      body: {
        name: 'Walk dashboard',
        widgets: [{ id: 'w1', report_id: v['body.widgets[].report_id'], x: 0, y: 0, w: 6, h: 4 }],
      },
    }),
  },
];
CASES['GET /api/v1/dashboards/:id'] = [
  { fields: { 'path.id': 'dashboard' }, send: (v) => ({ url: `/api/v1/dashboards/${v['path.id']}` }) },
];
CASES['GET /api/v1/dashboards/:id/data'] = [
  { fields: { 'path.id': 'dashboard' }, send: (v) => ({ url: `/api/v1/dashboards/${v['path.id']}/data` }) },
];
CASES['GET /api/v1/dashboards/:id/pdf'] = [
  { fields: { 'path.id': 'dashboard' }, send: (v) => ({ url: `/api/v1/dashboards/${v['path.id']}/pdf` }) },
];
CASES['PATCH /api/v1/dashboards/:id'] = [
  {
    fields: { 'path.id': 'freshDashboard', 'body.widgets[].report_id': 'report' },
    fresh: ['freshDashboard'],
    send: (v) => ({
      url: `/api/v1/dashboards/${v['path.id']}`,
      body: { widgets: [{ id: 'w2', report_id: v['body.widgets[].report_id'], x: 0, y: 0, w: 4, h: 3 }] },
    }),
  },
];
CASES['DELETE /api/v1/dashboards/:id'] = [
  {
    fields: { 'path.id': 'freshDashboard' },
    fresh: ['freshDashboard'],
    ok: 204,
    send: (v) => ({ url: `/api/v1/dashboards/${v['path.id']}` }),
  },
];

CASES['GET /api/v1/report-schedules'] = [
  {
    fields: { 'query.dashboard_id': 'dashboard' },
    send: (v) => ({ url: `/api/v1/report-schedules?dashboard_id=${v['query.dashboard_id']}` }),
    holds: (r) => holdsOwn(r, 'reportSchedule'),
  },
  {
    fields: { 'query.report_id': 'report' },
    send: (v) => ({ url: `/api/v1/report-schedules?report_id=${v['query.report_id']}` }),
    // The world schedules the tenant's report too (monthly): the owner's list has it.
    holds: (r) => ((r.body as { data?: unknown[] }).data ?? []).length > 0,
  },
];
CASES['POST /api/v1/report-schedules'] = [
  {
    fields: { 'body.dashboard_id': 'dashboard', 'body.recipient_id': 'user' },
    ok: 201,
    send: (v) => ({
      url: '/api/v1/report-schedules',
      body: {
        dashboard_id: v['body.dashboard_id'],
        frequency: 'daily',
        time: '07:00',
        recipient_id: v['body.recipient_id'],
      },
    }),
  },
  {
    fields: { 'body.report_id': 'report', 'body.recipient_id': 'user' },
    ok: 201,
    send: (v) => ({
      url: '/api/v1/report-schedules',
      body: {
        report_id: v['body.report_id'],
        frequency: 'monthly',
        time: '07:00',
        recipient_id: v['body.recipient_id'],
      },
    }),
  },
];
CASES['POST /api/v1/report-schedules/:id/send'] = [
  {
    fields: { 'path.id': 'reportSchedule' },
    send: (v) => ({ url: `/api/v1/report-schedules/${v['path.id']}/send`, body: {} }),
  },
];
CASES['DELETE /api/v1/report-schedules/:id'] = [
  {
    fields: { 'path.id': 'freshReportSchedule' },
    fresh: ['freshReportSchedule'],
    ok: 204,
    send: (v) => ({ url: `/api/v1/report-schedules/${v['path.id']}` }),
  },
];
CASES['GET /api/v1/system-mail/:id/attachments/:index'] = [
  {
    fields: { 'path.id': 'reportMail' },
    send: (v) => ({ url: `/api/v1/system-mail/${v['path.id']}/attachments/0` }),
  },
];
