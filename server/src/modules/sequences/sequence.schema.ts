import { sql } from 'drizzle-orm';
import {
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { auditColumns, idColumn, isoTimestamp as ts } from '../../db/columns.js';
import { organizations } from '../../platform/auth/auth.schema.js';

import type { SendingWindow } from '../../platform/time/sending-window.js';

export type { SendingWindow };

/** A sequence's settings (issue 25). */
export type SequenceSettings = {
  /** The zone a contact without one of its own is read in (default: the organization's). */
  time_zone?: string | undefined;
  window: SendingWindow;
  /** Dates (YYYY-MM-DD) never sent on (holidays). */
  holidays?: string[] | undefined;
  /** Messages one mailbox sends per day (its local day) and per hour at most; 0: no limit. */
  daily_limit: number;
  hourly_limit: number;
  /** A contact may be active in this sequence and another one at once. */
  allow_multiple: boolean;
  /** Send only to contacts whose latest consent for the channel is `granted` (else: not withdrawn). */
  require_consent: boolean;
  /** A reply from anyone at the contact's company ends the enrollment too. */
  stop_on_company_reply: boolean;
};

/**
 * A sequence: ordered steps sent to enrolled contacts, from a mailbox (`channel_id`) and an SMS
 * number (`sms_channel_id`) of the inbox (issue 23).
 */
export const sequences = pgTable(
  'sequences',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    name: text('name').notNull(),
    /** `active` or `paused` (a paused sequence sends nothing). */
    status: text('status').notNull().default('active'),
    channelId: uuid('channel_id'),
    smsChannelId: uuid('sms_channel_id'),
    settings: jsonb('settings').$type<SequenceSettings>().notNull(),
    ...auditColumns(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.id] })],
);

/** A step's content: a template (`{{contact.first_name}}`), A/B variants, a wait, a task. */
export type StepSettings = {
  subject?: string | undefined;
  body?: string | undefined;
  /** EMAIL, SMS: a message template (issue 25) whose subject and body are variant A's when the step runs. */
  template_id?: string | undefined;
  /** EMAIL: more variants (A is the step's own subject and body); one is picked per enrollment. */
  variants?: { subject: string; body: string }[] | undefined;
  /** EMAIL: a task to review and send by hand instead of an automatic send. */
  manual?: boolean | undefined;
  /** WAIT: this many days, counted as business days when `business_days`. */
  days?: number | undefined;
  business_days?: boolean | undefined;
  /** LINKEDIN: connect, message or view. */
  action?: 'connect' | 'message' | 'view' | undefined;
  /** CALL: what to say. */
  script?: string | undefined;
};

export type StepType = 'EMAIL' | 'SMS' | 'CALL' | 'LINKEDIN' | 'TASK' | 'WAIT';

export const sequenceSteps = pgTable(
  'sequence_steps',
  {
    orgId: uuid('org_id').notNull(),
    id: idColumn(),
    sequenceId: uuid('sequence_id').notNull(),
    position: integer('position').notNull(),
    type: text('type').$type<StepType>().notNull(),
    settings: jsonb('settings').$type<StepSettings>().notNull().default(sql`'{}'::jsonb`),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    index('sequence_steps_order_idx').on(t.orgId, t.sequenceId, t.position),
    foreignKey({
      columns: [t.orgId, t.sequenceId],
      foreignColumns: [sequences.orgId, sequences.id],
    }).onDelete('cascade'),
  ],
);

/**
 * A contact in a sequence: `active`, `paused`, `finished` (every step done) or `exited` (with
 * `exit_reason`: replied, bounced, unsubscribed, suppressed, meeting_booked, opportunity_closed,
 * removed, manual). At most one active or paused enrollment per contact per sequence.
 * `step_index` is the next step to run (0-based, in position order), at `next_run_at`.
 */
export const sequenceEnrollments = pgTable(
  'sequence_enrollments',
  {
    orgId: uuid('org_id').notNull(),
    id: idColumn(),
    sequenceId: uuid('sequence_id').notNull(),
    contactId: uuid('contact_id').notNull(),
    /** The member whose tasks the manual steps become. */
    ownerId: text('owner_id'),
    /** The mailbox its e-mail steps are sent from, when not the sequence's (issue 25). */
    channelId: uuid('channel_id'),
    status: text('status').notNull().default('active'),
    exitReason: text('exit_reason'),
    stepIndex: integer('step_index').notNull().default(0),
    nextRunAt: ts('next_run_at'),
    /** The contact's IANA zone the window is read in. */
    timeZone: text('time_zone').notNull(),
    /** The A/B variant (0 = A) of every e-mail step, picked at enrollment. */
    variant: integer('variant').notNull().default(0),
    enrolledBy: text('enrolled_by'),
    enrolledAt: ts('enrolled_at').notNull().defaultNow(),
    endedAt: ts('ended_at'),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex('sequence_enrollments_one_active')
      .on(t.orgId, t.sequenceId, t.contactId)
      .where(sql`status in ('active', 'paused')`),
    index('sequence_enrollments_due_idx').on(t.orgId, t.nextRunAt).where(sql`status = 'active'`),
    index('sequence_enrollments_contact_idx').on(t.orgId, t.contactId),
    /** A sequence's enrollments, newest first (keyset on enrolled_at, id). */
    index('sequence_enrollments_newest_idx').on(t.orgId, t.sequenceId, t.enrolledAt, t.id),
    foreignKey({
      columns: [t.orgId, t.sequenceId],
      foreignColumns: [sequences.orgId, sequences.id],
    }).onDelete('cascade'),
  ],
);

/**
 * One step run for one enrollment: its `idempotency_key` (enrollment:step) is unique, so a step
 * is done at most once however often the tick runs; the message it queued (`message_id`, whose
 * Message-ID derives from the key) or the task it created. `outcome`: replied, bounced,
 * unsubscribed (what ended the enrollment after it).
 */
export const sequenceStepRuns = pgTable(
  'sequence_step_runs',
  {
    orgId: uuid('org_id').notNull(),
    id: idColumn(),
    enrollmentId: uuid('enrollment_id').notNull(),
    sequenceId: uuid('sequence_id').notNull(),
    stepId: uuid('step_id').notNull(),
    idempotencyKey: text('idempotency_key').notNull(),
    type: text('type').notNull(),
    variant: integer('variant').notNull().default(0),
    /** `queued` (a message handed to the sending layer), `task`, `waited`, `skipped`. */
    status: text('status').notNull(),
    messageId: uuid('message_id'),
    taskId: uuid('task_id'),
    detail: text('detail'),
    outcome: text('outcome'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex('sequence_step_runs_key').on(t.orgId, t.idempotencyKey),
    index('sequence_step_runs_step_idx').on(t.orgId, t.sequenceId, t.stepId),
    index('sequence_step_runs_enrollment_idx').on(t.orgId, t.enrollmentId, t.createdAt),
    foreignKey({
      columns: [t.orgId, t.enrollmentId],
      foreignColumns: [sequenceEnrollments.orgId, sequenceEnrollments.id],
    }).onDelete('cascade'),
  ],
);
