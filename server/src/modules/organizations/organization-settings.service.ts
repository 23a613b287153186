import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import { organizations } from '../../platform/auth/auth.schema.js';
import { badRequest, notFound } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { isPhoneRegion } from '../../platform/registry/phone.js';

const Currency = z.string().regex(/^[A-Z]{3}$/, 'An ISO 4217 code such as USD');

export const OrganizationSettings = z
  .object({
    name: z.string(),
    default_currency: z.string().describe('ISO 4217: totals across currencies are shown in it'),
    time_zone: z.string().describe('IANA time zone of the organization'),
    country: z.string().nullable().describe('ISO 3166-1 alpha-2: how phone numbers are shown; null: US'),
    fiscal_year_start_month: z.number().int().describe('1 (January) to 12'),
  })
  .meta({ id: 'OrganizationSettings' });
export type OrganizationSettingsView = z.infer<typeof OrganizationSettings>;

export const OrganizationSettingsUpdate = z
  .strictObject({
    name: z.string().trim().min(1).max(100).optional(),
    default_currency: Currency.optional(),
    time_zone: z.string().max(64).optional().describe('An IANA time zone (e.g. Europe/Paris)'),
    country: z
      .string()
      .regex(/^[A-Z]{2}$/, 'An ISO 3166-1 alpha-2 code such as US')
      .nullable()
      .optional(),
    fiscal_year_start_month: z.number().int().min(1).max(12).optional(),
  })
  .meta({ id: 'OrganizationSettingsUpdate' });
type Update = z.infer<typeof OrganizationSettingsUpdate>;

type Row = typeof organizations.$inferSelect;
const view = (r: Row): OrganizationSettingsView => ({
  name: r.name,
  default_currency: r.defaultCurrency,
  time_zone: r.timeZone,
  country: r.country,
  fiscal_year_start_month: r.fiscalYearStartMonth,
});

async function load(services: Services, orgId: string): Promise<Row> {
  const [row] = await services.database.db.select().from(organizations).where(eq(organizations.id, orgId));
  if (!row) throw notFound('Organization', orgId);
  return row;
}

/** The settings of the caller's organization. */
export async function getOrganizationSettings(services: Services, ctx: TenantContext) {
  return view(await load(services, ctx.orgId));
}

/**
 * Changes the caller's organization's settings (given fields change, absent ones stay) and
 * records `organization.updated` with the fields before and after. Organizations are global
 * (better-auth's table, written by the owner connection); the event goes through the tenant's
 * outbox right after.
 * @throws 400 `invalid_time_zone` at `body.time_zone`, `invalid_country` at `body.country`
 */
export async function updateOrganizationSettings(services: Services, ctx: TenantContext, input: Update) {
  if (input.time_zone !== undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: input.time_zone });
    } catch {
      throw badRequest(
        `${input.time_zone} is not an IANA time zone (e.g. Europe/Paris)`,
        'body.time_zone',
        'invalid_time_zone',
      );
    }
  }
  if (input.country && !isPhoneRegion(input.country))
    throw badRequest(
      `${input.country} is not a country with a dialling plan`,
      'body.country',
      'invalid_country',
    );
  const before = view(await load(services, ctx.orgId));
  const set = {
    ...(input.name !== undefined ? { name: input.name } : {}),
    ...(input.default_currency !== undefined ? { defaultCurrency: input.default_currency } : {}),
    ...(input.time_zone !== undefined ? { timeZone: input.time_zone } : {}),
    ...(input.country !== undefined ? { country: input.country } : {}),
    ...(input.fiscal_year_start_month !== undefined
      ? { fiscalYearStartMonth: input.fiscal_year_start_month }
      : {}),
  };
  // Nothing to change (`{}`): the settings as they are.
  if (Object.keys(set).length === 0) return before;
  const [row] = await services.database.db
    .update(organizations)
    .set(set)
    .where(eq(organizations.id, ctx.orgId))
    .returning();
  const after = view(row!);
  const changes = Object.fromEntries(
    (Object.keys(after) as (keyof OrganizationSettingsView)[])
      .filter((k) => before[k] !== after[k])
      .map((k) => [k, { before: before[k], after: after[k] }]),
  );
  if (Object.keys(changes).length)
    await withTenant(services.database, ctx, (scope) =>
      emitEvent(scope, services.jobs, {
        type: 'organization.updated',
        subject: { object: 'organization', id: ctx.orgId },
        data: { name: after.name, changes },
      }),
    );
  return after;
}
