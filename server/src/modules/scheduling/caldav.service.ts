import { and, eq } from 'drizzle-orm';
import ICAL from 'ical.js';
import ical from 'ical-generator';
import { DateTime } from 'luxon';
import { createDAVClient } from 'tsdav';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import { seal, unseal } from '../../platform/crypto/sealed.js';
import { AppError, notFound } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { checkTargetNow, OutboundError, outboundFetch } from '../../platform/net/outbound-http.js';
import { recordIntegration } from '../ops/integration-health.service.js';
import { outboundPolicyOf } from '../webhooks/webhook.service.js';
import {
  bookingCalendarEvents,
  type bookings,
  calendarConnections,
  type meetingTypes,
} from './scheduling.schema.js';

/**
 * CalDAV calendars of members (issue 33), over tsdav: a member connects a calendar; its busy times
 * (read at each poll) block their slots; their bookings are written to it as events
 * (`<booking id>.ics`, UID `<booking id>@cairn`); an event moved or deleted there moves or cancels
 * the booking at the next poll (`CALENDAR_POLL_QUEUE`, every 5 minutes per connection).
 */
export const CALENDAR_POLL_QUEUE = 'scheduling.calendar-poll';
const SEAL_PURPOSE = 'caldav-password';
const POLL_EVERY_S = 300;
const DAY = 86_400_000;
const HORIZON_DAYS = 62;

type ConnectionRow = typeof calendarConnections.$inferSelect;
type BookingRow = typeof bookings.$inferSelect;
type MeetingTypeRow = typeof meetingTypes.$inferSelect;

export type CalendarInput = {
  server_url: string;
  username: string;
  password: string;
  calendar_url?: string | undefined;
};

const unreachable = (message: string) =>
  new AppError(422, 'calendar_unreachable', message, { path: 'body.server_url' });

async function davClient(services: Services, serverUrl: string, username: string, password: string) {
  try {
    await checkTargetNow(serverUrl, outboundPolicyOf(services));
  } catch (error) {
    if (error instanceof OutboundError)
      throw new AppError(422, error.code, error.message, { path: 'body.server_url' });
    throw error;
  }
  return createDAVClient({
    serverUrl,
    credentials: { username, password },
    authMethod: 'Basic',
    defaultAccountType: 'caldav',
    // Every request connects only to the addresses the outbound policy allows, checked as it
    // connects (not only when the URL was saved): no DNS rebinding to a private address.
    fetch: outboundFetch(outboundPolicyOf(services)),
  });
}

const userOf = (ctx: TenantContext) => {
  if (ctx.actor.type !== 'user' || !ctx.actor.id)
    throw new AppError(403, 'forbidden', 'A calendar belongs to a member');
  return ctx.actor.id;
};

export function connectionView(r: ConnectionRow | undefined) {
  return r
    ? {
        connected: true,
        server_url: r.serverUrl,
        calendar_url: r.calendarUrl,
        username: r.username,
        busy: r.busy,
        last_synced_at: r.lastSyncedAt ? new Date(r.lastSyncedAt).toISOString() : null,
        last_error: r.lastError,
      }
    : {
        connected: false,
        server_url: null,
        calendar_url: null,
        username: null,
        busy: [],
        last_synced_at: null,
        last_error: null,
      };
}

/**
 * Connects the caller's CalDAV calendar: the server is reached and its calendars listed (the one
 * at `calendar_url`, else the first that holds events), the password sealed, and a first poll run.
 * @throws 422 `calendar_unreachable` (down, refused, not CalDAV), `no_calendar`, SSRF refusals
 */
export async function connectCalendar(services: Services, ctx: TenantContext, input: CalendarInput) {
  const userId = userOf(ctx);
  let calendarUrl: string | undefined;
  try {
    const client = await davClient(services, input.server_url, input.username, input.password);
    const calendars = await client.fetchCalendars();
    const chosen = input.calendar_url
      ? calendars.find((c) => c.url === input.calendar_url)
      : (calendars.find((c) => !c.components || c.components.includes('VEVENT')) ?? calendars[0]);
    calendarUrl = chosen?.url;
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw unreachable(`The CalDAV server did not answer as one: ${(error as Error).message}`.slice(0, 300));
  }
  if (!calendarUrl)
    throw new AppError(422, 'no_calendar', 'No such calendar on this server', {
      path: input.calendar_url ? 'body.calendar_url' : 'body.server_url',
    });
  const values = {
    orgId: ctx.orgId,
    userId,
    serverUrl: input.server_url,
    calendarUrl,
    username: input.username,
    passwordSealed: seal(services.config.secret, SEAL_PURPOSE, input.password),
    busy: [],
    lastError: null,
  };
  await withTenant(services.database, ctx, async (scope) => {
    await scope.tx
      .insert(calendarConnections)
      .values(values)
      .onConflictDoUpdate({ target: [calendarConnections.orgId, calendarConnections.userId], set: values });
    await services.jobs.send(
      scope.conn,
      CALENDAR_POLL_QUEUE,
      { orgId: ctx.orgId, userId },
      {
        singletonKey: `${ctx.orgId}:${userId}`,
        startAfter: POLL_EVERY_S,
      },
    );
  });
  return syncCalendar(services, ctx.orgId, userId);
}

