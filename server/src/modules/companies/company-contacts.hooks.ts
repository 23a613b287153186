import type { TenantScope } from '../../db/tenant.js';
import type { NewEvent } from '../../platform/events/events.js';

/**
 * What a company needs from the contacts linked to it. The contacts module owns the links and
 * stands on this one, so it plugs these in (`contacts/company-contacts.plug.ts`, loaded by the
 * composition root) instead of companies importing contacts, which would close a circle.
 */
export type CompanyContactHooks = {
  /** How many contacts link to each of the companies `companyIds` (a company with none: absent). */
  countContacts(scope: TenantScope, companyIds: string[]): Promise<Map<string, number>>;
  /**
   * Removes every contact link to the companies being archived, inside the caller's transaction.
   * @returns by company id, the unlinked contacts and their events, which the caller emits after
   *   the company's own (`contact.company_unlinked`, reason `company_archived`)
   */
  unlinkContacts(
    scope: TenantScope,
    companies: { id: string; name: string }[],
  ): Promise<Map<string, { contactIds: string[]; events: NewEvent[] }>>;
};

let plugged: CompanyContactHooks | undefined;

/** Plugs in the contacts' side of a company (once, at start-up). */
export function plugCompanyContactHooks(hooks: CompanyContactHooks): void {
  plugged = hooks;
}

/** The plugged-in hooks. @throws when the contacts module has not been loaded */
export function companyContactHooks(): CompanyContactHooks {
  if (!plugged) throw new Error('The contacts module has not plugged in its company hooks (see app.ts)');
  return plugged;
}
