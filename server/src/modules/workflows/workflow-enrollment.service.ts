import { sql } from 'drizzle-orm';
import type { TenantScope } from '../../db/tenant.js';
import type { Services } from '../../platform/http/types.js';
import type { ObjectDef } from '../../platform/registry/registry.types.js';
import type { Definition } from './workflow.definition.js';
import { workflowRuns } from './workflow.schema.js';
import { recordMatches } from './workflow-records.js';
import { startRunIn } from './workflow-runner.service.js';

/** Runs of one workflow on one record within an hour, at most (loop guard beside the actor check). */
export const RECORD_RUNS_PER_HOUR = 20;

/**
 * Runs one organization may start per minute in one process (`WORKFLOW_ORG_RUNS_PER_MINUTE`,
 * default 6,000). Counted in the process: N workers allow N times as many (a shared counter,
 * Redis, is the scale-out path of DESIGN.md).
 */
const orgRunsPerMinute = () => Number(process.env.WORKFLOW_ORG_RUNS_PER_MINUTE ?? 6000);
const minuteCounts = new Map<string, { minute: number; count: number }>();

function takeOrgTurn(orgId: string): boolean {
  const minute = Math.floor(Date.now() / 60_000);
  const slot = minuteCounts.get(orgId);
  if (!slot || slot.minute !== minute) {
    if (minuteCounts.size > 10_000) minuteCounts.clear();
    minuteCounts.set(orgId, { minute, count: 1 });
    return true;
  }
  slot.count += 1;
  return slot.count <= orgRunsPerMinute();
}

export type Enrollment =
  | { status: 'started'; run_id: string }
  | { status: 'skipped'; reason: 'conditions' | 'reenrollment' | 'rate_limited'; run_id?: string };

/**
 * Starts a run of `workflow` on the record when its trigger's conditions hold on the record now
 * (the query language's filter tree, plus a tag a created record must carry), its re-enrollment
 * rule allows it (`never`: the record never ran it; `after_completion`: no run of it is open;
 * `always`) and the rate caps allow it (per record: `RECORD_RUNS_PER_HOUR`; per organization:
 * the per-minute cap). A run refused by a cap is recorded as a `skipped` run with the reason, so
 * the refusal is visible in the runs list.
 */
export async function enrollIn(
  scope: TenantScope,
  services: Services,
  workflow: { id: string; name: string; object: string; version: number; definition: Definition },
  def: ObjectDef,
  recordId: string,
  options: { trigger: Record<string, unknown>; depth: number; requiredTag?: string | undefined },
): Promise<Enrollment> {
  const { definition } = workflow;
  if (!(await recordMatches(scope, def, recordId, definition.trigger.conditions, options.requiredTag)))
    return { status: 'skipped', reason: 'conditions' };
  const { rows } = await scope.conn.query<{ total: number; open: number; recent: number }>(
    `select count(*)::int as total,
            count(*) filter (where status in ('running', 'waiting'))::int as open,
            count(*) filter (where started_at > now() - interval '1 hour')::int as recent
       from workflow_runs where org_id = $1 and record_id = $2 and workflow_id = $3 and status <> 'skipped'`,
    [scope.ctx.orgId, recordId, workflow.id],
  );
  const seen = rows[0]!;
  const rule = definition.reenrollment;
  if ((rule === 'never' && seen.total > 0) || (rule === 'after_completion' && seen.open > 0))
    return { status: 'skipped', reason: 'reenrollment' };
  const capped =
    seen.recent >= RECORD_RUNS_PER_HOUR
      ? `More than ${RECORD_RUNS_PER_HOUR} runs on this record within an hour: skipped (loop guard)`
      : !takeOrgTurn(scope.ctx.orgId)
        ? `More than ${orgRunsPerMinute()} runs in this organization within a minute: skipped`
        : undefined;
  if (capped) {
    const [run] = await scope.tx
      .insert(workflowRuns)
      .values({
        orgId: scope.ctx.orgId,
        workflowId: workflow.id,
        version: workflow.version,
        object: workflow.object,
        recordId,
        trigger: options.trigger,
        depth: options.depth,
        status: 'skipped',
        error: capped,
        finishedAt: sql`now()`,
      })
      .returning({ id: workflowRuns.id });
    return { status: 'skipped', reason: 'rate_limited', run_id: run!.id };
  }
  const runId = await startRunIn(
    scope,
    services,
    workflow,
    definition,
    recordId,
    options.trigger,
    options.depth,
  );
  return { status: 'started', run_id: runId };
}
