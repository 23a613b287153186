import { DateTime } from 'luxon';

/** When a message may go out: ISO weekdays (1 = Monday) and local hours, in the recipient's time zone (a sequence's window, a workflow's business hours). */
export type SendingWindow = { days: number[]; start: string; end: string };

/**
 * Sending windows in the contact's time zone (issue 25), computed with luxon on wall-clock time:
 * "09:00 on a business day" is 09:00 local on either side of a daylight-saving change, and a
 * local time that does not exist (a spring-forward gap) moves forward as luxon does.
 */

const minutesOf = (hhmm: string) => {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
};

const isOpenDay = (day: DateTime, window: SendingWindow, holidays: readonly string[]) =>
  window.days.includes(day.weekday) && !holidays.includes(day.toISODate() ?? '');

/**
 * The first instant at or after `from` inside the window (`days`: ISO weekdays, `start`..`end`:
 * local HH:MM) in `zone`, skipping `holidays` (local dates). Looks 400 days ahead at most.
 * @returns null when the window never opens (no day, or start >= end)
 */
export function nextWindowOpening(
  from: Date,
  zone: string,
  window: SendingWindow,
  holidays: readonly string[] = [],
): Date | null {
  const start = minutesOf(window.start);
  const end = minutesOf(window.end);
  if (window.days.length === 0 || start >= end) return null;
  const local = DateTime.fromJSDate(from, { zone });
  for (let i = 0; i < 400; i += 1) {
    const day = local.startOf('day').plus({ days: i });
    if (!isOpenDay(day, window, holidays)) continue;
    const opens = day.set({ hour: Math.floor(start / 60), minute: start % 60 });
    const closes = day.set({ hour: Math.floor(end / 60), minute: end % 60 });
    if (i === 0) {
      if (local < opens) return opens.toJSDate();
      if (local < closes) return from;
      continue;
    }
    return opens.toJSDate();
  }
  return null;
}

/** Whether `at` is inside the window in `zone`. */
export function inWindow(at: Date, zone: string, window: SendingWindow, holidays: readonly string[] = []) {
  return nextWindowOpening(at, zone, window, holidays)?.getTime() === at.getTime();
}

/**
 * `from` plus `days` days in `zone` (calendar days keep the local time across a DST change); with
 * `business`, only the window's days that are not holidays count.
 */
export function addDays(
  from: Date,
  days: number,
  zone: string,
  business: boolean,
  window: SendingWindow,
  holidays: readonly string[] = [],
): Date {
  let at = DateTime.fromJSDate(from, { zone });
  if (!business || window.days.length === 0) return at.plus({ days }).toJSDate();
  let left = days;
  while (left > 0) {
    at = at.plus({ days: 1 });
    if (isOpenDay(at, window, holidays)) left -= 1;
  }
  return at.toJSDate();
}

/** Whether `zone` is an IANA zone luxon knows. */
export const isZone = (zone: string) => DateTime.now().setZone(zone).isValid;

/** The start of the local day after `at`'s in `zone`. */
export const startOfNextDay = (at: Date, zone: string) =>
  DateTime.fromJSDate(at, { zone }).startOf('day').plus({ days: 1 }).toJSDate();
