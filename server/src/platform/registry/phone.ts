import { type CountryCode, isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js/max';

export type { CountryCode } from 'libphonenumber-js/max';

/** The country assumed for numbers typed without a `+` country code, when none is given. */
export const DEFAULT_PHONE_REGION: CountryCode = 'US';

/** Whether `code` is a country libphonenumber-js has a dialling plan for (upper-case ISO 3166-1 alpha-2). */
export const isPhoneRegion = (code: string): code is CountryCode =>
  /^[A-Z]{2}$/.test(code) && isSupportedCountry(code);

/** The region numbers without a country code are read in: `region` when it is one, else DEFAULT_PHONE_REGION. */
export const phoneRegionOr = (region: string | null | undefined): CountryCode =>
  region && isPhoneRegion(region) ? region : DEFAULT_PHONE_REGION;

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