export async function getCalendar(services: Services, ctx: TenantContext) {
  const userId = userOf(ctx);
  return withTenant(services.database, ctx, async ({ tx }) => {
    const [row] = await tx
      .select()
      .from(calendarConnections)
      .where(and(eq(calendarConnections.orgId, ctx.orgId), eq(calendarConnections.userId, userId)));
    return connectionView(row);
  });
}

export async function disconnectCalendar(services: Services, ctx: TenantContext) {
  const userId = userOf(ctx);
  await withTenant(services.database, ctx, async ({ tx }) => {
    const gone = await tx
      .delete(calendarConnections)
      .where(and(eq(calendarConnections.orgId, ctx.orgId), eq(calendarConnections.userId, userId)))
      .returning();
    if (gone.length === 0) throw notFound('Calendar connection');
    await tx
      .delete(bookingCalendarEvents)
      .where(and(eq(bookingCalendarEvents.orgId, ctx.orgId), eq(bookingCalendarEvents.userId, userId)));
  });
}

export async function syncMyCalendar(services: Services, ctx: TenantContext) {
  const userId = userOf(ctx);
  return syncCalendar(services, ctx.orgId, userId);
}

type ParsedEvent = { uid: string; start: number; end: number; cancelled: boolean; transparent: boolean };

/**
 * The instant of an iCalendar time. A time whose TZID has no VTIMEZONE in the file (servers often
 * leave out the well-known IANA zones) is read in that zone with luxon: ical.js would take it as
 * floating, in this process's own zone. A floating time without a TZID is read as UTC.
 */
function instantOf(time: ICAL.Time): number {
  const tzid = (time as unknown as { timezone?: string }).timezone;
  if (time.zone?.tzid !== 'floating') return time.toJSDate().getTime();
  const parts = {
    year: time.year,
    month: time.month,
    day: time.day,
    hour: time.hour,
    minute: time.minute,
    second: time.second,
  };
  const zoned = tzid ? DateTime.fromObject(parts, { zone: tzid }) : undefined;
  return (zoned?.isValid ? zoned : DateTime.fromObject(parts, { zone: 'utc' })).toMillis();
}

/** The VEVENTs of an iCalendar text (unparsable ones are skipped). */
export function parseEvents(text: string): ParsedEvent[] {
  try {
    const root = new ICAL.Component(ICAL.parse(text) as unknown[]);
    return root.getAllSubcomponents('vevent').flatMap((c) => {
      const event = new ICAL.Event(c);
      if (!event.startDate) return [];
      const start = instantOf(event.startDate);
      const end = event.endDate ? instantOf(event.endDate) : start;
      return [
        {
          uid: event.uid,
          start,
          end,
          cancelled: String(c.getFirstPropertyValue('status') ?? '').toUpperCase() === 'CANCELLED',
          transparent: String(c.getFirstPropertyValue('transp') ?? '').toUpperCase() === 'TRANSPARENT',
        },
      ];
    });
  } catch {
    return [];
  }
}

const BOOKING_UID = /^([0-9a-f-]{36})@cairn$/;

/**
 * One poll of a member's calendar: busy times from now to 62 days on are kept for the slots;
 * a booking whose event was deleted (or cancelled) there is cancelled, one whose event moved is
 * moved (unless the new time is taken: then the error is kept as `last_error`). A server that is
 * down or answers garbage leaves the busy times as they were and sets `last_error`.
 */
