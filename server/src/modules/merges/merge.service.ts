import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { badRequest, conflict, notFound } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import type { ContactUpdateInput, ContactView } from '../contacts/contact.dto.js';
import { contacts } from '../contacts/contact.schema.js';
import { contactViews, displayName, setArchivedIn, updateContactIn } from '../contacts/contact.service.js';
import { relinkNotesIn } from '../notes/note.service.js';
import { opportunities } from '../opportunities/opportunity.schema.js';
import { updateOpportunityIn } from '../opportunities/opportunity.service.js';
import { relinkTasksIn } from '../tasks/task.service.js';
import { type MergeMoves, recordMerges } from './merge.schema.js';

/** Contact fields whose value can be chosen from any of the merged records. */
export const CONTACT_MERGE_FIELDS = [
  'first_name',
  'last_name',
  'owner_id',
  'source',
  'lead_status',
  'notes',
] as const;

export const ContactMerge = z
  .strictObject({
    survivor_id: z.uuid().describe('The contact that stays'),
    merged_ids: z.array(z.uuid()).min(1).max(10).describe('Contacts merged into it, then archived'),
    values: z
      .record(z.string().max(100), z.uuid())
      .default({})
      .describe(
        `Field -> the id of the contact (survivor or merged) whose value to keep: ${CONTACT_MERGE_FIELDS.join(', ')} ` +
          "or custom.<key>. Unlisted fields keep the survivor's value, or the first merged record's when the survivor's is empty",
      ),
  })
  .meta({ id: 'ContactMerge' });
export type ContactMergeInput = z.infer<typeof ContactMerge>;

export type MergeResult = { merge_id: string; survivor: ContactView };

const isEmpty = (v: unknown) =>
  v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0);

/**
 * Merges contacts into a survivor in one transaction: the survivor keeps the chosen values
 * (`values`), else its own, else the first non-empty one of the merged; it gains every e-mail,
 * phone, tag and company link of the merged contacts; their opportunities, tasks and notes move
 * to it; the merged contacts are archived. Their timelines show on the survivor's. Records a
 * `contact.merged` event (and the events of each change) and a merge that can be undone.
 * @throws 404 an unknown or archived contact, 400 `invalid_merge` (survivor among the merged,
 * a value from a contact not in the merge, an unknown field), 409 `duplicate_email` (a race)
 */
export async function mergeContacts(
  services: Services,
  ctx: TenantContext,
  input: ContactMergeInput,
): Promise<MergeResult> {
  return withTenant(services.database, ctx, async (scope) => {
    const ids = [input.survivor_id, ...new Set(input.merged_ids)];
    if (input.merged_ids.includes(input.survivor_id))
      throw badRequest('The survivor cannot be merged into itself', 'body.merged_ids', 'invalid_merge');
    const rows = await scope.tx
      .select()
      .from(contacts)
      .where(and(eq(contacts.orgId, ctx.orgId), inArray(contacts.id, ids), isNull(contacts.archivedAt)))
      .for('update');
    const missing = ids.find((id) => !rows.some((r) => r.id === id));
    if (missing) throw notFound('Contact', missing);
    const views = await contactViews(
      scope,
      ids.map((id) => rows.find((r) => r.id === id)!),
    );
    const survivor = views[0]!;
    const merged = views.slice(1);
    const byId = new Map(views.map((v) => [v.id, v]));

    const patch: Record<string, unknown> = {};
    const before: Record<string, unknown> = {};
    const set = (key: string, value: unknown, current: unknown) => {
      if (JSON.stringify(value ?? null) === JSON.stringify(current ?? null)) return;
      patch[key] = value;
      before[key] = current ?? null;
    };
    for (const [field, fromId] of Object.entries(input.values)) {
      const from = byId.get(fromId);
      if (!from)
        throw badRequest('Not one of the contacts being merged', `body.values.${field}`, 'invalid_merge');
      const known =
        (CONTACT_MERGE_FIELDS as readonly string[]).includes(field) || field.startsWith('custom.');
      if (!known) throw badRequest(`"${field}" cannot be chosen`, `body.values.${field}`, 'invalid_merge');
    }
    for (const field of CONTACT_MERGE_FIELDS) {
      const chosen = input.values[field];
      const value = chosen
        ? byId.get(chosen)![field]
        : isEmpty(survivor[field])
          ? merged.map((m) => m[field]).find((v) => !isEmpty(v))
          : survivor[field];
      set(field, value, survivor[field]);
    }
    const customKeys = new Set(views.flatMap((v) => Object.keys(v.custom)));
    const custom: Record<string, unknown> = {};
    const customBefore: Record<string, unknown> = {};
    for (const key of customKeys) {
      const chosen = input.values[`custom.${key}`];
      const value = chosen
        ? byId.get(chosen)!.custom[key]
        : isEmpty(survivor.custom[key])
          ? merged.map((m) => m.custom[key]).find((v) => !isEmpty(v))
          : survivor.custom[key];
      if (JSON.stringify(value ?? null) !== JSON.stringify(survivor.custom[key] ?? null)) {
        custom[key] = value ?? null;
        customBefore[key] = survivor.custom[key] ?? null;
      }
    }
    if (Object.keys(custom).length) {
      patch.custom = custom;
      before.custom = customBefore;
    }
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
    const tags = [...survivor.tags];
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
      for (const t of m.tags) if (!tags.some((x) => x.toLowerCase() === t.toLowerCase())) tags.push(t);
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
    const moves: MergeMoves = {
      opportunities: await moveOpportunities(scope, services, mergedIds, survivor.id),
      tasks: await relinkTasksIn(scope, services, 'contact', mergedIds, survivor.id),
      notes: await relinkNotesIn(scope, services, 'contact', mergedIds, survivor.id),
    };
    const [merge] = await scope.tx
      .insert(recordMerges)
      .values({
        orgId: ctx.orgId,
        object: 'contact',
        survivorId: survivor.id,
        mergedIds,
        survivorBefore: before,
        moves,
        createdBy: ctx.actor.id,
      })
      .returning();
    await emitEvent(scope, services.jobs, {
      type: 'contact.merged',
      subject: { object: 'contact', id: survivor.id },
      data: {
        name: displayName(after),
        merge_id: merge!.id,
        merged: merged.map((m) => ({ id: m.id, name: displayName(m) })),
        moved: {
          opportunities: moves.opportunities.length,
          tasks: moves.tasks.length,
          notes: moves.notes.length,
        },
      },
      related: merged.map((m) => ({ object: 'contact', id: m.id })),
    });
    return { merge_id: merge!.id, survivor: after };
  });
}

