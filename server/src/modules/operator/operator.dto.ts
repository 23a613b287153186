import { z } from 'zod';
import type { AuditSource } from '../../platform/audit/audit.js';
import { LIMIT_KEYS } from '../../platform/plans/plan-limits.js';

/** The operator acting, for the audit log of the organization acted on. */
export type OperatorActor = { email: string; source: AuditSource };

const limitValue = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** Limits as a plan sets them: absent = unlimited. `storage_bytes` in bytes, per-day counts per UTC day. */
export const Limits = z
  .strictObject(
    Object.fromEntries(LIMIT_KEYS.map((k) => [k, limitValue.optional()])) as Record<
      (typeof LIMIT_KEYS)[number],
      z.ZodOptional<typeof limitValue>
    >,
  )
  .meta({ id: 'PlanLimits' });

/** An organization's overrides: a number replaces the plan's limit, null is unlimited, absent follows the plan. */
export const Overrides = z
  .strictObject(
    Object.fromEntries(LIMIT_KEYS.map((k) => [k, limitValue.nullable().optional()])) as Record<
      (typeof LIMIT_KEYS)[number],
      z.ZodOptional<z.ZodNullable<typeof limitValue>>
    >,
  )
  .meta({ id: 'PlanOverrides' });

export const PlanInputSchema = z.strictObject({ name: z.string().trim().min(1).max(120), limits: Limits });
export type PlanInput = z.infer<typeof PlanInputSchema>;

export const Plan = z
  .object({
    key: z.string(),
    name: z.string(),
    limits: Limits,
    organizations: z.number().int().describe('Organizations on this plan'),
  })
  .meta({ id: 'Plan' });
export type PlanView = z.infer<typeof Plan>;

export const OrganizationUsage = z
  .object({
    id: z.uuid(),
    name: z.string(),
    slug: z.string(),
    created_at: z.string(),
    plan_key: z.string().nullable(),
    overrides: Overrides,
    limits: Limits.describe('The limits in force: the plan with the overrides applied'),
    suspended: z.boolean(),
    suspended_at: z.string().nullable(),
    suspended_reason: z.string().nullable(),
    usage: z.object({
      members: z.number().int(),
      contacts: z.number().int(),
      records: z.number().int().describe('Contacts, companies and opportunities'),
      storage_bytes: z.number().int().describe('Bytes of stored files'),
      messages_sent: z.number().int().describe('Outbound messages sent, every channel, all time'),
      emails_today: z.number().int().describe('E-mails queued or sent today (UTC)'),
      api_calls_today: z.number().int().describe('Requests made with API keys today (UTC)'),
    }),
  })
  .meta({ id: 'OrganizationUsage' });
export type OrganizationUsageView = z.infer<typeof OrganizationUsage>;
