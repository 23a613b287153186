import type { TenantScope } from '../../db/tenant.js';
import { emitEvents } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { tasks } from './task.schema.js';

export { TASK_PRIORITIES } from './task.schema.js';

/** A task another module creates in bulk (the import), with its id chosen by the caller. */
export type TaskInsert = { id: string; linkedObject: string | null; linkedId: string | null } & Pick<
  typeof tasks.$inferInsert,
  'title' | 'description' | 'dueAt' | 'allDay' | 'priority' | 'assigneeId'
>;

/**
 * Inserts tasks in one statement in the caller's transaction, created and updated by its actor,
 * with a `task.created` event each (one insert for all).
 */
export async function insertTasksIn(
  scope: TenantScope,
  services: Services,
  rows: TaskInsert[],
): Promise<void> {
  if (rows.length === 0) return;
  const { orgId, actor } = scope.ctx;
  await scope.tx
    .insert(tasks)
    .values(rows.map((row) => ({ orgId, ...row, createdBy: actor.id, updatedBy: actor.id })));
  await emitEvents(
    scope,
    services.jobs,
    rows.map((row) => ({
      type: 'task.created' as const,
      subject: { object: 'task', id: row.id },
      related: row.linkedObject && row.linkedId ? [{ object: row.linkedObject, id: row.linkedId }] : [],
      data: { name: row.title, assignee_id: row.assigneeId ?? null, due_at: row.dueAt ?? null },
    })),
  );
}
