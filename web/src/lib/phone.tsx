import { Anchor } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { parsePhoneNumberFromString } from 'libphonenumber-js/min';
import { organizationSettingsQuery } from './query';

/**
 * A stored phone (E.164, an extension as `;ext=`, RFC 3966) as people read it, with
 * libphonenumber-js: North American numbers as `+1 415-555-0142`, others in the international
 * format (`+44 20 7946 0958`), numbers of `country` (the organization's, when not the US) in their
 * national form, an extension as `ext. 67259`. A number it cannot read is shown as
 * it is.
 */
export function formatPhone(stored: string, country?: string | null): string {
  const [base = '', ext] = stored.split(';ext=');
  const parsed = parsePhoneNumberFromString(base);
  if (!parsed) return stored;
  const main =
    country && country !== 'US' && parsed.country === country
      ? parsed.formatNational() // the organization's own country (its settings): national form
      : parsed.countryCallingCode === '1'
        ? `+1 ${parsed.formatNational().replace(/^\((\d{3})\)\s*/, '$1-')}`
        : parsed.formatInternational();
  return ext ? `${main} ext. ${ext}` : main;
}

/** A phone as a `tel:` link (the stored E.164 with its extension, a valid RFC 3966 URI), formatted. */
export function PhoneLink({ value }: { value: string }) {
  const country = useQuery(organizationSettingsQuery).data?.country;
  return (
    <Anchor href={`tel:${value.replace(/\s+/g, '')}`} size="sm">
      {formatPhone(value, country)}
    </Anchor>
  );
}

/** An e-mail address as a `mailto:` link. */
export function EmailLink({ value }: { value: string }) {
  return (
    <Anchor href={`mailto:${value}`} size="sm">
      {value}
    </Anchor>
  );
}
