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
