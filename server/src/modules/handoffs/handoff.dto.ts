import { z } from 'zod';

/** How a queue's waiting hand-offs are given out: by hand, in turn, or to the least loaded. */
export const ASSIGNMENT_RULES = ['manual', 'round_robin', 'least_open'] as const;
export type AssignmentRule = (typeof ASSIGNMENT_RULES)[number];

export const HANDOFF_STATES = ['waiting', 'accepted', 'denied', 'cancelled'] as const;

export const HandoffView = z
  .object({
    id: z.uuid(),
    object: z.string().describe('The custom object’s key'),
    object_label: z.string(),
    record_id: z.uuid(),
    record_name: z.string(),
    number_label: z.string().nullable().describe('`CASE-00042` when the object numbers its records'),
    field: z.string().describe('The status field’s key'),
    status: z.string().describe('The status the role owns'),
    status_label: z.string(),
    from_status: z.string().nullable().describe('The status the record came from'),
    role: z.string().describe('The owning role’s key (the queue)'),
    state: z.enum(HANDOFF_STATES),
    assigned_to: z
      .uuid()
      .nullable()
      .describe('The member the queue’s assignment rule chose; null: anyone of the role'),
    requested_by: z.uuid().nullable(),
    requested_at: z.string(),
    age_seconds: z.number().int().describe('Seconds since the hand-off was requested (until decided)'),
    decided_by: z.uuid().nullable(),
    decided_at: z.string().nullable(),
    reason: z.string().nullable().describe('Why it was denied'),
    returned_to: z.string().nullable().describe('The status a denial returned the record to'),
  })
  .meta({ id: 'Handoff' });
export type HandoffViewOut = z.infer<typeof HandoffView>;

export const QueueView = z
  .object({
    role: z.string(),
    role_label: z.string(),
    assignment: z.enum(ASSIGNMENT_RULES),
    mine: z.boolean().describe('The caller holds the role (or is an admin): may accept and deny'),
    waiting: z.number().int().describe('Hand-offs waiting'),
    waiting_for_me: z.number().int().describe('Waiting hand-offs assigned to the caller'),
    oldest_age_seconds: z.number().int().nullable().describe('Age of the oldest waiting hand-off'),
    statuses: z
      .array(
        z.object({
          object: z.string(),
          object_label: z.string(),
          field: z.string(),
          status: z.string(),
          label: z.string(),
        }),
      )
      .describe('The statuses the role owns'),
  })
  .meta({ id: 'HandoffQueue' });
export type QueueViewOut = z.infer<typeof QueueView>;

export const QueueUpdate = z
  .strictObject({
    assignment: z
      .enum(ASSIGNMENT_RULES)
      .describe(
        'manual: anyone of the role takes it; round_robin: members in turn; least_open: fewest open records',
      ),
  })
  .meta({ id: 'HandoffQueueUpdate' });

export const HandoffDeny = z
  .strictObject({
    reason: z.string().trim().min(1).max(2_000).describe('Why: shown on the timeline and to the sender'),
    return_to: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .optional()
      .describe('The status the record goes back to; the status it came from when absent'),
  })
  .meta({ id: 'HandoffDeny' });

export const QueueItemsQuery = z.strictObject({
  state: z.enum(HANDOFF_STATES).default('waiting'),
  assigned: z.enum(['me', 'anyone']).default('anyone').describe('me: only those assigned to the caller'),
  limit: z.coerce.number().int().min(1).max(200).default(100),
});
