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
  const nanp = nanpE164(trimmed, region);
  if (nanp) return nanp;
  if (!/\d/.test(trimmed)) return null;
  const parsed = parsePhoneNumberFromString(trimmed, { defaultCountry: region, extract: false });
  if (!parsed?.isPossible()) return null;
  const base = parsed.number as string;
  return parsed.ext ? `${base};ext=${parsed.ext}` : base;
}

/**
 * A North American number in one of the usual shapes: `+1 415 555 0100`, `+1 (415) 555-0100`,
 * `415.555.0100` (no `+1` when the region is US or CA). An area code and an exchange begin with 2-9.
 */
const NANP = /^(\+1[\s.-]?)?\(?([2-9]\d{2})\)?[\s.-]?([2-9]\d{2})[\s.-]?(\d{4})$/;

/**
 * `toE164` of a North American number in a usual shape, without libphonenumber-js: parsing takes
 * it about 16 µs of CPU, a tenth of what an import spends on a row (bench/import.bench.ts), and
 * its answer for these shapes is always `+1` and the ten digits (test/phone.test.ts compares the
 * two on every shape). Null for anything else, which libphonenumber-js then reads.
 */
function nanpE164(value: string, region: CountryCode): string | null {
  const m = NANP.exec(value);
  if (!m || (!m[1] && region !== 'US' && region !== 'CA')) return null;
  // A parenthesis is only around the area code, and both or none.
  const open = value.indexOf('(');
  const close = value.indexOf(')');
  if ((open === -1) !== (close === -1)) return null;
  return `+1${m[2]}${m[3]}${m[4]}`;
}

/** Whether a number is valid for its region (not only possible): used to flag doubtful input. */
export function isValidPhone(raw: string, region: CountryCode = DEFAULT_PHONE_REGION): boolean {
  return parsePhoneNumberFromString(raw.trim(), region)?.isValid() ?? false;
}
