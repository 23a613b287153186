import { and, eq, sql } from 'drizzle-orm';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError, notFound } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { objectDef } from '../../platform/registry/registry.service.js';
import type { ObjectDef } from '../../platform/registry/registry.types.js';
import { forgetActiveWorkflows } from './workflow.consumer.js';
import type { Definition } from './workflow.definition.js';
import type { WorkflowCreateInput, WorkflowUpdateInput, WorkflowView } from './workflow.dto.js';
import { workflows, workflowVersions } from './workflow.schema.js';
import { scheduleNextFireIn } from './workflow-schedule.service.js';
import { inboundToken, workflowSigningSecret } from './workflow-secrets.js';
import { urlCheck, validateDefinition } from './workflow-validation.js';

type Row = typeof workflows.$inferSelect;
type VersionRow = typeof workflowVersions.$inferSelect;

const view = (r: Row, v: VersionRow): WorkflowView => ({
  id: r.id,
  name: r.name,
  object: r.object,
  status: r.status as WorkflowView['status'],
  version: r.version,
  lock_version: r.lockVersion,
  definition: v.definition as Record<string, unknown>,
  version_active: v.activatedAt !== null,
  next_fire_at: r.nextFireAt,
  created_at: r.createdAt,
  updated_at: r.updatedAt,
});

/** The object a workflow runs on, for the author: a registry object with records (not a task's note). */
async function objectOf(scope: TenantScope, key: string, path: string): Promise<ObjectDef> {
  const def = await objectDef(scope.tx, scope.ctx.orgId, key).catch((error) => {
    if (error instanceof AppError && error.status === 404)
      throw new AppError(422, 'unknown_object', `No object has the key "${key}"`, { path });
    throw error;
  });
  if (def.key === 'note')
    throw new AppError(422, 'unknown_object', 'Workflows do not run on notes', { path });
  return def;
}

/** A workflow and its latest version, locked for a change when `lock`. @throws 404 */
export async function loadWorkflow(scope: TenantScope, id: string, lock = false) {
  const query = scope.tx
    .select()
    .from(workflows)
    .where(
      and(eq(workflows.orgId, scope.ctx.orgId), eq(workflows.id, id), sql`${workflows.status} <> 'archived'`),
    );
  const [row] = lock ? await query.for('update') : await query;
  if (!row) throw notFound('Workflow', id);
  const [version] = await scope.tx
    .select()
    .from(workflowVersions)
    .where(
      and(
        eq(workflowVersions.orgId, scope.ctx.orgId),
        eq(workflowVersions.workflowId, id),
        eq(workflowVersions.version, row.version),
      ),
    );
  return { row, version: version! };
}

/** JSON text with object keys sorted, so two values compare by content (jsonb reorders keys). */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : v,
  );
const sameJson = (a: unknown, b: unknown) => canonical(a) === canonical(b);

const authorCtx = (ctx: TenantContext) => (ctx.actor.type === 'user' ? ctx.actor.id : null);

/**
 * Creates a workflow as a draft (version 1). The definition is checked against the registry
 * (`validateDefinition`). @throws 422 `unknown_object`, 422 `invalid_workflow` and friends, 400 `invalid_query`
 */
export async function createWorkflow(services: Services, ctx: TenantContext, input: WorkflowCreateInput) {
  return withTenant(services.database, ctx, async (scope) => {
    const def = await objectOf(scope, input.object, 'body.object');
    await validateDefinition(scope, def, input.definition, {
      activating: false,
      checkUrl: urlCheck(services),
    });
    const [row] = await scope.tx
      .insert(workflows)
      .values({
        orgId: ctx.orgId,
        name: input.name,
        object: def.key,
        triggerType: input.definition.trigger.type,
        createdBy: authorCtx(ctx),
      })
      .returning();
    const [version] = await scope.tx
      .insert(workflowVersions)
      .values({
        orgId: ctx.orgId,
        workflowId: row!.id,
        version: 1,
        definition: input.definition,
        createdBy: authorCtx(ctx),
      })
      .returning();
    await emitEvent(scope, services.jobs, {
      type: 'workflow.created',
      subject: { object: 'workflow', id: row!.id },
      data: { name: row!.name, version: 1 },
    });
    return view(row!, version!);
  });
}

