import { and, eq, inArray, sql } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import { type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError } from '../../platform/errors/app-error.js';
import { emitEvent, emitEvents, flushDispatch } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { cachedObjectDef } from '../../platform/registry/registry.service.js';
import { getOrganizationSettings } from '../organizations/organization-settings.service.js';
import { type Definition, type Step, successorsOf } from './workflow.definition.js';
import { workflowRuns, workflowSteps, workflows, workflowVersions } from './workflow.schema.js';
import { actionOf, type StepContext, type StepOutcome, stepContext } from './workflow-actions.js';
import { recordName, recordNames } from './workflow-records.js';

/**
 * The queue of workflow steps. A job drives a batch of runs of one workflow (`runs`): it runs
 * every queued step of those runs, level after level (a step's successors in the same job, with
 * no poll between them), each level in one transaction for the whole batch, up to
 * `LEVELS_PER_JOB` levels, then queues a job for what is left. A wait's resume is a delayed job
 * that names the waiting steps it wakes (`wake`, with the step's `attempts` when it was queued:
 * a stale wake is dropped). Older jobs naming one step (`run_id`, `step_id`, `token`) still run.
 */
export const STEP_QUEUE = 'workflow.step';

/**
 * The queue of new runs' first steps (same jobs as `STEP_QUEUE`): a job runs the first level of
 * its runs only and hands the rest to `STEP_QUEUE`. A queue of its own, with its own workers, so a
 * new run's first action never waits behind the later steps (webhook calls, long chains) of runs
 * started before it (bench/workflows.bench.ts, 10,000 events: trigger-to-first-action p95 from
 * 33.5 s to 5.5 s on a loaded 2-core machine, with the batches of `RUNS_PER_JOB`).
 */
export const START_QUEUE = 'workflow.start';

/** A waiting step a job wakes: its run, its id, and its `attempts` when the wake was queued. */
export type StepWake = { run_id: string; step_id: string; token: number };

/** A step job: a batch of runs of one workflow, and the waiting steps it wakes. */
export type StepJob = {
  org_id: string;
  workflow_id: string;
  runs?: string[];
  wake?: StepWake[];
  /** One step (jobs queued before batches; a replay's). */
  run_id?: string;
  step_id?: string;
  token?: number;
};

/**
 * Runs per step job: a bulk change's runs are driven in batches of this many, each level of a
 * batch one transaction with one write per action. Batches of 50 cost 2.2 statements per run
 * (the level's own reads and writes, its transaction, its dispatch job); 500 cost 0.6
 * (bench/workflows.bench.ts, 2,000 events: 4,400 statements then, 1,206 now).
 */
export const RUNS_PER_JOB = 500;
/** Levels of steps one job runs before it hands the rest to a new job (a long chain does not hog a worker). */
export const LEVELS_PER_JOB = 4;

/** Runs a run may nest: a run caused by a run caused by a run... stops here (loop guard). */
export const MAX_DEPTH = 3;

/** The trace id of the work a run does: its events carry it, so a run its events start knows its depth. */
export const runTraceId = (runId: string) => `workflow-run:${runId}`;

/** SQLSTATEs a retry can get past: serialization failure, deadlock, cancelled statement, lost connection. */
const TRANSIENT = /^(40001|40P01|57014|08\d{3}|57P0\d)$/;
const isTransient = (error: unknown) => {
  const code = (error as { code?: unknown })?.code ?? (error as { cause?: { code?: unknown } })?.cause?.code;
  return typeof code === 'string' && TRANSIENT.test(code);
};

/**
 * Queues the first step of new runs (in the caller's transaction, with the runs): their step rows
 * with one insert, and one `START_QUEUE` job per `RUNS_PER_JOB` runs of the same depth.
 */
