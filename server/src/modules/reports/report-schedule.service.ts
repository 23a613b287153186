import { CronExpressionParser } from 'cron-parser';
import { and, desc, eq, inArray, or } from 'drizzle-orm';
import { z } from 'zod';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { profileOfPrincipal } from '../../platform/access/access-loader.js';
import { isRole } from '../../platform/access/permissions.js';
import { type Principal, tenantContextOf } from '../../platform/access/principal.js';
import { members, users } from '../../platform/auth/auth.schema.js';
import { AppError, forbidden, notFound } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { reportSchedules, SCHEDULE_FREQUENCIES, SCHEDULE_OUTCOMES } from './report.schema.js';
import { clockOf } from './report-engine.js';
import { dashboardPdf, loadDashboard, loadReport, reportPdf, seesReport } from './report-print.service.js';

/** The queue of scheduled deliveries: one delayed job per schedule, for its next time. */
export const REPORT_DELIVERY_QUEUE = 'report.deliver';

type DeliverJob = { org_id: string; schedule_id: string; at: string };
type ScheduleRow = typeof reportSchedules.$inferSelect;

export const ReportScheduleInput = z
  .strictObject({
    report_id: z.uuid().optional().describe('The saved report sent (or `dashboard_id`)'),
    dashboard_id: z.uuid().optional().describe('The dashboard sent (or `report_id`)'),
    frequency: z.enum(SCHEDULE_FREQUENCIES),
    time: z
      .string()
      .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'A time of day as HH:MM')
      .describe('The local time of day (HH:MM) in `time_zone`'),
    weekday: z
      .number()
      .int()
      .min(0)
      .max(6)
      .optional()
      .describe('Weekly: 0 Sunday to 6 Saturday (default 1, Monday)'),
    day_of_month: z
      .number()
      .int()
      .min(1)
      .max(28)
      .optional()
      .describe('Monthly: the day, 1 to 28 (default 1)'),
    time_zone: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe("The recipient's IANA time zone (default: the organization's)"),
    recipient_id: z.uuid().describe('The member (user id) it is sent to and computed for'),
  })
  .meta({ id: 'ReportScheduleCreate' });
export type ReportScheduleInput = z.infer<typeof ReportScheduleInput>;

export const ReportSchedule = z
  .object({
    id: z.uuid(),
    report_id: z.uuid().nullable(),
    dashboard_id: z.uuid().nullable(),
    frequency: z.enum(SCHEDULE_FREQUENCIES),
    time: z.string(),
    weekday: z.number().int().nullable(),
    day_of_month: z.number().int().nullable(),
    time_zone: z.string(),
    recipient_id: z.uuid(),
    recipient: z
      .object({ name: z.string(), email: z.string() })
      .nullable()
      .describe('Null once the recipient is no longer a member (the schedule is then skipped)'),
    created_by: z.uuid(),
    next_run_at: z.string().nullable(),
    last_run_at: z.string().nullable(),
    last_outcome: z.enum(SCHEDULE_OUTCOMES).nullable(),
    last_note: z.string().nullable().describe('What the last run sent, or why it was skipped or failed'),
    created_at: z.string(),
  })
  .meta({ id: 'ReportSchedule' });
export type ReportScheduleView = z.infer<typeof ReportSchedule>;

export const ReportScheduleQuery = z.strictObject({
  report_id: z.uuid().optional(),
  dashboard_id: z.uuid().optional(),
});

/** The five-field cron of a schedule: minute hour day-of-month month weekday. */
function cronOf(row: Pick<ScheduleRow, 'frequency' | 'time' | 'weekday' | 'dayOfMonth'>): string {
  const [h, m] = row.time.split(':').map(Number);
  if (row.frequency === 'weekly') return `${m} ${h} * * ${row.weekday ?? 1}`;
  if (row.frequency === 'monthly') return `${m} ${h} ${row.dayOfMonth ?? 1} * *`;
  return `${m} ${h} * * *`;
}

/**
 * The first time after `after` a schedule is due, in its time zone (cron-parser,
 * https://github.com/harrisiirak/cron-parser, which keeps local time across DST changes).
 */
export function nextRunOf(
  row: Pick<ScheduleRow, 'frequency' | 'time' | 'weekday' | 'dayOfMonth' | 'timeZone'>,
  after: Date,
): Date {
  return CronExpressionParser.parse(cronOf(row), { tz: row.timeZone, currentDate: after }).next().toDate();
}

const isTimeZone = (tz: string) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};

