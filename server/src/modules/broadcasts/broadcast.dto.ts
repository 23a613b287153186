import { z } from 'zod';
import { FilterNode } from '../../platform/query/query.schema.js';

/** The request and response shapes of broadcasts (issue 33). */

const Template = z.string().max(20_000);

/** The segment: the contacts' list query (its `filter` and free-text `q`); archived contacts never. */
export const Segment = z.strictObject({
  filter: FilterNode.optional().describe('The query language over contacts'),
  q: z.string().max(200).optional().describe('Free text, as the contacts list searches'),
});

const fields = {
  name: z.string().trim().min(1).max(200),
  channel_id: z.uuid().describe('The inbox channel it is sent from: a mailbox for e-mail, a number for SMS'),
  subject: z.string().max(998).nullable().optional().describe('E-mail: required; templates as sequences'),
  body: Template.min(1).describe('Template variables: {{contact.first_name}}, {{sender.name}}, ...'),
  segment: Segment,
  per_minute: z
    .number()
    .int()
    .min(1)
    .max(100_000)
    .nullable()
    .optional()
    .describe('Throttle: messages the channel takes from broadcasts per minute; null: as fast as it sends'),
  require_consent: z
    .boolean()
    .optional()
    .describe('Send only to contacts with a granted consent for the channel'),
};

export const BroadcastCreate = z.strictObject(fields).meta({ id: 'BroadcastCreate' });
export type BroadcastCreate = z.infer<typeof BroadcastCreate>;

export const BroadcastUpdate = z
  .strictObject({
    name: fields.name.optional(),
    channel_id: fields.channel_id.optional(),
    subject: fields.subject,
    body: fields.body.optional(),
    segment: Segment.optional(),
    per_minute: fields.per_minute,
    require_consent: fields.require_consent,
  })
  .describe('The fields to change; `{}` changes nothing and answers the broadcast as it is');
export type BroadcastUpdate = z.infer<typeof BroadcastUpdate>;

export const BroadcastSend = z.strictObject({
  at: z.iso
    .datetime({ offset: true })
    .optional()
    .describe('When to start (ISO 8601, in the future); absent: now'),
});

export const SegmentPreviewInput = z.strictObject({ channel_id: z.uuid().optional(), segment: Segment });

export const SegmentPreview = z
  .object({
    count: z.number().int().describe('Contacts the segment selects (counted up to the limit + 1)'),
    reachable: z
      .number()
      .int()
      .describe('Of them, with an address for the channel (an e-mail or a phone) and not suppressed'),
    limit: z.number().int().describe('The most recipients a broadcast may have (the plan’s limit)'),
    sample: z.array(z.object({ id: z.string(), name: z.string(), address: z.string().nullable() })),
  })
  .meta({ id: 'BroadcastPreview' });
export type SegmentPreview = z.infer<typeof SegmentPreview>;

export const RecipientStatus = z.enum([
  'pending',
  'queued',
  'sent',
  'delivered',
  'failed',
  'bounced',
  'unsubscribed',
  'skipped',
  'cancelled',
]);
export type RecipientStatus = z.infer<typeof RecipientStatus>;

export const Broadcast = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.enum(['email', 'sms']),
    channel_id: z.string(),
    subject: z.string().nullable(),
    body: z.string(),
    segment: Segment,
    status: z.enum(['draft', 'scheduled', 'sending', 'sent', 'cancelled']),
    per_minute: z.number().int().nullable(),
    require_consent: z.boolean(),
    scheduled_at: z.string().nullable(),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
    cancelled_at: z.string().nullable(),
    recipient_count: z.number().int(),
    stats: z.record(z.string(), z.number().int()).describe('Recipients per status'),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'Broadcast' });
export type BroadcastView = z.infer<typeof Broadcast>;

export const BroadcastList = z.object({ data: z.array(Broadcast) }).meta({ id: 'BroadcastList' });

export const RecipientListQuery = z.strictObject({
  status: RecipientStatus.optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
  offset: z.coerce.number().int().min(0).max(10_000_000).optional(),
});

export const Recipient = z
  .object({
    id: z.string(),
    contact_id: z.string(),
    name: z.string().nullable(),
    address: z.string().nullable(),
    status: RecipientStatus,
    detail: z.string().nullable(),
    message_id: z.string().nullable(),
    updated_at: z.string(),
  })
  .meta({ id: 'BroadcastRecipient' });

export const RecipientPage = z
  .object({ data: z.array(Recipient), total: z.number().int() })
  .meta({ id: 'BroadcastRecipientPage' });