export async function queueRuns(
  scope: TenantScope,
  services: Services,
  workflowId: string,
  definition: Definition,
  runs: { id: string; depth: number }[],
): Promise<void> {
  const first = definition.steps.find((s) => s.id === definition.start);
  if (!first || runs.length === 0) return;
  await scope.conn.query(
    `insert into workflow_steps (org_id, run_id, step_id, type, status, input)
     select $1, unnest($2::uuid[]), $3, $4, 'queued', $5::jsonb on conflict do nothing`,
    [scope.ctx.orgId, runs.map((r) => r.id), first.id, first.type, JSON.stringify(configOf(first))],
  );
  const byDepth = new Map<number, string[]>();
  for (const r of runs) byDepth.set(r.depth, [...(byDepth.get(r.depth) ?? []), r.id]);
  for (const ids of byDepth.values())
    for (let i = 0; i < ids.length; i += RUNS_PER_JOB)
      await services.jobs.send(scope.conn, START_QUEUE, {
        org_id: scope.ctx.orgId,
        workflow_id: workflowId,
        runs: ids.slice(i, i + RUNS_PER_JOB),
      } satisfies StepJob);
}

/** A step's configuration, without its wiring and drawing. */
function configOf(step: Step): Record<string, unknown> {
  const { id: _id, position: _p, ...rest } = step as Record<string, unknown>;
  for (const key of ['next', 'if_true', 'if_false', 'timeout_next']) delete rest[key];
  return rest;
}

/** The definition a run follows: its own version's. */
async function definitionOf(scope: TenantScope, workflowId: string, version: number): Promise<Definition> {
  const [row] = await scope.tx
    .select({ definition: workflowVersions.definition })
    .from(workflowVersions)
    .where(
      and(
        eq(workflowVersions.orgId, scope.ctx.orgId),
        eq(workflowVersions.workflowId, workflowId),
        eq(workflowVersions.version, version),
      ),
    );
  if (!row) throw new Error(`workflow ${workflowId} has no version ${version}`);
  return row.definition as Definition;
}

/**
 * Runs a step job (its handler): the job's runs level after level until none of them has a queued
 * step, or `levels` levels ran (`LEVELS_PER_JOB`; a `START_QUEUE` job's: 1), the rest going to a
 * new `STEP_QUEUE` job. Each level is one tenant transaction (`runLevel`). A worker killed at
 * any moment loses nothing: the job was not completed, so pg-boss runs it again after its
 * heartbeat lapses, and it finds the steps still queued (a level that did not commit left them
 * so) or done (a level that did commit is not run again); a job delivered twice does nothing the
 * second time.
 */
export async function runStep(
  services: Services,
  job: StepJob,
  levels: number = LEVELS_PER_JOB,
): Promise<void> {
  const wake = [...(job.wake ?? [])];
  if (job.run_id && job.step_id)
    wake.push({ run_id: job.run_id, step_id: job.step_id, token: job.token ?? 0 });
  let open = [...new Set([...(job.runs ?? []), ...wake.map((w) => w.run_id)])];
  for (let level = 0; level < levels && open.length > 0; level++)
    open = await runLevel(services, job.org_id, job.workflow_id, open, level === 0 ? wake : []);
  if (open.length > 0)
    await withTenant(
      services.database,
      { orgId: job.org_id, actor: { type: 'workflow', id: job.workflow_id } },
      (scope) =>
        services.jobs.send(scope.conn, STEP_QUEUE, {
          org_id: job.org_id,
          workflow_id: job.workflow_id,
          runs: open,
        } satisfies StepJob),
    );
}

type RunRow = typeof workflowRuns.$inferSelect;
type StepRow = typeof workflowSteps.$inferSelect;
type RunRef = { id: string; workflowId: string; workflowName: string; recordId: string; trigger?: unknown };
type Item = { run: RunRow; row: StepRow; step: Step | undefined; ctx?: StepContext };
type Result = { outcome: StepOutcome } | { error: string };

/**
 * One level of a batch of runs, in one tenant transaction with the runs locked: every queued step
 * of those runs (and the waiting steps this job wakes) runs once. A step that is no longer queued
 * (or waiting for this wake) is left alone. Steps of the same definition step and depth run
 * together through the action's batch path when it has one (one write for the batch), each other
 * step alone; each in a savepoint, so a step refused for a reason a retry cannot change (bad
 * input, a record gone, no e-mail address) is rolled back alone and recorded as its step's
 * failure (the run fails, and can be replayed from that step). The steps' records (output,
 * status, timings), their successors' rows, the waits' wake jobs, the runs' status and events,
 * and one dispatch job for every event of the level commit with the effects.
 * @returns the runs that still have queued steps
 */
