import { randomBytes } from 'node:crypto';
import { and, asc, desc, eq, isNull, sql } from 'drizzle-orm';
import ical, { ICalCalendarMethod } from 'ical-generator';
import { DateTime } from 'luxon';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError, badRequest, notFound } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { createContactIn } from '../contacts/contact.service.js';
import { findContactByEmailOrPhone } from '../contacts/contact-lookup.service.js';
import { createNoteIn } from '../notes/note.service.js';
import { pushBooking } from './caldav.service.js';
import type {
  AvailabilityInputT,
  BookingCreateT,
  MeetingTypeCreateT,
  MeetingTypeUpdateT,
} from './scheduling.dto.js';
import { availabilities, bookingHolds, bookings, meetingTypes } from './scheduling.schema.js';
import { type Assignment, type HostAvailability, pageSlots, type Span, slotsForVisitor } from './slots.js';

type MeetingTypeRow = typeof meetingTypes.$inferSelect;
type BookingRow = typeof bookings.$inferSelect;
type AvailabilityRow = typeof availabilities.$inferSelect;

const MIN = 60_000;
const DAY = 24 * 60 * MIN;

/** A public token: the org id (so a public request finds its tenant) and 16 random bytes. */
const newToken = (orgId: string) => `${orgId.replaceAll('-', '')}${randomBytes(16).toString('base64url')}`;

/** The organization of a public token, or undefined for a token of no known shape. */
export function orgOfToken(token: string): string | undefined {
  const m = /^([0-9a-f]{8})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{12})[A-Za-z0-9_-]{22}$/.exec(
    token,
  );
  return m ? `${m[1]}-${m[2]}-${m[3]}-${m[4]}-${m[5]}` : undefined;
}

const iso = (s: string) => new Date(s).toISOString();
const ms = (s: string) => new Date(s).getTime();

// ---------------------------------------------------------------------------------------------
// Availability

function availabilityView(userId: string, r: AvailabilityRow | undefined) {
  return {
    user_id: userId,
    time_zone: r?.timeZone ?? 'UTC',
    weekly: r?.weekly ?? {},
    overrides: r?.overrides ?? [],
    buffer_before_minutes: r?.bufferBeforeMinutes ?? 0,
    buffer_after_minutes: r?.bufferAfterMinutes ?? 0,
    min_notice_minutes: r?.minNoticeMinutes ?? 0,
    max_per_day: r?.maxPerDay ?? null,
    updated_at: r ? iso(r.updatedAt) : null,
  };
}

const userOf = (ctx: TenantContext) => {
  if (ctx.actor.type !== 'user' || !ctx.actor.id)
    throw new AppError(403, 'forbidden', 'Availability belongs to a signed-in member');
  return ctx.actor.id;
};

/** The caller's availability (no hours set yet: none, in UTC). */
export async function getMyAvailability(services: Services, ctx: TenantContext) {
  const userId = userOf(ctx);
  return withTenant(services.database, ctx, async ({ tx }) => {
    const [row] = await tx
      .select()
      .from(availabilities)
      .where(and(eq(availabilities.orgId, ctx.orgId), eq(availabilities.userId, userId)));
    return availabilityView(userId, row);
  });
}

/** Sets the caller's availability (all of it). @throws 400 `overlapping_spans` */
export async function putMyAvailability(services: Services, ctx: TenantContext, input: AvailabilityInputT) {
  const userId = userOf(ctx);
  const weekly: Record<string, { start: string; end: string }[]> = {};
  for (const [day, spans] of Object.entries(input.weekly)) {
    if (!spans) continue;
    checkSpans(spans, `body.weekly.${day}`);
    weekly[day] = spans;
  }
  const dates = new Set<string>();
  for (const [i, o] of input.overrides.entries()) {
    if (!DateTime.fromISO(o.date).isValid)
      throw badRequest('Not a calendar date', `body.overrides[${i}].date`, 'invalid_date');
    if (dates.has(o.date))
      throw badRequest('A date is overridden once', `body.overrides[${i}].date`, 'duplicate_date');
    dates.add(o.date);
    checkSpans(o.spans, `body.overrides[${i}].spans`);
  }
  const values = {
    orgId: ctx.orgId,
    userId,
    timeZone: input.time_zone,
    weekly,
    overrides: input.overrides,
    bufferBeforeMinutes: input.buffer_before_minutes,
    bufferAfterMinutes: input.buffer_after_minutes,
    minNoticeMinutes: input.min_notice_minutes,
    maxPerDay: input.max_per_day,
    updatedAt: new Date().toISOString(),
  };
  return withTenant(services.database, ctx, async ({ tx }) => {
    const [row] = await tx
      .insert(availabilities)
      .values(values)
      .onConflictDoUpdate({ target: [availabilities.orgId, availabilities.userId], set: values })
      .returning();
    return availabilityView(userId, row);
  });
}

