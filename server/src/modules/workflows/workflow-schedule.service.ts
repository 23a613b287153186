import { and, eq, sql } from 'drizzle-orm';
import { type TenantScope, withTenant } from '../../db/tenant.js';
import type { Services } from '../../platform/http/types.js';
import { compileListQuery } from '../../platform/query/query.compiler.js';
import type { FilterNode } from '../../platform/query/query.schema.js';
import { cachedObjectDef } from '../../platform/registry/registry.service.js';
import type { ObjectDef } from '../../platform/registry/registry.types.js';
import { type Definition, durationSeconds } from './workflow.definition.js';
import { workflows, workflowVersions } from './workflow.schema.js';
import { enrollMany } from './workflow-enrollment.service.js';
import { nextFire } from './workflow-schedule.js';

/** The queue of schedule triggers: one delayed job per workflow, for its next time. */
export const SCHEDULE_QUEUE = 'workflow.fire';

/** Records one firing of a schedule starts runs on, at most. */
export const SCHEDULE_CAP = 1000;

/** How often a `date_reached` trigger looks for records whose date (less its offset) has come, minutes. */
export const DATE_SCAN_MINUTES = 15;

/**
 * A firing: a schedule's `at`; a date scan's window `(since, at]` (the scan before ended at
 * `since`, so a record's date is found by exactly one scan).
 */
type FireJob = { org_id: string; workflow_id: string; at: string; since?: string };
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
  const now = new Date();
  const step = DATE_SCAN_MINUTES * 60_000;
  const at =
    row.status !== 'active'
      ? null
      : trigger.type === 'schedule'
        ? nextFire(trigger.cron, trigger.timezone, now)
        : trigger.type === 'date_reached'
          ? new Date(Math.floor(now.getTime() / step) * step + step)
          : null;
  // A date scan goes on from where the one before ended (the first from now).
  const previous = row.nextFireAt ? new Date(row.nextFireAt) : null;
  const since =
    trigger.type === 'date_reached' && previous && at && previous.getTime() <= at.getTime() ? previous : now;
  const [updated] = await scope.tx
    .update(workflows)
    .set({ nextFireAt: at ? at.toISOString() : null })
    .where(and(eq(workflows.orgId, scope.ctx.orgId), eq(workflows.id, row.id)))
    .returning();
  if (at)
    await services.jobs.send(
      scope.conn,
      SCHEDULE_QUEUE,
      {
        org_id: scope.ctx.orgId,
        workflow_id: row.id,
        at: at.toISOString(),
        ...(trigger.type === 'date_reached' ? { since: since.toISOString() } : {}),
      } satisfies FireJob,
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
    const filter = dateWindow(def, definition, job) ?? definition.trigger.conditions;
    const compiled = compileListQuery(def, { ...(filter ? { filter } : {}), limit: 1 }, { table: 'r' });
    const result = await scope.tx.execute(sql`select r.id from ${sql.identifier(def.table)} r
      where r.org_id = ${job.org_id} and r.archived_at is null and ${compiled.where}
      order by r.id limit ${SCHEDULE_CAP}`);
    const ids = (
      (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as { id: string }[]
    ).map((r) => r.id);
    const workflow = { id: row.id, name: row.name, object: row.object, version: row.version, definition };
    const type = definition.trigger.type;
    await enrollMany(
      scope,
      services,
      workflow,
      def,
      ids.map((recordId) => ({
        recordId,
        trigger: { type, at: job.at, ...(job.since ? { since: job.since } : {}) },
        depth: 0,
      })),
    );
    await scheduleNextFireIn(scope, services, row, definition);
  });
}

/** Defines the schedule queue's handler. */
export function defineScheduleJobs(services: Services): void {
  services.jobs.define<FireJob>({ name: SCHEDULE_QUEUE, retryLimit: 5 }, ({ data }) =>
    fireSchedule(services, data),
  );
}

/**
 * A `date_reached` trigger's filter for one scan `(since, at]`: the records whose date field, less
 * the offset (`before`) or plus it (`after`), falls in the window, and the trigger's conditions.
 * A date field (no time) compares by day: its records are found by the scan that crosses midnight
 * UTC. Undefined for other triggers.
 */
function dateWindow(def: ObjectDef, definition: Definition, job: FireJob): FilterNode | undefined {
  const trigger = definition.trigger;
  if (trigger.type !== 'date_reached') return undefined;
  const field = def.fields.find((f) => f.key === trigger.field);
  const shift =
    (trigger.offset ? durationSeconds(trigger.offset) * 1000 : 0) * (trigger.direction === 'after' ? -1 : 1);
  const at = new Date(new Date(job.at).getTime() + shift);
  const since = new Date(new Date(job.since ?? job.at).getTime() + shift);
  const value = (d: Date) => (field?.type === 'date' ? d.toISOString().slice(0, 10) : d.toISOString());
  const window: FilterNode[] = [
    { field: trigger.field, op: 'gt', value: value(since) },
    { field: trigger.field, op: 'lte', value: value(at) },
  ];
  return { and: trigger.conditions ? [...window, trigger.conditions] : window } as FilterNode;
}