/** The organization's workflows (not archived) with their run counts, newest first. */
export async function listWorkflows(services: Services, ctx: TenantContext, status?: string) {
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      const { rows } = await scope.conn.query<{
        id: string;
        name: string;
        object: string;
        status: string;
        version: number;
        lock_version: number;
        trigger_type: string;
        next_fire_at: string | Date | null;
        created_at: string | Date;
        updated_at: string | Date;
        version_active: boolean;
        open: number;
        failed: number;
        total: number;
      }>(
        `select w.id, w.name, w.object, w.status, w.version, w.lock_version, w.trigger_type, w.next_fire_at,
                w.created_at, w.updated_at, v.activated_at is not null as version_active,
                (select count(*) filter (where r.status in ('running', 'waiting'))::int from workflow_runs r
                  where r.org_id = w.org_id and r.workflow_id = w.id) as open,
                (select count(*) filter (where r.status = 'failed')::int from workflow_runs r
                  where r.org_id = w.org_id and r.workflow_id = w.id) as failed,
                (select count(*)::int from workflow_runs r where r.org_id = w.org_id and r.workflow_id = w.id) as total
           from workflows w
           join workflow_versions v on v.org_id = w.org_id and v.workflow_id = w.id and v.version = w.version
          where w.org_id = $1 and w.status <> 'archived' and ($2::text is null or w.status = $2)
          order by w.id desc limit 500`,
        [ctx.orgId, status ?? null],
      );
      const iso = (v: string | Date | null) => (v === null ? null : new Date(v).toISOString());
      return {
        data: rows.map((r) => ({
          id: r.id,
          name: r.name,
          object: r.object,
          status: r.status as WorkflowView['status'],
          version: r.version,
          lock_version: r.lock_version,
          trigger_type: r.trigger_type,
          version_active: r.version_active,
          next_fire_at: iso(r.next_fire_at),
          created_at: iso(r.created_at)!,
          updated_at: iso(r.updated_at)!,
          runs: { open: r.open, failed: r.failed, total: r.total },
        })),
      };
    },
    { readOnly: true },
  );
}

/** A workflow with its latest version's definition. @throws 404 (another tenant's id too) */
export async function getWorkflow(services: Services, ctx: TenantContext, id: string) {
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      const { row, version } = await loadWorkflow(scope, id);
      return view(row, version);
    },
    { readOnly: true },
  );
}

/**
 * A workflow's secrets, for admins: the signing secret of its webhook calls and, for an
 * `inbound_webhook` trigger, the URL that starts it (both derived, `workflow-secrets.ts`).
 * @throws 404 (another tenant's id too)
 */
export async function getWorkflowSecrets(services: Services, ctx: TenantContext, id: string) {
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      const { row, version } = await loadWorkflow(scope, id);
      const trigger = (version.definition as Definition).trigger;
      const { secret, baseUrl } = services.config;
      return {
        signing_secret: workflowSigningSecret(secret, ctx.orgId, row.id),
        inbound_url:
          trigger.type === 'inbound_webhook'
            ? `${baseUrl.replace(/\/$/, '')}/api/v1/public/workflows/${ctx.orgId}/${row.id}/inbound/${inboundToken(secret, ctx.orgId, row.id)}`
            : null,
      };
    },
    { readOnly: true },
  );
}

/** @throws 409 `stale_version` when `lockVersion` is not the workflow's current one */
function assertFresh(row: Row, lockVersion: number | undefined) {
  if (lockVersion !== undefined && lockVersion !== row.lockVersion)
    throw new AppError(
      409,
      'stale_version',
      `Someone saved this workflow since you opened it (version ${row.lockVersion}, yours ${lockVersion}); reload and edit again`,
      { path: 'body.lock_version' },
    );
}

/**
 * Saves a workflow's name and/or definition. Optimistic: `lock_version` must be the current one
 * (two admins saving at once: the second gets 409 `stale_version`). A definition change of a
 * version that was ever activated makes a new version (runs keep theirs); a draft version is
 * changed in place. An active workflow's new version is checked as for activation and takes
 * effect at once. @throws 404, 409, 422, 400 as `createWorkflow`
 */
