import type { ObjectDisplay } from './registry.types.js';

/** What a contact without a name, an e-mail or a phone is called. */
export const UNNAMED_CONTACT = 'Unnamed contact';

/** The fields a contact's name is made of, in the registry's keys. */
export type ContactNameFields = {
  first_name?: string | null | undefined;
  last_name?: string | null | undefined;
  email?: string | null | undefined;
  phone?: string | null | undefined;
};

/**
 * The one rule naming a contact (events, timelines, search results, references, merges, the board):
 * its first and last names, else its primary e-mail, else its primary phone, else "Unnamed contact".
 * `contactTitleSql` is the same rule in SQL.
 */
export function contactDisplayName(c: ContactNameFields): string {
  return [c.first_name, c.last_name].filter(Boolean).join(' ') || c.email || c.phone || UNNAMED_CONTACT;
}

/** `contactDisplayName` in SQL, over the contacts table under `alias` (empty names count as none). */
export const contactTitleSql = (alias: string): string =>
  `coalesce(nullif(concat_ws(' ', nullif(${alias}.first_name, ''), nullif(${alias}.last_name, '')), ''), nullif(${alias}.email, ''), nullif(${alias}.phone, ''), '${UNNAMED_CONTACT}')`;

/** A record's name by its object's `display` rule (fields, else fallback, else `empty`). */
export function displayNameOf(display: ObjectDisplay, record: Readonly<Record<string, unknown>>): string {
  const text = (key: string) => {
    const value = record[key];
    return typeof value === 'string' && value !== '' ? value : null;
  };
  const named = display.fields.map(text).filter(Boolean).join(' ');
  return named || display.fallback.map(text).find(Boolean) || display.empty;
}

/** A contact's `display`: the rule of `contactDisplayName` (names, else e-mail, else phone). */
export const CONTACT_DISPLAY: ObjectDisplay = {
  fields: ['first_name', 'last_name'],
  fallback: ['email', 'phone'],
  empty: UNNAMED_CONTACT,
  columns: ['first_name', 'last_name', 'email', 'phone', 'companies', 'tags', 'owner_id', 'created_at'],
};
