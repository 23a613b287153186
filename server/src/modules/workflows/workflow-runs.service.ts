import { and, asc, desc, eq, lt, type SQL, sql } from 'drizzle-orm';
import type { z } from 'zod';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import { AppError, notFound } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { compileListQuery } from '../../platform/query/query.compiler.js';
import type { FilterNode } from '../../platform/query/query.schema.js';
import { objectDef } from '../../platform/registry/registry.service.js';
import { getOrganizationSettings } from '../organizations/organization-settings.service.js';
import { type Definition, successorsOf } from './workflow.definition.js';
import type { RunListQuery, TestRunResult, WorkflowRun } from './workflow.dto.js';
import { workflowRuns, workflowSteps, workflows } from './workflow.schema.js';
import { loadWorkflow } from './workflow.service.js';
import { actionOf, stepContext } from './workflow-actions.js';
import { enrollIn } from './workflow-enrollment.service.js';
import { readRecord, recordMatches } from './workflow-records.js';
import { cancelRunIn, replayRunIn } from './workflow-runner.service.js';
import { urlCheck, validateDefinition } from './workflow-validation.js';

const iso = (v: string | null) => (v === null ? null : new Date(v).toISOString());

type RunRow = typeof workflowRuns.$inferSelect;
const runView = (r: RunRow, workflowName: string) => ({
  id: r.id,
  workflow_id: r.workflowId,
  workflow_name: workflowName,
  version: r.version,
  object: r.object,
  record_id: r.recordId,
  status: r.status as z.infer<typeof WorkflowRun>['status'],
  error: r.error,
  depth: r.depth,
  started_at: iso(r.startedAt)!,
  finished_at: iso(r.finishedAt),
});

/** The run id a `next_cursor` continues after. @throws 400 `invalid_query` for a cursor this list did not give */
function cursorId(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id))
    throw new AppError(400, 'invalid_query', 'The cursor is not one this list gave out', {
      path: 'querystring.cursor',
    });
  return id;
}

/** Runs, newest first, filtered by workflow, record and status; keyset-paginated by run id. */
export async function listRuns(services: Services, ctx: TenantContext, query: z.infer<typeof RunListQuery>) {
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      const conditions: SQL[] = [eq(workflowRuns.orgId, ctx.orgId)];
      if (query.workflow_id) conditions.push(eq(workflowRuns.workflowId, query.workflow_id));
      if (query.record_id) conditions.push(eq(workflowRuns.recordId, query.record_id));
      if (query.status) conditions.push(eq(workflowRuns.status, query.status));
      if (query.cursor) conditions.push(lt(workflowRuns.id, cursorId(query.cursor)));
      const rows = await scope.tx
        .select({ run: workflowRuns, name: workflows.name })
        .from(workflowRuns)
        .innerJoin(
          workflows,
          and(eq(workflows.orgId, workflowRuns.orgId), eq(workflows.id, workflowRuns.workflowId)),
        )
        .where(and(...conditions))
        .orderBy(desc(workflowRuns.id))
        .limit(query.limit + 1);
      const page = rows.slice(0, query.limit);
      return {
        data: page.map((r) => runView(r.run, r.name)),
        next_cursor:
          rows.length > query.limit ? Buffer.from(page.at(-1)!.run.id).toString('base64url') : null,
      };
    },
    { readOnly: true },
  );
}

/** One run with its trigger and every step's input, output, status, timings and error. @throws 404 */
export async function getRun(services: Services, ctx: TenantContext, id: string) {
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      const [found] = await scope.tx
        .select({ run: workflowRuns, name: workflows.name })
        .from(workflowRuns)
        .innerJoin(
          workflows,
          and(eq(workflows.orgId, workflowRuns.orgId), eq(workflows.id, workflowRuns.workflowId)),
        )
        .where(and(eq(workflowRuns.orgId, ctx.orgId), eq(workflowRuns.id, id)));
      if (!found) throw notFound('Workflow run', id);
      const steps = await scope.tx
        .select()
        .from(workflowSteps)
        .where(and(eq(workflowSteps.orgId, ctx.orgId), eq(workflowSteps.runId, id)))
        .orderBy(asc(workflowSteps.startedAt), asc(workflowSteps.stepId));
      return {
        ...runView(found.run, found.name),
        trigger: found.run.trigger as Record<string, unknown>,
        steps: steps.map((s) => ({
          step_id: s.stepId,
          type: s.type,
          status: s.status as z.infer<typeof WorkflowRun>['steps'][number]['status'],
          input: s.input,
          output: s.output,
          error: s.error,
          attempts: s.attempts,
          wait_until: iso(s.waitUntil),
          started_at: iso(s.startedAt)!,
          finished_at: iso(s.finishedAt),
        })),
      };
    },
    { readOnly: true },
  );
}

/** Replays a failed run from its failed step. @throws 404, 409 `not_failed`, 422 `step_missing` */
export async function replayRun(
  services: Services,
  ctx: TenantContext,
  id: string,
  version: 'run' | 'latest',
) {
  await withTenant(services.database, ctx, (scope) => replayRunIn(scope, services, id, { version }));
  return getRun(services, ctx, id);
}

/** Cancels a running or waiting run. @throws 404, 409 `not_open` */
export async function cancelRun(services: Services, ctx: TenantContext, id: string) {
  await withTenant(services.database, ctx, (scope) => cancelRunIn(scope, services, id));
  return getRun(services, ctx, id);
}