async function runLevel(
  services: Services,
  orgId: string,
  workflowId: string,
  runIds: string[],
  wake: StepWake[],
): Promise<string[]> {
  const ctx = {
    orgId,
    actor: { type: 'workflow' as const, id: workflowId },
    traceId: runTraceId(runIds[0]!),
  };
  // Read before the transaction (see StepContext.orgTimeZone).
  const orgTimeZone = (await getOrganizationSettings(services, ctx)).time_zone ?? null;
  return withTenant(services.database, ctx, async (base) => {
    const scope: TenantScope = { ...base, deferredDispatch: [] };
    const runs = await scope.tx
      .select()
      .from(workflowRuns)
      .where(and(eq(workflowRuns.orgId, orgId), inArray(workflowRuns.id, runIds)))
      .orderBy(workflowRuns.id)
      .for('update');
    if (runs.length === 0) return [];
    const woken = new Set(wake.map((w) => `${w.run_id}:${w.step_id}:${w.token}`));
    const rows = (
      await scope.tx
        .select()
        .from(workflowSteps)
        .where(
          and(
            eq(workflowSteps.orgId, orgId),
            inArray(
              workflowSteps.runId,
              runs.map((r) => r.id),
            ),
            inArray(workflowSteps.status, ['queued', 'waiting']),
          ),
        )
    ).filter((s) => s.status === 'queued' || woken.has(`${s.runId}:${s.stepId}:${s.attempts}`));
    if (rows.length === 0) return [];
    const runOf = new Map(runs.map((r) => [r.id, r]));
    const closed = rows.filter((s) => !['running', 'waiting'].includes(runOf.get(s.runId)!.status));
    if (closed.length > 0) await setSteps(scope, closed, { status: 'cancelled', finishedAt: sql`now()` });
    const live = rows.filter((s) => !closed.includes(s));
    if (live.length === 0) return [];
    const [workflow] = await scope.tx
      .select({ name: workflows.name })
      .from(workflows)
      .where(and(eq(workflows.orgId, orgId), eq(workflows.id, workflowId)));
    const definitions = new Map<number, Definition>();
    for (const version of new Set(live.map((s) => runOf.get(s.runId)!.version)))
      definitions.set(version, await definitionOf(scope, workflowId, version));
    const refOf = (run: RunRow): RunRef => ({
      id: run.id,
      workflowId,
      workflowName: workflow?.name ?? '',
      recordId: run.recordId,
      trigger: run.trigger,
    });
    const items: Item[] = live.map((row) => {
      const run = runOf.get(row.runId)!;
      return { run, row, step: definitions.get(run.version)!.steps.find((s) => s.id === row.stepId) };
    });
    const results = new Map<Item, Result>();
    // Steps of one definition step and depth run together (the depth names the run in the trace).
    const groups = new Map<string, Item[]>();
    for (const item of items) {
      if (!item.step) {
        results.set(item, { error: 'The step is not in the workflow’s version' });
        continue;
      }
      const key = `${item.run.version}:${item.step.id}:${item.run.depth}:${item.row.status}`;
      groups.set(key, [...(groups.get(key) ?? []), item]);
    }
    for (const group of groups.values()) {
      const def = await cachedObjectDef(scope.tx, orgId, group[0]!.run.object);
      for (const item of group) {
        const runScope: TenantScope = { ...scope, ctx: { ...scope.ctx, traceId: runTraceId(item.run.id) } };
        item.ctx = stepContext({
          scope: runScope,
          services,
          run: refOf(item.run),
          def,
          step: item.step!,
          attempts: item.row.attempts,
          phase: item.row.status === 'waiting' ? 'resume' : 'start',
          previous: item.row.output,
          dry: false,
          orgTimeZone,
        });
      }
      let action: ReturnType<typeof actionOf>;
      try {
        action = actionOf(group[0]!.step!.type);
      } catch (error) {
        for (const item of group) results.set(item, { error: (error as Error).message });
        continue;
      }
      if (action.runMany && group.length > 1) {
        const groupScope: TenantScope = {
          ...scope,
          ctx: { ...scope.ctx, traceId: runTraceId(group[0]!.run.id) },
        };
        await scope.conn.query('savepoint workflow_batch');
        try {
          const outcomes = await action.runMany(
            group.map((item) => item.ctx!),
            groupScope,
          );
          await scope.conn.query('release savepoint workflow_batch');
          for (const [i, item] of group.entries()) {
            const outcome = outcomes[i]!;
            results.set(item, outcome instanceof Error ? { error: messageOf(outcome) } : { outcome });
          }
          continue;
        } catch (error) {
          if (isTransient(error)) throw error; // the job is retried
          await scope.conn.query('rollback to savepoint workflow_batch');
          // One by one below: the step that cannot be done fails alone.
        }
      }
      for (const item of group) {
        await scope.conn.query('savepoint workflow_step');
        try {
          results.set(item, { outcome: await action.run(item.ctx!) });
          await scope.conn.query('release savepoint workflow_step');
        } catch (error) {
          if (isTransient(error)) throw error; // the job is retried
          await scope.conn.query('rollback to savepoint workflow_step');
          results.set(item, { error: messageOf(error) });
        }
      }
    }
    await record(scope, services, items, results, definitions, refOf);
    const open = await settleRuns(scope, services, [...new Set(items.map((i) => i.run.id))], runOf, refOf);
    await flushDispatch(scope, services.jobs);
    return open;
  });
}

