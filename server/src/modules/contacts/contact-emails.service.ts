import { and, eq, inArray } from 'drizzle-orm';
import type { TenantScope } from '../../db/tenant.js';
import { badRequest, conflict } from '../../platform/errors/app-error.js';
import { normalizeEmail } from '../../platform/registry/email.js';
import { toE164 } from '../../platform/registry/phone.js';
import type { ContactCreateInput } from './contact.dto.js';
import { contactEmails, type EmailValue, type PhoneValue } from './contact.schema.js';

/** A contact's e-mails and phones: normalized once, e-mails kept unique among active contacts. */

/** Adds active e-mails to contacts: one insert for any number (import batches, batch updates). */
export async function insertContactEmails(
  scope: TenantScope,
  emails: { contact_id: string; email: string }[],
): Promise<void> {
  if (emails.length === 0) return;
  await scope.conn.query(
    `insert into contact_emails (org_id, contact_id, email, active)
     select $1, x.contact_id, x.email, true from jsonb_to_recordset($2::jsonb) as x(contact_id uuid, email text)`,
    [scope.ctx.orgId, JSON.stringify(emails)],
  );
}

/** Normalizes e-mails: lower-cased, de-duplicated, exactly one primary (the first unless one says so). */
export function normalizeEmails(input: NonNullable<ContactCreateInput['emails']>): EmailValue[] {
  const seen = new Set<string>();
  const out: EmailValue[] = [];
  for (const e of input) {
    const value = normalizeEmail(e.value);
    if (seen.has(value)) continue;
    seen.add(value);
    out.push({ value, primary: Boolean(e.primary), ...(e.label ? { label: e.label } : {}) });
  }
  const primary = out.findIndex((e) => e.primary);
  return out.map((e, i) => ({ ...e, primary: i === (primary === -1 ? 0 : primary) }));
}

/** Normalizes phones to E.164 (raw kept). @throws 400 naming `body.phones[i].number` */
export function normalizePhones(input: NonNullable<ContactCreateInput['phones']>): PhoneValue[] {
  const out = input.map((p, i) => {
    const e164 = toE164(p.number);
    if (!e164) throw badRequest('Not a valid phone number', `body.phones[${i}].number`, 'invalid_phone');
    return { e164, raw: p.number, primary: Boolean(p.primary), ...(p.label ? { label: p.label } : {}) };
  });
  const primary = out.findIndex((p) => p.primary);
  return out.map((p, i) => ({ ...p, primary: i === (primary === -1 ? 0 : primary) }));
}

export async function replaceEmails(
  scope: TenantScope,
  contactId: string,
  emails: EmailValue[],
  active: boolean,
) {
  const { orgId } = scope.ctx;
  await scope.tx
    .delete(contactEmails)
    .where(and(eq(contactEmails.orgId, orgId), eq(contactEmails.contactId, contactId)));
  if (emails.length === 0) return;
  if (active) {
    // Checked first for a clear error naming the e-mail; the unique index still settles races (409).
    const taken = await scope.tx
      .select({ email: contactEmails.email })
      .from(contactEmails)
      .where(
        and(
          eq(contactEmails.orgId, orgId),
          eq(contactEmails.active, true),
          inArray(
            contactEmails.email,
            emails.map((e) => e.value),
          ),
        ),
      );
    const index = emails.findIndex((e) => taken.some((t) => t.email === e.value));
    if (index !== -1) {
      throw conflict(
        `Another contact already has the e-mail ${emails[index]!.value}`,
        `body.emails[${index}].value`,
        'duplicate_email',
      );
    }
  }
  await scope.tx
    .insert(contactEmails)
    .values(emails.map((e) => ({ orgId, contactId, email: e.value, active })));
}
