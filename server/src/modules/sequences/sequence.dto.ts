import { z } from 'zod';
import { FilterNode } from '../../platform/query/query.schema.js';
import { isZone } from '../../platform/time/sending-window.js';

/** The request and response shapes of sequences (issue 25). */

const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM, 00:00 to 23:59');
const Template = z.string().max(20_000);

export const SendingWindow = z.strictObject({
  days: z.array(z.number().int().min(1).max(7)).max(7).describe('ISO weekdays: 1 Monday .. 7 Sunday'),
  start: HHMM,
  end: HHMM,
});

export const SequenceSettings = z.strictObject({
  time_zone: z
    .string()
    .max(64)
    .refine(isZone, 'Not an IANA time zone')
    .optional()
    .describe("The zone of a contact without one (custom field time_zone); default: the organization's"),
  window: SendingWindow.optional(),
  holidays: z.array(z.iso.date()).max(366).optional(),
  daily_limit: z.number().int().min(0).max(100_000).optional().describe('Per mailbox per day; 0: none'),
  hourly_limit: z.number().int().min(0).max(100_000).optional().describe('Per mailbox per hour; 0: none'),
  allow_multiple: z.boolean().optional().describe('A contact may be active in other sequences at once'),
  require_consent: z.boolean().optional().describe('Send only with a granted consent for the channel'),
  stop_on_company_reply: z.boolean().optional().describe('A reply from anyone at the company ends it'),
});

export const StepType = z.enum(['EMAIL', 'SMS', 'CALL', 'LINKEDIN', 'TASK', 'WAIT']);

const stepFields = {
  type: StepType,
  subject: z.string().max(998).optional(),
  body: Template.optional(),
  template_id: z
    .uuid()
    .optional()
    .describe(
      "EMAIL, SMS: one of the organization's message templates, its subject and body (variant A) read when the step runs; the step's own subject and body are used if it is deleted",
    ),
  variants: z
    .array(z.strictObject({ subject: z.string().min(1).max(998), body: Template.min(1) }))
    .max(4)
    .optional()
    .describe('EMAIL: variants B, C... beside the step’s own subject and body (A)'),
  manual: z.boolean().optional().describe('EMAIL: a task to review and send instead of a send'),
  days: z.number().int().min(0).max(365).optional().describe('WAIT: how long'),
  business_days: z.boolean().optional(),
  action: z.enum(['connect', 'message', 'view']).optional().describe('LINKEDIN'),
  script: Template.optional().describe('CALL: what to say'),
};

function checkStep(
  s: {
    type: string;
    subject?: string | undefined;
    body?: string | undefined;
    days?: number | undefined;
    variants?: unknown[] | undefined;
    template_id?: string | undefined;
  },
  ctx: z.RefinementCtx,
) {
  const need = (key: 'subject' | 'body' | 'days', why: string) => {
    if (s[key] === undefined || s[key] === '') ctx.addIssue({ code: 'custom', path: [key], message: why });
  };
  // A template gives the text (its subject checked where the template is read).
  if (s.type === 'EMAIL' && !s.template_id) {
    need('subject', 'An e-mail step needs a subject');
    need('body', 'An e-mail step needs a body');
  }
  if (s.type === 'SMS' && !s.template_id) need('body', 'An SMS step needs a body');
  if (s.template_id && s.type !== 'EMAIL' && s.type !== 'SMS')
    ctx.addIssue({
      code: 'custom',
      path: ['template_id'],
      message: 'Only e-mail and SMS steps use a template',
    });
  if (s.type === 'WAIT') need('days', 'A wait needs its days');
  if (s.variants?.length && s.type !== 'EMAIL')
    ctx.addIssue({ code: 'custom', path: ['variants'], message: 'Only e-mail steps have variants' });
}

/** A step of a new sequence. */
export const NewStep = z.strictObject(stepFields).superRefine(checkStep);
/** A step as the builder saves it: with its id when it is kept. */
export const StepInput = z
  .strictObject({
    id: z.uuid().optional().describe('An existing step to keep (its analytics stay with it)'),
    ...stepFields,
  })
  .superRefine(checkStep);

export const SequenceCreate = z.strictObject({
  name: z.string().trim().min(1).max(200),
  channel_id: z.uuid().nullable().optional().describe('The mailbox e-mails go from'),
  sms_channel_id: z.uuid().nullable().optional().describe('The number texts go from'),
  settings: SequenceSettings.optional(),
  steps: z.array(NewStep).max(50).optional(),
});

export const SequenceUpdate = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  status: z.enum(['active', 'paused']).optional(),
  channel_id: z.uuid().nullable().optional(),
  sms_channel_id: z.uuid().nullable().optional(),
  settings: SequenceSettings.optional(),
});