function checkSpans(spans: { start: string; end: string }[], path: string) {
  const sorted = [...spans].sort((a, b) => a.start.localeCompare(b.start));
  for (let i = 1; i < sorted.length; i++)
    if (sorted[i]!.start < sorted[i - 1]!.end)
      throw badRequest('Spans of a day overlap', path, 'overlapping_spans');
}

// ---------------------------------------------------------------------------------------------
// Meeting types

function meetingTypeView(services: Services, r: MeetingTypeRow) {
  return {
    id: r.id,
    name: r.name,
    duration_minutes: r.durationMinutes,
    location: r.location,
    video_url: r.videoUrl,
    questions: r.questions,
    assignment: r.assignment,
    host_ids: r.hostIds,
    slot_step_minutes: r.slotStepMinutes,
    booking_url: `${services.config.baseUrl}/book/${r.token}`,
    token: r.token,
    archived_at: r.archivedAt ? iso(r.archivedAt) : null,
    created_at: iso(r.createdAt),
  };
}

/** @throws 422 `not_a_member` at `body.host_ids[i]`, 400 `single_host` */
async function checkHosts(scope: TenantScope, assignment: string, hostIds: string[]) {
  const unique = [...new Set(hostIds)];
  if (unique.length !== hostIds.length)
    throw badRequest('A host is named twice', 'body.host_ids', 'duplicate_host');
  if (assignment === 'single' && unique.length !== 1)
    throw badRequest('A single-host page has exactly one host', 'body.host_ids', 'single_host');
  const { rows } = await scope.conn.query<{ id: string }>(
    'select user_id as id from members where organization_id = $1 and user_id = any($2::uuid[])',
    [scope.ctx.orgId, unique],
  );
  const found = new Set(rows.map((r) => r.id));
  const i = hostIds.findIndex((id) => !found.has(id));
  if (i >= 0)
    throw new AppError(422, 'not_a_member', 'Not a member of the organization', {
      path: `body.host_ids[${i}]`,
      errors: [
        { path: `body.host_ids[${i}]`, code: 'not_a_member', message: 'Not a member of the organization' },
      ],
    });
}

export async function createMeetingType(services: Services, ctx: TenantContext, input: MeetingTypeCreateT) {
  return withTenant(services.database, ctx, async (scope) => {
    await checkHosts(scope, input.assignment, input.host_ids);
    const [row] = await scope.tx
      .insert(meetingTypes)
      .values({
        orgId: ctx.orgId,
        name: input.name,
        durationMinutes: input.duration_minutes,
        location: input.location ?? null,
        videoUrl: input.video_url ?? null,
        questions: input.questions,
        assignment: input.assignment,
        hostIds: input.host_ids,
        slotStepMinutes: input.slot_step_minutes ?? null,
        token: newToken(ctx.orgId),
        createdBy: ctx.actor.type === 'user' ? ctx.actor.id : null,
      })
      .returning();
    return meetingTypeView(services, row!);
  });
}

export async function listMeetingTypes(services: Services, ctx: TenantContext) {
  return withTenant(
    services.database,
    ctx,
    async ({ tx }) =>
      (
        await tx
          .select()
          .from(meetingTypes)
          .where(eq(meetingTypes.orgId, ctx.orgId))
          .orderBy(desc(meetingTypes.id))
      ).map((r) => meetingTypeView(services, r)),
    { readOnly: true },
  );
}

async function loadType(scope: TenantScope, id: string) {
  const [row] = await scope.tx
    .select()
    .from(meetingTypes)
    .where(and(eq(meetingTypes.orgId, scope.ctx.orgId), eq(meetingTypes.id, id)));
  if (!row) throw notFound('Meeting type', id);
  return row;
}

