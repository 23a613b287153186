import { type TenantContext, withTenant } from '../../db/tenant.js';
import { type AuditSource, appendAudit } from '../../platform/audit/audit.js';
import type { Services } from '../../platform/http/types.js';
import type { ContactView } from '../contacts/contact.dto.js';
import { eraseContactIn, getContact } from '../contacts/contact.service.js';
import { deleteRowsIn, filesOfRecordIn, removeBytes } from '../files/file.service.js';
import { deleteNotesOfRecordIn } from '../notes/note.service.js';
import { deleteTasksOfRecordIn } from '../tasks/task.service.js';

/** What an erasure removed, by kind (the tombstone event and the audit entry carry it). */
export type Erasure = { notes: number; tasks: number; files: number; events_scrubbed: number };

/** What replaces a piece of personal data in the history. */
export const ERASED = '[erased]';

/** The strings that identify a contact, lower-cased: what is scrubbed from other records' history. */
export function personalTerms(contact: ContactView): { contains: string[]; equals: string[] } {
  const fullName = [contact.first_name, contact.last_name].filter(Boolean).join(' ').trim();
  const names = [contact.first_name, contact.last_name].filter((n): n is string => !!n?.trim());
  const contains = [
    fullName,
    ...names.filter((n) => n.trim().length >= 4),
    ...contact.emails.map((e) => e.value),
    ...contact.phones.flatMap((p) => [p.e164 ?? '', p.raw]),
  ];
  return {
    contains: [...new Set(contains.map((s) => s.trim().toLowerCase()).filter((s) => s.length >= 3))],
    equals: [...new Set(names.map((n) => n.trim().toLowerCase()))],
  };
}

/** `value` with every string that holds one of the terms replaced by `ERASED`. */
export function scrub(value: unknown, terms: ReturnType<typeof personalTerms>): unknown {
  if (typeof value === 'string') {
    const lower = value.toLowerCase();
    return terms.equals.includes(lower.trim()) || terms.contains.some((t) => lower.includes(t))
      ? ERASED
      : value;
  }
  if (Array.isArray(value)) return value.map((v) => scrub(v, terms));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v, terms)]));
  return value;
}

/**
 * Erases a contact and their personal data (GDPR Art. 17), in one tenant transaction: their files
 * (rows now, bytes once it commits), the notes and tasks on them, and the contact itself (e-mails
 * and company links with it; opportunities keep no link). The history is scrubbed: the events of
 * the contact and of what was removed keep no data (`{name: null, erased: true}`), and other
 * records' events that mention the contact (its name, an e-mail, a phone) have those values replaced
 * by `[erased]`. The tombstone `contact.erased` holds only counts, and the audit log gets a
 * `personal_data.erased` entry. Rewriting events goes through `cairn_rewrite_event_data`, the one
 * door in the append-only events table, which touches only the transaction's tenant.
 * @throws 404 when the tenant has no such contact
 */
export async function eraseContact(
  services: Services,
  ctx: TenantContext,
  id: string,
  source: AuditSource,
): Promise<Erasure> {
  const contact = await getContact(services, ctx, id);
  const terms = personalTerms(contact);
  const record = { object: 'contact', id };
  const { erasure, fileRows } = await withTenant(services.database, ctx, async (scope) => {
    const fileRows = await filesOfRecordIn(scope, record);
    await deleteRowsIn(scope, services, fileRows, true);
    const notes = await deleteNotesOfRecordIn(scope, services, record);
    const tasks = await deleteTasksOfRecordIn(scope, services, record);
    const own = [...fileRows.map((f) => f.id), ...notes.map((n) => n.id), ...tasks.map((t) => t.id)];
    const { rows } = await scope.conn.query<{
      id: string;
      subject_object: string;
      subject_id: string;
      data: unknown;
    }>(
      `select id, subject_object, subject_id, data from events
        where org_id = $1
          and ((subject_object = 'contact' and subject_id = $2) or subject_id = any($3::text[])
               or related && $4::text[])`,
      [ctx.orgId, id, own, [`contact:${id}`]],
    );
    const rewrites = rows.flatMap((e) => {
      const isOwn = (e.subject_object === 'contact' && e.subject_id === id) || own.includes(e.subject_id);
      const data = isOwn ? { name: null, erased: true } : scrub(e.data, terms);
      return JSON.stringify(data) === JSON.stringify(e.data) ? [] : [{ id: e.id, data }];
    });
    if (rewrites.length)
      await scope.conn.query('select cairn_rewrite_event_data($1::jsonb)', [JSON.stringify(rewrites)]);
    const erasure: Erasure = {
      notes: notes.length,
      tasks: tasks.length,
      files: fileRows.length,
      events_scrubbed: rewrites.length,
    };
    await eraseContactIn(scope, services, id, { ...erasure });
    await appendAudit(scope, source, {
      action: 'personal_data.erased',
      target: { type: 'contact', id },
      details: { ...erasure },
    });
    return { erasure, fileRows };
  });
  await removeBytes(services, fileRows);
  return erasure;
}
