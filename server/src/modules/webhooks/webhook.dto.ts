import { z } from 'zod';
import { FilterNode } from '../../platform/query/query.schema.js';

const EventTypeName = z
  .string()
  .max(100)
  .regex(/^(\*|[a-z][a-z_]*\.[a-z][a-z_]*)$/, 'an event type such as opportunity.stage_changed, or *')
  .describe('A type of the event catalogue (`GET /api/v1/hooks/triggers`), or `*` for every type');

const TargetUrl = z
  .string()
  .trim()
  .min(1)
  .max(2048)
  .describe(
    'The receiver: an http(s) URL on a public address (loopback, private, link-local and metadata addresses are refused unless the operator allows the host)',
  );

export const WebhookCreate = z
  .strictObject({
    target_url: TargetUrl,
    event_types: z.array(EventTypeName).min(1).max(100),
    filter: FilterNode.nullable()
      .optional()
      .describe(
        "A filter of the query language over the event's subject record: only events whose record matches are delivered",
      ),
    description: z.string().trim().max(500).nullable().optional(),
  })
  .meta({ id: 'WebhookCreate' });
export type WebhookCreateInput = z.infer<typeof WebhookCreate>;

export const WebhookUpdate = z
  .strictObject({
    target_url: TargetUrl.optional(),
    event_types: z.array(EventTypeName).min(1).max(100).optional(),
    filter: FilterNode.nullable().optional(),
    description: z.string().trim().max(500).nullable().optional(),
    status: z
      .enum(['active', 'disabled'])
      .optional()
      .describe('`active` re-enables a subscription that was disabled (by hand or after failing)'),
  })
  .meta({ id: 'WebhookUpdate' });
export type WebhookUpdateInput = z.infer<typeof WebhookUpdate>;

export const Webhook = z
  .object({
    id: z.uuid(),
    target_url: z.string(),
    event_types: z.array(z.string()),
    filter: z.unknown().nullable(),
    description: z.string().nullable(),
    source: z.enum(['settings', 'rest_hook']),
    status: z.enum(['active', 'disabled']),
    disabled_reason: z.string().nullable(),
    failing_since: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'Webhook' });
export type WebhookView = z.infer<typeof Webhook>;

export const WebhookWithSecret = Webhook.extend({
  secret: z
    .string()
    .describe('The signing secret (`whsec_...`), shown this once: verify `webhook-signature` with it'),
}).meta({ id: 'WebhookWithSecret' });

export const DeliveryStatus = z.enum(['pending', 'succeeded', 'dead']);

export const WebhookDelivery = z
  .object({
    id: z.uuid().describe('Also the `webhook-id` header of every attempt'),
    subscription_id: z.uuid(),
    event_id: z.uuid(),
    event_type: z.string(),
    status: DeliveryStatus.describe(
      '`pending` (queued or waiting to retry), `succeeded`, `dead` (retries used up)',
    ),
    attempts: z.number().int(),
    next_attempt_at: z.string().nullable(),
    last_status_code: z.number().int().nullable(),
    last_error: z.string().nullable().describe('`http_500`, `timeout`, `ssrf_loopback`...'),
    last_response_ms: z.number().int().nullable(),
    occurred_at: z.string(),
    delivered_at: z.string().nullable(),
    created_at: z.string(),
  })
  .meta({ id: 'WebhookDelivery' });
export type WebhookDeliveryView = z.infer<typeof WebhookDelivery>;

export const WebhookAttempt = z
  .object({
    attempt: z.number().int(),
    status_code: z.number().int().nullable(),
    error: z.string().nullable(),
    response_ms: z.number().int().nullable(),
    response_excerpt: z.string().nullable().describe("The answer's first 1,000 characters"),
    at: z.string(),
  })
  .meta({ id: 'WebhookAttempt' });

export const DeliveryListQuery = z.strictObject({
  status: DeliveryStatus.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});
export type DeliveryListQueryInput = z.infer<typeof DeliveryListQuery>;

/** The REST-hook subscribe body of Zapier, n8n and Make. */
export const RestHookCreate = z
  .strictObject({
    target_url: TargetUrl,
    event: EventTypeName,
    filter: FilterNode.nullable().optional(),
  })
  .meta({ id: 'RestHookCreate' });

export const Trigger = z
  .object({
    event: z.string(),
    summary: z.string(),
    object: z.string().describe('The object of the subject record'),
    sample: z.record(z.string(), z.unknown()).describe('An example delivery body: the event envelope'),
  })
  .meta({ id: 'Trigger' });
