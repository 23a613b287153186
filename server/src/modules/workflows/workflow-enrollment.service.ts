import { newId } from '../../db/ids.js';
import type { TenantScope } from '../../db/tenant.js';
import { emitEvents } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import type { ObjectDef } from '../../platform/registry/registry.types.js';
import type { Definition } from './workflow.definition.js';
import { matchingIds, recordNames } from './workflow-records.js';
import { queueRuns } from './workflow-runner.service.js';

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

export type EnrollWorkflow = {
  id: string;
  name: string;
  object: string;
  version: number;
  definition: Definition;
};

/** One record to start a run on: the trigger that asks, the run's depth, a tag it must carry. */
export type Candidate = {
  recordId: string;
  trigger: Record<string, unknown>;
  depth: number;
  requiredTag?: string | undefined;
};

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
  workflow: EnrollWorkflow,
  def: ObjectDef,
  recordId: string,
  options: { trigger: Record<string, unknown>; depth: number; requiredTag?: string | undefined },
): Promise<Enrollment> {
  const [result] = await enrollMany(scope, services, workflow, def, [{ recordId, ...options }]);
  return result!;
}

/**
 * `enrollIn` for many records at once (a bulk change's events, a schedule's records, a manual
 * bulk selection), set-based whatever their number: one query for the records matching the
 * conditions, one for their earlier runs, one insert of the runs, one of their first steps, one
 * insert of the `workflow.run_started` events, and one step job per `RUNS_PER_JOB` runs. The
 * candidates are taken in order (a record named twice: the second sees the first's run).
 * @returns one enrollment per candidate, in order
 */
export async function enrollMany(
  scope: TenantScope,
  services: Services,
  workflow: EnrollWorkflow,
  def: ObjectDef,
  candidates: Candidate[],
): Promise<Enrollment[]> {
  if (candidates.length === 0) return [];
  const { definition } = workflow;
  const orgId = scope.ctx.orgId;
  const ids = [...new Set(candidates.map((c) => c.recordId))];
  const tags = [...new Set(candidates.map((c) => c.requiredTag ?? ''))];
  const matching = new Map<string, Set<string>>();
  for (const tag of tags)
    matching.set(
      tag,
      await matchingIds(
        scope,
        def,
        tag ? ids.filter((id) => candidates.some((c) => c.recordId === id && c.requiredTag === tag)) : ids,
        definition.trigger.conditions,
        tag || undefined,
      ),
    );
  const { rows } = await scope.conn.query<{ record_id: string; total: number; open: number; recent: number }>(
    `select record_id::text as record_id, count(*)::int as total,
            count(*) filter (where status in ('running', 'waiting'))::int as open,
            count(*) filter (where started_at > now() - interval '1 hour')::int as recent
       from workflow_runs where org_id = $1 and workflow_id = $2 and record_id = any($3::uuid[])
        and status <> 'skipped'
      group by record_id`,
    [orgId, workflow.id, ids],
  );
  const seen = new Map(rows.map((r) => [r.record_id, { ...r }]));
  const rule = definition.reenrollment;
  const results: Enrollment[] = [];
  const inserts: {
    id: string;
    record_id: string;
    trigger: Record<string, unknown>;
    depth: number;
    status: string;
    error: string | null;
  }[] = [];
  for (const c of candidates) {
    if (!matching.get(c.requiredTag ?? '')!.has(c.recordId)) {
      results.push({ status: 'skipped', reason: 'conditions' });
      continue;
    }
    const s = seen.get(c.recordId) ?? { record_id: c.recordId, total: 0, open: 0, recent: 0 };
    seen.set(c.recordId, s);
    if ((rule === 'never' && s.total > 0) || (rule === 'after_completion' && s.open > 0)) {
      results.push({ status: 'skipped', reason: 'reenrollment' });
      continue;
    }
    const capped =
      s.recent >= RECORD_RUNS_PER_HOUR
        ? `More than ${RECORD_RUNS_PER_HOUR} runs on this record within an hour: skipped (loop guard)`
        : !takeOrgTurn(orgId)
          ? `More than ${orgRunsPerMinute()} runs in this organization within a minute: skipped`
          : undefined;
    const id = newId();
    if (capped) {
      inserts.push({
        id,
        record_id: c.recordId,
        trigger: c.trigger,
        depth: c.depth,
        status: 'skipped',
        error: capped,
      });
      results.push({ status: 'skipped', reason: 'rate_limited', run_id: id });
      continue;
    }
    s.total += 1;
    s.open += 1;
    s.recent += 1;
    const status = definition.start ? 'running' : 'completed';
    inserts.push({ id, record_id: c.recordId, trigger: c.trigger, depth: c.depth, status, error: null });
    results.push({ status: 'started', run_id: id });
  }
  if (inserts.length === 0) return results;
  await scope.conn.query(
    `insert into workflow_runs (org_id, id, workflow_id, version, object, record_id, trigger, depth, status,
        error, finished_at)
     select $1, x.id, $2, $3, $4, x.record_id, x.trigger, x.depth, x.status, x.error,
            case when x.status in ('skipped', 'completed') then now() end
       from jsonb_to_recordset($5::jsonb) as x(id uuid, record_id uuid, trigger jsonb, depth int, status text, error text)`,
    [orgId, workflow.id, workflow.version, workflow.object, JSON.stringify(inserts)],
  );
  const started = inserts.filter((r) => r.status !== 'skipped');
  if (started.length === 0) return results;
  const names = await recordNames(scope, workflow.object, [...new Set(started.map((r) => r.record_id))]);
  await emitEvents(
    scope,
    services.jobs,
    started.map((r) => ({
      type: 'workflow.run_started' as const,
      subject: { object: workflow.object, id: r.record_id },
      data: {
        name: names.get(r.record_id) ?? null,
        workflow_id: workflow.id,
        workflow_name: workflow.name,
        run_id: r.id,
        trigger: String(r.trigger.type ?? 'manual'),
      },
    })),
  );
  if (definition.start) {
    const runs = started.map((r) => ({ id: r.id, depth: r.depth }));
    await queueRuns(scope, services, workflow.id, definition, runs);
  } else {
    await emitEvents(
      scope,
      services.jobs,
      started.map((r) => ({
        type: 'workflow.run_finished' as const,
        subject: { object: workflow.object, id: r.record_id },
        data: {
          name: names.get(r.record_id) ?? null,
          workflow_id: workflow.id,
          workflow_name: workflow.name,
          run_id: r.id,
          status: 'completed' as const,
          error: null,
        },
      })),
    );
  }
  return results;
}