export async function getMeetingType(services: Services, ctx: TenantContext, id: string) {
  return withTenant(services.database, ctx, async (scope) =>
    meetingTypeView(services, await loadType(scope, id)),
  );
}

export async function updateMeetingType(
  services: Services,
  ctx: TenantContext,
  id: string,
  input: MeetingTypeUpdateT,
) {
  return withTenant(services.database, ctx, async (scope) => {
    const row = await loadType(scope, id);
    const assignment = input.assignment ?? row.assignment;
    const hostIds = input.host_ids ?? row.hostIds;
    if (input.assignment || input.host_ids) await checkHosts(scope, assignment, hostIds);
    const [updated] = await scope.tx
      .update(meetingTypes)
      .set({
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.duration_minutes !== undefined ? { durationMinutes: input.duration_minutes } : {}),
        ...(input.location !== undefined ? { location: input.location } : {}),
        ...(input.video_url !== undefined ? { videoUrl: input.video_url } : {}),
        ...(input.questions !== undefined ? { questions: input.questions } : {}),
        ...(input.slot_step_minutes !== undefined ? { slotStepMinutes: input.slot_step_minutes } : {}),
        assignment,
        hostIds,
        updatedAt: new Date().toISOString(),
      })
      .where(and(eq(meetingTypes.orgId, ctx.orgId), eq(meetingTypes.id, id)))
      .returning();
    return meetingTypeView(services, updated!);
  });
}

/** Archives a meeting type: its page answers 404; its bookings stay. */
export async function archiveMeetingType(services: Services, ctx: TenantContext, id: string) {
  await withTenant(services.database, ctx, async (scope) => {
    await loadType(scope, id);
    await scope.tx
      .update(meetingTypes)
      .set({ archivedAt: new Date().toISOString() })
      .where(
        and(eq(meetingTypes.orgId, ctx.orgId), eq(meetingTypes.id, id), isNull(meetingTypes.archivedAt)),
      );
  });
}

// ---------------------------------------------------------------------------------------------
// Slots

/** The hosts' availability, bookings and calendar busy times, as the slot engine takes them. */
async function hostsOf(scope: TenantScope, type: MeetingTypeRow, from: number, to: number, lock = false) {
  const { orgId } = scope.ctx;
  const { rows } = await scope.conn.query<{
    user_id: string;
    time_zone: string;
    weekly: HostAvailability['weekly'];
    overrides: HostAvailability['overrides'];
    buffer_before_minutes: number;
    buffer_after_minutes: number;
    min_notice_minutes: number;
    max_per_day: number | null;
  }>(
    `select user_id, time_zone, weekly, overrides, buffer_before_minutes, buffer_after_minutes,
            min_notice_minutes, max_per_day
       from availabilities where org_id = $1 and user_id = any($2::uuid[])
      order by user_id${lock ? ' for update' : ''}`,
    [orgId, type.hostIds],
  );
  // Two days either side: a host's day (and its meeting cap) may straddle the range.
  const { rows: held } = await scope.conn.query<{ user_id: string; start_at: string; end_at: string }>(
    `select user_id, start_at, end_at from booking_holds
      where org_id = $1 and user_id = any($2::uuid[]) and end_at > $3 and start_at < $4`,
    [orgId, type.hostIds, new Date(from - 2 * DAY).toISOString(), new Date(to + 2 * DAY).toISOString()],
  );
  const { rows: calendars } = await scope.conn.query<{
    user_id: string;
    busy: { start: string; end: string }[];
  }>('select user_id, busy from calendar_connections where org_id = $1 and user_id = any($2::uuid[])', [
    orgId,
    type.hostIds,
  ]);
  return rows.map(
    (r): HostAvailability => ({
      userId: r.user_id,
      timeZone: r.time_zone,
      weekly: r.weekly,
      overrides: r.overrides,
      bufferBeforeMinutes: r.buffer_before_minutes,
      bufferAfterMinutes: r.buffer_after_minutes,
      minNoticeMinutes: r.min_notice_minutes,
      maxPerDay: r.max_per_day,
      booked: held
        .filter((h) => h.user_id === r.user_id)
        .map((h): Span => ({ start: ms(h.start_at), end: ms(h.end_at) })),
      busy: (calendars.find((c) => c.user_id === r.user_id)?.busy ?? []).map((b) => ({
        start: ms(b.start),
        end: ms(b.end),
      })),
    }),
  );
}

