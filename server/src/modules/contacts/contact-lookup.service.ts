import type { TenantScope } from '../../db/tenant.js';
import { normalizeEmail } from '../../platform/registry/email.js';
import { toE164 } from '../../platform/registry/phone.js';

/**
 * The active contact with this e-mail (any of its e-mails) or, failing that, this phone (its
 * primary phone, compared in E.164), for modules that must not create a duplicate (forms, lead
 * ingestion). Undefined when there is none.
 */
export async function findContactByEmailOrPhone(
  scope: TenantScope,
  email: string | null | undefined,
  phone: string | null | undefined,
): Promise<string | undefined> {
  const { orgId } = scope.ctx;
  if (email) {
    const { rows } = await scope.conn.query<{ id: string }>(
      `select ce.contact_id as id from contact_emails ce
         join contacts c on c.org_id = ce.org_id and c.id = ce.contact_id
        where ce.org_id = $1 and ce.email = $2 and ce.active and c.archived_at is null
        limit 1`,
      [orgId, normalizeEmail(email)],
    );
    if (rows[0]) return rows[0].id;
  }
  const e164 = phone ? toE164(phone) : null;
  if (e164) {
    const { rows } = await scope.conn.query<{ id: string }>(
      `select id from contacts where org_id = $1 and phone = $2 and archived_at is null
        order by created_at limit 1`,
      [orgId, e164],
    );
    if (rows[0]) return rows[0].id;
  }
  return undefined;
}
