import type { TenantScope } from '../../db/tenant.js';
import { notes } from './note.schema.js';

/** A note another module creates in bulk (the import), with its id chosen by the caller. */
export type NoteInsert = { id: string; linkedObject: string; linkedId: string } & Pick<
  typeof notes.$inferInsert,
  'bodyHtml' | 'bodyText'
>;

/**
 * Inserts notes in one statement in the caller's transaction, authored by its actor when a user.
 * Events are the caller's (it emits `note.created` with what it knows of each row).
 */
export async function insertNotesIn(scope: TenantScope, rows: NoteInsert[]): Promise<void> {
  if (rows.length === 0) return;
  const { orgId, actor } = scope.ctx;
  await scope.tx
    .insert(notes)
    .values(rows.map((row) => ({ orgId, ...row, authorId: actor.type === 'user' ? actor.id : null })));
}