const stepOf = (t: MeetingTypeRow) => t.slotStepMinutes ?? t.durationMinutes;

function computeSlots(
  type: MeetingTypeRow,
  hosts: HostAvailability[],
  from: number,
  to: number,
  now: number,
  options: { ignoreBookings?: boolean } = {},
) {
  // A collective page needs every host's hours; a host without any makes it unbookable.
  if (type.assignment === 'collective' && hosts.length < type.hostIds.length)
    return new Map<number, string[]>();
  return pageSlots(
    type.assignment as Assignment,
    hosts,
    type.durationMinutes,
    stepOf(type),
    from,
    to,
    now,
    options,
  );
}

/** The live meeting type of a public token. @throws 404 */
async function publicType(services: Services, token: string) {
  const orgId = orgOfToken(token);
  if (!orgId) throw notFound('Booking page');
  const ctx: TenantContext = { orgId, actor: { type: 'system', id: null } };
  const type = await withTenant(services.database, ctx, async ({ tx }) => {
    const [row] = await tx
      .select()
      .from(meetingTypes)
      .where(
        and(eq(meetingTypes.orgId, orgId), eq(meetingTypes.token, token), isNull(meetingTypes.archivedAt)),
      );
    return row;
  }).catch((error: unknown) => {
    if (error instanceof AppError) return undefined;
    throw error;
  });
  if (!type) throw notFound('Booking page');
  return { ctx, type };
}

/** Names and e-mail addresses of members (users are read outside tenant transactions). */
async function peopleOf(services: Services, orgId: string, ids: string[]) {
  const { rows } = await services.database.raw.query<{ id: string; name: string; email: string }>(
    `select u.id, u.name, u.email from members m join users u on u.id = m.user_id
      where m.organization_id = $1 and u.id = any($2::uuid[])`,
    [orgId, ids],
  );
  return ids.flatMap((id) => rows.filter((r) => r.id === id));
}

export async function getPublicPage(services: Services, token: string) {
  const { ctx, type } = await publicType(services, token);
  const hosts = await peopleOf(services, ctx.orgId, type.hostIds);
  return {
    name: type.name,
    duration_minutes: type.durationMinutes,
    location: type.location,
    video: Boolean(type.videoUrl),
    questions: type.questions,
    hosts: hosts.map((h) => ({ name: h.name })),
    assignment: type.assignment,
  };
}

async function freshSlots(
  services: Services,
  ctx: TenantContext,
  type: MeetingTypeRow,
  zone: string,
  from: number,
  days: number,
) {
  const to = from + days * DAY;
  const now = Date.now();
  const hosts = await withTenant(services.database, ctx, (scope) => hostsOf(scope, type, from, to), {
    readOnly: true,
  });
  const slots = computeSlots(type, hosts, Math.max(from, now), to, now);
  return {
    time_zone: zone,
    duration_minutes: type.durationMinutes,
    days: slotsForVisitor([...slots.keys()], type.durationMinutes, zone),
  };
}

/** The page's free slots from `from` for `days` days, grouped by the visitor's dates. */
export async function getPublicSlots(
  services: Services,
  token: string,
  query: { time_zone: string; from?: string | undefined; days: number },
) {
  const { ctx, type } = await publicType(services, token);
  return freshSlots(
    services,
    ctx,
    type,
    query.time_zone,
    query.from ? ms(query.from) : Date.now(),
    query.days,
  );
}

// ---------------------------------------------------------------------------------------------
// Booking

/** 409 `slot_taken`: the slot went; `slots` are the page's free slots now. */
export class SlotTakenError extends AppError {
  constructor(readonly slots: Awaited<ReturnType<typeof freshSlots>>) {
    super(409, 'slot_taken', 'This time was just booked: pick another one', { path: 'body.start' });
  }
}

type Chosen = { hosts: string[] };

/**
 * Whether `start` is bookable now, and by whom (the hosts' rows locked). @throws 422
 * `slot_in_past`, 422 `outside_hours` (not a slot of the page, bookings aside), SlotTakenError
 */