const messageOf = (error: unknown) =>
  error instanceof AppError ? error.message : `Unexpected error: ${(error as Error)?.message ?? error}`;

/** Sets columns of many step rows (each by its run and step id). */
function setSteps(
  scope: TenantScope,
  rows: Pick<StepRow, 'runId' | 'stepId'>[],
  set: PgUpdateSetSource<typeof workflowSteps>,
) {
  return scope.tx
    .update(workflowSteps)
    .set(set)
    .where(
      and(
        eq(workflowSteps.orgId, scope.ctx.orgId),
        inArray(
          sql`(${workflowSteps.runId}::text || ':' || ${workflowSteps.stepId})`,
          rows.map((r) => `${r.runId}:${r.stepId}`),
        ),
      ),
    );
}

/**
 * Records what the level's steps did, set-based: completed steps (output, finish time), waits
 * (their wake jobs, one per moment), failures (the run fails and says so on the record's
 * timeline), exits (the run's other open steps cancelled), and the rows of the steps that follow.
 */
async function record(
  scope: TenantScope,
  services: Services,
  items: Item[],
  results: Map<Item, Result>,
  definitions: Map<number, Definition>,
  refOf: (run: RunRow) => RunRef,
): Promise<void> {
  const orgId = scope.ctx.orgId;
  const done: { run_id: string; step_id: string; output: unknown }[] = [];
  const waits: { run_id: string; step_id: string; output: unknown; until: string; token: number }[] = [];
  const failed: { item: Item; error: string }[] = [];
  const exits: string[] = [];
  const next: { run_id: string; step_id: string; type: string; input: unknown }[] = [];
  for (const item of items) {
    const result = results.get(item)!;
    if ('error' in result) {
      failed.push({ item, error: result.error });
      continue;
    }
    const { outcome } = result;
    const key = { run_id: item.run.id, step_id: item.row.stepId };
    if (outcome.kind === 'wait') {
      waits.push({
        ...key,
        output: outcome.output,
        until: outcome.until.toISOString(),
        token: item.row.attempts + 1,
      });
      continue;
    }
    done.push({ ...key, output: outcome.output });
    if (outcome.kind === 'exit') exits.push(item.run.id);
    else {
      const definition = definitions.get(item.run.version)!;
      for (const id of successorsOf(item.step!)[outcome.branch ?? 'next'] ?? []) {
        const step = definition.steps.find((s) => s.id === id);
        if (step) next.push({ run_id: item.run.id, step_id: id, type: step.type, input: configOf(step) });
      }
    }
  }
  if (done.length > 0)
    await scope.conn.query(
      `update workflow_steps s set status = 'completed', output = x.output, finished_at = now(),
              wait_until = null, error = null
         from jsonb_to_recordset($2::jsonb) as x(run_id uuid, step_id text, output jsonb)
        where s.org_id = $1 and s.run_id = x.run_id and s.step_id = x.step_id`,
      [orgId, JSON.stringify(done)],
    );
  if (waits.length > 0) {
    await scope.conn.query(
      `update workflow_steps s set status = 'waiting', output = x.output, wait_until = x.until,
              attempts = x.token
         from jsonb_to_recordset($2::jsonb) as x(run_id uuid, step_id text, output jsonb, until timestamptz, token int)
        where s.org_id = $1 and s.run_id = x.run_id and s.step_id = x.step_id`,
      [orgId, JSON.stringify(waits)],
    );
    // One wake job per second the waits end in.
    const bySecond = new Map<number, StepWake[]>();
    for (const w of waits) {
      const second = Math.ceil(new Date(w.until).getTime() / 1000);
      bySecond.set(second, [
        ...(bySecond.get(second) ?? []),
        { run_id: w.run_id, step_id: w.step_id, token: w.token },
      ]);
    }
    const workflowId = items[0]!.run.workflowId;
    for (const [second, wake] of bySecond)
      for (let i = 0; i < wake.length; i += RUNS_PER_JOB)
        await services.jobs.send(
          scope.conn,
          STEP_QUEUE,
          { org_id: orgId, workflow_id: workflowId, wake: wake.slice(i, i + RUNS_PER_JOB) } satisfies StepJob,
          { startAfter: new Date(second * 1000) },
        );
  }
  if (exits.length > 0)
    await scope.tx
      .update(workflowSteps)
      .set({ status: 'cancelled', finishedAt: sql`now()` })
      .where(
        and(
          eq(workflowSteps.orgId, orgId),
          inArray(workflowSteps.runId, exits),
          inArray(workflowSteps.status, ['queued', 'waiting']),
        ),
      );
  const nextOf = next.filter(
    (n) => !exits.includes(n.run_id) && !failed.some((f) => f.item.run.id === n.run_id),
  );
  if (nextOf.length > 0)
    await scope.conn.query(
      `insert into workflow_steps (org_id, run_id, step_id, type, status, input)
       select $1, x.run_id, x.step_id, x.type, 'queued', x.input
         from jsonb_to_recordset($2::jsonb) as x(run_id uuid, step_id text, type text, input jsonb)
       on conflict do nothing`,
      [orgId, JSON.stringify(nextOf)],
    );
  for (const { item, error } of failed)
    await failRun(scope, services, item.run, refOf(item.run), item.row, error);
}

