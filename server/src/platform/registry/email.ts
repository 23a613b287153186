import { z } from 'zod';

/** The longest e-mail address, in characters (RFC 5321's path limit less its angle brackets). */
export const EMAIL_MAX_LENGTH = 254;

/**
 * The one e-mail rule of the API, the import and custom fields: zod's `z.email()` pattern (letters,
 * digits and `_'+-.` before the `@`, no leading, trailing or doubled dot; a dotted domain ending in
 * a label of two or more letters), at most EMAIL_MAX_LENGTH characters. `a..b@x.com` and
 * `ada!#@x.com` are refused everywhere.
 */
export const isEmail = (value: string): boolean =>
  value.length <= EMAIL_MAX_LENGTH && z.regexes.email.test(value);

/** An e-mail as Cairn stores and compares it: trimmed and lower-cased. */
export const normalizeEmail = (value: string): string => value.trim().toLowerCase();

/** The schema of an e-mail field on write (the value as given; `normalizeEmail` stores it). */
export const emailSchema = () => z.email('Not a valid e-mail address').max(EMAIL_MAX_LENGTH);
