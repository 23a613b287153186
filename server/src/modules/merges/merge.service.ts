import { and, eq, sql } from 'drizzle-orm';
import type { z } from 'zod';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { conflict, forbidden, notFound } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import type { ContactUpdateInput, ContactView } from '../contacts/contact.dto.js';
import { setArchivedIn } from '../contacts/contact.service.js';
import { lockActiveContactsIn } from '../contacts/contact-locks.service.js';
import { updateContactIn } from '../contacts/contact-updates.service.js';
import { contactViews, displayName } from '../contacts/contact-views.service.js';
import { undoCompanyMergeIn } from './company-merge.service.js';
import { type MergeMoves, recordMerges } from './merge.schema.js';
import {
  assertAllFound,
  assertNotSelfMerge,
  chooseValues,
  combineTags,
  mergeInputSchema,
} from './merge.util.js';
import {
  type MergeObject,
  type MergeRow,
  moveRelatedBackIn,
  moveRelatedIn,
  recordMergeIn,
} from './merge-record.service.js';

/** Contact fields whose value can be chosen from any of the merged records. */
export const CONTACT_MERGE_FIELDS = [
  'first_name',
  'last_name',
  'owner_id',
  'source',
  'lead_status',
  'notes',
] as const;

export const ContactMerge = mergeInputSchema({
  id: 'ContactMerge',
  singular: 'contact',
  plural: 'contacts',
  fields: CONTACT_MERGE_FIELDS,
});
export type ContactMergeInput = z.infer<typeof ContactMerge>;

export type MergeResult = { merge_id: string; survivor: ContactView };

/**
 * Merges contacts into a survivor in one transaction: the survivor keeps the chosen values
 * (`values`), else its own, else the first non-empty one of the merged; it gains every e-mail,
 * phone, tag and company link of the merged contacts; their opportunities, tasks and notes move
 * to it; the merged contacts are archived. Their timelines show on the survivor's. Records a
 * `contact.merged` event (and the events of each change) and a merge that can be undone.
 * @throws 404 an unknown or archived contact (naming `body.survivor_id` or `body.merged_ids[i]`),
 * 400 `invalid_merge` (survivor among the merged, a value from a contact not in the merge, an
 * unknown field), 409 `duplicate_email` (a race)
 */
export async function mergeContacts(
  services: Services,
  ctx: TenantContext,
  input: ContactMergeInput,
): Promise<MergeResult> {
  return withTenant(services.database, ctx, async (scope) => {
    const ids = [input.survivor_id, ...new Set(input.merged_ids)];
    assertNotSelfMerge(input);
    const rows = await lockActiveContactsIn(scope, ids);
    assertAllFound(
      input,
      rows.map((r) => r.id),
      'Contact',
    );
    const views = await contactViews(
      scope,
      ids.map((id) => rows.find((r) => r.id === id)!),
    );
    const survivor = views[0]!;
    const merged = views.slice(1);
    const { patch, before } = chooseValues(views, CONTACT_MERGE_FIELDS, input.values, { label: 'contacts' });
    const emails = survivor.emails.map((e) => ({
      value: e.value,
      primary: e.primary,
      ...(e.label ? { label: e.label } : {}),
    }));
    const phones = survivor.phones.map((p) => ({
      number: p.raw,
      primary: p.primary,
      ...(p.label ? { label: p.label } : {}),
    }));
    const tags = combineTags(
      survivor.tags,
      merged.map((m) => m.tags),
    );
    const companies = survivor.companies.map((c) => ({ id: c.id, primary: c.primary }));
    const phoneKeys = new Set(survivor.phones.map((p) => p.e164 ?? p.raw));
    for (const m of merged) {
      for (const e of m.emails)
        if (!emails.some((x) => x.value === e.value))
          emails.push({ value: e.value, primary: false, ...(e.label ? { label: e.label } : {}) });
      for (const p of m.phones)
        if (!phoneKeys.has(p.e164 ?? p.raw)) {
          phoneKeys.add(p.e164 ?? p.raw);
          phones.push({ number: p.raw, primary: false, ...(p.label ? { label: p.label } : {}) });
        }
      for (const c of m.companies)
        if (!companies.some((x) => x.id === c.id))
          companies.push({ id: c.id, primary: companies.length === 0 });
    }
    if (emails.length > survivor.emails.length) {
      patch.emails = emails;
      before.emails = emails.slice(0, survivor.emails.length);
    }
    if (phones.length > survivor.phones.length) {
      patch.phones = phones;
      before.phones = phones.slice(0, survivor.phones.length);
    }
    if (tags.length > survivor.tags.length) {
      patch.tags = tags;
      before.tags = survivor.tags;
    }
    if (companies.length > survivor.companies.length) {
      patch.companies = companies;
      before.companies = companies.slice(0, survivor.companies.length);
    }

    // Archive first: it frees the merged contacts' e-mails for the survivor.
    const mergedIds = merged.map((m) => m.id);
    for (const id of mergedIds) await setArchivedIn(scope, services, id, true);
    const after = Object.keys(patch).length
      ? await updateContactIn(scope, services, survivor.id, patch as ContactUpdateInput)
      : survivor;
    const moves: MergeMoves = await moveRelatedIn(scope, services, 'contact', mergedIds, survivor.id);
    const mergeId = await recordMergeIn(scope, services, {
      object: 'contact',
      survivor: { id: survivor.id, name: displayName(after) },
      merged: merged.map((m) => ({ id: m.id, name: displayName(m) })),
      before,
      moves,
    });
    return { merge_id: mergeId, survivor: after };
  });
}

