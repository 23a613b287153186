import { and, eq, inArray } from 'drizzle-orm';
import type { TenantScope } from '../../db/tenant.js';
import type { EventConsumer } from '../../platform/events/dispatcher.js';
import { eventCatalogue } from '../../platform/events/event-catalogue.js';
import { type EventEnvelope, flushDispatch } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { cachedObjectDef } from '../../platform/registry/registry.service.js';
import type { Definition } from './workflow.definition.js';
import { workflows, workflowVersions } from './workflow.schema.js';
import { type Candidate, enrollMany } from './workflow-enrollment.service.js';
import { MAX_DEPTH } from './workflow-runner.service.js';
import { triggerEventPatterns, triggerKind } from './workflow-triggers.js';

/** An active workflow as the consumer matches events against it. */
export type ActiveWorkflow = {
  id: string;
  name: string;
  object: string;
  version: number;
  definition: Definition;
};

/** How long this process reuses an organization's active workflows (other processes' changes show after it), ms. */
const CACHE_MS = 2_000;
const cache = new Map<string, { at: number; list: ActiveWorkflow[] }>();

/** Bumped by each forget: a load that began before it does not fill the cache with what it read. */
const generations = new Map<string, number>();

/**
 * Forgets an organization's active workflows in this process (after a change to one of them: in its
 * transaction and again once it committed, since a dispatch may read the old state in between).
 */
export const forgetActiveWorkflows = (orgId: string) => {
  cache.delete(orgId);
  generations.set(orgId, (generations.get(orgId) ?? 0) + 1);
};

/** The organization's active workflows whose trigger listens to events. */
async function activeWorkflows(scope: TenantScope): Promise<ActiveWorkflow[]> {
  const orgId = scope.ctx.orgId;
  const hit = cache.get(orgId);
  if (hit && Date.now() - hit.at < CACHE_MS) return hit.list;
  const generation = generations.get(orgId) ?? 0;
  const rows = await scope.tx
    .select({
      id: workflows.id,
      name: workflows.name,
      object: workflows.object,
      version: workflows.version,
      definition: workflowVersions.definition,
    })
    .from(workflows)
    .innerJoin(
      workflowVersions,
      and(
        eq(workflowVersions.orgId, workflows.orgId),
        eq(workflowVersions.workflowId, workflows.id),
        eq(workflowVersions.version, workflows.version),
      ),
    )
    .where(
      and(
        eq(workflows.orgId, orgId),
        eq(workflows.status, 'active'),
        inArray(workflows.triggerType, eventTriggerTypes()),
      ),
    );
  const list = rows.map((r) => ({ ...r, definition: r.definition as Definition }));
  if (cache.size > 10_000) cache.clear();
  if ((generations.get(orgId) ?? 0) === generation) cache.set(orgId, { at: Date.now(), list });
  return list;
}

const eventTriggerTypes = () =>
  [
    'record_created',
    'record_updated',
    'tag_added',
    'tag_removed',
    'stage_changed',
    'opportunity_won',
    'opportunity_lost',
    'task_overdue',
    'form_submitted',
    'message_received',
  ].filter((t) => (triggerKind(t)?.events.length ?? 0) > 0);

/** Whether an event after `event` changed the tags of its record. */
async function tagsChangedSince(scope: TenantScope, event: EventEnvelope): Promise<boolean> {
  const { rows } = await scope.conn.query(
    `select 1 from events
      where org_id = $1 and subject_object = $2 and subject_id = $3 and occurred_at > $4
        and data->'changes' ? 'tags' limit 1`,
    [scope.ctx.orgId, event.subject.object, event.subject.id, event.occurred_at],
  );
  return rows.length > 0;
}

/** The run that did the work an event records (its trace id), if a run did. */
const causingRun = (e: EventEnvelope) =>
  e.trace_id?.startsWith('workflow-run:') ? e.trace_id.slice('workflow-run:'.length) : undefined;

/**
 * The workflows consumer (DESIGN invariant 6: driven by the dispatcher, idempotent by event id):
 * for each event, the active workflows whose trigger it fires, whose conditions the record
 * matches and whose re-enrollment and rate rules allow it, start a run on the record, in the
 * consumer's transaction (so a run starts once per event). Loop guard: an event a workflow's
 * own run caused never starts that workflow again, and a chain of runs starting runs stops at
 * `MAX_DEPTH`.
 */
export function workflowConsumer(services: Services): EventConsumer {
  const patterns = triggerEventPatterns();
  const types = eventCatalogue()
    .map(([type]) => type)
    .filter((type) => !type.startsWith('workflow.'))
    .filter((type) => patterns.some((p) => (p.startsWith('*.') ? type.endsWith(p.slice(1)) : p === type)));
  return {
    name: 'workflows',
    types,
    activeIn: async (scope) => (await activeWorkflows(scope)).length > 0,
    handle: async (batch, scope) => {
      const active = await activeWorkflows(scope);
      if (active.length === 0) return;
      // The batch's events are dispatched with the runs' own events as one job, at the end.
      const owned = !scope.deferredDispatch;
      if (owned) scope.deferredDispatch = [];
      const depths = await parentDepths(scope, batch);
      for (const workflow of active) {
        const trigger = workflow.definition.trigger;
        const kind = triggerKind(trigger.type);
        if (!kind) continue;
        const candidates: Candidate[] = [];
        for (const event of batch) {
          if (!kind.matches(event, trigger, workflow.object)) continue;
          // Loop guard: a workflow's own effects never retrigger it.
          if (event.actor.type === 'workflow' && event.actor.id === workflow.id) continue;
          const parent = causingRun(event);
          const depth = parent ? (depths.get(parent) ?? 0) + 1 : 0;
          if (depth > MAX_DEPTH) continue;
          const recordId = kind.recordOf ? kind.recordOf(event, trigger, workflow.object) : event.subject.id;
          if (!recordId) continue;
          const requiredTag = kind.requiresTag?.(event, trigger);
          // A record created with the tag got it then, unless its tags changed since (that change's
          // own event is the one that counts).
          if (requiredTag && (await tagsChangedSince(scope, event))) continue;
          candidates.push({ recordId, trigger: { type: trigger.type, event }, depth, requiredTag });
        }
        if (candidates.length === 0) continue;
        const def = await cachedObjectDef(scope.tx, scope.ctx.orgId, workflow.object);
        await enrollMany(scope, services, workflow, def, candidates);
      }
      if (owned) {
        await flushDispatch(scope, services.jobs);
        delete scope.deferredDispatch;
      }
    },
  };
}

/** The depth of each run that caused an event of the batch (one query). */
async function parentDepths(scope: TenantScope, batch: EventEnvelope[]): Promise<Map<string, number>> {
  const parents = [...new Set(batch.map(causingRun).filter((p): p is string => Boolean(p)))];
  if (parents.length === 0) return new Map();
  const { rows } = await scope.conn.query<{ id: string; depth: number }>(
    'select id::text as id, depth from workflow_runs where org_id = $1 and id = any($2::uuid[])',
    [scope.ctx.orgId, parents],
  );
  return new Map(rows.map((r) => [r.id, r.depth]));
}
