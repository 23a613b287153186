import { z } from 'zod';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import {
  createSchedule,
  deleteSchedule,
  listSchedules,
  ReportSchedule,
  ReportScheduleInput,
  ReportScheduleQuery,
  sendScheduleNow,
} from './report-schedule.service.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };
const IdParams = z.strictObject({ id: z.uuid() });

/** Scheduled delivery of reports and dashboards by e-mail, with the PDF attached (issue 30). */
export function registerReportScheduleRoutes(app: ApiApp, services: Services): void {
  const tags = ['reports'];

  app.get(
    '/report-schedules',
    {
      config: { access: 'records:read', rights: 'none' },
      schema: {
        operationId: 'listReportSchedules',
        tags,
        summary:
          "Scheduled deliveries of a report or dashboard (or all): an admin's every one, a member's those they made or receive",
        querystring: ReportScheduleQuery,
        response: { 200: z.object({ data: z.array(ReportSchedule) }), ...errors },
      },
    },
    async (req) => ({ data: await listSchedules(services, req.tenant, req.query) }),
  );

  app.post(
    '/report-schedules',
    {
      config: { access: 'records:read', rights: 'none' },
      schema: {
        operationId: 'createReportSchedule',
        tags,
        summary:
          "E-mail a report or a dashboard as a PDF daily, weekly or monthly at a time in the recipient's time zone",
        description:
          "The PDF is computed with the recipient's rights at each run. A member schedules for themselves, an admin for any member. " +
          '400 `invalid_schedule` (not exactly one of report_id and dashboard_id), `invalid_time_zone`; ' +
          '422 `recipient_not_member` (a removed member), `recipient_cannot_see` (not shared with the recipient). ' +
          'A recipient removed later is skipped, with a note on the schedule.',
        body: ReportScheduleInput,
        response: { 201: ReportSchedule, ...errors, 422: Problem },
      },
    },
    async (req, reply) => reply.code(201).send(await createSchedule(services, req.tenant, req.body)),
  );

  app.post(
    '/report-schedules/:id/send',
    {
      config: { access: 'records:read', rights: 'none' },
      schema: {
        operationId: 'sendReportSchedule',
        tags,
        summary: 'Send a scheduled delivery now (its next run stays); the outcome is noted on it',
        params: IdParams,
        response: { 200: ReportSchedule, ...errors },
      },
    },
    async (req) => sendScheduleNow(services, req.tenant, req.params.id),
  );

  app.delete(
    '/report-schedules/:id',
    {
      config: { access: 'records:read', rights: 'none' },
      schema: {
        operationId: 'deleteReportSchedule',
        tags,
        summary: 'Stop a scheduled delivery (its maker, its recipient, or an admin)',
        params: IdParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await deleteSchedule(services, req.tenant, req.params.id);
      return reply.code(204).send(null);
    },
  );
}