export async function syncCalendar(services: Services, orgId: string, userId: string) {
  const ctx: TenantContext = { orgId, actor: { type: 'system', id: null } };
  const [conn] = await withTenant(services.database, ctx, ({ tx }) =>
    tx
      .select()
      .from(calendarConnections)
      .where(and(eq(calendarConnections.orgId, orgId), eq(calendarConnections.userId, userId))),
  );
  if (!conn) throw notFound('Calendar connection');
  const now = Date.now();
  const from = now - DAY;
  const to = now + HORIZON_DAYS * DAY;
  let objects: { url: string; data?: string }[];
  try {
    const client = await davClient(
      services,
      conn.serverUrl,
      conn.username,
      unseal(services.config.secret, SEAL_PURPOSE, conn.passwordSealed),
    );
    objects = (await client.fetchCalendarObjects({
      calendar: { url: conn.calendarUrl },
      timeRange: { start: new Date(from).toISOString(), end: new Date(to).toISOString() },
    })) as { url: string; data?: string }[];
  } catch (error) {
    const message = `Calendar not read: ${(error as Error).message}`.slice(0, 500);
    await withTenant(services.database, ctx, ({ tx }) =>
      tx
        .update(calendarConnections)
        .set({ lastError: message })
        .where(and(eq(calendarConnections.orgId, orgId), eq(calendarConnections.userId, userId))),
    );
    await recordIntegration(services, orgId, {
      kind: 'caldav',
      ref: userId,
      name: 'Calendar',
      ok: false,
      error: message,
    });
    return connectionView({ ...conn, lastError: message });
  }
  await recordIntegration(services, orgId, { kind: 'caldav', ref: userId, name: 'Calendar', ok: true });
  const busy: { start: string; end: string }[] = [];
  const ours = new Map<string, ParsedEvent>();
  for (const o of objects)
    for (const e of parseEvents(o.data ?? '')) {
      const mine = BOOKING_UID.exec(e.uid);
      if (mine) ours.set(mine[1]!, e);
      else if (!e.cancelled && !e.transparent && e.end > from && e.start < to)
        busy.push({ start: new Date(e.start).toISOString(), end: new Date(e.end).toISOString() });
    }
  busy.sort((a, b) => a.start.localeCompare(b.start));
  const errors: string[] = [];
  const { moved, cancelled } = await withTenant(services.database, ctx, async (scope) => {
    const { rows } = await scope.conn.query<{ id: string; start_at: string; end_at: string }>(
      `select b.id, b.start_at, b.end_at from booking_calendar_events e
         join bookings b on b.org_id = e.org_id and b.id = e.booking_id
        where e.org_id = $1 and e.user_id = $2 and b.status = 'confirmed' and b.start_at > $3 and b.start_at < $4`,
      [orgId, userId, new Date(now).toISOString(), new Date(to).toISOString()],
    );
    const moved: string[] = [];
    const cancelled: string[] = [];
    for (const b of rows) {
      const event = ours.get(b.id);
      if (!event || event.cancelled) {
        cancelled.push(b.id);
        continue;
      }
      if (event.start !== new Date(b.start_at).getTime() || event.end !== new Date(b.end_at).getTime())
        moved.push(b.id);
    }
    for (const id of cancelled) {
      await scope.conn.query('delete from booking_holds where org_id = $1 and booking_id = $2', [orgId, id]);
      await scope.conn.query(
        `update bookings set status = 'cancelled', cancelled_at = now(), sequence = sequence + 1, updated_at = now()
          where org_id = $1 and id = $2`,
        [orgId, id],
      );
    }
    for (const id of moved) {
      const e = ours.get(id)!;
      const startAt = new Date(e.start).toISOString();
      const endAt = new Date(e.end).toISOString();
      await scope.conn.query('savepoint move_booking');
      try {
        await scope.conn.query(
          'update booking_holds set start_at = $3, end_at = $4 where org_id = $1 and booking_id = $2',
          [orgId, id, startAt, endAt],
        );
        await scope.conn.query(
          `update bookings set start_at = $3, end_at = $4, sequence = sequence + 1, updated_at = now()
            where org_id = $1 and id = $2`,
          [orgId, id, startAt, endAt],
        );
        await scope.conn.query('release savepoint move_booking');
      } catch (error) {
        await scope.conn.query('rollback to savepoint move_booking');
        errors.push(`Booking ${id} not moved: ${(error as Error).message}`);
      }
    }
    await scope.tx
      .update(calendarConnections)
      .set({
        busy,
        lastSyncedAt: new Date().toISOString(),
        lastError: errors.length ? errors.join('; ').slice(0, 500) : null,
      })
      .where(and(eq(calendarConnections.orgId, orgId), eq(calendarConnections.userId, userId)));
    return { moved, cancelled };
  });
  const [after] = await withTenant(services.database, ctx, ({ tx }) =>
    tx
      .select()
      .from(calendarConnections)
      .where(and(eq(calendarConnections.orgId, orgId), eq(calendarConnections.userId, userId))),
  );
  return { ...connectionView(after), moved, cancelled };
}

