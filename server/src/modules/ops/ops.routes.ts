import { z } from 'zod';
import { badRequest } from '../../platform/errors/app-error.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import {
  AlertListQuery,
  AlertView,
  IntegrationView,
  JobsView,
  SnoozeBody,
  UsageQuery,
  UsageView,
} from './ops.dto.js';
import { actOnAlert, apiUsage, jobsView, listAlerts, listIntegrations, retryJob } from './ops.service.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };
const tags = ['ops'];
const Id = z.strictObject({ id: z.uuid() });
const access = 'settings:manage' as const;
const MAX_SNOOZE_MS = 30 * 86_400_000;

/**
 * The ops console (issue 30), for admins: integration health, alerts with acknowledge, snooze and
 * resolve, the job queue with retry, and API usage per key and member. Webhook deliveries and
 * their redrive are the webhooks API's (`/webhooks/:id/deliveries`, `/webhooks/:id/redrive`).
 */
export function registerOpsRoutes(app: ApiApp, services: Services): void {
  app.get(
    '/ops/integrations',
    {
      config: { access },
      schema: {
        tags,
        operationId: 'listOpsIntegrations',
        summary:
          'Every integration with its last success, last error, errors per hour and configuration state',
        response: { 200: z.object({ data: z.array(IntegrationView) }), ...errors },
      },
    },
    async (req) => ({ data: await listIntegrations(services, req.tenant) }),
  );

  app.get(
    '/ops/alerts',
    {
      config: { access },
      schema: {
        tags,
        operationId: 'listOpsAlerts',
        summary:
          'Alerts, one per fingerprint however often it fired; `status=active` (default), resolved or all',
        querystring: AlertListQuery,
        response: { 200: z.object({ data: z.array(AlertView) }), ...errors },
      },
    },
    async (req) => ({ data: await listAlerts(services, req.tenant, req.query.status) }),
  );

  const action = (verb: 'acknowledge' | 'resolve', summary: string, operationId: string) =>
    app.post(
      `/ops/alerts/:id/${verb}`,
      {
        config: { access },
        schema: {
          tags,
          operationId,
          summary,
          params: Id,
          response: { 200: AlertView, 409: Problem, ...errors },
        },
      },
      async (req) => actOnAlert(services, req.tenant, req.params.id, { kind: verb }),
    );
  action(
    'acknowledge',
    'Acknowledge an alert (someone is on it); 409 `alert_resolved` once resolved',
    'acknowledgeOpsAlert',
  );
  action('resolve', 'Resolve an alert by hand; the next failure opens a new one', 'resolveOpsAlert');

  app.post(
    '/ops/alerts/:id/snooze',
    {
      config: { access },
      schema: {
        tags,
        operationId: 'snoozeOpsAlert',
        summary: 'Snooze an alert until a time (at most 30 days ahead); it is open again after it',
        params: Id,
        body: SnoozeBody,
        response: { 200: AlertView, 409: Problem, ...errors },
      },
    },
    async (req) => {
      const until = Date.parse(req.body.until);
      if (until <= Date.now()) throw badRequest('Snooze until a time in the future', 'body.until');
      if (until > Date.now() + MAX_SNOOZE_MS) throw badRequest('Snooze for at most 30 days', 'body.until');
      return actOnAlert(services, req.tenant, req.params.id, {
        kind: 'snooze',
        until: new Date(until).toISOString(),
      });
    },
  );

  app.get(
    '/ops/jobs',
    {
      config: { access },
      schema: {
        tags,
        operationId: 'getOpsJobs',
        summary:
          "The job queue: this organization's jobs and the install's per queue and state, failed jobs, webhook dead letters",
        response: { 200: JobsView, ...errors },
      },
    },
    async (req) => jobsView(services, req.tenant),
  );

  app.post(
    '/ops/jobs/:id/retry',
    {
      config: { access },
      schema: {
        tags,
        operationId: 'retryOpsJob',
        summary: 'Queue a failed job of this organization again',
        params: z.strictObject({ id: z.uuid() }),
        response: { 200: z.object({ retried: z.boolean() }), ...errors },
      },
    },
    async (req) => retryJob(services, req.tenant, req.params.id),
  );

  app.get(
    '/ops/api-usage',
    {
      config: { access },
      schema: {
        tags,
        operationId: 'getOpsApiUsage',
        summary:
          'API requests per API key and per member, per hour or day (counted per hour, added every 15 s)',
        querystring: UsageQuery,
        response: { 200: UsageView, ...errors },
      },
    },
    async (req) => apiUsage(services, req.tenant, req.query.granularity, req.query.days),
  );
}
