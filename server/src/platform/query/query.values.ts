import { type SQL, sql } from 'drizzle-orm';
import { isId } from '../../db/ids.js';
import { normalizeTag } from '../registry/field-values.js';
import type { FieldDef } from '../registry/registry.types.js';
import { invalidQuery, QUERY_LIMITS } from './query.errors.js';

/** When and where "today" is: relative dates are evaluated at `now` in the IANA `timeZone`. */
export type Clock = { now: Date; timeZone: string };

/** A calendar day, `YYYY-MM-DD`. */
export type Day = string;
/** The days [start, end): `end` is the first day after the period. */
export type DayPeriod = { start: Day; end: Day };

/**
 * What a date or datetime value stands for, as SQL bounds of the field's type: a period
 * [start, end) (a day, `last_7_days`...) or one instant (start = end, `endInclusive`).
 */
export type Bound = { start: SQL; end: SQL; endInclusive: boolean };

export const RELATIVE_DATE_TOKENS = [
  'today',
  'yesterday',
  'tomorrow',
  'this_week',
  'last_week',
  'next_week',
  'this_month',
  'last_month',
  'next_month',
  'this_quarter',
  'last_quarter',
  'this_year',
  'last_year',
  'last_N_days',
  'next_N_days',
] as const;

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME =
  /^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;
const DECIMAL = /^[+-]?(\d{1,40}(\.\d{0,40})?|\.\d{1,40})$/;

/**
 * The day formatter of each time zone seen (building an `Intl.DateTimeFormat` costs more than a
 * whole list query's compilation; zones are few). Undefined for a zone this runtime does not know.
 */
const dayFormats = new Map<string, Intl.DateTimeFormat | undefined>();

function dayFormatOf(timeZone: string): Intl.DateTimeFormat | undefined {
  if (dayFormats.has(timeZone)) return dayFormats.get(timeZone);
  let format: Intl.DateTimeFormat | undefined;
  try {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
  } catch {
    format = undefined;
  }
  // Bounded: unknown names come from clients, so they are not remembered past a few hundred.
  if (format || dayFormats.size < 500) dayFormats.set(timeZone, format);
  return format;
}

/** True when `timeZone` is an IANA zone name this runtime knows (`Europe/Paris`, `UTC`). */
export function isValidTimeZone(timeZone: string): boolean {
  return dayFormatOf(timeZone) !== undefined;
}

/** The calendar day it is at `now` in `timeZone`. */
export function todayIn(clock: Clock): Day {
  const format = dayFormatOf(clock.timeZone);
  if (!format) throw new RangeError(`Invalid time zone specified: ${clock.timeZone}`);
  const parts = format.formatToParts(clock.now);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year').padStart(4, '0')}-${part('month')}-${part('day')}`;
}

const dateOf = (day: Day) => new Date(`${day}T00:00:00Z`);
const dayOf = (date: Date): Day => date.toISOString().slice(0, 10);
const dayFromParts = (year: number, monthIndex: number, day = 1): Day =>
  dayOf(new Date(Date.UTC(year, monthIndex, day)));

/** `day` moved by `n` calendar days. */
export function addDays(day: Day, n: number): Day {
  const date = dateOf(day);
  date.setUTCDate(date.getUTCDate() + n);
  return dayOf(date);
}

/**
 * The days a relative token stands for, at `clock`: weeks start on Monday (ISO 8601);
 * `last_N_days` is the N days ending today (today included), `next_N_days` the N days starting
 * today; N is 1..3650. Returns undefined for an unknown token.
 */
