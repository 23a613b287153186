import { and, eq, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { type TenantScope, withTenant } from '../../db/tenant.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { tasks } from './task.schema.js';

/** The job queue of task reminders: one job per (task, remind_at) that was set. */
export const TASK_REMINDER_QUEUE = 'task.reminder';

const ReminderJob = z.object({ org_id: z.uuid(), task_id: z.uuid(), remind_at: z.string().max(64) });
/** A reminder job's data: `remind_at` is the ISO instant the task held when the job was sent. */
export type ReminderJob = z.infer<typeof ReminderJob>;

/**
 * Enqueues the reminder of a task whose `remind_at` was just set, in the caller's tenant
 * transaction (so the job exists exactly when the change does), to run at `remindAt`. An older
 * job of the same task is left alone: it finds `remind_at` changed and does nothing.
 */
export async function scheduleReminder(
  scope: TenantScope,
  services: Services,
  task: { id: string; remindAt: string },
): Promise<void> {
  const job: ReminderJob = { org_id: scope.ctx.orgId, task_id: task.id, remind_at: task.remindAt };
  await services.jobs.send(scope.conn, TASK_REMINDER_QUEUE, job, { startAfter: new Date(task.remindAt) });
}

/**
 * Delivers one reminder: in one tenant transaction (actor: system), marks `reminder_sent_at` and
 * emits `task.reminder_due` ({name: title, assignee_id}), but only when the task is still open,
 * not archived, still has the job's `remind_at`, and has not been reminded. The conditional
 * UPDATE takes the row lock, so a job delivered twice (a worker restart, a retry, a concurrent
 * worker) reminds once. Returns whether it delivered.
 */
export async function deliverReminder(services: Services, data: unknown): Promise<boolean> {
  const parsed = ReminderJob.safeParse(data);
  if (!parsed.success || Number.isNaN(Date.parse(parsed.data.remind_at))) return false; // nothing to retry
  const job = parsed.data;
  const ctx = { orgId: job.org_id, actor: { type: 'system' as const, id: null } };
  return withTenant(services.database, ctx, async (scope) => {
    const [task] = await scope.tx
      .update(tasks)
      .set({ reminderSentAt: sql`clock_timestamp()` })
      .where(
        and(
          eq(tasks.orgId, job.org_id),
          eq(tasks.id, job.task_id),
          eq(tasks.status, 'open'),
          isNull(tasks.archivedAt),
          isNull(tasks.reminderSentAt),
          sql`${tasks.remindAt} = ${job.remind_at}::timestamptz`,
        ),
      )
      .returning();
    if (!task) return false;
    await emitEvent(scope, services.jobs, {
      type: 'task.reminder_due',
      subject: { object: 'task', id: task.id },
      data: { name: task.title, assignee_id: task.assigneeId },
      related: task.linkedObject && task.linkedId ? [{ object: task.linkedObject, id: task.linkedId }] : [],
    });
    return true;
  });
}

/** Defines the reminder queue; its handler is `deliverReminder`. */
export function defineReminderQueue(services: Services): void {
  services.jobs.define<ReminderJob>({ name: TASK_REMINDER_QUEUE, retryLimit: 5 }, async ({ data }) => {
    await deliverReminder(services, data);
  });
}
