import { and, eq, isNull } from 'drizzle-orm';
import type { TenantScope } from '../../db/tenant.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { relinkExternalIdsIn } from '../imports/external-ids.service.js';
import { relinkNotesIn } from '../notes/note.service.js';
import { opportunitiesLinkedToIn } from '../opportunities/opportunity-links.service.js';
import { updateOpportunitiesIn } from '../opportunities/opportunity-updates.service.js';
import { relinkTasksIn } from '../tasks/task.service.js';
import { type MergeMove, type MergeMoves, recordMerges } from './merge.schema.js';

/** The objects whose records can be merged. */
export type MergeObject = 'contact' | 'company';

export type MergeRow = typeof recordMerges.$inferSelect;

/**
 * Records a merge (so it can be undone and the survivor's timeline shows the merged records'
 * events) and its `<object>.merged` event on the survivor, naming the merged records and how
 * many of each kind of thing moved.
 * @returns the merge's id
 */
export async function recordMergeIn(
  scope: TenantScope,
  services: Services,
  merge: {
    object: MergeObject;
    survivor: { id: string; name: string };
    merged: { id: string; name: string }[];
    /** The survivor's values before: an update input, written back on undo. */
    before: Record<string, unknown>;
    moves: MergeMoves;
  },
): Promise<string> {
  const mergedIds = merge.merged.map((m) => m.id);
  const [row] = await scope.tx
    .insert(recordMerges)
    .values({
      orgId: scope.ctx.orgId,
      object: merge.object,
      survivorId: merge.survivor.id,
      mergedIds,
      survivorBefore: merge.before,
      moves: merge.moves,
      createdBy: scope.ctx.actor.id,
    })
    .returning();
  await emitEvent(scope, services.jobs, {
    type: `${merge.object}.merged`,
    subject: { object: merge.object, id: merge.survivor.id },
    data: {
      name: merge.survivor.name,
      merge_id: row!.id,
      merged: merge.merged,
      moved: Object.fromEntries(Object.entries(merge.moves).map(([kind, list]) => [kind, list.length])),
    },
    related: mergedIds.map((id) => ({ object: merge.object, id })),
  });
  return row!.id;
}

async function relinkOpportunitiesIn(
  scope: TenantScope,
  services: Services,
  object: MergeObject,
  fromIds: string[],
  toId: string,
  onlyIds?: string[],
): Promise<MergeMove[]> {
  const rows = await opportunitiesLinkedToIn(scope, object, fromIds, onlyIds);
  const link = object === 'contact' ? 'contact_id' : 'company_id';
  const moved = await updateOpportunitiesIn(
    scope,
    services,
    rows.map((r) => ({ id: r.id, input: { [link]: toId } })),
  );
  for (const r of moved) if (!r.ok) throw r.error;
  return rows.map((r) => ({ id: r.id, from: r.from! }));
}

/**
 * Moves what is attached to the merged records to the survivor: their active opportunities
 * (`contact_id` or `company_id`), tasks and notes, each with its own event, and their external
 * ids (so a later import naming one finds the survivor).
 */
export async function moveRelatedIn(
  scope: TenantScope,
  services: Services,
  object: MergeObject,
  mergedIds: string[],
  survivorId: string,
): Promise<Pick<MergeMoves, 'opportunities' | 'tasks' | 'notes' | 'external_ids'>> {
  return {
    opportunities: await relinkOpportunitiesIn(scope, services, object, mergedIds, survivorId),
    tasks: await relinkTasksIn(scope, services, object, mergedIds, survivorId),
    notes: await relinkNotesIn(scope, services, object, mergedIds, survivorId),
    external_ids: await relinkExternalIdsIn(scope, object, mergedIds, survivorId),
  };
}

/**
 * Undoes `moveRelatedIn`: the opportunities, tasks, notes and external ids that moved and are still on the
 * survivor go back to the record they came from (what was archived or moved elsewhere since
 * stays where it is).
 */
export async function moveRelatedBackIn(
  scope: TenantScope,
  services: Services,
  merge: MergeRow,
): Promise<void> {
  const object = merge.object as MergeObject;
  const from = [merge.survivorId];
  for (const mergedId of merge.mergedIds) {
    const back = (list: MergeMove[] | undefined) =>
      (list ?? []).filter((m) => m.from === mergedId).map((m) => m.id);
    const opps = back(merge.moves.opportunities);
    if (opps.length) await relinkOpportunitiesIn(scope, services, object, from, mergedId, opps);
    const tasks = back(merge.moves.tasks);
    if (tasks.length) await relinkTasksIn(scope, services, object, from, mergedId, tasks);
    const notes = back(merge.moves.notes);
    if (notes.length) await relinkNotesIn(scope, services, object, from, mergedId, notes);
    const externalIds = back(merge.moves.external_ids);
    if (externalIds.length) await relinkExternalIdsIn(scope, object, from, mergedId, externalIds);
  }
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