export const StepsReplace = z.strictObject({ steps: z.array(StepInput).max(50) });

export const Step = z.object({
  id: z.uuid(),
  position: z.number(),
  type: StepType,
  subject: z.string().optional(),
  body: z.string().optional(),
  template_id: z.uuid().optional().describe('The message template its text comes from'),
  variants: z.array(z.object({ subject: z.string(), body: z.string() })).optional(),
  manual: z.boolean().optional(),
  days: z.number().optional(),
  business_days: z.boolean().optional(),
  action: z.string().optional(),
  script: z.string().optional(),
});

export const Sequence = z.object({
  id: z.uuid(),
  name: z.string(),
  status: z.string(),
  channel_id: z.uuid().nullable(),
  sms_channel_id: z.uuid().nullable(),
  settings: z.object({
    time_zone: z.string().optional(),
    window: z.object({ days: z.array(z.number()), start: z.string(), end: z.string() }),
    holidays: z.array(z.string()).optional(),
    daily_limit: z.number(),
    hourly_limit: z.number(),
    allow_multiple: z.boolean(),
    require_consent: z.boolean(),
    stop_on_company_reply: z.boolean(),
  }),
  steps: z.array(Step),
  counts: z.object({ active: z.number(), paused: z.number(), finished: z.number(), exited: z.number() }),
  created_at: z.string(),
  updated_at: z.string(),
});

export const SequenceList = z.object({ data: z.array(Sequence) });

export const EnrollInput = z
  .strictObject({
    contact_ids: z.array(z.uuid()).min(1).max(1000).optional(),
    filter: FilterNode.optional().describe('The query language: every active contact it matches'),
    preview: z.boolean().optional().describe('Count what would be enrolled; enroll nobody'),
    start_at: z.iso.datetime({ offset: true }).optional().describe('Start then (default now)'),
    owner_id: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe("Whose tasks manual steps become (default the contact's owner)"),
    limit: z.number().int().min(1).max(10_000).optional().describe('At most this many (10,000)'),
    channel_id: z
      .uuid()
      .optional()
      .describe("The organization's mailbox its e-mail steps are sent from (default the sequence's)"),
  })
  .refine((v) => (v.contact_ids ? 1 : 0) + (v.filter ? 1 : 0) === 1, {
    message: 'Give contact_ids or filter (one of them)',
    path: ['contact_ids'],
  });

export const EnrollResult = z.object({
  matched: z.number().describe('Contacts that match'),
  enrolled: z.number(),
  skipped: z.number().describe('Already in this (or, unless allowed, another) sequence, or past the limit'),
  capped: z.boolean(),
});

export const Enrollment = z.object({
  id: z.uuid(),
  sequence_id: z.uuid(),
  contact: z.object({ id: z.uuid(), name: z.string().nullable(), email: z.string().nullable() }),
  owner_id: z.string().nullable(),
  channel_id: z.uuid().nullable().describe("The mailbox sending its e-mail steps when not the sequence's"),
  status: z.string(),
  exit_reason: z.string().nullable(),
  step_index: z.number(),
  next_run_at: z.string().nullable(),
  time_zone: z.string(),
  variant: z.number(),
  enrolled_at: z.string(),
  ended_at: z.string().nullable(),
});

export const EnrollmentListQuery = z.strictObject({
  status: z.enum(['active', 'paused', 'finished', 'exited']).optional(),
  cursor: z.string().max(100).optional().describe("The previous page's next_cursor"),
  limit: z.coerce.number().int().min(1).max(200).optional(),
});

export const EnrollmentPage = z.object({ data: z.array(Enrollment), next_cursor: z.string().nullable() });

const Counts = {
  sent: z.number(),
  delivered: z
    .number()
    .describe("Messages the provider reported delivered (provider-mode channels' event webhooks)"),
  replied: z.number(),
  bounced: z.number(),
  unsubscribed: z.number(),
};

export const Analytics = z.object({
  enrolled: z.number(),
  active: z.number(),
  finished: z.number(),
  exited: z.number(),
  ...Counts,
  tasks: z.number(),
  reply_rate: z.number().describe('replied / contacts sent to, 0..1'),
  exit_reasons: z.record(z.string(), z.number()),
  steps: z.array(
    z.object({
      step_id: z.uuid(),
      position: z.number(),
      type: z.string(),
      ...Counts,
      tasks: z.number(),
      variants: z.array(z.object({ variant: z.string(), ...Counts, reply_rate: z.number() })),
    }),
  ),
});