export async function updateWorkflow(
  services: Services,
  ctx: TenantContext,
  id: string,
  input: WorkflowUpdateInput,
) {
  const result = await withTenant(services.database, ctx, async (scope) => {
    const { row, version } = await loadWorkflow(scope, id, true);
    assertFresh(row, input.lock_version);
    let current = version;
    if (input.definition && !sameJson(input.definition, version.definition)) {
      const def = await objectOf(scope, row.object, 'body.object');
      await validateDefinition(scope, def, input.definition, {
        activating: row.status === 'active',
        checkUrl: urlCheck(services),
      });
      if (version.activatedAt) {
        current = (
          await scope.tx
            .insert(workflowVersions)
            .values({
              orgId: ctx.orgId,
              workflowId: id,
              version: row.version + 1,
              definition: input.definition,
              createdBy: authorCtx(ctx),
              activatedAt: row.status === 'active' ? sql`now()` : null,
            })
            .returning()
        )[0]!;
      } else {
        current = (
          await scope.tx
            .update(workflowVersions)
            .set({ definition: input.definition })
            .where(
              and(
                eq(workflowVersions.orgId, ctx.orgId),
                eq(workflowVersions.workflowId, id),
                eq(workflowVersions.version, row.version),
              ),
            )
            .returning()
        )[0]!;
      }
    }
    const [updated] = await scope.tx
      .update(workflows)
      .set({
        ...(input.name ? { name: input.name } : {}),
        version: current!.version,
        lockVersion: row.lockVersion + 1,
        triggerType: (current!.definition as Definition).trigger.type,
        updatedAt: sql`now()`,
      })
      .where(and(eq(workflows.orgId, ctx.orgId), eq(workflows.id, id)))
      .returning();
    if (updated!.status === 'active')
      await scheduleNextFireIn(scope, services, updated!, current!.definition as Definition);
    await emitEvent(scope, services.jobs, {
      type: 'workflow.updated',
      subject: { object: 'workflow', id },
      data: { name: updated!.name, version: updated!.version },
    });
    forgetActiveWorkflows(ctx.orgId);
    return view(updated!, current!);
  });
  // Committed now: a dispatch that read the old state meanwhile must not keep it.
  forgetActiveWorkflows(ctx.orgId);
  return result;
}

/**
 * Activates (from draft or paused) or pauses a workflow. Activation checks the latest version as
 * complete (a first step, every step connected) and marks it activated: later edits make a new
 * version. @throws 404, 409 `stale_version`, 422 as `validateDefinition`
 */
export async function setWorkflowStatus(
  services: Services,
  ctx: TenantContext,
  id: string,
  status: 'active' | 'paused',
  lockVersion?: number,
) {
  const result = await withTenant(services.database, ctx, async (scope) => {
    const { row, version } = await loadWorkflow(scope, id, true);
    assertFresh(row, lockVersion);
    const definition = version.definition as Definition;
    let current = version;
    if (status === 'active') {
      await validateDefinition(scope, await objectOf(scope, row.object, 'body.object'), definition, {
        activating: true,
        checkUrl: urlCheck(services),
      });
      if (!version.activatedAt)
        current = (
          await scope.tx
            .update(workflowVersions)
            .set({ activatedAt: sql`now()` })
            .where(
              and(
                eq(workflowVersions.orgId, ctx.orgId),
                eq(workflowVersions.workflowId, id),
                eq(workflowVersions.version, row.version),
              ),
            )
            .returning()
        )[0]!;
    }
    const [updated] = await scope.tx
      .update(workflows)
      .set({ status, lockVersion: row.lockVersion + 1, updatedAt: sql`now()`, nextFireAt: null })
      .where(and(eq(workflows.orgId, ctx.orgId), eq(workflows.id, id)))
      .returning();
    let result = updated!;
    if (status === 'active') result = await scheduleNextFireIn(scope, services, updated!, definition);
    if (row.status !== status)
      await emitEvent(scope, services.jobs, {
        type: status === 'active' ? 'workflow.activated' : 'workflow.paused',
        subject: { object: 'workflow', id },
        data: { name: row.name, version: row.version },
      });
    forgetActiveWorkflows(ctx.orgId);
    return view(result, current!);
  });
  // Committed now: a dispatch that read the old state meanwhile must not keep it.
  forgetActiveWorkflows(ctx.orgId);
  return result;
}
