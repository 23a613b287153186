import { and, eq } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import { type AuditSource, appendAudit } from '../audit/audit.js';
import { badRequest } from '../errors/app-error.js';
import type { Guard } from './guard.js';
import { guardSettings } from './guard.schema.js';
import {
  type Budget,
  DEFAULT_BUDGETS,
  defaultBudgets,
  GUARD_METRICS,
  type GuardMetric,
} from './guard-budgets.js';

export type RoleBudgetsView = {
  role: string;
  budgets: Record<GuardMetric, Budget & { is_default: boolean }>;
};

/**
 * The budgets of every built-in role and of each role the organization set budgets for (a
 * custom role's key), with which values are the defaults.
 */
export async function readGuardSettings(guard: Guard, orgId: string): Promise<RoleBudgetsView[]> {
  guard.forgetSettings(orgId);
  const set = await guard.orgBudgets(orgId);
  const roles = [...new Set([...Object.keys(DEFAULT_BUDGETS), ...Object.keys(set).sort()])];
  return roles.map((role) => {
    const defaults = defaultBudgets(role);
    const own = set[role] ?? {};
    return {
      role,
      budgets: Object.fromEntries(
        GUARD_METRICS.map((m) => [m, { ...(own[m] ?? defaults[m]), is_default: !own[m] }]),
      ) as RoleBudgetsView['budgets'],
    };
  });
}

/**
 * Sets a role's budgets: each metric given takes its warn, block and window; `null` goes back to
 * the default; an absent metric stays as it is. Audited as `guard.settings_changed`.
 * @throws 400 `invalid_budget` when a warn threshold is above its block threshold
 */
export async function writeGuardSettings(
  database: Database,
  guard: Guard,
  ctx: TenantContext,
  source: AuditSource,
  input: { role: string; budgets: Partial<Record<GuardMetric, Budget | null>> },
): Promise<RoleBudgetsView[]> {
  for (const m of GUARD_METRICS) {
    const b = input.budgets[m];
    if (b && b.warn > b.block)
      throw badRequest(
        'A warn threshold cannot be above its block threshold',
        `body.budgets.${m}.warn`,
        'invalid_budget',
      );
  }
  await withTenant(database, ctx, async (scope) => {
    for (const m of GUARD_METRICS) {
      const b = input.budgets[m];
      if (b === undefined) continue;
      const where = and(
        eq(guardSettings.orgId, ctx.orgId),
        eq(guardSettings.role, input.role),
        eq(guardSettings.metric, m),
      );
      if (b === null) await scope.tx.delete(guardSettings).where(where);
      else
        await scope.tx
          .insert(guardSettings)
          .values({
            orgId: ctx.orgId,
            role: input.role,
            metric: m,
            warn: b.warn,
            block: b.block,
            windowSeconds: b.window_seconds,
          })
          .onConflictDoUpdate({
            target: [guardSettings.orgId, guardSettings.role, guardSettings.metric],
            set: { warn: b.warn, block: b.block, windowSeconds: b.window_seconds, updatedAt: new Date() },
          });
    }
    await appendAudit(scope, source, {
      action: 'guard.settings_changed',
      target: { type: 'role', id: input.role },
      details: { budgets: input.budgets },
    });
  });
  return readGuardSettings(guard, ctx.orgId);
}