/** The member `userId` of the organization as a principal (null when not a member). */
async function memberPrincipal(services: Services, orgId: string, userId: string): Promise<Principal | null> {
  const [member] = await withTenant(
    services.database,
    { orgId, actor: { type: 'system', id: null } },
    ({ tx }) =>
      tx
        .select({ role: members.role })
        .from(members)
        .where(and(eq(members.organizationId, orgId), eq(members.userId, userId))),
    { readOnly: true },
  );
  if (!member) return null;
  const [user] = await services.database.db
    .select({ name: users.name, email: users.email })
    .from(users)
    .where(eq(users.id, userId));
  if (!user) return null;
  const role = member.role;
  return {
    type: 'user',
    userId,
    email: user.email,
    name: user.name,
    sessionId: '',
    orgId,
    role: isRole(role) ? role : 'user',
    customRole: isRole(role) ? undefined : role,
  };
}

/** The tenant context of a member, with their access profile: what they would see signed in. */
async function memberContext(services: Services, principal: Principal): Promise<TenantContext> {
  const ctx = tenantContextOf(principal);
  const profile = await profileOfPrincipal(services.database, principal);
  if (profile) ctx.access = profile;
  return ctx;
}

const viewOf = (
  r: ScheduleRow,
  people: Map<string, { name: string; email: string }>,
): ReportScheduleView => ({
  id: r.id,
  report_id: r.reportId,
  dashboard_id: r.dashboardId,
  frequency: r.frequency,
  time: r.time,
  weekday: r.weekday,
  day_of_month: r.dayOfMonth,
  time_zone: r.timeZone,
  recipient_id: r.recipientId,
  recipient: people.get(r.recipientId) ?? null,
  created_by: r.createdBy,
  next_run_at: r.nextRunAt ? new Date(r.nextRunAt).toISOString() : null,
  last_run_at: r.lastRunAt ? new Date(r.lastRunAt).toISOString() : null,
  last_outcome: r.lastOutcome,
  last_note: r.lastNote,
  created_at: new Date(r.createdAt).toISOString(),
});

/** Names and e-mail addresses of the members among `ids` (a removed member is left out). */
async function recipientsOf(services: Services, orgId: string, ids: string[]) {
  const people = new Map<string, { name: string; email: string }>();
  if (ids.length === 0) return people;
  const still = await withTenant(
    services.database,
    { orgId, actor: { type: 'system', id: null } },
    ({ tx }) =>
      tx
        .select({ userId: members.userId })
        .from(members)
        .where(and(eq(members.organizationId, orgId), inArray(members.userId, ids))),
    { readOnly: true },
  );
  if (still.length === 0) return people;
  const rows = await services.database.db
    .select({ id: users.id, name: users.name, email: users.email })
    .from(users)
    .where(
      inArray(
        users.id,
        still.map((m) => m.userId),
      ),
    );
  for (const r of rows) people.set(r.id, { name: r.name, email: r.email });
  return people;
}

/** Sets when a schedule runs next and queues that run's job, in the caller's transaction. */
async function queueNextRunIn(
  scope: TenantScope,
  services: Services,
  row: ScheduleRow,
  after = new Date(),
): Promise<ScheduleRow> {
  const at = nextRunOf(row, after);
  const [updated] = await scope.tx
    .update(reportSchedules)
    .set({ nextRunAt: at.toISOString() })
    .where(and(eq(reportSchedules.orgId, scope.ctx.orgId), eq(reportSchedules.id, row.id)))
    .returning();
  await services.jobs.send(
    scope.conn,
    REPORT_DELIVERY_QUEUE,
    { org_id: scope.ctx.orgId, schedule_id: row.id, at: at.toISOString() } satisfies DeliverJob,
    { startAfter: at },
  );
  return updated!;
}

/**
 * Schedules a report or a dashboard for a member. Members schedule for themselves; admins for
 * any member. @throws 400 `invalid_schedule` (not exactly one of `report_id` and `dashboard_id`),
 * `invalid_time_zone`; 403 scheduling for another member without being an admin; 404 a report or
 * dashboard the caller does not see; 422 `recipient_not_member` (a removed member or a stranger),
 * `recipient_cannot_see` (the recipient does not see the report or dashboard)
 */
