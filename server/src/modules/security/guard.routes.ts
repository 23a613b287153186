import { z } from 'zod';
import { auditSourceOf } from '../../platform/audit/audit.js';
import { GUARD_METRICS, MAX_WINDOW_SECONDS, MIN_WINDOW_SECONDS } from '../../platform/guard/guard-budgets.js';
import {
  getIncident,
  incidentHandlers,
  listIncidents,
  resolveIncident,
} from '../../platform/guard/guard-incidents.js';
import { readGuardSettings, writeGuardSettings } from '../../platform/guard/guard-settings.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { alertAdmins } from './guard-alerts.service.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem };
const tags = ['guard'];

const Metric = z.enum(GUARD_METRICS).describe('read, export, delete (or archive), denied (403 / 404 on ids)');

const Incident = z
  .object({
    id: z.uuid(),
    subject: z.object({
      type: z.enum(['user', 'api_key']),
      user_id: z.uuid().describe('The user; for an API key, the admin who issued it'),
      api_key_id: z.uuid().nullable(),
      label: z.string().describe("The user's e-mail or the key's name"),
    }),
    role: z.string(),
    metric: Metric,
    metric_label: z.string(),
    count: z.number().int().describe('The count that crossed the block threshold'),
    warn: z.number().int(),
    block: z.number().int(),
    window_seconds: z.number().int(),
    counts: z.record(z.string(), z.number()).describe("Every metric's count when it opened"),
    trace_ids: z.array(z.string()).describe("The subject's latest requests (the logs' trace_id)"),
    sessions_revoked: z.number().int(),
    api_keys_revoked: z.number().int(),
    status: z.enum(['open', 'resolved']),
    locked: z.boolean().describe('The user is locked out of the organization'),
    opened_at: z.string(),
    resolved_at: z.string().nullable(),
    resolved_by: z.uuid().nullable(),
    resolution: z.enum(['unlocked', 'kept_locked']).nullable(),
    note: z.string().nullable(),
  })
  .meta({ id: 'GuardIncident' });

const Budget = z.strictObject({
  warn: z.number().int().min(1).max(100_000_000).describe('Admins are told at this count'),
  block: z.number().int().min(1).max(100_000_000).describe('Past this count the action is refused'),
  window_seconds: z
    .number()
    .int()
    .min(MIN_WINDOW_SECONDS)
    .max(MAX_WINDOW_SECONDS)
    .describe('The rolling window, seconds'),
});
const RoleKey = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,62}$/, 'a role key: lower-case letters, digits, - and _')
  .describe("A role's key: admin, user, viewer or a custom role's key");
const BudgetView = Budget.extend({ is_default: z.boolean().describe('The built-in default (not set)') });
const GuardSettings = z
  .object({
    data: z.array(
      z.object({
        role: z.string(),
        budgets: z.object({ read: BudgetView, export: BudgetView, delete: BudgetView, denied: BudgetView }),
      }),
    ),
  })
  .meta({ id: 'GuardSettings' });
const BudgetInput = Budget.nullable().optional();

/**
 * The guard's admin side (issue 22): incidents (list, one, resolve) and budgets per role. Also
 * wires the guard's crossings to the audit log, incidents and the admins' notifications.
 */
export function registerGuardRoutes(app: ApiApp, services: Services): void {
  services.guard.setHandlers(incidentHandlers(services.database, (alert) => alertAdmins(services, alert)));

  app.get(
    '/guard/incidents',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'listGuardIncidents',
        summary: 'Security incidents the guard opened, newest first (admins)',
        querystring: z.strictObject({
          status: z.enum(['open', 'resolved']).optional(),
          limit: z.coerce.number().int().min(1).max(200).default(50),
          cursor: z.uuid().optional().describe('`next_cursor` of the previous page'),
        }),
        response: { 200: z.object({ data: z.array(Incident), next_cursor: z.uuid().nullable() }), ...errors },
      },
    },
    async (req) => listIncidents(services.database, req.tenant, req.query),
  );

  app.get(
    '/guard/incidents/:id',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'getGuardIncident',
        summary: 'One incident: who, what, the counts, the window, the trace ids and its resolution',
        params: z.strictObject({ id: z.uuid() }),
        response: { 200: Incident, ...errors },
      },
    },
    async (req) => getIncident(services.database, req.tenant, req.params.id),
  );

  app.post(
    '/guard/incidents/:id/resolve',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'resolveGuardIncident',
        summary:
          'Resolve an incident: `unlock` lets the user back in (their counts start again), `keep_locked` keeps them out (409 `incident_resolved` when resolved already)',
        params: z.strictObject({ id: z.uuid() }),
        body: z.strictObject({
          action: z.enum(['unlock', 'keep_locked']),
          note: z.string().trim().max(2000).optional().describe('Why, for the audit log'),
        }),
        response: { 200: Incident, ...errors },
      },
    },
    async (req) =>
      resolveIncident(
        services.database,
        services.guard,
        req.tenant,
        auditSourceOf(req),
        req.params.id,
        req.body,
      ),
  );

  app.get(
    '/guard/settings',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'getGuardSettings',
        summary: "The guard's budgets per role: warn and block thresholds and window per metric",
        response: { 200: GuardSettings, ...errors },
      },
    },
    async (req) => ({ data: await readGuardSettings(services.guard, req.tenant.orgId) }),
  );

  app.put(
    '/guard/settings',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'updateGuardSettings',
        summary:
          "Set a role's budgets: a metric given takes its values, `null` returns to the default, an absent one stays (400 `invalid_budget` when warn > block)",
        body: z.strictObject({
          role: RoleKey,
          budgets: z.strictObject({
            read: BudgetInput,
            export: BudgetInput,
            delete: BudgetInput,
            denied: BudgetInput,
          }),
        }),
        response: { 200: GuardSettings, ...errors },
      },
    },
    async (req) => ({
      data: await writeGuardSettings(
        services.database,
        services.guard,
        req.tenant,
        auditSourceOf(req),
        req.body,
      ),
    }),
  );
}