async function choose(
  scope: TenantScope,
  type: MeetingTypeRow,
  start: number,
  ignoreBooking?: string,
): Promise<Chosen> {
  const now = Date.now();
  if (start <= now) throw new AppError(422, 'slot_in_past', 'This time has passed', { path: 'body.start' });
  const hosts = await hostsOf(scope, type, start - DAY, start + DAY, true);
  if (ignoreBooking) {
    const { rows } = await scope.conn.query<{ start_at: string; end_at: string }>(
      'select start_at, end_at from booking_holds where org_id = $1 and booking_id = $2',
      [scope.ctx.orgId, ignoreBooking],
    );
    for (const h of hosts)
      h.booked = h.booked.filter(
        (b) => !rows.some((r) => ms(r.start_at) === b.start && ms(r.end_at) === b.end),
      );
  }
  const window = [start, start + 1] as const;
  if (!computeSlots(type, hosts, window[0], window[1], now, { ignoreBookings: true }).has(start))
    throw new AppError(422, 'outside_hours', 'This time is not offered on this page', { path: 'body.start' });
  const free = computeSlots(type, hosts, window[0], window[1], now).get(start);
  if (!free) throw new SlotTakenError({ time_zone: 'UTC', duration_minutes: 0, days: [] });
  if (type.assignment !== 'round_robin') return { hosts: free };
  // Round robin: the free host whose last booking is the oldest (never booked: first).
  const { rows } = await scope.conn.query<{ user_id: string; last: string | null }>(
    `select h.user_id, max(b.created_at) as last from unnest($2::uuid[]) as h(user_id)
       left join bookings b on b.org_id = $1 and b.meeting_type_id = $3 and h.user_id = any(b.host_ids)
      group by h.user_id`,
    [scope.ctx.orgId, free, type.id],
  );
  rows.sort((a, b) =>
    a.last === b.last
      ? a.user_id.localeCompare(b.user_id)
      : !a.last
        ? -1
        : !b.last
          ? 1
          : ms(a.last) - ms(b.last),
  );
  return { hosts: [rows[0]!.user_id] };
}

const isUniqueViolation = (error: unknown) =>
  typeof error === 'object' && error !== null && (error as { code?: string }).code === '23505';

function bookingView(r: BookingRow) {
  return {
    id: r.id,
    meeting_type_id: r.meetingTypeId,
    host_ids: r.hostIds,
    start: iso(r.startAt),
    end: iso(r.endAt),
    status: r.status as 'confirmed' | 'cancelled',
    contact_id: r.contactId,
    name: r.name,
    email: r.email,
    answers: r.answers,
    time_zone: r.timeZone,
    note_id: r.noteId,
    created_at: iso(r.createdAt),
    cancelled_at: r.cancelledAt ? iso(r.cancelledAt) : null,
  };
}

const manageUrl = (services: Services, r: BookingRow) =>
  `${services.config.baseUrl}/book/manage/${r.manageToken}`;

async function publicBookingView(services: Services, r: BookingRow, type: MeetingTypeRow) {
  const hosts = await peopleOf(services, r.orgId, r.hostIds);
  return {
    id: r.id,
    meeting: type.name,
    start: iso(r.startAt),
    end: iso(r.endAt),
    local_start: DateTime.fromISO(iso(r.startAt), { zone: r.timeZone }).toISO({
      suppressMilliseconds: true,
    })!,
    time_zone: r.timeZone,
    status: r.status as 'confirmed' | 'cancelled',
    hosts: hosts.map((h) => ({ name: h.name })),
    manage_url: manageUrl(services, r),
  };
}

/** Splits a full name into first and last. */
const nameParts = (name: string) => {
  const parts = name.trim().split(/\s+/);
  return parts.length === 1
    ? { first_name: parts[0]! }
    : { first_name: parts.slice(0, -1).join(' '), last_name: parts.at(-1)! };
};

/**
 * Books `input.start` on the page of `token`: the hosts' availability rows are locked, the slot
 * checked again, the contact found by e-mail or created, the booking, its holds and a meeting on
 * the contact's timeline written, then both sides get the invitation.
 * @throws 404, 400 `unknown_question`/`required`, 422 `slot_in_past`/`outside_hours`,
 *   SlotTakenError (409 with fresh slots)
 */
