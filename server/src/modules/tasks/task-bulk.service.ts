import type { TenantScope } from '../../db/tenant.js';
import { tasks } from './task.schema.js';

export { TASK_PRIORITIES } from './task.schema.js';

/** A task another module creates in bulk (the import), with its id chosen by the caller. */
export type TaskInsert = { id: string; linkedObject: string | null; linkedId: string | null } & Pick<
  typeof tasks.$inferInsert,
  'title' | 'description' | 'dueAt' | 'allDay' | 'priority' | 'assigneeId'
>;

/**
 * Inserts tasks in one statement in the caller's transaction, created and updated by its actor.
 * Events are the caller's (it emits `task.created` with what it knows of each row).
 */
export async function insertTasksIn(scope: TenantScope, rows: TaskInsert[]): Promise<void> {
  if (rows.length === 0) return;
  const { orgId, actor } = scope.ctx;
  await scope.tx
    .insert(tasks)
    .values(rows.map((row) => ({ orgId, ...row, createdBy: actor.id, updatedBy: actor.id })));
}
