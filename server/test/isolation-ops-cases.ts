import { CASES, NO_IDS } from './isolation-cases.js';

// The isolation walk's cases for the ops console (issue 30).

NO_IDS['GET /api/v1/ops/integrations'] = "the caller's own organization's integrations; takes no id";
NO_IDS['GET /api/v1/ops/alerts'] = "the caller's own organization's alerts; takes no id";
NO_IDS['GET /api/v1/ops/jobs'] =
  "the caller's own organization's jobs and the install's counts per queue; takes no id";
NO_IDS['GET /api/v1/ops/api-usage'] = "the caller's own organization's API usage; takes no id";

const alert = (v: Record<string, string>) => `/api/v1/ops/alerts/${v['path.id']}`;
CASES['POST /api/v1/ops/alerts/:id/acknowledge'] = [
  {
    fields: { 'path.id': 'opsAlert' },
    fresh: ['opsAlert'],
    send: (v) => ({ url: `${alert(v)}/acknowledge` }),
  },
];
CASES['POST /api/v1/ops/alerts/:id/resolve'] = [
  { fields: { 'path.id': 'opsAlert' }, fresh: ['opsAlert'], send: (v) => ({ url: `${alert(v)}/resolve` }) },
];
CASES['POST /api/v1/ops/alerts/:id/snooze'] = [
  {
    fields: { 'path.id': 'opsAlert' },
    fresh: ['opsAlert'],
    send: (v) => ({
      url: `${alert(v)}/snooze`,
      body: { until: new Date(Date.now() + 86_400_000).toISOString() },
    }),
  },
];
CASES['POST /api/v1/ops/jobs/:id/retry'] = [
  {
    fields: { 'path.id': 'failedJob' },
    fresh: ['failedJob'],
    send: (v) => ({ url: `/api/v1/ops/jobs/${v['path.id']}/retry` }),
  },
];
