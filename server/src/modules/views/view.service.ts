import type { TenantScope } from '../../db/tenant.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { compileListQuery } from '../../platform/query/query.compiler.js';
import { objectDef } from '../../platform/registry/registry.service.js';
import { savedViews } from './view.schema.js';

/** What a saved view holds: an object's list query (filter, sort, q) and its columns. */
export type SavedViewInput = {
  object: string;
  name: string;
  query: object;
  columns: string[];
  visibility: 'private' | 'shared';
};

export type SavedViewRow = typeof savedViews.$inferSelect;

/**
 * Checks a view against the object's registry now, so a saved view never holds a query that
 * would fail later. @throws 404 unknown object; 400 `invalid_query` naming `body.query...` /
 * `body.columns[i]`
 */
export async function validateViewIn(
  scope: TenantScope,
  object: string,
  query: object,
  columns: string[],
): Promise<void> {
  const def = await objectDef(scope.tx, scope.ctx.orgId, object);
  try {
    compileListQuery(def, { ...query, fields: columns.length ? columns : undefined });
  } catch (error) {
    const e = error as { path?: string };
    if (e.path)
      Object.assign(e, {
        path: e.path.startsWith('fields') ? e.path.replace('fields', 'body.columns') : `body.query.${e.path}`,
      });
    throw error;
  }
}

/**
 * Saves a view owned by the acting member, inside the caller's tenant transaction (the views API,
 * a template applied), and emits `view.created`. @throws as `validateViewIn`
 */
export async function createViewIn(
  scope: TenantScope,
  services: Services,
  input: SavedViewInput,
): Promise<SavedViewRow> {
  await validateViewIn(scope, input.object, input.query, input.columns);
  const [created] = await scope.tx
    .insert(savedViews)
    .values({
      orgId: scope.ctx.orgId,
      object: input.object,
      name: input.name,
      query: input.query as Record<string, unknown>,
      columns: input.columns,
      visibility: input.visibility,
      ownerId: scope.ctx.actor.id!,
    })
    .returning();
  await emitEvent(scope, services.jobs, {
    type: 'view.created',
    subject: { object: 'view', id: created!.id },
    data: { name: input.name },
  });
  return created!;
}
