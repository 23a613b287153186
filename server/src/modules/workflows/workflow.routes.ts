import { z } from 'zod';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { addActorNames } from '../timeline/timeline.service.js';
import { workflowConsumer } from './workflow.consumer.js';
import {
  InboundResult,
  ReplayInput,
  RunListQuery,
  RunsStart,
  RunsStarted,
  TestRun,
  TestRunResult,
  Workflow,
  WorkflowCreate,
  WorkflowList,
  WorkflowListQuery,
  WorkflowRun,
  WorkflowRunPage,
  WorkflowSecrets,
  WorkflowStatusChange,
  WorkflowUpdate,
} from './workflow.dto.js';
import {
  createWorkflow,
  getWorkflow,
  getWorkflowSecrets,
  listWorkflows,
  setWorkflowStatus,
  updateWorkflow,
} from './workflow.service.js';
import { INBOUND_MAX_BYTES, receiveInbound } from './workflow-inbound.service.js';
import { runStep, START_QUEUE, STEP_QUEUE, type StepJob } from './workflow-runner.service.js';
import { cancelRun, getRun, listRuns, replayRun, startRuns, testRun } from './workflow-runs.service.js';
import { defineScheduleJobs } from './workflow-schedule.service.js';
import './workflow.events.js';
import './workflow-webhook.action.js';

const IdParams = z.strictObject({ id: z.uuid() });
const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem };
const tags = ['workflows'];

/**
 * The workflow engine's consumers and jobs (before the job queue starts): the event consumer that
 * starts runs, the step queue, the schedule queue; and the timeline's name for a workflow actor.
 */
export function defineWorkflowJobs(services: Services): void {
  services.events.register(workflowConsumer(services));
  services.jobs.define<StepJob>(
    // A killed worker's step is taken up again after its heartbeat lapses (pg-boss: at least 10 s).
    // Jobs of one fetch run side by side (each drives its own runs, up to 500; a level's
    // transaction mostly waits on the database or a webhook's receiver). With the first steps'
    // 2 and the event dispatch's 4, 9 transactions at once, under the pool's 10 connections.
    { name: STEP_QUEUE, retryLimit: 8, concurrency: 3, parallel: true, heartbeatSeconds: 10 },
    ({ data }) => runStep(services, data),
  );
  // New runs' first steps, on workers of their own: never behind the later steps of earlier runs.
  services.jobs.define<StepJob>(
    { name: START_QUEUE, retryLimit: 8, concurrency: 2, parallel: true, heartbeatSeconds: 10 },
    ({ data }) => runStep(services, data, 1),
  );
  defineScheduleJobs(services);
  addActorNames('workflow', async (scope, ids) => {
    const { rows } = await scope.conn.query<{ id: string; name: string }>(
      'select id::text as id, name from workflows where org_id = $1 and id::text = any($2::text[])',
      [scope.ctx.orgId, ids],
    );
    return new Map(rows.map((r) => [r.id, `Workflow “${r.name}”`]));
  });
}

/**
 * Workflows (issue 24): definitions under `/workflows` (admins write, members read), runs under
 * `/workflow-runs`. Another tenant's id is a 404 everywhere.
 */
