import { and, asc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { type AuditSource, appendAudit } from '../../platform/audit/audit.js';
import { AppError, notFound } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { RECORDS_TABLE } from '../../platform/registry/custom-objects.js';
import { customObjectDefs } from '../../platform/registry/registry.service.js';
import { STANDARD_OBJECTS } from '../../platform/registry/standard-objects.js';
import { setCompaniesArchived } from '../companies/company.service.js';
import { setContactsArchived } from '../contacts/contact.service.js';
import { setOpportunitiesArchived } from '../opportunities/opportunity.service.js';
import { setRecordsArchived } from '../records/record-engine.service.js';
import { eraseContact } from './gdpr-erase.service.js';
import { retentionRules } from './retention.schema.js';

/** The retention job's queue: one job per organization that has rules, once a day. */
export const RETENTION_QUEUE = 'gdpr.retention';
const DAY_S = 86_400;
/** Records one run archives or erases per rule (the next run takes the rest). */
const RUN_LIMIT = 500;

export const RetentionRuleInput = z
  .strictObject({
    action: z.enum(['archive', 'erase']).describe('`erase` (contacts only) runs the GDPR erasure'),
    after_months: z.number().int().min(1).max(600).describe('Months since the record last changed'),
  })
  .meta({ id: 'RetentionRuleSettings' });

export const RetentionRule = z
  .object({
    object: z.string(),
    action: z.enum(['archive', 'erase']),
    after_months: z.number().int(),
    last_run_at: z.string().nullable(),
    updated_at: z.string(),
  })
  .meta({ id: 'RetentionRule' });
type RuleRow = typeof retentionRules.$inferSelect;
const ruleView = (r: RuleRow): z.infer<typeof RetentionRule> => ({
  object: r.object,
  action: r.action,
  after_months: r.afterMonths,
  last_run_at: r.lastRunAt ? new Date(r.lastRunAt).toISOString() : null,
  updated_at: new Date(r.updatedAt).toISOString(),
});

/** The table and (custom objects) object id of an object that has records. @throws 404 */
async function recordTableOf(scope: TenantScope, object: string) {
  const standard = STANDARD_OBJECTS[object];
  if (standard && !standard.activity) return { table: standard.table, objectId: null };
  if (!standard) {
    const [def] = await customObjectDefs(scope.tx, scope.ctx.orgId, [object]);
    if (def?.custom) return { table: RECORDS_TABLE, objectId: def.custom.id };
  }
  throw notFound('Object', object);
}

export async function listRules(services: Services, ctx: TenantContext) {
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      const rows = await scope.tx
        .select()
        .from(retentionRules)
        .where(eq(retentionRules.orgId, ctx.orgId))
        .orderBy(asc(retentionRules.object));
      return { data: rows.map(ruleView) };
    },
    { readOnly: true },
  );
}

/**
 * Sets an object's retention rule (`retention_rule.set`) and arms the organization's daily job.
 * @throws 404 for an object without records of its own, 422 `erase_not_supported` for `erase`
 *   on another object than contacts (the erasure is defined for people)
 */
export async function setRule(
  services: Services,
  ctx: TenantContext,
  object: string,
  input: z.infer<typeof RetentionRuleInput>,
) {
  return withTenant(services.database, ctx, async (scope) => {
    await recordTableOf(scope, object);
    if (input.action === 'erase' && object !== 'contact')
      throw new AppError(422, 'erase_not_supported', 'Only contacts can be erased; archive the others', {
        path: 'body.action',
      });
    const now = new Date().toISOString();
    const [row] = await scope.tx
      .insert(retentionRules)
      .values({
        orgId: ctx.orgId,
        object,
        action: input.action,
        afterMonths: input.after_months,
        createdBy: ctx.actor.type === 'user' ? ctx.actor.id : null,
      })
      .onConflictDoUpdate({
        target: [retentionRules.orgId, retentionRules.object],
        set: { action: input.action, afterMonths: input.after_months, updatedAt: now },
      })
      .returning();
    await emitEvent(scope, services.jobs, {
      type: 'retention_rule.set',
      subject: { object: 'retention_rule', id: object },
      data: { object, action: input.action, after_months: input.after_months },
    });
    await scheduleRetention(scope, services, 60);
    return ruleView(row!);
  });
}