async function moveOpportunities(scope: TenantScope, services: Services, fromIds: string[], toId: string) {
  const rows = await scope.tx
    .select({ id: opportunities.id, contactId: opportunities.contactId })
    .from(opportunities)
    .where(
      and(
        eq(opportunities.orgId, scope.ctx.orgId),
        inArray(opportunities.contactId, fromIds),
        isNull(opportunities.archivedAt),
      ),
    );
  for (const r of rows) await updateOpportunityIn(scope, services, r.id, { contact_id: toId });
  return rows.map((r) => ({ id: r.id, from: r.contactId! }));
}

/**
 * Undoes a merge: the survivor gets its values, e-mails, phones, tags and links back, the merged
 * contacts are restored, and what moved goes back to where it was (what was deleted or archived
 * since stays so). Records `contact.merge_undone`. @throws 404, 409 `already_undone`
 */
export async function undoMerge(
  services: Services,
  ctx: TenantContext,
  id: string,
): Promise<{ merge_id: string; restored_ids: string[] }> {
  return withTenant(services.database, ctx, async (scope) => {
    const [merge] = await scope.tx
      .select()
      .from(recordMerges)
      .where(and(eq(recordMerges.orgId, ctx.orgId), eq(recordMerges.id, id)))
      .for('update');
    if (!merge) throw notFound('Merge', id);
    if (merge.undoneAt) throw conflict('This merge was undone already', undefined, 'already_undone');
    if (Object.keys(merge.survivorBefore).length)
      await updateContactIn(scope, services, merge.survivorId, merge.survivorBefore as ContactUpdateInput);
    for (const mergedId of merge.mergedIds) await setArchivedIn(scope, services, mergedId, false);
    for (const mergedId of merge.mergedIds) {
      const back = (list: { id: string; from: string }[]) =>
        list.filter((m) => m.from === mergedId).map((m) => m.id);
      const opps = back(merge.moves.opportunities ?? []);
      if (opps.length) {
        const still = await scope.tx
          .select({ id: opportunities.id })
          .from(opportunities)
          .where(
            and(
              eq(opportunities.orgId, ctx.orgId),
              inArray(opportunities.id, opps),
              eq(opportunities.contactId, merge.survivorId),
              isNull(opportunities.archivedAt),
            ),
          );
        for (const o of still) await updateOpportunityIn(scope, services, o.id, { contact_id: mergedId });
      }
      const tasks = back(merge.moves.tasks ?? []);
      if (tasks.length) await relinkTasksIn(scope, services, 'contact', [merge.survivorId], mergedId, tasks);
      const notes = back(merge.moves.notes ?? []);
      if (notes.length) await relinkNotesIn(scope, services, 'contact', [merge.survivorId], mergedId, notes);
    }
    await scope.tx
      .update(recordMerges)
      .set({ undoneAt: sql`now()` })
      .where(and(eq(recordMerges.orgId, ctx.orgId), eq(recordMerges.id, id)));
    await emitEvent(scope, services.jobs, {
      type: `${merge.object}.merge_undone`,
      subject: { object: merge.object, id: merge.survivorId },
      data: { merge_id: id, restored_ids: merge.mergedIds },
      related: merge.mergedIds.map((m) => ({ object: merge.object, id: m })),
    });
    return { merge_id: id, restored_ids: merge.mergedIds };
  });
}

/** The records merged into `id` (merges not undone): the survivor's timeline shows their events. */
export async function mergedInto(scope: TenantScope, object: string, id: string): Promise<string[]> {
  const rows = await scope.tx
    .select({ mergedIds: recordMerges.mergedIds })
    .from(recordMerges)
    .where(
      and(
        eq(recordMerges.orgId, scope.ctx.orgId),
        eq(recordMerges.object, object),
        eq(recordMerges.survivorId, id),
        isNull(recordMerges.undoneAt),
      ),
    );
  return rows.flatMap((r) => r.mergedIds);
}