export function registerWorkflowRoutes(app: ApiApp, services: Services): void {
  app.get(
    '/workflows',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'listWorkflows',
        tags,
        summary: 'The workflows, newest first, with their run counts',
        querystring: WorkflowListQuery,
        response: { 200: WorkflowList, ...errors },
      },
    },
    async (req) => listWorkflows(services, req.tenant, req.query.status),
  );
  app.post(
    '/workflows',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'createWorkflow',
        tags,
        summary:
          'Create a workflow (a draft): a trigger and steps (WorkflowDefinition), checked against the object’s fields',
        body: WorkflowCreate,
        response: { 201: Workflow, ...errors },
      },
    },
    async (req, reply) => reply.code(201).send(await createWorkflow(services, req.tenant, req.body)),
  );
  app.get(
    '/workflows/:id',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'getWorkflow',
        tags,
        summary: 'A workflow with its latest version’s definition',
        params: IdParams,
        response: { 200: Workflow, ...errors },
      },
    },
    async (req) => getWorkflow(services, req.tenant, req.params.id),
  );
  app.get(
    '/workflows/:id/secrets',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'getWorkflowSecrets',
        tags,
        summary:
          'A workflow’s signing secret (its webhook calls are signed with it) and, for an inbound-webhook trigger, its secret URL (admins)',
        params: IdParams,
        response: { 200: WorkflowSecrets, ...errors },
      },
    },
    async (req) => getWorkflowSecrets(services, req.tenant, req.params.id),
  );
  app.post(
    '/public/workflows/:org_id/:id/inbound/:token',
    {
      config: { access: 'public' },
      bodyLimit: INBOUND_MAX_BYTES,
      schema: {
        operationId: 'postWorkflowInbound',
        tags,
        summary:
          'An inbound-webhook trigger’s secret URL (public, the token is the credential): POST a JSON object (at most 64 KiB) to start the workflow on the record it names; ' +
          '`skipped` with `no_record` when none matches and the trigger does not create, or with the re-enrollment or rate rule that refused it',
        params: z.strictObject({ org_id: z.uuid(), id: z.uuid(), token: z.string().min(1).max(100) }),
        body: z.unknown(),
        response: {
          200: InboundResult,
          400: Problem,
          404: Problem,
          409: Problem,
          413: Problem,
          422: Problem,
          429: Problem,
        },
      },
    },
    async (req) => receiveInbound(services, req.params, req.body),
  );
  app.put(
    '/workflows/:id',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'updateWorkflow',
        tags,
        summary:
          'Save a workflow’s name and/or definition; `lock_version` must be the one read (else 409 `stale_version`). ' +
          'Editing an activated version makes a new version; runs keep theirs',
        params: IdParams,
        body: WorkflowUpdate,
        response: { 200: Workflow, ...errors },
      },
    },
    async (req) => updateWorkflow(services, req.tenant, req.params.id, req.body),
  );
  for (const [action, status, summary] of [
    [
      'activate',
      'active',
      'Activate a workflow: its latest version is checked as complete, then triggers start runs',
    ],
    ['pause', 'paused', 'Pause a workflow: triggers start no run; open runs go on'],
  ] as const)
    app.post(
      `/workflows/:id/${action}`,
      {
        config: { access: 'settings:manage' },
        schema: {
          operationId: `${action}Workflow`,
          tags,
          summary,
          params: IdParams,
          body: WorkflowStatusChange.optional(),
          response: { 200: Workflow, ...errors },
        },
      },
      async (req) => setWorkflowStatus(services, req.tenant, req.params.id, status, req.body?.lock_version),
    );
  app.post(
    '/workflows/:id/runs',
    {
      config: { access: 'records:write' },
      schema: {
        operationId: 'startWorkflowRuns',
        tags,
        summary: 'Start an active workflow by hand on records (ids or a filter, at most 200)',
        params: IdParams,
        body: RunsStart,
        response: { 200: RunsStarted, ...errors },
      },
    },
    async (req) => startRuns(services, req.tenant, req.params.id, req.body),
  );
  app.post(
    '/workflows/:id/test-run',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'testWorkflow',
        tags,
        summary: 'What the workflow would do on a record, step by step, without changing anything',
        params: IdParams,
        body: TestRun,
        response: { 200: TestRunResult, ...errors },
      },
    },
    async (req) => testRun(services, req.tenant, req.params.id, req.body),
  );
  app.get(
    '/workflow-runs',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'listWorkflowRuns',
        tags,
        summary: 'Workflow runs, newest first; filter by workflow, record and status',
        querystring: RunListQuery,
        response: { 200: WorkflowRunPage, ...errors },
      },
    },
    async (req) => listRuns(services, req.tenant, req.query),
  );
  app.get(
    '/workflow-runs/:id',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'getWorkflowRun',
        tags,
        summary: 'A run: its trigger event and each step’s input, output, status, timings and error',
        params: IdParams,
        response: { 200: WorkflowRun, ...errors },
      },
    },
    async (req) => getRun(services, req.tenant, req.params.id),
  );
  app.post(
    '/workflow-runs/:id/replay',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'replayWorkflowRun',
        tags,
        summary: 'Replay a failed run from its failed step (on its version, or the latest: a fixed step)',
        params: IdParams,
        body: ReplayInput.optional(),
        response: { 200: WorkflowRun, ...errors },
      },
    },
    async (req) => replayRun(services, req.tenant, req.params.id, req.body?.version ?? 'run'),
  );
  app.post(
    '/workflow-runs/:id/cancel',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'cancelWorkflowRun',
        tags,
        summary: 'Cancel a running or waiting run',
        params: IdParams,
        response: { 200: WorkflowRun, ...errors },
      },
    },
    async (req) => cancelRun(services, req.tenant, req.params.id),
  );
}
