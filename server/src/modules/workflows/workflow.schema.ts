import { foreignKey, index, integer, jsonb, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { idColumn, isoTimestamp as ts } from '../../db/columns.js';
import { organizations } from '../../platform/auth/auth.schema.js';

/**
 * A workflow (issue 24): "when X happens to a record of `object`, do these steps". Its graph lives
 * in versions (`workflow_versions`); `version` is the one being edited or running. Editing an
 * active workflow makes a new version; runs keep the version they started on. `lock_version`
 * is the optimistic check of concurrent saves (a save with a stale one is a 409).
 */
export const workflows = pgTable(
  'workflows',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    name: text('name').notNull(),
    /** The registry object whose records it runs on: `contact`, a custom object's key. */
    object: text('object').notNull(),
    /** `draft`, `active`, `paused`, `archived`. */
    status: text('status').notNull().default('draft'),
    /** The latest version (the one a save changes, and the one new runs start on). */
    version: integer('version').notNull().default(1),
    /** Bumped by every save: a save must name the one it read. */
    lockVersion: integer('lock_version').notNull().default(1),
    /** The trigger's type, copied from the latest version for the event consumer's lookup. */
    triggerType: text('trigger_type').notNull(),
    /** For schedule triggers: when it fires next. */
    nextFireAt: ts('next_fire_at'),
    createdBy: uuid('created_by'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    index('workflows_trigger_idx').on(t.orgId, t.status, t.triggerType),
  ],
);

/** One version of a workflow's definition (trigger + steps), immutable once a run used it. */
export const workflowVersions = pgTable(
  'workflow_versions',
  {
    orgId: uuid('org_id').notNull(),
    workflowId: uuid('workflow_id').notNull(),
    version: integer('version').notNull(),
    definition: jsonb('definition').notNull(),
    /** Set when it was first activated: later edits make a new version. */
    activatedAt: ts('activated_at'),
    createdBy: uuid('created_by'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.workflowId, t.version] }),
    foreignKey({
      columns: [t.orgId, t.workflowId],
      foreignColumns: [workflows.orgId, workflows.id],
    }).onDelete('cascade'),
  ],
);

/**
 * One run of a workflow version on one record. `status`: `running`, `waiting`, `completed`,
 * `failed`, `cancelled`. `depth` counts workflow runs that caused this one (loop guard).
 */
export const workflowRuns = pgTable(
  'workflow_runs',
  {
    orgId: uuid('org_id').notNull(),
    id: idColumn(),
    workflowId: uuid('workflow_id').notNull(),
    version: integer('version').notNull(),
    object: text('object').notNull(),
    recordId: uuid('record_id').notNull(),
    status: text('status').notNull().default('running'),
    /** The event that started it (its envelope), or `{type: 'manual'|'schedule'}`. */
    trigger: jsonb('trigger').notNull(),
    depth: integer('depth').notNull().default(0),
    error: text('error'),
    startedAt: ts('started_at').notNull().defaultNow(),
    finishedAt: ts('finished_at'),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    foreignKey({
      columns: [t.orgId, t.workflowId],
      foreignColumns: [workflows.orgId, workflows.id],
    }).onDelete('cascade'),
    index('workflow_runs_workflow_idx').on(t.orgId, t.workflowId, t.id),
    index('workflow_runs_record_idx').on(t.orgId, t.recordId, t.workflowId),
    index('workflow_runs_status_idx').on(t.orgId, t.status, t.id),
  ],
);

/**
 * One step of one run: its input, output, status (`queued`, `waiting`, `completed`, `failed`,
 * `skipped`, `cancelled`), timings and error. `(run_id, step_id)` is the idempotency key of the
 * step's side effect: the effect and the step's completion commit in one transaction.
 */
export const workflowSteps = pgTable(
  'workflow_steps',
  {
    orgId: uuid('org_id').notNull(),
    runId: uuid('run_id').notNull(),
    stepId: text('step_id').notNull(),
    type: text('type').notNull(),
    status: text('status').notNull().default('queued'),
    input: jsonb('input'),
    output: jsonb('output'),
    error: text('error'),
    /** Times the step's job ran it (a wait's polls, a replay). */
    attempts: integer('attempts').notNull().default(0),
    /** A waiting step: when it resumes. */
    waitUntil: ts('wait_until'),
    startedAt: ts('started_at').notNull().defaultNow(),
    finishedAt: ts('finished_at'),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.runId, t.stepId] }),
    foreignKey({
      columns: [t.orgId, t.runId],
      foreignColumns: [workflowRuns.orgId, workflowRuns.id],
    }).onDelete('cascade'),
  ],
);

/** Round-robin cursors of `assign_owner` steps: the last member index used, per workflow step. */
export const workflowCursors = pgTable(
  'workflow_cursors',
  {
    orgId: uuid('org_id').notNull(),
    workflowId: uuid('workflow_id').notNull(),
    stepId: text('step_id').notNull(),
    position: integer('position').notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.workflowId, t.stepId] }),
    foreignKey({
      columns: [t.orgId, t.workflowId],
      foreignColumns: [workflows.orgId, workflows.id],
    }).onDelete('cascade'),
  ],
);
