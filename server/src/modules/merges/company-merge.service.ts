import type { z } from 'zod';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import type { CompanyUpdateInput, CompanyView } from '../companies/company.dto.js';
import { companyViewIn, setCompanyArchivedIn } from '../companies/company.service.js';
import { lockActiveCompanyIdsIn } from '../companies/company-locks.service.js';
import { reparentChildrenIn, updateCompanyIn } from '../companies/company-updates.service.js';
import { moveCompanyLinksIn, restoreCompanyLinksIn } from '../contacts/contact-company-links.service.js';
import type { MergeMove, MergeMoves } from './merge.schema.js';
import {
  assertAllFound,
  assertNotSelfMerge,
  chooseValues,
  combineTags,
  mergeInputSchema,
} from './merge.util.js';
import { type MergeRow, moveRelatedBackIn, moveRelatedIn, recordMergeIn } from './merge-record.service.js';

/** Company fields whose value can be chosen from any of the merged records. */
export const COMPANY_MERGE_FIELDS = [
  'name',
  'domain',
  'website',
  'phone',
  'industry',
  'size',
  'owner_id',
  'parent_id',
  'notes',
  'address',
] as const;

export const CompanyMerge = mergeInputSchema({
  id: 'CompanyMerge',
  singular: 'company',
  plural: 'companies',
  fields: COMPANY_MERGE_FIELDS,
});
export type CompanyMergeInput = z.infer<typeof CompanyMerge>;

export type CompanyMergeResult = { merge_id: string; survivor: CompanyView };

/**
 * Merges companies into a survivor in one transaction: the survivor keeps the chosen values
 * (`values`), else its own, else the first non-empty one of the merged (a parent that is one of
 * the merged companies counts as empty: the survivor cannot be its own parent); it gains their
 * tags; their contact links (one per contact, the primary kept), child companies, opportunities,
 * tasks, notes and external ids move to it; the merged companies are archived. Their timelines
 * show on the survivor's. Records a `company.merged` event (and the events of each change) and a
 * merge that `POST /merges/{id}/undo` can undo.
 * @throws 404 an unknown or archived company (naming `body.survivor_id` or `body.merged_ids[i]`),
 * 400 `invalid_merge` (survivor among the merged, a value from a company not in the merge, an
 * unknown field), 422 at `body.values.<field>` a chosen value the survivor cannot take (an owner
 * no longer a member, a parent that would make a cycle), 422 `parent_cycle` at `body.merged_ids`
 * (a merged company's child is an ancestor of the survivor)
 */
export async function mergeCompanies(
  services: Services,
  ctx: TenantContext,
  input: CompanyMergeInput,
): Promise<CompanyMergeResult> {
  return withTenant(services.database, ctx, async (scope) => {
    const ids = [input.survivor_id, ...new Set(input.merged_ids)];
    assertNotSelfMerge(input);
    const rows = await lockActiveCompanyIdsIn(scope, ids);
    assertAllFound(
      input,
      rows.map((r) => r.id),
      'Company',
    );
    const views: CompanyView[] = [];
    for (const id of ids) views.push(await companyViewIn(scope, id));
    const survivor = views[0]!;
    const merged = views.slice(1);
    const mergedIds = merged.map((m) => m.id);
    const { patch, before } = chooseValues(views, COMPANY_MERGE_FIELDS, input.values, {
      label: 'companies',
      read: (view, field) =>
        field === 'parent_id' && ids.includes(view.parent_id as string) ? null : view[field],
    });
    const tags = combineTags(
      survivor.tags,
      merged.map((m) => m.tags),
    );
    if (tags.length > survivor.tags.length) {
      patch.tags = tags;
      before.tags = survivor.tags;
    }

    // Links and children move before the merged companies are archived (archiving unlinks) and
    // before the survivor's parent changes (so a cycle through a moved child is caught).
    const contactLinks = await moveCompanyLinksIn(scope, services, mergedIds, survivor.id);
    const children = await reparentChildrenIn(scope, services, mergedIds, survivor.id, {
      exceptIds: ids,
    }).catch((e: unknown) => {
      if (e instanceof AppError && e.code === 'parent_cycle')
        throw new AppError(
          422,
          'parent_cycle',
          'A child of a merged company is a parent or ancestor of the survivor; give it another parent first',
          { path: 'body.merged_ids' },
        );
      throw e;
    });
    const related = await moveRelatedIn(scope, services, 'company', mergedIds, survivor.id);
    for (const id of mergedIds) await setCompanyArchivedIn(scope, services, id, true);
    const after = Object.keys(patch).length
      ? await updateCompanyIn(scope, services, survivor.id, patch as CompanyUpdateInput).catch(atValues)
      : await companyViewIn(scope, survivor.id);
    const moves: MergeMoves = {
      ...related,
      contact_links: contactLinks,
      children,
    };
    const mergeId = await recordMergeIn(scope, services, {
      object: 'company',
      survivor: { id: survivor.id, name: after.name },
      merged: merged.map((m) => ({ id: m.id, name: m.name })),
      before,
      moves,
    });
    return { merge_id: mergeId, survivor: after };
  });
}

/**
 * Undoes a company merge (the rest of `undoMerge`): the merged companies come back first (the
 * survivor's former parent may be one of them), then the survivor's values, children, contact
 * links, opportunities, tasks, notes and external ids.
 */
export async function undoCompanyMergeIn(scope: TenantScope, services: Services, merge: MergeRow) {
  for (const mergedId of merge.mergedIds) await setCompanyArchivedIn(scope, services, mergedId, false);
  if (Object.keys(merge.survivorBefore).length)
    await updateCompanyIn(scope, services, merge.survivorId, merge.survivorBefore as CompanyUpdateInput);
  for (const mergedId of merge.mergedIds) {
    const back = (list: MergeMove[] | undefined) =>
      (list ?? []).filter((m) => m.from === mergedId).map((m) => m.id);
    const children = back(merge.moves.children);
    if (children.length)
      await reparentChildrenIn(scope, services, [merge.survivorId], mergedId, { onlyIds: children });
  }
  await restoreCompanyLinksIn(scope, services, merge.survivorId, merge.moves.contact_links ?? []);
  await moveRelatedBackIn(scope, services, merge);
}

/** An error about the survivor's update input (`body.<field>`) is about the chosen value. */
function atValues(e: unknown): never {
  if (e instanceof AppError && e.path?.startsWith('body.'))
    throw new AppError(e.status, e.code, e.message, {
      detail: e.detail,
      path: `body.values.${e.path.slice('body.'.length)}`,
    });
  throw e;
}