/** Removes an object's retention rule (`retention_rule.removed`). @throws 404 when it has none */
export async function removeRule(services: Services, ctx: TenantContext, object: string) {
  await withTenant(services.database, ctx, async (scope) => {
    const [row] = await scope.tx
      .delete(retentionRules)
      .where(and(eq(retentionRules.orgId, ctx.orgId), eq(retentionRules.object, object)))
      .returning();
    if (!row) throw notFound('Retention rule', object);
    await emitEvent(scope, services.jobs, {
      type: 'retention_rule.removed',
      subject: { object: 'retention_rule', id: object },
      data: { object },
    });
  });
}

type RetentionJob = { org_id: string; not_before: number };

/** Arms the organization's retention job `inSeconds` from now (one queued at a time). */
async function scheduleRetention(scope: TenantScope, services: Services, inSeconds: number) {
  const job: RetentionJob = { org_id: scope.ctx.orgId, not_before: Date.now() + inSeconds * 1000 };
  await services.jobs.send(scope.conn, RETENTION_QUEUE, job, {
    startAfter: inSeconds,
    singletonKey: `retention:${scope.ctx.orgId}`,
  });
}

export const RetentionRun = z
  .object({
    rules: z.array(
      z.object({ object: z.string(), action: z.enum(['archive', 'erase']), records: z.number() }),
    ),
  })
  .meta({ id: 'RetentionRun' });

/**
 * Applies every retention rule of the organization once: each rule's records that nobody changed
 * for its months (`updated_at`) are archived (those not archived yet) or erased (contacts, with
 * the GDPR erasure), at most 500 per rule a run; an audit entry `retention.applied` says how many.
 */
export async function runRetention(
  services: Services,
  ctx: TenantContext,
  source: AuditSource = { actor: ctx.actor, traceId: ctx.traceId ?? null },
): Promise<z.infer<typeof RetentionRun>> {
  const { data: rules } = await listRules(services, ctx);
  const done: z.infer<typeof RetentionRun>['rules'] = [];
  for (const rule of rules) {
    const ids = await withTenant(services.database, ctx, async (scope) => {
      const { table, objectId } = await recordTableOf(scope, rule.object);
      const { rows } = await scope.conn.query<{ id: string }>(
        `select id from ${table}
          where org_id = $1 and updated_at < now() - make_interval(months => $2)
            ${rule.action === 'archive' ? 'and archived_at is null' : ''}
            ${objectId ? 'and object_id = $4' : ''}
          order by updated_at limit $3`,
        objectId
          ? [ctx.orgId, rule.after_months, RUN_LIMIT, objectId]
          : [ctx.orgId, rule.after_months, RUN_LIMIT],
      );
      return rows.map((r) => r.id);
    });
    if (rule.action === 'erase') {
      for (const id of ids) await eraseContact(services, ctx, id, source);
    } else if (ids.length) {
      await withTenant(services.database, ctx, (scope) => archive(scope, services, rule.object, ids));
    }
    await withTenant(services.database, ctx, async (scope) => {
      await scope.tx
        .update(retentionRules)
        .set({ lastRunAt: new Date().toISOString() })
        .where(and(eq(retentionRules.orgId, ctx.orgId), eq(retentionRules.object, rule.object)));
      await appendAudit(scope, source, {
        action: 'retention.applied',
        target: { type: 'object', id: rule.object },
        details: { action: rule.action, after_months: rule.after_months, records: ids.length },
      });
    });
    done.push({ object: rule.object, action: rule.action, records: ids.length });
  }
  return { rules: done };
}

async function archive(
  scope: TenantScope,
  services: Services,
  object: string,
  ids: string[],
): Promise<unknown> {
  switch (object) {
    case 'contact':
      return setContactsArchived(scope, services, ids, true);
    case 'company':
      return setCompaniesArchived(scope, services, ids, true);
    case 'opportunity':
      return setOpportunitiesArchived(scope, services, ids, true);
    default:
      return setRecordsArchived(scope, services, object, ids, true);
  }
}

/**
 * The retention job: applies the organization's rules as the system, then arms the next run a day
 * later while it has rules. A job run before its time (a test's queue drain) does nothing.
 */
export function defineRetentionJobs(services: Services): void {
  services.jobs.define<RetentionJob>(
    { name: RETENTION_QUEUE, retryLimit: 3, policy: 'stately', expireInSeconds: 3600 },
    async ({ data }) => {
      if (Date.now() < data.not_before - 5_000) return;
      const ctx: TenantContext = { orgId: data.org_id, actor: { type: 'system', id: null } };
      const { rules } = await runRetention(services, ctx);
      if (rules.length)
        await withTenant(services.database, ctx, (scope) => scheduleRetention(scope, services, DAY_S));
    },
  );
}
