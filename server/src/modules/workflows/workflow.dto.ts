import { z } from 'zod';
import { FilterNode } from '../../platform/query/query.schema.js';
import { Definition } from './workflow.definition.js';

export const WORKFLOW_STATUSES = ['draft', 'active', 'paused'] as const;
export const RUN_STATUSES = ['running', 'waiting', 'completed', 'failed', 'cancelled', 'skipped'] as const;
export const STEP_STATUSES = ['queued', 'waiting', 'completed', 'failed', 'cancelled'] as const;

const Name = z.string().trim().min(1).max(200);

export const WorkflowCreate = z
  .strictObject({
    name: Name,
    object: z
      .string()
      .min(1)
      .max(64)
      .describe('The registry object it runs on: `contact`, a custom object’s key'),
    definition: Definition,
  })
  .meta({ id: 'WorkflowCreate' });
export type WorkflowCreateInput = z.infer<typeof WorkflowCreate>;

export const WorkflowUpdate = z
  .strictObject({
    lock_version: z
      .number()
      .int()
      .min(1)
      .describe(
        'The `lock_version` the edit started from: a save by someone else since is a 409 `stale_version`',
      ),
    name: Name.optional(),
    definition: Definition.optional(),
  })
  .meta({ id: 'WorkflowUpdate' });
export type WorkflowUpdateInput = z.infer<typeof WorkflowUpdate>;

export const WorkflowStatusChange = z
  .strictObject({ lock_version: z.number().int().min(1).optional() })
  .meta({ id: 'WorkflowStatusChange' });

export const Workflow = z
  .object({
    id: z.uuid(),
    name: z.string(),
    object: z.string(),
    status: z.enum(WORKFLOW_STATUSES),
    version: z.number().int().describe('The latest version: what an edit changes and new runs start on'),
    lock_version: z.number().int(),
    definition: z
      .record(z.string(), z.unknown())
      .describe('The latest version’s definition (WorkflowDefinition)'),
    version_active: z
      .boolean()
      .describe('The latest version has been activated: editing it makes a new version'),
    next_fire_at: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'Workflow' });

export const WorkflowSecrets = z
  .object({
    signing_secret: z
      .string()
      .describe(
        'The Standard Webhooks secret (`whsec_...`) its `call_webhook` steps sign with: verify the `webhook-signature` header with it',
      ),
    inbound_url: z
      .string()
      .nullable()
      .describe(
        'The secret URL that starts it, for an `inbound_webhook` trigger (POST JSON to it); null for other triggers',
      ),
  })
  .meta({ id: 'WorkflowSecrets' });
export type WorkflowView = z.infer<typeof Workflow>;

export const WorkflowList = z
  .object({
    data: z.array(
      Workflow.omit({ definition: true }).extend({
        trigger_type: z.string(),
        runs: z.object({ open: z.number().int(), failed: z.number().int(), total: z.number().int() }),
      }),
    ),
  })
  .meta({ id: 'WorkflowList' });

export const WorkflowListQuery = z.strictObject({ status: z.enum(WORKFLOW_STATUSES).optional() });

export const RunsStart = z
  .strictObject({
    record_ids: z.array(z.uuid()).min(1).max(200).optional().describe('Up to 200 records to run it on'),
    filter: FilterNode.optional().describe('Or a filter of the object’s records (at most 200 match)'),
  })
  .meta({ id: 'WorkflowRunsStart' });

export const RunsStarted = z
  .object({
    data: z.array(
      z.object({
        record_id: z.uuid(),
        status: z.enum(['started', 'skipped']),
        run_id: z.uuid().nullable(),
        reason: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: 'WorkflowRunsStarted' });

export const TestRun = z
  .strictObject({
    record_id: z.uuid().describe('The record to try it on; nothing is changed'),
    definition: Definition.optional().describe('An unsaved definition to try (default: the latest version)'),
  })
  .meta({ id: 'WorkflowTestRun' });

export const TestRunResult = z
  .object({
    trigger_matches: z.boolean().describe('The record matches the trigger’s conditions now'),
    steps: z.array(
      z.object({
        step_id: z.string(),
        type: z.string(),
        status: z.enum(['would_run', 'would_fail']),
        output: z.record(z.string(), z.unknown()),
        error: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: 'WorkflowTestRunResult' });

export const RunListQuery = z.strictObject({
  workflow_id: z.uuid().optional(),
  record_id: z.uuid().optional(),
  status: z.enum(RUN_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(100).optional().describe('`next_cursor` of the previous page'),
});

const RunBase = z.object({
  id: z.uuid(),
  workflow_id: z.uuid(),
  workflow_name: z.string(),
  version: z.number().int(),
  object: z.string(),
  record_id: z.uuid(),
  status: z.enum(RUN_STATUSES),
  error: z.string().nullable(),
  depth: z.number().int(),
  started_at: z.string(),
  finished_at: z.string().nullable(),
});

export const WorkflowRunPage = z
  .object({ data: z.array(RunBase), next_cursor: z.string().nullable() })
  .meta({ id: 'WorkflowRunPage' });

export const WorkflowRun = RunBase.extend({
  trigger: z
    .record(z.string(), z.unknown())
    .describe('What started it: `{type, event}` with the event envelope'),
  steps: z.array(
    z.object({
      step_id: z.string(),
      type: z.string(),
      status: z.enum(STEP_STATUSES),
      input: z.unknown(),
      output: z.unknown(),
      error: z.string().nullable(),
      attempts: z.number().int(),
      wait_until: z.string().nullable(),
      started_at: z.string(),
      finished_at: z.string().nullable(),
    }),
  ),
}).meta({ id: 'WorkflowRun' });

export const ReplayInput = z
  .strictObject({
    version: z
      .enum(['run', 'latest'])
      .default('run')
      .describe('`run`: the version the run started on; `latest`: the workflow’s latest (a fixed step)'),
  })
  .meta({ id: 'WorkflowRunReplay' });

export const InboundResult = z
  .object({
    status: z.enum(['started', 'skipped']),
    reason: z
      .string()
      .nullable()
      .describe('Why no run started: `no_record`, `conditions`, `reenrollment`, `rate_limited`'),
    run_id: z.uuid().nullable(),
    record_id: z.uuid().nullable().describe('The record found or created; null when none'),
    created: z.boolean().describe('The record was created from the body'),
  })
  .meta({ id: 'WorkflowInboundResult' });
