import { and, eq, sql } from 'drizzle-orm';
import { type TenantScope, withTenant } from '../../db/tenant.js';
import type { Services } from '../../platform/http/types.js';
import { compileListQuery } from '../../platform/query/query.compiler.js';
import { cachedObjectDef } from '../../platform/registry/registry.service.js';
import type { Definition } from './workflow.definition.js';
import { workflows, workflowVersions } from './workflow.schema.js';
import { enrollIn } from './workflow-enrollment.service.js';
import { nextFire } from './workflow-schedule.js';

/** The queue of schedule triggers: one delayed job per workflow, for its next time. */
export const SCHEDULE_QUEUE = 'workflow.fire';

/** Records one firing of a schedule starts runs on, at most. */
export const SCHEDULE_CAP = 1000;

type FireJob = { org_id: string; workflow_id: string; at: string };
type Row = typeof workflows.$inferSelect;

/**
 * For an active workflow with a schedule trigger: sets when it fires next and queues that
 * firing's job (in the caller's transaction). A firing whose time is no longer the workflow's
 * `next_fire_at` (paused, edited, fired already) finds nothing to do.
 * @returns the workflow's row as it is now
 */
export async function scheduleNextFireIn(
  scope: TenantScope,
  services: Services,
  row: Row,
  definition: Definition,
): Promise<Row> {
  const trigger = definition.trigger;
  const at =
    trigger.type === 'schedule' && row.status === 'active'
      ? nextFire(trigger.cron, trigger.timezone, new Date())
      : null;
  const [updated] = await scope.tx
    .update(workflows)
    .set({ nextFireAt: at ? at.toISOString() : null })
    .where(and(eq(workflows.orgId, scope.ctx.orgId), eq(workflows.id, row.id)))
    .returning();
  if (at)
    await services.jobs.send(
      scope.conn,
      SCHEDULE_QUEUE,
      { org_id: scope.ctx.orgId, workflow_id: row.id, at: at.toISOString() } satisfies FireJob,
      { startAfter: at },
    );
  return updated!;
}

/**
 * One firing of a schedule trigger: the object's live records matching the trigger's conditions
 * (at most `SCHEDULE_CAP`) are enrolled (re-enrollment and rate rules apply), and the next firing
 * is queued, all in one transaction.
 */
export async function fireSchedule(services: Services, job: FireJob): Promise<void> {
  const ctx = { orgId: job.org_id, actor: { type: 'system' as const, id: null } };
  await withTenant(services.database, ctx, async (scope) => {
    const [row] = await scope.tx
      .select()
      .from(workflows)
      .where(and(eq(workflows.orgId, job.org_id), eq(workflows.id, job.workflow_id)))
      .for('update');
    if (row?.status !== 'active' || !row.nextFireAt) return;
    if (new Date(row.nextFireAt).getTime() !== new Date(job.at).getTime()) return;
    const [version] = await scope.tx
      .select()
      .from(workflowVersions)
      .where(
        and(
          eq(workflowVersions.orgId, job.org_id),
          eq(workflowVersions.workflowId, row.id),
          eq(workflowVersions.version, row.version),
        ),
      );
    const definition = version!.definition as Definition;
    const def = await cachedObjectDef(scope.tx, job.org_id, row.object);
    const compiled = compileListQuery(
      def,
      { ...(definition.trigger.conditions ? { filter: definition.trigger.conditions } : {}), limit: 1 },
      { table: 'r' },
    );
    const result = await scope.tx.execute(sql`select r.id from ${sql.identifier(def.table)} r
      where r.org_id = ${job.org_id} and r.archived_at is null and ${compiled.where}
      order by r.id limit ${SCHEDULE_CAP}`);
    const ids = (
      (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as { id: string }[]
    ).map((r) => r.id);
    const workflow = { id: row.id, name: row.name, object: row.object, version: row.version, definition };
    for (const id of ids)
      await enrollIn(scope, services, workflow, def, id, {
        trigger: { type: 'schedule', at: job.at },
        depth: 0,
      });
    await scheduleNextFireIn(scope, services, row, definition);
  });
}

/** Defines the schedule queue's handler. */
export function defineScheduleJobs(services: Services): void {
  services.jobs.define<FireJob>({ name: SCHEDULE_QUEUE, retryLimit: 5 }, ({ data }) =>
    fireSchedule(services, data),
  );
}
