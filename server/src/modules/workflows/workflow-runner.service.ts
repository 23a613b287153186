import { and, eq, inArray, sql } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import { type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { cachedObjectDef } from '../../platform/registry/registry.service.js';
import { type Definition, type Step, successorsOf } from './workflow.definition.js';
import { workflowRuns, workflowSteps, workflows, workflowVersions } from './workflow.schema.js';
import { actionOf, runData, stepContext } from './workflow-actions.js';
import { recordName } from './workflow-records.js';

/** The queue of workflow steps: one job per step execution (a wait's resume is a delayed job). */
export const STEP_QUEUE = 'workflow.step';

/** A step job: which run and step, and the step's `attempts` when it was queued (a stale job is dropped). */
export type StepJob = { org_id: string; workflow_id: string; run_id: string; step_id: string; token: number };

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

type WorkflowRef = { id: string; name: string; object: string; version: number };

/**
 * Starts a run of `workflow` on a record in the caller's transaction: the run, its first step and
 * the step's job commit together (or not at all), with a `workflow.run_started` event.
 * @returns the run's id
 */
export async function startRunIn(
  scope: TenantScope,
  services: Services,
  workflow: WorkflowRef,
  definition: Definition,
  recordId: string,
  trigger: Record<string, unknown>,
  depth: number,
): Promise<string> {
  const [run] = await scope.tx
    .insert(workflowRuns)
    .values({
      orgId: scope.ctx.orgId,
      workflowId: workflow.id,
      version: workflow.version,
      object: workflow.object,
      recordId,
      trigger,
      depth,
      status: definition.start ? 'running' : 'completed',
      ...(definition.start ? {} : { finishedAt: sql`now()` }),
    })
    .returning({ id: workflowRuns.id });
  const runId = run!.id;
  const ref = { workflowId: workflow.id, workflowName: workflow.name, id: runId, recordId };
  await emitEvent(scope, services.jobs, {
    type: 'workflow.run_started',
    subject: { object: workflow.object, id: recordId },
    data: {
      ...runData({ run: ref }, await recordName(scope, workflow.object, recordId)),
      trigger: String(trigger.type ?? 'manual'),
    },
  });
  if (definition.start) await queueSteps(scope, services, workflow.id, runId, definition, [definition.start]);
  return runId;
}

/** Adds the steps' rows (queued, with their definition as input) and their jobs. */
async function queueSteps(
  scope: TenantScope,
  services: Services,
  workflowId: string,
  runId: string,
  definition: Definition,
  stepIds: string[],
): Promise<void> {
  for (const stepId of stepIds) {
    const step = definition.steps.find((s) => s.id === stepId);
    if (!step) continue;
    const inserted = await scope.tx
      .insert(workflowSteps)
      .values({
        orgId: scope.ctx.orgId,
        runId,
        stepId,
        type: step.type,
        status: 'queued',
        input: configOf(step),
      })
      .onConflictDoNothing()
      .returning({ stepId: workflowSteps.stepId });
    if (inserted.length === 0) continue; // queued before (a retried transition)
    await services.jobs.send(scope.conn, STEP_QUEUE, {
      org_id: scope.ctx.orgId,
      workflow_id: workflowId,
      run_id: runId,
      step_id: stepId,
      token: 0,
    } satisfies StepJob);
  }
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
 * Runs one step of a run (the step job's handler). In one tenant transaction, with the run row
 * locked: a step that is no longer queued (or waiting for this job) is left alone, so a job run
 * twice (a worker killed after the commit, before pg-boss heard of it) does nothing the second
 * time; otherwise the step's effect, its record (output, status, timings) and the jobs of the
 * steps after it commit together, so a worker killed before the commit leaves the step queued
 * and the retried job runs it once. An effect refused for a reason a retry cannot change (bad
 * input, a record gone, no e-mail address) is rolled back to a savepoint and recorded as the
 * step's failure; the run fails, and can be replayed from that step.
 */
export async function runStep(services: Services, job: StepJob): Promise<void> {
  const ctx = {
    orgId: job.org_id,
    actor: { type: 'workflow' as const, id: job.workflow_id },
    traceId: runTraceId(job.run_id),
  };
  await withTenant(services.database, ctx, async (scope) => {
    const [run] = await scope.tx
      .select()
      .from(workflowRuns)
      .where(and(eq(workflowRuns.orgId, job.org_id), eq(workflowRuns.id, job.run_id)))
      .for('update');
    if (!run) return; // deleted with its workflow
    const [stepRow] = await scope.tx
      .select()
      .from(workflowSteps)
      .where(
        and(
          eq(workflowSteps.orgId, job.org_id),
          eq(workflowSteps.runId, job.run_id),
          eq(workflowSteps.stepId, job.step_id),
        ),
      );
    if (!stepRow || stepRow.attempts !== job.token) return;
    if (stepRow.status !== 'queued' && stepRow.status !== 'waiting') return;
    if (run.status !== 'running' && run.status !== 'waiting') {
      await setStep(scope, job, { status: 'cancelled', finishedAt: sql`now()` });
      return;
    }
    const [workflow] = await scope.tx
      .select({ name: workflows.name })
      .from(workflows)
      .where(and(eq(workflows.orgId, job.org_id), eq(workflows.id, job.workflow_id)));
    const definition = await definitionOf(scope, run.workflowId, run.version);
    const step = definition.steps.find((s) => s.id === job.step_id);
    const ref = {
      id: run.id,
      workflowId: run.workflowId,
      workflowName: workflow?.name ?? '',
      recordId: run.recordId,
    };
    if (!step) {
      await failRun(scope, services, run, ref, job, 'The step is not in the workflow’s version');
      return;
    }
    const def = await cachedObjectDef(scope.tx, job.org_id, run.object);
    await scope.conn.query('savepoint workflow_step');
    let outcome: Awaited<ReturnType<ReturnType<typeof actionOf>['run']>>;
    try {
      outcome = await actionOf(step.type).run(
        stepContext({
          scope,
          services,
          run: ref,
          def,
          step,
          attempts: stepRow.attempts,
          phase: stepRow.status === 'waiting' ? 'resume' : 'start',
          dry: false,
        }),
      );
      await scope.conn.query('release savepoint workflow_step');
    } catch (error) {
      if (isTransient(error)) throw error; // the job is retried
      await scope.conn.query('rollback to savepoint workflow_step');
      const message =
        error instanceof AppError ? error.message : `Unexpected error: ${(error as Error)?.message ?? error}`;
      await failRun(scope, services, run, ref, job, message);
      return;
    }
    if (outcome.kind === 'wait') {
      const token = stepRow.attempts + 1;
      await setStep(scope, job, {
        status: 'waiting',
        attempts: token,
        waitUntil: outcome.until.toISOString(),
        output: outcome.output,
      });
      await settleRun(scope, services, run.id, ref);
      await services.jobs.send(scope.conn, STEP_QUEUE, { ...job, token } satisfies StepJob, {
        startAfter: outcome.until,
      });
      return;
    }
    await setStep(scope, job, {
      status: 'completed',
      output: outcome.output,
      finishedAt: sql`now()`,
      waitUntil: null,
      error: null,
    });
    if (outcome.kind === 'exit') {
      await scope.tx
        .update(workflowSteps)
        .set({ status: 'cancelled', finishedAt: sql`now()` })
        .where(
          and(
            eq(workflowSteps.orgId, job.org_id),
            eq(workflowSteps.runId, run.id),
            inArray(workflowSteps.status, ['queued', 'waiting']),
          ),
        );
    } else {
      const next = successorsOf(step)[outcome.branch ?? 'next'] ?? [];
      await queueSteps(scope, services, run.workflowId, run.id, definition, next);
    }
    await settleRun(scope, services, run.id, ref);
  });
}

function setStep(
  scope: TenantScope,
  job: Pick<StepJob, 'org_id' | 'run_id' | 'step_id'>,
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

type RunRef = { id: string; workflowId: string; workflowName: string; recordId: string };

/** Records a step's failure, fails the run (its open branches stop) and says so on the record's timeline. */
async function failRun(
  scope: TenantScope,
  services: Services,
  run: { id: string; object: string },
  ref: RunRef,
  job: StepJob,
  message: string,
): Promise<void> {
  await setStep(scope, job, { status: 'failed', error: message, finishedAt: sql`now()` });
  await scope.tx
    .update(workflowRuns)
    .set({ status: 'failed', error: message, finishedAt: sql`now()`, updatedAt: sql`now()` })
    .where(and(eq(workflowRuns.orgId, scope.ctx.orgId), eq(workflowRuns.id, run.id)));
  await emitEvent(scope, services.jobs, {
    type: 'workflow.run_finished',
    subject: { object: run.object, id: ref.recordId },
    data: {
      ...runData({ run: ref }, await recordName(scope, run.object, ref.recordId)),
      status: 'failed',
      error: message,
    },
  });
}

/**
 * After a step: the run is COMPLETED when no step of it is queued or waiting any more (every
 * branch has ended), WAITING when its open steps all wait, RUNNING otherwise.
 */
async function settleRun(scope: TenantScope, services: Services, runId: string, ref: RunRef): Promise<void> {
  const { rows } = await scope.conn.query<{ queued: number; waiting: number }>(
    `select count(*) filter (where status = 'queued')::int as queued,
            count(*) filter (where status = 'waiting')::int as waiting
       from workflow_steps where org_id = $1 and run_id = $2`,
    [scope.ctx.orgId, runId],
  );
  const { queued, waiting } = rows[0]!;
  const status = queued > 0 ? 'running' : waiting > 0 ? 'waiting' : 'completed';
  const [updated] = await scope.tx
    .update(workflowRuns)
    .set({ status, updatedAt: sql`now()`, ...(status === 'completed' ? { finishedAt: sql`now()` } : {}) })
    .where(and(eq(workflowRuns.orgId, scope.ctx.orgId), eq(workflowRuns.id, runId)))
    .returning({ object: workflowRuns.object });
  if (status === 'completed')
    await emitEvent(scope, services.jobs, {
      type: 'workflow.run_finished',
      subject: { object: updated!.object, id: ref.recordId },
      data: {
        ...runData({ run: ref }, await recordName(scope, updated!.object, ref.recordId)),
        status: 'completed',
        error: null,
      },
    });
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
    await services.jobs.send(scope.conn, STEP_QUEUE, {
      org_id: scope.ctx.orgId,
      workflow_id: run.workflowId,
      run_id: runId,
      step_id: step.stepId,
      token,
    } satisfies StepJob);
  }
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