export function relativePeriod(token: string, clock: Clock): DayPeriod | undefined {
  const today = todayIn(clock);
  const date = dateOf(today);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  const monday = addDays(today, -((date.getUTCDay() + 6) % 7));
  const quarter = Math.floor(month / 3) * 3;
  const days = /^(last|next)_(\d{1,4})_days$/.exec(token);
  if (days) {
    const n = Number(days[2]);
    if (n < 1 || n > 3650) return undefined;
    return days[1] === 'last'
      ? { start: addDays(today, 1 - n), end: addDays(today, 1) }
      : { start: today, end: addDays(today, n) };
  }
  switch (token) {
    case 'today':
      return { start: today, end: addDays(today, 1) };
    case 'yesterday':
      return { start: addDays(today, -1), end: today };
    case 'tomorrow':
      return { start: addDays(today, 1), end: addDays(today, 2) };
    case 'this_week':
      return { start: monday, end: addDays(monday, 7) };
    case 'last_week':
      return { start: addDays(monday, -7), end: monday };
    case 'next_week':
      return { start: addDays(monday, 7), end: addDays(monday, 14) };
    case 'this_month':
      return { start: dayFromParts(year, month), end: dayFromParts(year, month + 1) };
    case 'last_month':
      return { start: dayFromParts(year, month - 1), end: dayFromParts(year, month) };
    case 'next_month':
      return { start: dayFromParts(year, month + 1), end: dayFromParts(year, month + 2) };
    case 'this_quarter':
      return { start: dayFromParts(year, quarter), end: dayFromParts(year, quarter + 3) };
    case 'last_quarter':
      return { start: dayFromParts(year, quarter - 3), end: dayFromParts(year, quarter) };
    case 'this_year':
      return { start: dayFromParts(year, 0), end: dayFromParts(year + 1, 0) };
    case 'last_year':
      return { start: dayFromParts(year - 1, 0), end: dayFromParts(year, 0) };
    default:
      return undefined;
  }
}