/** Undoes a contact merge: the survivor's values back first (it frees the merged e-mails). */
async function undoContactMergeIn(scope: TenantScope, services: Services, merge: MergeRow) {
  if (Object.keys(merge.survivorBefore).length)
    await updateContactIn(scope, services, merge.survivorId, merge.survivorBefore as ContactUpdateInput);
  for (const mergedId of merge.mergedIds) await setArchivedIn(scope, services, mergedId, false);
  await moveRelatedBackIn(scope, services, merge);
}

/**
 * Undoes a merge of contacts or companies: the survivor gets its values, e-mails, phones, tags and
 * links back, the merged records are restored, and what moved goes back to where it was (what
 * was deleted or archived since stays so). Records `<object>.merge_undone`. Who ran the merge
 * or an admin may undo it (`by.isAdmin`: the caller's role is admin).
 * @throws 404, 403 `forbidden` for another member's merge, 409 `already_undone`
 */
export async function undoMerge(
  services: Services,
  ctx: TenantContext,
  id: string,
  by: { isAdmin: boolean },
): Promise<{ merge_id: string; restored_ids: string[] }> {
  return withTenant(services.database, ctx, async (scope) => {
    const [merge] = await scope.tx
      .select()
      .from(recordMerges)
      .where(and(eq(recordMerges.orgId, ctx.orgId), eq(recordMerges.id, id)))
      .for('update');
    if (!merge) throw notFound('Merge', id);
    if (merge.createdBy !== ctx.actor.id && !by.isAdmin)
      throw forbidden('Only the member who ran a merge, or an admin, can undo it');
    if (merge.undoneAt) throw conflict('This merge was undone already', undefined, 'already_undone');
    if (merge.object === 'company') await undoCompanyMergeIn(scope, services, merge);
    else await undoContactMergeIn(scope, services, merge);
    await scope.tx
      .update(recordMerges)
      .set({ undoneAt: sql`now()` })
      .where(and(eq(recordMerges.orgId, ctx.orgId), eq(recordMerges.id, id)));
    await emitEvent(scope, services.jobs, {
      type: `${merge.object as MergeObject}.merge_undone`,
      subject: { object: merge.object, id: merge.survivorId },
      data: { merge_id: id, restored_ids: merge.mergedIds },
      related: merge.mergedIds.map((m) => ({ object: merge.object, id: m })),
    });
    return { merge_id: id, restored_ids: merge.mergedIds };
  });
}