/** Records a step's failure, fails the run (its open branches stop) and says so on the record's timeline. */
async function failRun(
  scope: TenantScope,
  services: Services,
  run: { id: string; object: string; status: string },
  ref: RunRef,
  row: Pick<StepRow, 'runId' | 'stepId'>,
  message: string,
): Promise<void> {
  await setSteps(scope, [row], { status: 'failed', error: message, finishedAt: sql`now()` });
  if (run.status === 'failed') return; // another branch failed first in this level
  run.status = 'failed';
  // Its other branches stop.
  await scope.tx
    .update(workflowSteps)
    .set({ status: 'cancelled', finishedAt: sql`now()` })
    .where(
      and(
        eq(workflowSteps.orgId, scope.ctx.orgId),
        eq(workflowSteps.runId, run.id),
        inArray(workflowSteps.status, ['queued', 'waiting']),
      ),
    );
  await scope.tx
    .update(workflowRuns)
    .set({ status: 'failed', error: message, finishedAt: sql`now()`, updatedAt: sql`now()` })
    .where(and(eq(workflowRuns.orgId, scope.ctx.orgId), eq(workflowRuns.id, run.id)));
  await emitEvent(scope, services.jobs, {
    type: 'workflow.run_finished',
    subject: { object: run.object, id: ref.recordId },
    data: {
      name: await recordName(scope, run.object, ref.recordId),
      workflow_id: ref.workflowId,
      workflow_name: ref.workflowName,
      run_id: ref.id,
      status: 'failed',
      error: message,
    },
  });
}