export async function createBooking(services: Services, token: string, input: BookingCreateT) {
  const { ctx, type } = await publicType(services, token);
  const answers: Record<string, string> = {};
  for (const [key, value] of Object.entries(input.answers)) {
    if (!type.questions.some((q) => q.key === key))
      throw badRequest(
        'The page asks no such question',
        `body.answers.${key.slice(0, 40)}`,
        'unknown_question',
      );
    if (value.includes('\u0000'))
      throw badRequest('NUL character', `body.answers.${key}`, 'invalid_character');
    if (value.trim()) answers[key] = value.trim();
  }
  for (const q of type.questions)
    if (q.required && !answers[q.key])
      throw badRequest(`${q.label} is required`, `body.answers.${q.key}`, 'required');
  const start = ms(input.start);
  let row: BookingRow;
  try {
    row = await withTenant(services.database, ctx, async (scope) => {
      const chosen = await choose(scope, type, start);
      const end = start + type.durationMinutes * MIN;
      const email = input.email.toLowerCase();
      const contactId =
        (await findContactByEmailOrPhone(scope, email, null)) ??
        (
          await createContactIn(scope, services, {
            ...nameParts(input.name),
            emails: [{ value: email }],
            source: 'form',
          })
        ).id;
      const [booking] = await scope.tx
        .insert(bookings)
        .values({
          orgId: ctx.orgId,
          meetingTypeId: type.id,
          hostIds: chosen.hosts,
          startAt: new Date(start).toISOString(),
          endAt: new Date(end).toISOString(),
          contactId,
          name: input.name,
          email,
          answers,
          timeZone: input.time_zone,
          manageToken: newToken(ctx.orgId),
        })
        .returning();
      await scope.tx.insert(bookingHolds).values(
        chosen.hosts.map((userId) => ({
          orgId: ctx.orgId,
          bookingId: booking!.id,
          userId,
          startAt: booking!.startAt,
          endAt: booking!.endAt,
        })),
      );
      const note = await createNoteIn(scope, services, {
        object: 'contact',
        id: contactId,
        kind: 'meeting',
        body: noteHtml(type, booking!, answers),
        occurred_at: booking!.startAt,
        duration_minutes: type.durationMinutes,
      });
      const [withNote] = await scope.tx
        .update(bookings)
        .set({ noteId: note.id })
        .where(and(eq(bookings.orgId, ctx.orgId), eq(bookings.id, booking!.id)))
        .returning();
      return withNote!;
    });
  } catch (error) {
    if (error instanceof SlotTakenError || isUniqueViolation(error))
      throw new SlotTakenError(await freshSlots(services, ctx, type, input.time_zone, Date.now(), 14));
    throw error;
  }
  await pushBooking(services, type, row);
  await sendInvitations(services, type, row, 'request');
  return publicBookingView(services, row, type);
}

const escapeHtml = (s: string) =>
  s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

function noteHtml(type: MeetingTypeRow, b: BookingRow, answers: Record<string, string>) {
  const lines = [
    `<p>${escapeHtml(type.name)} booked by ${escapeHtml(b.name)} (${escapeHtml(b.email)}) on the booking page.</p>`,
    ...type.questions
      .filter((q) => answers[q.key])
      .map((q) => `<p>${escapeHtml(q.label)}: ${escapeHtml(answers[q.key]!)}</p>`),
  ];
  return lines.join('');
}

/** The invitation (RFC 5545, ical-generator) and the e-mails to the visitor and each host. */
async function sendInvitations(
  services: Services,
  type: MeetingTypeRow,
  b: BookingRow,
  what: 'request' | 'cancel',
) {
  const hosts = await peopleOf(services, b.orgId, b.hostIds);
  const ics = invitation(services, type, b, hosts, what).toString();
  const link = manageUrl(services, b);
  const when = (zone: string) =>
    DateTime.fromISO(iso(b.startAt), { zone }).toFormat("cccc d LLLL yyyy, HH:mm '('ZZZZ')'");
  const where = [type.location, type.videoUrl].filter(Boolean).join(' · ');
  const subject = what === 'request' ? `${type.name} with` : `Cancelled: ${type.name} with`;
  const attachments = [
    {
      filename: 'invite.ics',
      contentType: `text/calendar; charset=utf-8; method=${what === 'request' ? 'REQUEST' : 'CANCEL'}`,
      content: Buffer.from(ics, 'utf8'),
    },
  ];
  await services.mailer.send({
    kind: 'booking',
    orgId: b.orgId,
    to: b.email,
    subject: `${subject} ${hosts.map((h) => h.name).join(', ')}`,
    text: [
      what === 'request'
        ? `Your meeting is booked: ${when(b.timeZone)}.`
        : `Your meeting on ${when(b.timeZone)} is cancelled.`,
      where ? `Where: ${where}` : '',
      what === 'request' ? `To reschedule or cancel: ${link}` : '',
    ]
      .filter(Boolean)
      .join('\n\n'),
    attachments,
  });
  for (const host of hosts)
    await services.mailer.send({
      kind: 'booking',
      orgId: b.orgId,
      to: host.email,
      subject: `${subject} ${b.name}`,
      text: [
        what === 'request'
          ? `${b.name} <${b.email}> booked ${type.name}: ${when('UTC')}.`
          : `${b.name} <${b.email}> cancelled ${type.name} on ${when('UTC')}.`,
        where ? `Where: ${where}` : '',
        ...type.questions.filter((q) => b.answers[q.key]).map((q) => `${q.label}: ${b.answers[q.key]}`),
      ]
        .filter(Boolean)
        .join('\n\n'),
      attachments,
    });
}

