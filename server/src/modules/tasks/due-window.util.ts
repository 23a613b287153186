import { badRequest } from '../../platform/errors/app-error.js';

/** A calendar day, `YYYY-MM-DD`. */
type Day = string;

/** The instants that split open tasks into the groups of `GET /tasks/groups`. */
export type DueWindows = {
  now: Date;
  /** Starts, in the time zone, of tomorrow, the day after, and the next ISO week (Monday). */
  tomorrow: Date;
  dayAfter: Date;
  nextWeek: Date;
  /** The same days as calendar days: all-day tasks are due on a day, wherever one is. */
  days: { today: Day; tomorrow: Day; dayAfter: Day; nextWeek: Day };
};

/**
 * Checks an IANA time zone name against the runtime's time zone database (Intl).
 * @throws AppError 400 `invalid_time_zone` at `path`
 */
export function assertTimeZone(tz: string, path: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw badRequest(`${tz} is not an IANA time zone (e.g. Europe/Paris)`, path, 'invalid_time_zone');
  }
}

function wallClock(instantMs: number, tz: string) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(instantMs));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return {
    y: get('year'),
    m: get('month'),
    d: get('day'),
    H: get('hour'),
    M: get('minute'),
    S: get('second'),
  };
}

/** The zone's offset from UTC at an instant, in ms. */
function offsetAt(instantMs: number, tz: string): number {
  const w = wallClock(instantMs, tz);
  const second = Math.floor(instantMs / 1000) * 1000;
  return Date.UTC(w.y, w.m - 1, w.d, w.H, w.M, w.S) - second;
}

/** The instant a calendar day begins in `tz` (midnight; re-checked across a DST change). */
function startOfDay(day: Day, tz: string): Date {
  const midnightUtc = Date.parse(`${day}T00:00:00Z`);
  const first = midnightUtc - offsetAt(midnightUtc, tz);
  const second = midnightUtc - offsetAt(first, tz);
  return new Date(second);
}

const addDays = (day: Day, n: number): Day =>
  new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

/**
 * Where today, tomorrow, the day after tomorrow and the next ISO week (weeks start on Monday,
 * ISO 8601) begin for someone in `tz` at `now`. On a Saturday or a Sunday "this week" after
 * tomorrow is empty: `nextWeek` is then never before `dayAfter`.
 */
export function dueWindows(now: Date, tz: string): DueWindows {
  const w = wallClock(now.getTime(), tz);
  const today = `${String(w.y).padStart(4, '0')}-${String(w.m).padStart(2, '0')}-${String(w.d).padStart(2, '0')}`;
  const isoWeekday = ((new Date(`${today}T00:00:00Z`).getUTCDay() + 6) % 7) + 1; // Monday 1 .. Sunday 7
  const days = {
    today,
    tomorrow: addDays(today, 1),
    dayAfter: addDays(today, 2),
    nextWeek: addDays(today, Math.max(8 - isoWeekday, 2)),
  };
  return {
    now,
    tomorrow: startOfDay(days.tomorrow, tz),
    dayAfter: startOfDay(days.dayAfter, tz),
    nextWeek: startOfDay(days.nextWeek, tz),
    days,
  };
}