/**
 * After a level: a run is COMPLETED when no step of it is queued or waiting any more (every
 * branch has ended), WAITING when its open steps all wait, RUNNING otherwise (a failed run stays
 * failed). One query, one update (of the runs whose status changes), one insert of the
 * `workflow.run_finished` events.
 * @returns the runs that have queued steps
 */
async function settleRuns(
  scope: TenantScope,
  services: Services,
  runIds: string[],
  runOf: Map<string, RunRow>,
  refOf: (run: RunRow) => RunRef,
): Promise<string[]> {
  const orgId = scope.ctx.orgId;
  const { rows } = await scope.conn.query<{ run_id: string; queued: number; waiting: number }>(
    `select run_id::text as run_id, count(*) filter (where status = 'queued')::int as queued,
            count(*) filter (where status = 'waiting')::int as waiting
       from workflow_steps where org_id = $1 and run_id = any($2::uuid[]) group by run_id`,
    [orgId, runIds],
  );
  const counts = new Map(rows.map((r) => [r.run_id, r]));
  const statuses = runIds
    .map((id) => runOf.get(id)!)
    .filter((run) => run.status === 'running' || run.status === 'waiting')
    .map((run) => {
      const c = counts.get(run.id) ?? { queued: 0, waiting: 0 };
      return { run, status: c.queued > 0 ? 'running' : c.waiting > 0 ? 'waiting' : 'completed' };
    });
  if (statuses.length === 0) return [];
  // Only the runs whose status changes are written (a run still running after a level is not:
  // a step chain of 3 wrote each run 3 times).
  const changed = statuses.filter((s) => s.status !== s.run.status);
  if (changed.length > 0)
    await scope.conn.query(
      `update workflow_runs r set status = x.status, updated_at = now(),
              finished_at = case when x.status = 'completed' then now() else r.finished_at end
         from jsonb_to_recordset($2::jsonb) as x(id uuid, status text)
        where r.org_id = $1 and r.id = x.id`,
      [orgId, JSON.stringify(changed.map((s) => ({ id: s.run.id, status: s.status })))],
    );
  const completed = statuses.filter((s) => s.status === 'completed').map((s) => s.run);
  if (completed.length > 0) {
    const object = completed[0]!.object;
    const names = await recordNames(scope, object, [...new Set(completed.map((r) => r.recordId))]);
    await emitEvents(
      scope,
      services.jobs,
      completed.map((run) => {
        const ref = refOf(run);
        return {
          type: 'workflow.run_finished' as const,
          subject: { object: run.object, id: run.recordId },
          data: {
            name: names.get(run.recordId) ?? null,
            workflow_id: ref.workflowId,
            workflow_name: ref.workflowName,
            run_id: run.id,
            status: 'completed' as const,
            error: null,
          },
        };
      }),
    );
  }
  return statuses.filter((s) => s.status === 'running').map((s) => s.run.id);
}

/** Sets columns of one step row. */
function setStep(
  scope: TenantScope,
  job: { org_id: string; run_id: string; step_id: string },
  set: PgUpdateSetSource<typeof workflowSteps>,
) {
  return scope.tx
    .update(workflowSteps)
    .set(set)
    .where(
      and(
        eq(workflowSteps.orgId, job.org_id),
        eq(workflowSteps.runId, job.run_id),
        eq(workflowSteps.stepId, job.step_id),
      ),
    );
}

/**
 * Replays a failed run from its failed step(s): each is queued again (a new attempt, so a job of
 * the old attempt is dropped) and the run is running again. With `version: 'latest'` the run
 * moves to the workflow's latest version first (the fix of a step's definition), which must
 * still have the failed step.
 * @throws 409 `not_failed` when the run did not fail, 422 `step_missing` when the latest version lacks the step
 */