export function invitation(
  services: Services,
  type: MeetingTypeRow,
  b: BookingRow,
  hosts: { name: string; email: string }[],
  what: 'request' | 'cancel',
) {
  const cal = ical({
    prodId: { company: 'Cairn', product: 'Cairn CRM', language: 'EN' },
    method: what === 'request' ? ICalCalendarMethod.REQUEST : ICalCalendarMethod.CANCEL,
  });
  const organizer = hosts[0] ?? { name: 'Cairn', email: 'no-reply@localhost' };
  cal.createEvent({
    id: `${b.id}@cairn`,
    sequence: b.sequence,
    start: new Date(b.startAt),
    end: new Date(b.endAt),
    summary: `${type.name}: ${b.name}`,
    description: `${type.name}\nReschedule or cancel: ${manageUrl(services, b)}`,
    location: type.location ?? type.videoUrl ?? null,
    ...(type.videoUrl ? { url: type.videoUrl } : {}),
    organizer: { name: organizer.name, email: organizer.email },
    attendees: [
      { name: b.name, email: b.email, rsvp: true },
      ...hosts.slice(1).map((h) => ({ name: h.name, email: h.email })),
    ],
    ...(what === 'cancel' ? { status: 'CANCELLED' as never } : {}),
  });
  return cal;
}

// ---------------------------------------------------------------------------------------------
// Managing a booking: the visitor (manage token) or a host

async function bookingOfManageToken(_services: Services, token: string) {
  const orgId = orgOfToken(token);
  if (!orgId) throw notFound('Booking');
  return { ctx: { orgId, actor: { type: 'system', id: null } } as TenantContext };
}

async function loadBooking(
  scope: TenantScope,
  where: { id?: string; manageToken?: string },
  forUpdate = false,
) {
  const q = scope.tx
    .select()
    .from(bookings)
    .where(
      and(
        eq(bookings.orgId, scope.ctx.orgId),
        where.id ? eq(bookings.id, where.id) : eq(bookings.manageToken, where.manageToken!),
      ),
    );
  const [row] = forUpdate ? await q.for('update') : await q;
  if (!row) throw notFound('Booking', where.id);
  const [type] = await scope.tx
    .select()
    .from(meetingTypes)
    .where(and(eq(meetingTypes.orgId, scope.ctx.orgId), eq(meetingTypes.id, row.meetingTypeId)));
  return { row, type: type! };
}

export async function getManagedBooking(services: Services, token: string) {
  const { ctx } = await bookingOfManageToken(services, token);
  const { row, type } = await withTenant(services.database, ctx, (scope) =>
    loadBooking(scope, { manageToken: token }),
  );
  return publicBookingView(services, row, type);
}

async function cancelIn(scope: TenantScope, where: { id?: string; manageToken?: string }) {
  const { row, type } = await loadBooking(scope, where, true);
  if (row.status === 'cancelled')
    throw new AppError(409, 'invalid_state', 'The booking is already cancelled');
  await scope.tx
    .delete(bookingHolds)
    .where(and(eq(bookingHolds.orgId, scope.ctx.orgId), eq(bookingHolds.bookingId, row.id)));
  const [updated] = await scope.tx
    .update(bookings)
    .set({
      status: 'cancelled',
      cancelledAt: new Date().toISOString(),
      sequence: sql`${bookings.sequence} + 1`,
      updatedAt: new Date().toISOString(),
    })
    .where(and(eq(bookings.orgId, scope.ctx.orgId), eq(bookings.id, row.id)))
    .returning();
  return { row: updated!, type };
}