export async function createSchedule(
  services: Services,
  ctx: TenantContext,
  input: ReportScheduleInput,
): Promise<ReportScheduleView> {
  if (!input.report_id === !input.dashboard_id)
    throw new AppError(400, 'invalid_schedule', 'Give either a report_id or a dashboard_id', {
      path: 'body.report_id',
    });
  if (input.recipient_id !== ctx.actor.id && ctx.role !== 'admin')
    throw forbidden('Only an admin schedules a report for another member');
  const timeZone = input.time_zone ?? (await clockOf(services, ctx.orgId)).timeZone;
  if (!isTimeZone(timeZone))
    throw new AppError(400, 'invalid_time_zone', `${timeZone} is not an IANA time zone (e.g. Europe/Paris)`, {
      path: 'body.time_zone',
    });
  // The target as the caller sees it (404 otherwise), then as the recipient would.
  if (input.report_id) await loadReport(services, ctx, input.report_id);
  else await loadDashboard(services, ctx, input.dashboard_id!);
  const principal = await memberPrincipal(services, ctx.orgId, input.recipient_id);
  if (!principal)
    throw new AppError(422, 'recipient_not_member', 'The recipient is not a member of this organization', {
      path: 'body.recipient_id',
    });
  const recipient = await memberContext(services, principal);
  try {
    if (input.report_id) await loadReport(services, recipient, input.report_id);
    else await loadDashboard(services, recipient, input.dashboard_id!);
  } catch {
    throw new AppError(
      422,
      'recipient_cannot_see',
      `${principal.name || principal.email} does not see this ${input.report_id ? 'report' : 'dashboard'}: share it first`,
      { path: 'body.recipient_id' },
    );
  }
  const row = await withTenant(services.database, ctx, async (scope) => {
    const [created] = await scope.tx
      .insert(reportSchedules)
      .values({
        orgId: ctx.orgId,
        reportId: input.report_id ?? null,
        dashboardId: input.dashboard_id ?? null,
        frequency: input.frequency,
        time: input.time,
        weekday: input.frequency === 'weekly' ? (input.weekday ?? 1) : null,
        dayOfMonth: input.frequency === 'monthly' ? (input.day_of_month ?? 1) : null,
        timeZone,
        recipientId: input.recipient_id,
        createdBy: ctx.actor.id!,
      })
      .returning();
    return queueNextRunIn(scope, services, created!);
  });
  return viewOf(row, new Map([[principal.userId, { name: principal.name, email: principal.email }]]));
}

/**
 * The schedules of a report or a dashboard (or all) the caller may see: an admin's every one, a
 * member's those they made or receive. Newest first.
 */
export async function listSchedules(
  services: Services,
  ctx: TenantContext,
  query: z.infer<typeof ReportScheduleQuery>,
): Promise<ReportScheduleView[]> {
  const rows = await withTenant(
    services.database,
    ctx,
    ({ tx }) =>
      tx
        .select()
        .from(reportSchedules)
        .where(
          and(
            eq(reportSchedules.orgId, ctx.orgId),
            query.report_id ? eq(reportSchedules.reportId, query.report_id) : undefined,
            query.dashboard_id ? eq(reportSchedules.dashboardId, query.dashboard_id) : undefined,
            ctx.role === 'admin'
              ? undefined
              : or(
                  eq(reportSchedules.createdBy, ctx.actor.id!),
                  eq(reportSchedules.recipientId, ctx.actor.id!),
                ),
          ),
        )
        .orderBy(desc(reportSchedules.createdAt))
        .limit(200),
    { readOnly: true },
  );
  const people = await recipientsOf(services, ctx.orgId, [...new Set(rows.map((r) => r.recipientId))]);
  return rows.map((r) => viewOf(r, people));
}

/** A schedule the caller may change: an admin's any, a member's those they made or receive. */
async function scheduleRowIn(scope: TenantScope, id: string): Promise<ScheduleRow> {
  const { ctx } = scope;
  const [row] = await scope.tx
    .select()
    .from(reportSchedules)
    .where(and(eq(reportSchedules.orgId, ctx.orgId), eq(reportSchedules.id, id)));
  if (!row || (ctx.role !== 'admin' && row.createdBy !== ctx.actor.id && row.recipientId !== ctx.actor.id))
    throw notFound('Schedule', id);
  return row;
}

/** Deletes a schedule (its queued run then finds nothing to do). @throws 404 */
export async function deleteSchedule(services: Services, ctx: TenantContext, id: string): Promise<void> {
  await withTenant(services.database, ctx, async (scope) => {
    await scheduleRowIn(scope, id);
    await scope.tx
      .delete(reportSchedules)
      .where(and(eq(reportSchedules.orgId, ctx.orgId), eq(reportSchedules.id, id)));
  });
}

type Outcome = { outcome: (typeof SCHEDULE_OUTCOMES)[number]; note: string };

/**
 * Computes a schedule's PDF with its recipient's rights and e-mails it to them with the PDF
 * attached (the system mail path: SMTP, or the organization's outbox). A recipient who is no
 * longer a member, or no longer sees the report or dashboard, is skipped with a note.
 */