/** The event a calendar stores for a booking (no METHOD: a stored object, not a message). */
function eventText(type: MeetingTypeRow, b: BookingRow) {
  const cal = ical({ prodId: { company: 'Cairn', product: 'Cairn CRM', language: 'EN' } });
  cal.createEvent({
    id: `${b.id}@cairn`,
    sequence: b.sequence,
    start: new Date(b.startAt),
    end: new Date(b.endAt),
    summary: `${type.name}: ${b.name}`,
    description: `${b.name} <${b.email}>`,
    location: type.location ?? type.videoUrl ?? null,
  });
  return cal.toString();
}

/**
 * Writes a booking (created, moved or cancelled) to the calendars of its hosts that have one.
 * Failures are logged and kept as the connection's `last_error`; the booking stands.
 */
export async function pushBooking(services: Services, type: MeetingTypeRow, b: BookingRow) {
  const ctx: TenantContext = { orgId: b.orgId, actor: { type: 'system', id: null } };
  const { connections, events } = await withTenant(services.database, ctx, async ({ tx }) => ({
    connections: await tx.select().from(calendarConnections).where(eq(calendarConnections.orgId, b.orgId)),
    events: await tx
      .select()
      .from(bookingCalendarEvents)
      .where(and(eq(bookingCalendarEvents.orgId, b.orgId), eq(bookingCalendarEvents.bookingId, b.id))),
  }));
  const userIds = new Set([...(b.status === 'confirmed' ? b.hostIds : []), ...events.map((e) => e.userId)]);
  for (const userId of userIds) {
    const conn = connections.find((c) => c.userId === userId);
    if (!conn) continue;
    const existing = events.find((e) => e.userId === userId);
    const keep = b.status === 'confirmed' && b.hostIds.includes(userId);
    try {
      const client = await davClient(
        services,
        conn.serverUrl,
        conn.username,
        unseal(services.config.secret, SEAL_PURPOSE, conn.passwordSealed),
      );
      if (!keep) {
        if (existing) await client.deleteCalendarObject({ calendarObject: { url: existing.url } });
        await withTenant(services.database, ctx, ({ tx }) =>
          tx
            .delete(bookingCalendarEvents)
            .where(
              and(
                eq(bookingCalendarEvents.orgId, b.orgId),
                eq(bookingCalendarEvents.bookingId, b.id),
                eq(bookingCalendarEvents.userId, userId),
              ),
            ),
        );
        continue;
      }
      const data = eventText(type, b);
      const url =
        existing?.url ??
        new URL(
          `${b.id}.ics`,
          conn.calendarUrl.endsWith('/') ? conn.calendarUrl : `${conn.calendarUrl}/`,
        ).toString();
      const res = existing
        ? await client.updateCalendarObject({ calendarObject: { url, data } })
        : await client.createCalendarObject({
            calendar: { url: conn.calendarUrl },
            filename: `${b.id}.ics`,
            iCalString: data,
          });
      if (!res.ok) throw new Error(`the server answered ${res.status}`);
      await withTenant(services.database, ctx, ({ tx }) =>
        tx
          .insert(bookingCalendarEvents)
          .values({ orgId: b.orgId, bookingId: b.id, userId, url, etag: res.headers.get('etag') })
          .onConflictDoUpdate({
            target: [
              bookingCalendarEvents.orgId,
              bookingCalendarEvents.bookingId,
              bookingCalendarEvents.userId,
            ],
            set: { url, etag: res.headers.get('etag') },
          }),
      );
    } catch (error) {
      await withTenant(services.database, ctx, ({ tx }) =>
        tx
          .update(calendarConnections)
          .set({ lastError: `Booking not written: ${(error as Error).message}`.slice(0, 500) })
          .where(and(eq(calendarConnections.orgId, b.orgId), eq(calendarConnections.userId, userId))),
      );
    }
  }
}

/** The poll: each connection polls itself every 5 minutes (one queued job per connection). */
export function defineCalendarPollQueue(services: Services): void {
  services.jobs.define<{ orgId: string; userId: string }>(
    { name: CALENDAR_POLL_QUEUE, retryLimit: 3 },
    async ({ data }) => {
      try {
        await syncCalendar(services, data.orgId, data.userId);
      } catch (error) {
        if (error instanceof AppError && error.status === 404) return; // disconnected: the chain stops
        throw error;
      }
      await services.jobs.send(null, CALENDAR_POLL_QUEUE, data, {
        singletonKey: `${data.orgId}:${data.userId}`,
        startAfter: POLL_EVERY_S,
      });
    },
  );
}
