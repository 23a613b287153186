import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js/max';

/** The country assumed for numbers typed without a `+` country code. */
export const DEFAULT_PHONE_REGION: CountryCode = 'US';

/**
 * Normalizes a phone number to E.164 with libphonenumber-js (Google's metadata). Returns null
 * when it is not a possible number; the raw input is always kept beside it by callers.
 */
export function toE164(raw: string, region: CountryCode = DEFAULT_PHONE_REGION): string | null {
  const trimmed = raw.trim();
  if (!/\d/.test(trimmed)) return null;
  const parsed = parsePhoneNumberFromString(trimmed, { defaultCountry: region, extract: false });
  if (!parsed?.isPossible()) return null;
  const base = parsed.number as string;
  return parsed.ext ? `${base};ext=${parsed.ext}` : base;
}

/** Whether a number is valid for its region (not only possible): used to flag doubtful input. */
export function isValidPhone(raw: string, region: CountryCode = DEFAULT_PHONE_REGION): boolean {
  return parsePhoneNumberFromString(raw.trim(), region)?.isValid() ?? false;
}
