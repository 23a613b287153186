import { index, integer, jsonb, pgTable, primaryKey, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { idColumn, isoTimestamp as ts } from '../../db/columns.js';
import { organizations } from '../../platform/auth/auth.schema.js';

/** A span of a day in a member's own time zone, `HH:MM` to `HH:MM` (end after start). */
export type DaySpan = { start: string; end: string };
/** Weekday (ISO: 1 Monday .. 7 Sunday, as text keys) -> its working spans. */
export type WeeklyHours = Record<string, DaySpan[]>;
/** A date (`YYYY-MM-DD`, the member's zone) whose spans replace the weekday's ([] = day off). */
export type DateOverride = { date: string; spans: DaySpan[] };
/** A question a meeting type asks the visitor. */
export type MeetingQuestion = { key: string; label: string; required: boolean };

/**
 * A member's availability (issue 33): working hours per weekday in their time zone, buffers,
 * minimum notice, a cap of meetings a day and date overrides. One row per member.
 */
export const availabilities = pgTable(
  'availabilities',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').notNull(),
    timeZone: text('time_zone').notNull(),
    weekly: jsonb('weekly').$type<WeeklyHours>().notNull(),
    overrides: jsonb('overrides').$type<DateOverride[]>().notNull().default([]),
    bufferBeforeMinutes: integer('buffer_before_minutes').notNull().default(0),
    bufferAfterMinutes: integer('buffer_after_minutes').notNull().default(0),
    minNoticeMinutes: integer('min_notice_minutes').notNull().default(0),
    maxPerDay: integer('max_per_day'),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.userId] })],
);

/**
 * A meeting type and its public booking page (`/book/<token>`): duration, location (a place or a
 * video link), questions, and its hosts: one member, or a team booked round robin (the host
 * whose last booking is the oldest) or collectively (everyone free, everyone attends).
 */
export const meetingTypes = pgTable(
  'meeting_types',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    name: text('name').notNull(),
    durationMinutes: integer('duration_minutes').notNull(),
    location: text('location'),
    videoUrl: text('video_url'),
    questions: jsonb('questions').$type<MeetingQuestion[]>().notNull().default([]),
    /** `single`, `round_robin` or `collective`. */
    assignment: text('assignment').notNull(),
    hostIds: uuid('host_ids').array().notNull(),
    /** Minutes between offered start times (defaults to the duration). */
    slotStepMinutes: integer('slot_step_minutes'),
    token: text('token').notNull(),
    archivedAt: ts('archived_at'),
    createdBy: uuid('created_by'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex('meeting_types_token_key').on(t.orgId, t.token),
  ],
);

/** A booked meeting: its hosts, time, the visitor (as a contact) and its state. */
export const bookings = pgTable(
  'bookings',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    meetingTypeId: uuid('meeting_type_id').notNull(),
    hostIds: uuid('host_ids').array().notNull(),
    startAt: ts('start_at').notNull(),
    endAt: ts('end_at').notNull(),
    /** `confirmed` or `cancelled`. */
    status: text('status').notNull().default('confirmed'),
    contactId: uuid('contact_id').notNull(),
    name: text('name').notNull(),
    email: text('email').notNull(),
    answers: jsonb('answers').$type<Record<string, string>>().notNull().default({}),
    timeZone: text('time_zone').notNull(),
    noteId: uuid('note_id'),
    /** The visitor's secret for rescheduling or cancelling. */
    manageToken: text('manage_token').notNull(),
    /** Bumped on every change (the iCalendar SEQUENCE). */
    sequence: integer('sequence').notNull().default(0),
    cancelledAt: ts('cancelled_at'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex('bookings_manage_token_key').on(t.orgId, t.manageToken),
    index('bookings_start_idx').on(t.orgId, t.startAt),
  ],
);

/**
 * One host's hold on a booking's time, the database's guard against double booking: a host
 * cannot hold two confirmed bookings starting at the same instant (unique), and the booking
 * transaction locks the host's availability row before checking for any overlap.
 */
export const bookingHolds = pgTable(
  'booking_holds',
  {
    orgId: uuid('org_id').notNull(),
    bookingId: uuid('booking_id').notNull(),
    userId: uuid('user_id').notNull(),
    startAt: ts('start_at').notNull(),
    endAt: ts('end_at').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.bookingId, t.userId] }),
    uniqueIndex('booking_holds_user_start_key').on(t.orgId, t.userId, t.startAt),
    index('booking_holds_user_idx').on(t.orgId, t.userId, t.endAt),
  ],
);

/**
 * A member's CalDAV calendar: its busy times block slots, bookings are written to it, and a poll
 * brings back events moved or cancelled there. The password is sealed (platform/crypto).
 */
export const calendarConnections = pgTable(
  'calendar_connections',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').notNull(),
    serverUrl: text('server_url').notNull(),
    calendarUrl: text('calendar_url').notNull(),
    username: text('username').notNull(),
    passwordSealed: text('password_sealed').notNull(),
    /** Busy spans read at the last poll. */
    busy: jsonb('busy').$type<{ start: string; end: string }[]>().notNull().default([]),
    lastSyncedAt: ts('last_synced_at'),
    lastError: text('last_error'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.userId] })],
);

/** Where a booking sits in a host's CalDAV calendar (its event's URL and ETag). */
export const bookingCalendarEvents = pgTable(
  'booking_calendar_events',
  {
    orgId: uuid('org_id').notNull(),
    bookingId: uuid('booking_id').notNull(),
    userId: uuid('user_id').notNull(),
    url: text('url').notNull(),
    etag: text('etag'),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.bookingId, t.userId] })],
);