/**
 * Starts the workflow on records by hand (from a record, or a bulk selection: ids or a filter, at
 * most 200 records). Each record is enrolled as a trigger would enroll it: the trigger's
 * conditions, re-enrollment and rate rules apply, and a record they refuse is reported skipped.
 * @throws 404, 409 `not_active` for a workflow that is not active, 422 `too_many_records`
 */
export async function startRuns(
  services: Services,
  ctx: TenantContext,
  id: string,
  input: { record_ids?: string[] | undefined; filter?: FilterNode | undefined },
) {
  if (!input.record_ids && input.filter === undefined)
    throw new AppError(400, 'validation_failed', 'Give record_ids or a filter', { path: 'body.record_ids' });
  return withTenant(services.database, ctx, async (scope) => {
    const { row, version } = await loadWorkflow(scope, id);
    if (row.status !== 'active')
      throw new AppError(409, 'not_active', `Activate the workflow before running it (it is ${row.status})`);
    const def = await objectDef(scope.tx, ctx.orgId, row.object);
    const compiled = compileListQuery(
      def,
      { ...(input.filter ? { filter: input.filter } : {}), limit: 1 },
      { table: 'r' },
    );
    const byIds = input.record_ids
      ? sql`r.id in (${sql.join(
          input.record_ids.map((rid) => sql`${rid}::uuid`),
          sql`, `,
        )})`
      : sql`true`;
    const result = await scope.tx.execute(sql`select r.id from ${sql.identifier(def.table)} r
      where r.org_id = ${ctx.orgId} and r.archived_at is null and ${byIds} and ${compiled.where}
      order by r.id limit 201`);
    const ids = (
      (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as { id: string }[]
    ).map((r) => r.id);
    if (ids.length > 200)
      throw new AppError(422, 'too_many_records', 'More than 200 records match; narrow the filter', {
        path: 'body.filter',
      });
    const found = new Set(ids);
    const missing = input.record_ids?.find((rid) => !found.has(rid));
    if (missing) throw notFound(def.labelSingular, missing);
    const workflow = {
      id: row.id,
      name: row.name,
      object: row.object,
      version: row.version,
      definition: version.definition as Definition,
    };
    const data = [];
    for (const recordId of ids) {
      const enrollment = await enrollIn(scope, services, workflow, def, recordId, {
        trigger: { type: 'manual', by: ctx.actor },
        depth: 0,
      });
      data.push({
        record_id: recordId,
        status: enrollment.status,
        run_id: enrollment.run_id ?? null,
        reason: enrollment.status === 'skipped' ? enrollment.reason : null,
      });
    }
    return { data };
  });
}

/**
 * A test run: walks the definition (the latest version, or the one given) against a record,
 * saying what each step would do, without any side effect: the walk runs in a read-only
 * transaction, actions run in their dry mode, waits are taken as passed, if/else and condition
 * waits read the record as it is now. A step that would fail says why.
 * @throws 404 (workflow or record), 422/400 for an invalid definition
 */
export async function testRun(
  services: Services,
  ctx: TenantContext,
  id: string,
  input: { record_id: string; definition?: Definition | undefined },
): Promise<z.infer<typeof TestRunResult>> {
  // Read before the transaction (see StepContext.orgTimeZone).
  const orgTimeZone = (await getOrganizationSettings(services, ctx)).time_zone ?? null;
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      const { row, version } = await loadWorkflow(scope, id);
      const def = await objectDef(scope.tx, ctx.orgId, row.object);
      const definition = input.definition ?? (version.definition as Definition);
      if (input.definition)
        await validateDefinition(scope, def, definition, { activating: false, checkUrl: urlCheck(services) });
      await readRecord(scope, def, input.record_id).catch(() => {
        throw new AppError(404, 'not_found', `No ${def.labelSingular.toLowerCase()} has this id`, {
          path: 'body.record_id',
        });
      });
      const matches = await recordMatches(scope, def, input.record_id, definition.trigger.conditions);
      const steps: z.infer<typeof TestRunResult>['steps'] = [];
      const queue = definition.start ? [definition.start] : [];
      const run = { id: 'test-run', workflowId: row.id, workflowName: row.name, recordId: input.record_id };
      while (queue.length > 0 && steps.length < 100) {
        const next = queue.shift();
        const step = definition.steps.find((s) => s.id === next);
        if (!step) continue;
        try {
          const outcome = await actionOf(step.type).run(
            stepContext({
              scope,
              services,
              run,
              def,
              step,
              attempts: 0,
              phase: 'start',
              dry: true,
              orgTimeZone,
            }),
          );
          steps.push({
            step_id: step.id,
            type: step.type,
            status: 'would_run',
            output: outcome.output,
            error: null,
          });
          if (outcome.kind === 'exit') break;
          const branch = outcome.kind === 'done' ? (outcome.branch ?? 'next') : 'next';
          queue.push(...(successorsOf(step)[branch] ?? []));
        } catch (error) {
          if (!(error instanceof AppError)) throw error;
          steps.push({
            step_id: step.id,
            type: step.type,
            status: 'would_fail',
            output: {},
            error: error.message,
          });
        }
      }
      return { trigger_matches: matches, steps };
    },
    { readOnly: true },
  );
}
