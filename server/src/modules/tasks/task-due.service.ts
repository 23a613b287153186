import { and, eq, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { type TenantScope, withTenant } from '../../db/tenant.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { tasks } from './task.schema.js';

/** The job queue of due tasks: per (task, due_at) set, one job at the due day's start, one when overdue. */
export const TASK_DUE_QUEUE = 'task.due';

const DAY_MS = 86_400_000;

const DueJob = z.object({
  org_id: z.uuid(),
  task_id: z.uuid(),
  due_at: z.string().max(64),
  moment: z.enum(['due_today', 'overdue']),
});
/** A due job's data: `due_at` is the ISO instant the task held when the job was sent. */
export type DueJob = z.infer<typeof DueJob>;

/**
 * Arms the due jobs of a task whose `due_at` was just set, in the caller's tenant transaction:
 * `due_today` at the start of its due day in UTC (at once when that has passed but the task is not
 * overdue yet), `overdue` at its due time (an all-day task: when its day ends). A due time that
 * has already passed arms nothing: such a task was made overdue, it did not become so (an import
 * of past work would flood its assignees). The server keeps no member's time zone, so "today" is
 * the UTC day. Older jobs of the task find `due_at` changed and do nothing.
 */
export async function scheduleDue(
  scope: TenantScope,
  services: Services,
  task: { id: string; dueAt: string; allDay: boolean },
): Promise<void> {
  const due = Date.parse(task.dueAt);
  if (Number.isNaN(due)) return;
  const overdueAt = task.allDay ? due + DAY_MS : due;
  const dayStart = Math.floor(due / DAY_MS) * DAY_MS;
  // A task given a due time that has already passed (an import of past work) is not announced.
  if (overdueAt <= Date.now()) return;
  const base = { org_id: scope.ctx.orgId, task_id: task.id, due_at: task.dueAt };
  const today: DueJob = { ...base, moment: 'due_today' };
  await services.jobs.send(scope.conn, TASK_DUE_QUEUE, today, { startAfter: new Date(dayStart) });
  const overdue: DueJob = { ...base, moment: 'overdue' };
  await services.jobs.send(scope.conn, TASK_DUE_QUEUE, overdue, { startAfter: new Date(overdueAt) });
}

/**
 * Runs one due job: emits `task.due_today` or `task.overdue` ({name, assignee_id, due_at}, actor
 * system) when the task is still open, not archived and still has the job's `due_at`. The
 * notification it makes is once-only per (task, due_at), so a job delivered twice notifies once.
 * Returns whether it emitted.
 */
export async function deliverDue(services: Services, data: unknown): Promise<boolean> {
  const parsed = DueJob.safeParse(data);
  if (!parsed.success || Number.isNaN(Date.parse(parsed.data.due_at))) return false; // nothing to retry
  const job = parsed.data;
  const ctx = { orgId: job.org_id, actor: { type: 'system' as const, id: null } };
  return withTenant(services.database, ctx, async (scope) => {
    const [task] = await scope.tx
      .select()
      .from(tasks)
      .where(
        and(
          eq(tasks.orgId, job.org_id),
          eq(tasks.id, job.task_id),
          eq(tasks.status, 'open'),
          isNull(tasks.archivedAt),
          sql`${tasks.dueAt} = ${job.due_at}::timestamptz`,
        ),
      );
    if (!task) return false;
    await emitEvent(scope, services.jobs, {
      type: job.moment === 'due_today' ? 'task.due_today' : 'task.overdue',
      subject: { object: 'task', id: task.id },
      data: { name: task.title, assignee_id: task.assigneeId, due_at: job.due_at },
      related: task.linkedObject && task.linkedId ? [{ object: task.linkedObject, id: task.linkedId }] : [],
    });
    return true;
  });
}

/** Defines the due queue; its handler is `deliverDue`. */
export function defineDueQueue(services: Services): void {
  services.jobs.define<DueJob>({ name: TASK_DUE_QUEUE, retryLimit: 5 }, async ({ data }) => {
    await deliverDue(services, data);
  });
}