/** True for a real calendar day `YYYY-MM-DD` (no 2023-02-29), years 0001..9999. */
export function isDay(value: string): boolean {
  const match = DAY.exec(value);
  if (!match) return false;
  const [, y, m, d] = match.map(Number);
  if (!y || !m || !d) return false;
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/** An ISO 8601 date-time (`2024-05-01T09:30:00Z`); without an offset it is local to the clock's zone. */
function parseDatetime(value: string): { text: string; hasOffset: boolean } | undefined {
  const match = DATETIME.exec(value);
  if (!match || !isDay(match[1] ?? '')) return undefined;
  if (Number(match[2]) > 23 || Number(match[3]) > 59 || Number(match[4] ?? 0) > 59) return undefined;
  return { text: value.replace(' ', 'T'), hasOffset: match[5] !== undefined };
}

/** A string value within the length cap. */
export function stringValue(value: unknown, path: string): string {
  if (typeof value !== 'string') throw invalidQuery('Expected a string', path);
  if (value.length > QUERY_LIMITS.maxStringLength) {
    throw invalidQuery(`At most ${QUERY_LIMITS.maxStringLength} characters`, path);
  }
  if (value.includes('\u0000')) throw invalidQuery('A value cannot contain the NUL character', path);
  return value;
}

/** A list of 1..100 values, each checked by `each`; duplicates removed. */
export function listValue<T>(value: unknown, path: string, each: (v: unknown, path: string) => T): T[] {
  if (!Array.isArray(value) || value.length === 0) throw invalidQuery('Expected a non-empty list', path);
  if (value.length > QUERY_LIMITS.maxValues) {
    throw invalidQuery(`At most ${QUERY_LIMITS.maxValues} values`, path);
  }
  return [...new Set(value.map((v, i) => each(v, `${path}[${i}]`)))];
}

/**
 * A value a list field (`tags`, `multi_select`) is compared with: a select value must be one of
 * the field's options; a tag is lower-cased (tags compare case-insensitively).
 */
export function listElementValue(field: FieldDef, value: unknown, path: string): string {
  const text = stringValue(value, path);
  if (field.type === 'tags') return normalizeTag(text);
  return optionValue(field, text, path);
}

function optionValue(field: FieldDef, text: string, path: string): string {
  if (field.options && !field.options.some((o) => o.value === text)) {
    const allowed = field.options.map((o) => o.value).join(', ');
    throw invalidQuery(`Not an option of ${field.key}: expected one of ${allowed}`, path);
  }
  return text;
}

/**
 * One scalar value as a bound SQL parameter cast to the field's type (`$1::numeric`), for eq, neq,
 * in and nin and number comparisons. `uuidAsText` when the field is read as text (custom storage).
 * @throws AppError 400 `invalid_query` at `path` when the value does not fit the type
 */
export function scalarParam(field: FieldDef, value: unknown, path: string, uuidAsText: boolean): SQL {
  switch (field.type) {
    case 'number':
    case 'currency': {
      const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
      if (typeof text !== 'string' || !(DECIMAL.test(text) || /^-?\d+(\.\d+)?e[+-]?\d+$/i.test(text))) {
        throw invalidQuery('Expected a number', path);
      }
      return sql`${text}::numeric`;
    }
    case 'boolean': {
      if (value !== true && value !== false && value !== 'true' && value !== 'false') {
        throw invalidQuery('Expected true or false', path);
      }
      return sql`${String(value)}::boolean`;
    }
    case 'relation':
    case 'user':
    case 'uuid': {
      if (typeof value !== 'string' || !isId(value)) throw invalidQuery('Expected a UUID', path);
      const id = value.toLowerCase();
      return uuidAsText ? sql`${id}` : sql`${id}::uuid`;
    }
    case 'select':
    case 'status':
      return sql`${optionValue(field, stringValue(value, path), path)}`;
    case 'date':
    case 'datetime':
    case 'tags':
    case 'multi_select':
      throw invalidQuery(`A ${field.type} field takes no single value here`, path);
    default:
      return sql`${stringValue(value, path)}`;
  }
}

/**
 * What a date or datetime value stands for: `YYYY-MM-DD` (that whole day; on a datetime field,
 * the day in the clock's zone), `{relative: token}` (that period), or on a datetime field an ISO
 * date-time (that instant; without an offset it is read in the clock's zone).
 * @throws AppError 400 `invalid_query` at `path` for anything else
 */
export function dateBound(field: FieldDef, value: unknown, path: string, clock: Clock): Bound {
  const datetime = field.type === 'datetime';
  const dayBound = (period: DayPeriod): Bound =>
    datetime
      ? {
          start: sql`(${period.start}::timestamp at time zone ${clock.timeZone})`,
          end: sql`(${period.end}::timestamp at time zone ${clock.timeZone})`,
          endInclusive: false,
        }
      : { start: sql`${period.start}::date`, end: sql`${period.end}::date`, endInclusive: false };
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const keys = Object.keys(value);
    const token = (value as { relative?: unknown }).relative;
    if (keys.length !== 1 || typeof token !== 'string') {
      throw invalidQuery('Expected {"relative": token}', path);
    }
    const period = relativePeriod(token, clock);
    if (!period) {
      throw invalidQuery(
        `Unknown relative date; use one of ${RELATIVE_DATE_TOKENS.join(', ')} (N is 1..3650)`,
        `${path}.relative`,
      );
    }
    return dayBound(period);
  }
  if (typeof value !== 'string')
    throw invalidQuery('Expected a date YYYY-MM-DD or {"relative": token}', path);
  if (isDay(value)) return dayBound({ start: value, end: addDays(value, 1) });
  const instant = datetime ? parseDatetime(value) : undefined;
  if (!instant) {
    throw invalidQuery(
      datetime
        ? 'Expected an ISO 8601 date-time, a date YYYY-MM-DD or {"relative": token}'
        : 'Expected a date YYYY-MM-DD',
      path,
    );
  }
  const at = instant.hasOffset
    ? sql`${instant.text}::timestamptz`
    : sql`(${instant.text}::timestamp at time zone ${clock.timeZone})`;
  return { start: at, end: at, endInclusive: true };
}
