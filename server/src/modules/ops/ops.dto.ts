import { z } from 'zod';

const At = z.string().describe('ISO 8601 time');

export const IntegrationView = z
  .object({
    id: z.uuid().nullable().describe('Null for an integration that has not run yet'),
    kind: z
      .enum(['smtp', 'imap', 'provider', 'twilio', 'webhook', 'caldav', 'stripe', 'ai', 'api_key'])
      .describe(
        'smtp/imap: a mail channel; twilio: an SMS channel; webhook: a subscription; api_key: config only',
      ),
    ref: z
      .string()
      .describe("The channel's, subscription's, member's or key's id ('' for one per organization)"),
    name: z.string(),
    status: z.enum(['healthy', 'failing', 'unknown']).describe('failing: its last call failed'),
    last_success_at: At.nullable(),
    last_error_at: At.nullable(),
    last_error: z.string().nullable(),
    consecutive_failures: z.number().int(),
    config_state: z.enum(['ok', 'missing_credentials', 'expiring_token', 'expired_token', 'disabled']),
    config_detail: z.string().nullable(),
    errors_by_hour: z
      .array(z.object({ hour: At, successes: z.number().int(), errors: z.number().int() }))
      .describe('The last 24 hours, by UTC hour start; hours without a call are left out'),
  })
  .meta({ id: 'OpsIntegration' });
export type IntegrationView = z.infer<typeof IntegrationView>;

export const AlertView = z
  .object({
    id: z.uuid(),
    fingerprint: z
      .string()
      .describe('What makes two failures the same alert (one open alert per fingerprint)'),
    integration_id: z.uuid().nullable(),
    title: z.string(),
    detail: z.string().nullable().describe('The latest failure'),
    status: z.enum(['open', 'acknowledged', 'snoozed', 'resolved']),
    count: z.int().describe('Failures seen while it was not resolved'),
    first_seen_at: At,
    last_seen_at: At,
    acknowledged_by: z.string().nullable(),
    acknowledged_at: At.nullable(),
    snoozed_until: At.nullable(),
    resolved_at: At.nullable(),
    resolved_by: z
      .string()
      .nullable()
      .describe('Null when it resolved itself (the integration worked again)'),
  })
  .meta({ id: 'OpsAlert' });
export type AlertView = z.infer<typeof AlertView>;

export const AlertListQuery = z.strictObject({
  status: z.enum(['active', 'resolved', 'all']).default('active'),
});

export const SnoozeBody = z.strictObject({
  until: z.iso
    .datetime({ offset: true })
    .describe('Until when (ISO 8601, in the future, at most 30 days ahead)'),
});

export const JobsView = z
  .object({
    organization: z
      .array(z.object({ queue: z.string(), state: z.string(), count: z.int() }))
      .describe("This organization's jobs per queue and state (created, retry, active, completed, failed)"),
    install: z
      .array(z.object({ queue: z.string(), state: z.string(), count: z.int() }))
      .describe('Every organization together, per queue and state'),
    failed: z.array(
      z.object({
        id: z.string(),
        queue: z.string(),
        failed_at: At.nullable(),
        retries: z.int(),
        error: z.string().nullable(),
      }),
    ),
    webhook_dead_letters: z
      .array(z.object({ subscription_id: z.uuid(), target_url: z.string(), dead: z.int() }))
      .describe(
        'Webhook deliveries whose attempts are used up, per subscription (redrive: POST /webhooks/:id/redrive)',
      ),
  })
  .meta({ id: 'OpsJobs' });

export const UsageQuery = z.strictObject({
  granularity: z.enum(['hour', 'day']).default('day'),
  days: z.coerce.number().int().min(1).max(90).default(7),
});

export const UsageView = z
  .object({
    granularity: z.enum(['hour', 'day']),
    rows: z.array(
      z.object({
        period: At.describe('The UTC hour or day it starts'),
        principal_type: z.enum(['api_key', 'user']),
        principal_id: z.string(),
        name: z.string().describe("The key's name or the member's"),
        requests: z.int(),
        errors: z.int().describe('Answers with status 400 or more'),
      }),
    ),
  })
  .meta({ id: 'OpsApiUsage' });
