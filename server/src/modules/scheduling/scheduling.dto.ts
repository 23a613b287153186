import { z } from 'zod';
import { isHhmm, isTimeZone } from './slots.js';

const Hhmm = z.string().refine(isHhmm, 'A time as HH:MM (00:00 to 24:00)');
const TimeZone = z.string().max(64).refine(isTimeZone, 'An IANA time zone, e.g. Europe/Berlin');
const DaySpan = z
  .strictObject({ start: Hhmm, end: Hhmm })
  .refine((s) => s.start < s.end, { message: 'The end comes after the start', path: ['end'] });
const IsoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'A date as YYYY-MM-DD');

export const AvailabilityInput = z.strictObject({
  time_zone: TimeZone,
  weekly: z
    .strictObject({
      '1': z.array(DaySpan).max(12).optional(),
      '2': z.array(DaySpan).max(12).optional(),
      '3': z.array(DaySpan).max(12).optional(),
      '4': z.array(DaySpan).max(12).optional(),
      '5': z.array(DaySpan).max(12).optional(),
      '6': z.array(DaySpan).max(12).optional(),
      '7': z.array(DaySpan).max(12).optional(),
    })
    .describe('Working spans per ISO weekday (1 Monday .. 7 Sunday), in the time zone given'),
  overrides: z
    .array(z.strictObject({ date: IsoDate, spans: z.array(DaySpan).max(12) }))
    .max(366)
    .default([])
    .describe("Dates whose spans replace the weekday's (no spans: a day off)"),
  buffer_before_minutes: z.number().int().min(0).max(240).default(0),
  buffer_after_minutes: z.number().int().min(0).max(240).default(0),
  min_notice_minutes: z
    .number()
    .int()
    .min(0)
    .max(60 * 24 * 60)
    .default(0),
  max_per_day: z.number().int().min(1).max(100).nullable().default(null),
});
export type AvailabilityInputT = z.infer<typeof AvailabilityInput>;

export const Availability = z
  .object({
    user_id: z.uuid(),
    time_zone: z.string(),
    weekly: z.record(z.string(), z.array(z.object({ start: z.string(), end: z.string() }))),
    overrides: z.array(
      z.object({ date: z.string(), spans: z.array(z.object({ start: z.string(), end: z.string() })) }),
    ),
    buffer_before_minutes: z.number().int(),
    buffer_after_minutes: z.number().int(),
    min_notice_minutes: z.number().int(),
    max_per_day: z.number().int().nullable(),
    updated_at: z.string().nullable(),
  })
  .meta({ id: 'Availability' });

const Question = z.strictObject({
  key: z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, 'A key of lower-case letters, digits and _'),
  label: z.string().min(1).max(200),
  required: z.boolean().default(false),
});

export const MeetingTypeCreate = z.strictObject({
  name: z.string().trim().min(1).max(200),
  duration_minutes: z.number().int().min(5).max(480),
  location: z.string().max(500).nullable().optional(),
  video_url: z
    .url({ protocol: /^https?$/ })
    .max(2000)
    .nullable()
    .optional(),
  questions: z.array(Question).max(20).default([]),
  assignment: z
    .enum(['single', 'round_robin', 'collective'])
    .describe(
      '`single`: one host; `round_robin`: the free host booked least recently; `collective`: all hosts',
    ),
  host_ids: z.array(z.uuid()).min(1).max(50).describe('Members of the organization'),
  slot_step_minutes: z.number().int().min(5).max(480).nullable().optional(),
});
export type MeetingTypeCreateT = z.infer<typeof MeetingTypeCreate>;

export const MeetingTypeUpdate = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  duration_minutes: z.number().int().min(5).max(480).optional(),
  location: z.string().max(500).nullable().optional(),
  video_url: z
    .url({ protocol: /^https?$/ })
    .max(2000)
    .nullable()
    .optional(),
  questions: z.array(Question).max(20).optional(),
  assignment: z.enum(['single', 'round_robin', 'collective']).optional(),
  host_ids: z.array(z.uuid()).min(1).max(50).optional(),
  slot_step_minutes: z.number().int().min(5).max(480).nullable().optional(),
});
export type MeetingTypeUpdateT = z.infer<typeof MeetingTypeUpdate>;

