import { eq } from 'drizzle-orm';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { trimDecimal } from '../products/product.service.js';
import { salesSettings } from './quote.schema.js';

type SettingsRow = typeof salesSettings.$inferSelect;

const DEFAULTS = {
  locale: 'en-US',
  currency: 'USD',
  approvalDiscountPercent: null,
  quoteValidityDays: 30,
  defaultTerms: null,
  address: null,
};

/** The organization's sales settings (the defaults until an admin saves them). */
export async function salesSettingsIn(scope: TenantScope): Promise<Omit<SettingsRow, 'orgId' | 'updatedAt'>> {
  const [row] = await scope.tx.select().from(salesSettings).where(eq(salesSettings.orgId, scope.ctx.orgId));
  return row ?? DEFAULTS;
}

/** Whether a quote whose largest line discount is `maxPercent` % needs an approval under `threshold`. */
export const approvalRequired = (maxPercent: string, threshold: string | null): boolean =>
  threshold !== null && Number.parseFloat(maxPercent) > Number.parseFloat(threshold);

const viewOf = (s: Omit<SettingsRow, 'orgId' | 'updatedAt'>) => ({
  locale: s.locale,
  currency: s.currency,
  approval_discount_percent: trimDecimal(s.approvalDiscountPercent),
  quote_validity_days: s.quoteValidityDays,
  default_terms: s.defaultTerms,
  address: s.address,
});

export async function getSalesSettings(services: Services, ctx: TenantContext) {
  return withTenant(services.database, ctx, async (scope) => viewOf(await salesSettingsIn(scope)), {
    readOnly: true,
  });
}

export type SalesSettingsInput = {
  locale?: string | undefined;
  currency?: string | undefined;
  approval_discount_percent?: string | null | undefined;
  quote_validity_days?: number | undefined;
  default_terms?: string | null | undefined;
  address?: string | null | undefined;
};

/** Saves the given settings (absent ones stay); one `sales_settings.updated` event with the changes. */
export async function updateSalesSettings(services: Services, ctx: TenantContext, input: SalesSettingsInput) {
  return withTenant(services.database, ctx, async (scope) => {
    const before = viewOf(await salesSettingsIn(scope));
    const values = {
      ...(input.locale !== undefined ? { locale: input.locale } : {}),
      ...(input.currency !== undefined ? { currency: input.currency } : {}),
      ...(input.approval_discount_percent !== undefined
        ? { approvalDiscountPercent: input.approval_discount_percent }
        : {}),
      ...(input.quote_validity_days !== undefined ? { quoteValidityDays: input.quote_validity_days } : {}),
      ...(input.default_terms !== undefined ? { defaultTerms: input.default_terms } : {}),
      ...(input.address !== undefined ? { address: input.address } : {}),
      updatedAt: new Date().toISOString(),
    };
    const [row] = await scope.tx
      .insert(salesSettings)
      .values({ orgId: ctx.orgId, ...values })
      .onConflictDoUpdate({ target: salesSettings.orgId, set: values })
      .returning();
    const after = viewOf(row!);
    const changes: Record<string, { before: unknown; after: unknown }> = {};
    for (const key of Object.keys(after) as (keyof typeof after)[])
      if (before[key] !== after[key]) changes[key] = { before: before[key], after: after[key] };
    if (Object.keys(changes).length > 0)
      await emitEvent(scope, services.jobs, {
        type: 'sales_settings.updated',
        subject: { object: 'organization', id: ctx.orgId },
        data: { name: null, changes },
      });
    return after;
  });
}
