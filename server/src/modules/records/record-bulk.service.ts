import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import { assertMember } from '../../platform/access/membership.js';
import { AppError } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { compileListQuery } from '../../platform/query/query.compiler.js';
import { FilterNode } from '../../platform/query/query.schema.js';
import { objectDef } from '../../platform/registry/registry.service.js';
import { ensureTags } from '../tags/tag.service.js';

/** Records one bulk request may change. */
export const BULK_CAP = 1000;

export const BulkAction = z
  .strictObject({
    ids: z.array(z.uuid()).min(1).max(BULK_CAP).optional().describe(`Up to ${BULK_CAP} record ids`),
    filter: FilterNode.optional().describe(`Or a filter matching at most ${BULK_CAP} records`),
    q: z.string().max(200).optional(),
    action: z.enum(['assign_owner', 'add_tags', 'remove_tags', 'archive']),
    owner_id: z.uuid().nullable().optional(),
    tags: z.array(z.string().trim().min(1).max(64)).min(1).max(100).optional(),
  })
  .meta({ id: 'BulkAction' });
export type BulkActionInput = z.infer<typeof BulkAction>;

export const BulkResult = z
  .object({
    matched: z.number().int().describe('Records the ids or filter selected'),
    changed: z.number().int().describe('Records that actually changed (one event each)'),
  })
  .meta({ id: 'BulkResult' });

/** A bound array parameter: `array[$1, $2, ...]::<type>[]`. */
const arrayParam = (values: readonly string[], type: 'uuid' | 'text') =>
  sql`array[${sql.join(
    values.map((v) => sql`${v}`),
    sql`, `,
  )}]::${sql.raw(type)}[]`;

const rowsOf = <T>(result: unknown) =>
  (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];

/**
 * Applies one action to many records of an object: assign an owner, add or remove tags,
 * archive. Records already in the wanted state are left alone; each record changed gets its own
 * event. `archive` goes through `archiveOne` (the object's own archive, with its side effects).
 * @throws 400 naming the missing input, 422 `too_many_records` past the cap, 422 unknown owner
 */
export async function bulkAction(
  services: Services,
  ctx: TenantContext,
  object: string,
  input: BulkActionInput,
  archiveOne: (id: string) => Promise<unknown>,
): Promise<{ matched: number; changed: number }> {
  if (!input.ids && !input.filter && input.q === undefined) {
    throw new AppError(400, 'validation_failed', 'Give ids or a filter', { path: 'body.ids' });
  }
  if (input.action === 'assign_owner' && input.owner_id === undefined) {
    throw new AppError(400, 'validation_failed', 'assign_owner needs owner_id', { path: 'body.owner_id' });
  }
  if ((input.action === 'add_tags' || input.action === 'remove_tags') && !input.tags) {
    throw new AppError(400, 'validation_failed', `${input.action} needs tags`, { path: 'body.tags' });
  }
  const def0 = await withTenant(services.database, ctx, ({ tx }) => objectDef(tx, ctx.orgId, object));
  const table = sql.identifier(def0.table);
  const ids = await withTenant(services.database, ctx, async ({ tx }) => {
    const compiled = compileListQuery(
      def0,
      {
        ...(input.filter ? { filter: input.filter } : {}),
        ...(input.q !== undefined ? { q: input.q } : {}),
        limit: 1,
      },
      { table: 'r' },
    );
    const byIds = input.ids ? sql`r.id = any(${arrayParam(input.ids, 'uuid')})` : sql`true`;
    const found = rowsOf<{ id: string }>(
      await tx.execute(sql`select r.id from ${table} r where r.org_id = ${ctx.orgId} and r.archived_at is null
        and ${byIds} and ${compiled.where} limit ${BULK_CAP + 1}`),
    );
    return found.map((r) => r.id);
  });
  if (ids.length > BULK_CAP) {
    throw new AppError(
      422,
      'too_many_records',
      `More than ${BULK_CAP} records match; narrow the filter or send ids`,
      {
        path: 'body.filter',
      },
    );
  }
  if (ids.length === 0) return { matched: 0, changed: 0 };
  if (input.action === 'archive') {
    for (const id of ids) await archiveOne(id);
    return { matched: ids.length, changed: ids.length };
  }
  return withTenant(services.database, ctx, async (scope) => {
    const idList = arrayParam(ids, 'uuid');
    let set: ReturnType<typeof sql>;
    let changedWhen: ReturnType<typeof sql>;
    let field: 'owner_id' | 'tags';
    if (input.action === 'assign_owner') {
      if (input.owner_id) await assertMember(scope, input.owner_id, 'body.owner_id');
      field = 'owner_id';
      set = sql`owner_id = ${input.owner_id ?? null}::uuid`;
      changedWhen = sql`owner_id is distinct from ${input.owner_id ?? null}::uuid`;
    } else {
      field = 'tags';
      const names = input.action === 'add_tags' ? await ensureTags(scope, input.tags!) : input.tags!;
      const lowered = names.map((n) => n.toLowerCase());
      if (input.action === 'add_tags') {
        set = sql`tags = tags || array(select unnest(${arrayParam(names, 'text')}) except select unnest(tags))`;
        changedWhen = sql`not (tags @> ${arrayParam(names, 'text')})`;
      } else {
        set = sql`tags = array(select x from unnest(tags) x where lower(x) <> all(${arrayParam(lowered, 'text')}))`;
        changedWhen = sql`exists (select 1 from unnest(tags) x where lower(x) = any(${arrayParam(lowered, 'text')}))`;
      }
    }
    const title = sql.raw(def0.titleSql?.('t') ?? 't.id::text');
    const changed = rowsOf<{ id: string; name: string; before: unknown; after: unknown }>(
      await scope.tx.execute(sql`
        with hit as (
          select id, ${sql.identifier(field)} as before from ${table}
           where org_id = ${ctx.orgId} and id = any(${idList}) and ${changedWhen} for update
        ), upd as (
          update ${table} t set ${set}, updated_at = now(), updated_by = ${ctx.actor.id}::uuid
            from hit where t.org_id = ${ctx.orgId} and t.id = hit.id
          returning t.id, ${title} as name, t.${sql.identifier(field)} as after
        ) select upd.id, upd.name, hit.before, upd.after from upd join hit using (id)`),
    );
    for (const r of changed) {
      await emitEvent(scope, services.jobs, {
        type: `${object}.updated`,
        subject: { object, id: r.id },
        data: { name: r.name, changes: { [field]: { before: r.before, after: r.after } }, bulk: true },
      });
    }
    return { matched: ids.length, changed: changed.length };
  });
}