export const MeetingType = z
  .object({
    id: z.uuid(),
    name: z.string(),
    duration_minutes: z.number().int(),
    location: z.string().nullable(),
    video_url: z.string().nullable(),
    questions: z.array(z.object({ key: z.string(), label: z.string(), required: z.boolean() })),
    assignment: z.string(),
    host_ids: z.array(z.uuid()),
    slot_step_minutes: z.number().int().nullable(),
    booking_url: z.string().describe('The public booking page'),
    token: z.string(),
    archived_at: z.string().nullable(),
    created_at: z.string(),
  })
  .meta({ id: 'MeetingType' });

export const Booking = z
  .object({
    id: z.uuid(),
    meeting_type_id: z.uuid(),
    host_ids: z.array(z.uuid()),
    start: z.string(),
    end: z.string(),
    status: z.enum(['confirmed', 'cancelled']),
    contact_id: z.uuid(),
    name: z.string(),
    email: z.string(),
    answers: z.record(z.string(), z.string()),
    time_zone: z.string(),
    note_id: z.uuid().nullable(),
    created_at: z.string(),
    cancelled_at: z.string().nullable(),
  })
  .meta({ id: 'Booking' });

export const SlotDay = z.object({
  date: z.string().describe("A date in the visitor's time zone"),
  slots: z.array(
    z.object({
      start: z.string().describe('UTC'),
      end: z.string().describe('UTC'),
      local_start: z.string().describe("The start in the visitor's time zone, with its offset"),
    }),
  ),
});

export const SlotsQuery = z.strictObject({
  time_zone: TimeZone.default('UTC'),
  from: z.iso.datetime({ offset: true }).optional().describe('Default: now'),
  days: z.coerce.number().int().min(1).max(62).default(14),
});

export const Slots = z
  .object({ time_zone: z.string(), duration_minutes: z.number().int(), days: z.array(SlotDay) })
  .meta({ id: 'BookingSlots' });

export const PublicPage = z
  .object({
    name: z.string(),
    duration_minutes: z.number().int(),
    location: z.string().nullable(),
    video: z.boolean().describe('A video link is sent with the invitation'),
    questions: z.array(z.object({ key: z.string(), label: z.string(), required: z.boolean() })),
    hosts: z.array(z.object({ name: z.string() })),
    assignment: z.string(),
  })
  .meta({ id: 'PublicBookingPage' });

export const BookingCreate = z.strictObject({
  start: z.iso.datetime({ offset: true }).describe('One of the slots offered'),
  name: z.string().trim().min(1).max(200),
  email: z.email().max(320),
  time_zone: TimeZone.default('UTC'),
  answers: z.record(z.string().max(40), z.string().max(5000)).default({}),
});
export type BookingCreateT = z.infer<typeof BookingCreate>;

export const PublicBooking = z
  .object({
    id: z.uuid(),
    meeting: z.string(),
    start: z.string(),
    end: z.string(),
    local_start: z.string(),
    time_zone: z.string(),
    status: z.enum(['confirmed', 'cancelled']),
    hosts: z.array(z.object({ name: z.string() })),
    manage_url: z.string().describe('Where the visitor reschedules or cancels'),
  })
  .meta({ id: 'PublicBooking' });

export const Reschedule = z.strictObject({
  start: z.iso.datetime({ offset: true }),
  time_zone: TimeZone.optional(),
});

export const CalendarConnect = z.strictObject({
  server_url: z
    .url({ protocol: /^https?$/ })
    .max(2000)
    .describe('The CalDAV server (or its discovery URL)'),
  username: z.string().min(1).max(320),
  password: z.string().min(1).max(1000).describe('Kept sealed (AES-GCM); never shown again'),
  calendar_url: z
    .url({ protocol: /^https?$/ })
    .max(2000)
    .optional()
    .describe('Default: the first calendar of events'),
});

export const Calendar = z
  .object({
    connected: z.boolean(),
    server_url: z.string().nullable(),
    calendar_url: z.string().nullable(),
    username: z.string().nullable(),
    busy: z.array(z.object({ start: z.string(), end: z.string() })),
    last_synced_at: z.string().nullable(),
    last_error: z.string().nullable(),
    moved: z.array(z.uuid()).optional().describe('Bookings moved by this poll'),
    cancelled: z.array(z.uuid()).optional().describe('Bookings cancelled by this poll'),
  })
  .meta({ id: 'Calendar' });