async function deliver(services: Services, row: ScheduleRow): Promise<Outcome> {
  const principal = await memberPrincipal(services, row.orgId, row.recipientId);
  if (!principal)
    return { outcome: 'skipped', note: 'Not sent: the recipient is no longer a member of the organization' };
  const ctx = await memberContext(services, principal);
  let name: string;
  let pdf: Buffer;
  try {
    if (row.reportId) {
      const report = await loadReport(services, ctx, row.reportId);
      if (!seesReport(ctx, report)) throw notFound('Report', row.reportId);
      name = report.name;
      pdf = await reportPdf(services, ctx, report);
    } else {
      const board = await loadDashboard(services, ctx, row.dashboardId!);
      name = board.name;
      pdf = await dashboardPdf(services, ctx, board, {});
    }
  } catch (error) {
    const e = error as { status?: number; message?: string };
    if (!e.status || e.status >= 500) throw error;
    return {
      outcome: 'skipped',
      note: `Not sent: ${e.status === 404 ? `the recipient no longer sees this ${row.reportId ? 'report' : 'dashboard'}` : e.message}`,
    };
  }
  const filename = `${name.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 60) || 'report'}.pdf`;
  const when = { daily: 'Daily', weekly: 'Weekly', monthly: 'Monthly' }[row.frequency];
  await services.mailer.send({
    kind: 'report',
    orgId: row.orgId,
    to: principal.email,
    subject: `${when} ${row.reportId ? 'report' : 'dashboard'}: ${name}`,
    text: [
      `Hello ${principal.name || principal.email},`,
      '',
      `Attached is "${name}" as of ${new Intl.DateTimeFormat('en-GB', {
        dateStyle: 'medium',
        timeStyle: 'short',
        timeZone: row.timeZone,
      }).format(new Date())} (${row.timeZone}), computed with what you may see.`,
      '',
      `You receive it ${row.frequency}; delete the schedule in Cairn to stop it.`,
    ].join('\n'),
    attachments: [{ filename, contentType: 'application/pdf', content: pdf }],
  });
  return {
    outcome: 'sent',
    note: `Sent to ${principal.email} with ${filename} (${Math.ceil(pdf.length / 1024)} KB)`,
  };
}

/** Notes a run's outcome on its schedule. */
async function noteOutcome(
  services: Services,
  row: ScheduleRow,
  result: Outcome,
): Promise<ScheduleRow | null> {
  return withTenant(
    services.database,
    { orgId: row.orgId, actor: { type: 'system', id: null } },
    async ({ tx }) => {
      const [updated] = await tx
        .update(reportSchedules)
        .set({ lastRunAt: new Date().toISOString(), lastOutcome: result.outcome, lastNote: result.note })
        .where(and(eq(reportSchedules.orgId, row.orgId), eq(reportSchedules.id, row.id)))
        .returning();
      return updated ?? null;
    },
  );
}

/** Sends a schedule now, out of its rhythm (its next run stays as it is). @throws 404 */
export async function sendScheduleNow(
  services: Services,
  ctx: TenantContext,
  id: string,
): Promise<ReportScheduleView> {
  const row = await withTenant(services.database, ctx, (scope) => scheduleRowIn(scope, id), {
    readOnly: true,
  });
  const updated = (await noteOutcome(services, row, await deliver(services, row))) ?? row;
  return viewOf(updated, await recipientsOf(services, ctx.orgId, [row.recipientId]));
}

/**
 * One run of a schedule (its job): a run whose time is no longer the schedule's `next_run_at`
 * (deleted, ran already) does nothing; otherwise the next run is queued, then the PDF is sent.
 */
export async function runSchedule(services: Services, job: DeliverJob): Promise<void> {
  const ctx = { orgId: job.org_id, actor: { type: 'system' as const, id: null } };
  const row = await withTenant(services.database, ctx, async (scope) => {
    const [current] = await scope.tx
      .select()
      .from(reportSchedules)
      .where(and(eq(reportSchedules.orgId, job.org_id), eq(reportSchedules.id, job.schedule_id)))
      .for('update');
    if (!current?.nextRunAt) return null;
    if (new Date(current.nextRunAt).getTime() !== new Date(job.at).getTime()) return null;
    // After the run being done (a job taken up early must not queue the same time again).
    return queueNextRunIn(scope, services, current, new Date(Math.max(Date.now(), Date.parse(job.at))));
  });
  if (!row) return;
  let result: Outcome;
  try {
    result = await deliver(services, row);
  } catch (error) {
    // Kept on the schedule (the next run is queued already, so a retry would find nothing to do).
    result = { outcome: 'failed', note: `Not sent: ${(error as Error).message ?? 'an error'}` };
  }
  await noteOutcome(services, row, result);
}

/** Defines the delivery queue's handler. */
export function defineReportScheduleJobs(services: Services): void {
  services.jobs.define<DeliverJob>({ name: REPORT_DELIVERY_QUEUE, retryLimit: 3 }, ({ data }) =>
    runSchedule(services, data),
  );
}
