import type { TenantScope } from '../../db/tenant.js';
import { emitEvents } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { notes } from './note.schema.js';
import { nameOf } from './note.service.js';

/** A note another module creates in bulk (the import), with its id chosen by the caller. */
export type NoteInsert = { id: string; linkedObject: string; linkedId: string } & Pick<
  typeof notes.$inferInsert,
  'bodyHtml' | 'bodyText'
>;

/**
 * Inserts notes in one statement in the caller's transaction, authored by its actor when a user,
 * with a `note.created` event each (one insert for all).
 */
export async function insertNotesIn(
  scope: TenantScope,
  services: Services,
  rows: NoteInsert[],
): Promise<void> {
  if (rows.length === 0) return;
  const { orgId, actor } = scope.ctx;
  await scope.tx
    .insert(notes)
    .values(rows.map((row) => ({ orgId, ...row, authorId: actor.type === 'user' ? actor.id : null })));
  await emitEvents(
    scope,
    services.jobs,
    rows.map((row) => ({
      type: 'note.created' as const,
      subject: { object: 'note', id: row.id },
      related: [{ object: row.linkedObject, id: row.linkedId }],
      data: { name: nameOf(row.bodyText ?? '') },
    })),
  );
}
