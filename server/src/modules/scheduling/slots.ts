import { DateTime, IANAZone } from 'luxon';
import type { DateOverride, DaySpan, WeeklyHours } from './scheduling.schema.js';

/** A span of absolute time, epoch milliseconds, end exclusive. */
export type Span = { start: number; end: number };

/** What the slot engine needs of one host. */
export type HostAvailability = {
  userId: string;
  timeZone: string;
  weekly: WeeklyHours;
  overrides: DateOverride[];
  bufferBeforeMinutes: number;
  bufferAfterMinutes: number;
  minNoticeMinutes: number;
  maxPerDay: number | null;
  /** The host's confirmed bookings (their own times, buffers not included). */
  booked: Span[];
  /** Other busy times (a connected calendar's). */
  busy: Span[];
};

const MIN = 60_000;

export const isTimeZone = (zone: string) => IANAZone.isValidZone(zone);

export const isHhmm = (s: string) => /^(([01]\d|2[0-3]):[0-5]\d|24:00)$/.test(s);

/**
 * The absolute time of a wall-clock `HH:MM` on `date` in `zone`. A time the day skips (spring
 * forward) moves to the first instant after the gap; a time it repeats (fall back) is its first
 * occurrence; `24:00` is the next day's midnight.
 */
export function wallTime(date: string, hhmm: string, zone: string): number {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  const day = DateTime.fromISO(date, { zone });
  const dt = h === 24 ? day.plus({ days: 1 }).startOf('day') : day.set({ hour: h, minute: m });
  return dt.toMillis();
}

/** The spans a host works on a local date: the override's, else the weekday's. */
export function spansOn(
  host: Pick<HostAvailability, 'weekly' | 'overrides' | 'timeZone'>,
  date: string,
): DaySpan[] {
  const override = host.overrides.find((o) => o.date === date);
  if (override) return override.spans;
  const weekday = DateTime.fromISO(date, { zone: host.timeZone }).weekday;
  return host.weekly[String(weekday)] ?? [];
}

const overlaps = (a: Span, b: Span) => a.start < b.end && b.start < a.end;

/** The host's local date of an instant. */
const localDate = (ms: number, zone: string) => DateTime.fromMillis(ms, { zone }).toISODate()!;

/**
 * The start times (epoch ms) at which `host` can take a meeting of `durationMinutes` within
 * [from, to): inside their working spans of that local day (stepping `stepMinutes` from each
 * span's start, in absolute time, so a span across a daylight-saving change keeps real lengths),
 * at least the minimum notice after `now`, clear of bookings and busy times with the buffers
 * around it, and under the day's meeting cap.
 */
export function hostSlots(
  host: HostAvailability,
  durationMinutes: number,
  stepMinutes: number,
  from: number,
  to: number,
  now: number,
  options: { ignoreBookings?: boolean } = {},
): number[] {
  const out: number[] = [];
  const zone = host.timeZone;
  const earliest = now + host.minNoticeMinutes * MIN;
  const blocked = options.ignoreBookings ? [] : [...host.booked, ...host.busy];
  const perDay = new Map<string, number>();
  if (!options.ignoreBookings)
    for (const b of host.booked) {
      const d = localDate(b.start, zone);
      perDay.set(d, (perDay.get(d) ?? 0) + 1);
    }
  let day = DateTime.fromMillis(from, { zone }).startOf('day').minus({ days: 1 });
  const last = DateTime.fromMillis(to, { zone }).startOf('day').plus({ days: 1 });
  for (; day <= last; day = day.plus({ days: 1 })) {
    const date = day.toISODate()!;
    if (host.maxPerDay !== null && (perDay.get(date) ?? 0) >= host.maxPerDay) continue;
    for (const span of spansOn(host, date)) {
      const spanStart = wallTime(date, span.start, zone);
      const spanEnd = wallTime(date, span.end, zone);
      for (let start = spanStart; start + durationMinutes * MIN <= spanEnd; start += stepMinutes * MIN) {
        if (start < from || start >= to || start < earliest) continue;
        const padded = {
          start: start - host.bufferBeforeMinutes * MIN,
          end: start + (durationMinutes + host.bufferAfterMinutes) * MIN,
        };
        if (blocked.some((b) => overlaps(padded, b))) continue;
        out.push(start);
      }
    }
  }
  return [...new Set(out)].sort((a, b) => a - b);
}

export type Assignment = 'single' | 'round_robin' | 'collective';

/**
 * The start times a page offers, and for each the hosts free then: for `collective`, times every
 * host is free; otherwise times at least one is.
 */
export function pageSlots(
  assignment: Assignment,
  hosts: HostAvailability[],
  durationMinutes: number,
  stepMinutes: number,
  from: number,
  to: number,
  now: number,
  options: { ignoreBookings?: boolean } = {},
): Map<number, string[]> {
  const free = new Map<number, string[]>();
  for (const host of hosts)
    for (const start of hostSlots(host, durationMinutes, stepMinutes, from, to, now, options))
      free.set(start, [...(free.get(start) ?? []), host.userId]);
  if (assignment === 'collective')
    for (const [start, who] of free) if (who.length < hosts.length) free.delete(start);
  return new Map([...free].sort((a, b) => a[0] - b[0]));
}

/** Slots grouped by the visitor's local date, with their local times. */
export function slotsForVisitor(starts: number[], durationMinutes: number, zone: string) {
  const days = new Map<string, { start: string; end: string; local_start: string }[]>();
  for (const start of starts) {
    const local = DateTime.fromMillis(start, { zone });
    const date = local.toISODate()!;
    days.set(date, [
      ...(days.get(date) ?? []),
      {
        start: new Date(start).toISOString(),
        end: new Date(start + durationMinutes * MIN).toISOString(),
        local_start: local.toISO({ suppressMilliseconds: true })!,
      },
    ]);
  }
  return [...days].map(([date, slots]) => ({ date, slots }));
}