export async function replayRunIn(
  scope: TenantScope,
  services: Services,
  runId: string,
  options: { version: 'run' | 'latest' },
): Promise<void> {
  const [run] = await scope.tx
    .select()
    .from(workflowRuns)
    .where(and(eq(workflowRuns.orgId, scope.ctx.orgId), eq(workflowRuns.id, runId)))
    .for('update');
  if (!run) throw new AppError(404, 'not_found', 'No such workflow run');
  if (run.status !== 'failed')
    throw new AppError(409, 'not_failed', `Only a failed run can be replayed; this one is ${run.status}`);
  const failed = await scope.tx
    .select()
    .from(workflowSteps)
    .where(
      and(
        eq(workflowSteps.orgId, scope.ctx.orgId),
        eq(workflowSteps.runId, runId),
        eq(workflowSteps.status, 'failed'),
      ),
    );
  let version = run.version;
  if (options.version === 'latest') {
    const [workflow] = await scope.tx
      .select({ version: workflows.version })
      .from(workflows)
      .where(and(eq(workflows.orgId, scope.ctx.orgId), eq(workflows.id, run.workflowId)));
    version = workflow!.version;
    const definition = await definitionOf(scope, run.workflowId, version);
    const missing = failed.find((s) => !definition.steps.some((d) => d.id === s.stepId));
    if (missing)
      throw new AppError(422, 'step_missing', `Version ${version} has no step ${missing.stepId} to replay`, {
        path: 'body.version',
      });
  }
  const definition = await definitionOf(scope, run.workflowId, version);
  await scope.tx
    .update(workflowRuns)
    .set({ status: 'running', error: null, finishedAt: null, version, updatedAt: sql`now()` })
    .where(and(eq(workflowRuns.orgId, scope.ctx.orgId), eq(workflowRuns.id, runId)));
  for (const step of failed) {
    const token = step.attempts + 1;
    const current = definition.steps.find((s) => s.id === step.stepId)!;
    await setStep(
      scope,
      { org_id: scope.ctx.orgId, run_id: runId, step_id: step.stepId },
      {
        status: 'queued',
        error: null,
        attempts: token,
        input: configOf(current),
        startedAt: sql`now()`,
        finishedAt: null,
      },
    );
  }
  await services.jobs.send(scope.conn, STEP_QUEUE, {
    org_id: scope.ctx.orgId,
    workflow_id: run.workflowId,
    runs: [runId],
  } satisfies StepJob);
}

/**
 * Cancels an open (running or waiting) run: its queued and waiting steps are cancelled, and a
 * wait's job that comes later finds nothing to do. @throws 409 `not_open` for a finished run
 */
export async function cancelRunIn(scope: TenantScope, services: Services, runId: string): Promise<void> {
  const [run] = await scope.tx
    .select()
    .from(workflowRuns)
    .where(and(eq(workflowRuns.orgId, scope.ctx.orgId), eq(workflowRuns.id, runId)))
    .for('update');
  if (!run) throw new AppError(404, 'not_found', 'No such workflow run');
  if (run.status !== 'running' && run.status !== 'waiting')
    throw new AppError(
      409,
      'not_open',
      `Only a running or waiting run can be cancelled; this one is ${run.status}`,
    );
  await scope.tx
    .update(workflowSteps)
    .set({ status: 'cancelled', finishedAt: sql`now()` })
    .where(
      and(
        eq(workflowSteps.orgId, scope.ctx.orgId),
        eq(workflowSteps.runId, runId),
        inArray(workflowSteps.status, ['queued', 'waiting']),
      ),
    );
  await scope.tx
    .update(workflowRuns)
    .set({ status: 'cancelled', finishedAt: sql`now()`, updatedAt: sql`now()` })
    .where(and(eq(workflowRuns.orgId, scope.ctx.orgId), eq(workflowRuns.id, runId)));
  const [workflow] = await scope.tx
    .select({ name: workflows.name })
    .from(workflows)
    .where(and(eq(workflows.orgId, scope.ctx.orgId), eq(workflows.id, run.workflowId)));
  await emitEvent(scope, services.jobs, {
    type: 'workflow.run_finished',
    subject: { object: run.object, id: run.recordId },
    data: {
      name: await recordName(scope, run.object, run.recordId),
      workflow_id: run.workflowId,
      workflow_name: workflow?.name ?? '',
      run_id: run.id,
      status: 'cancelled',
      error: null,
    },
  });
}