/** The visitor cancels. @throws 404, 409 `invalid_state` (already cancelled) */
export async function cancelManagedBooking(services: Services, token: string) {
  const { ctx } = await bookingOfManageToken(services, token);
  const { row, type } = await withTenant(services.database, ctx, (scope) =>
    cancelIn(scope, { manageToken: token }),
  );
  await pushBooking(services, type, row);
  await sendInvitations(services, type, row, 'cancel');
  return publicBookingView(services, row, type);
}

/** The visitor moves the booking to another free slot of its page. Same errors as booking. */
export async function rescheduleManagedBooking(
  services: Services,
  token: string,
  input: { start: string; time_zone?: string | undefined },
) {
  const { ctx } = await bookingOfManageToken(services, token);
  let result: { row: BookingRow; type: MeetingTypeRow };
  try {
    result = await withTenant(services.database, ctx, async (scope) => {
      const { row, type } = await loadBooking(scope, { manageToken: token }, true);
      if (row.status === 'cancelled') throw new AppError(409, 'invalid_state', 'The booking is cancelled');
      const start = ms(input.start);
      const chosen = await choose(scope, type, start, row.id);
      const startAt = new Date(start).toISOString();
      const endAt = new Date(start + type.durationMinutes * MIN).toISOString();
      await scope.tx
        .delete(bookingHolds)
        .where(and(eq(bookingHolds.orgId, ctx.orgId), eq(bookingHolds.bookingId, row.id)));
      await scope.tx
        .insert(bookingHolds)
        .values(
          chosen.hosts.map((userId) => ({ orgId: ctx.orgId, bookingId: row.id, userId, startAt, endAt })),
        );
      const [updated] = await scope.tx
        .update(bookings)
        .set({
          startAt,
          endAt,
          hostIds: chosen.hosts,
          ...(input.time_zone ? { timeZone: input.time_zone } : {}),
          sequence: sql`${bookings.sequence} + 1`,
          updatedAt: new Date().toISOString(),
        })
        .where(and(eq(bookings.orgId, ctx.orgId), eq(bookings.id, row.id)))
        .returning();
      return { row: updated!, type };
    });
  } catch (error) {
    if (error instanceof SlotTakenError || isUniqueViolation(error)) {
      const { type } = await withTenant(services.database, ctx, (scope) =>
        loadBooking(scope, { manageToken: token }),
      );
      throw new SlotTakenError(
        await freshSlots(services, ctx, type, input.time_zone ?? 'UTC', Date.now(), 14),
      );
    }
    throw error;
  }
  await pushBooking(services, result.type, result.row);
  await sendInvitations(services, result.type, result.row, 'request');
  return publicBookingView(services, result.row, result.type);
}

/** The caller's bookings as a host (or all, for `all`), soonest first, from `from`. */
export async function listBookings(
  services: Services,
  ctx: TenantContext,
  query: { from?: string | undefined; mine: boolean },
) {
  return withTenant(
    services.database,
    ctx,
    async ({ tx }) => {
      const rows = await tx
        .select()
        .from(bookings)
        .where(
          and(
            eq(bookings.orgId, ctx.orgId),
            sql`${bookings.endAt} >= ${query.from ?? new Date(Date.now() - DAY).toISOString()}`,
            query.mine && ctx.actor.type === 'user' && ctx.actor.id
              ? sql`${ctx.actor.id}::uuid = any(${bookings.hostIds})`
              : undefined,
          ),
        )
        .orderBy(asc(bookings.startAt))
        .limit(500);
      return rows.map(bookingView);
    },
    { readOnly: true },
  );
}

/** A host (or an admin) cancels a booking. @throws 404, 409 `invalid_state` */
export async function cancelBooking(services: Services, ctx: TenantContext, id: string) {
  const { row, type } = await withTenant(services.database, ctx, (scope) => cancelIn(scope, { id }));
  await pushBooking(services, type, row);
  await sendInvitations(services, type, row, 'cancel');
  return bookingView(row);
}
