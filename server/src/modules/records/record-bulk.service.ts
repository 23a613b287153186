import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { assertWritableInput } from '../../platform/access/access-profile.js';
import { assertMember } from '../../platform/access/membership.js';
import { AppError } from '../../platform/errors/app-error.js';
import { emitEvents } from '../../platform/events/events.js';
import { recordUpdatedEvent } from '../../platform/events/record-events.js';
import type { Services } from '../../platform/http/types.js';
import { compileListQuery } from '../../platform/query/query.compiler.js';
import { FilterNode } from '../../platform/query/query.schema.js';
import { objectDef } from '../../platform/registry/registry.service.js';
import type { ObjectDef } from '../../platform/registry/registry.types.js';
import { ensureTags } from '../tags/tag.service.js';
import { updateRecordsIn } from './record-batch.service.js';

/** Records one bulk request may change. */
export const BULK_CAP = 1000;

export const BulkAction = z
  .strictObject({
    ids: z.array(z.uuid()).min(1).max(BULK_CAP).optional().describe(`Up to ${BULK_CAP} record ids`),
    filter: FilterNode.optional().describe(`Or a filter matching at most ${BULK_CAP} records`),
    q: z.string().max(200).optional(),
    action: z
      .enum(['assign_owner', 'add_tags', 'remove_tags', 'archive', 'restore', 'set_status'])
      .describe(
        '`restore` selects archived records; the others live ones. `set_status` (custom objects): moves each record’s status field `field` to `status`, as a single change would (its moves, roles and reasons; a status owned by another role queues each record for it)',
      ),
    owner_id: z.uuid().nullable().optional(),
    tags: z.array(z.string().trim().min(1).max(64)).min(1).max(100).optional(),
    field: z.string().max(64).optional().describe('`set_status`: the status field’s key'),
    status: z.string().trim().min(1).max(100).optional().describe('`set_status`: the status to move to'),
    status_reason: z
      .string()
      .trim()
      .max(2_000)
      .optional()
      .describe('`set_status`: why, where the move or the status needs a reason'),
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
 * An object's own archive or restore of many records inside the caller's transaction, with its
 * side effects and events, in a few set-based statements (`setContactsArchived`...).
 * @returns the records that changed
 */
export type ArchiveMany = (scope: TenantScope, ids: string[], archive: boolean) => Promise<unknown[]>;

/**
 * Applies one action to many records of an object, atomically: assign an owner, add or remove
 * tags, archive or restore. The selection, the change (one statement per table) and the events
 * (one insert) are one transaction, so a failure part-way leaves every record as it was.
 * Records already in the wanted state are left alone; each record changed gets its own event.
 * `archive` and `restore` go through the object's `archiveMany` (its side effects included).
 * @throws 400 naming the missing input, 422 `too_many_records` past the cap, 422 unknown owner,
 *   409 `duplicate_email` when a restored contact's e-mail is taken
 */
export async function bulkAction(
  services: Services,
  ctx: TenantContext,
  object: string,
  input: BulkActionInput,
  archiveMany: ArchiveMany,
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
  if (input.action === 'set_status' && (input.field === undefined || input.status === undefined)) {
    const path = input.field === undefined ? 'body.field' : 'body.status';
    throw new AppError(400, 'validation_failed', 'set_status needs field and status', { path });
  }
  return withTenant(services.database, ctx, async (scope) => {
    const def = await objectDef(scope.tx, ctx.orgId, object);
    if (input.action === 'set_status') assertStatusField(def, input.field!);
    const ids = await selectIds(scope, def, input);
    if (ids.length === 0) return { matched: 0, changed: 0 };
    if (input.action === 'set_status') {
      const custom = { [input.field!]: input.status };
      assertWritableInput(ctx, def, { custom });
      // Through the record engine's batch update, as a member's change: every record checked (all or
      // nothing), one event each, hand-offs opened by the same hook as a single change's.
      const outcomes = await updateRecordsIn(
        scope,
        services,
        object,
        ids.map((id) => ({ id, custom })),
        { person: { role: ctx.role, reason: input.status_reason } },
      );
      const refused = outcomes.find((o) => !o.ok);
      if (refused && !refused.ok) throw refused.error;
      return { matched: ids.length, changed: outcomes.filter((o) => o.ok && o.changed).length };
    }
    if (input.action === 'archive' || input.action === 'restore') {
      const changed = await archiveMany(scope, ids, input.action === 'archive');
      return { matched: ids.length, changed: changed.length };
    }
    const changed = await setField(scope, def, ids, input);
    await emitEvents(
      scope,
      services.jobs,
      changed.map((r) =>
        recordUpdatedEvent(object, r.id, {
          name: r.name,
          changes: { [r.field]: { before: r.before, after: r.after } },
          bulk: true,
        }),
      ),
    );
    return { matched: ids.length, changed: changed.length };
  });
}

/** @throws 400 at `body.field` unless it is an active status field of a custom object */
function assertStatusField(def: ObjectDef, key: string) {
  const field = def.custom
    ? def.fields.find((f) => f.key === key && f.type === 'status' && !f.retired)
    : undefined;
  if (!field)
    throw new AppError(400, 'validation_failed', `${def.labelSingular} has no status field "${key}"`, {
      path: 'body.field',
    });
}

/**
 * The ids the request selects, locked (ids and/or filter and search; live records, or archived
 * ones for `restore`). @throws 422 `too_many_records` past the cap
 */
async function selectIds(scope: TenantScope, def: ObjectDef, input: BulkActionInput): Promise<string[]> {
  const compiled = compileListQuery(
    def,
    {
      ...(input.filter ? { filter: input.filter } : {}),
      ...(input.q !== undefined ? { q: input.q } : {}),
      limit: 1,
    },
    { table: 'r', tenant: scope.ctx },
  );
  const byIds = input.ids ? sql`r.id = any(${arrayParam(input.ids, 'uuid')})` : sql`true`;
  const archived = input.action === 'restore' ? sql`r.archived_at is not null` : sql`r.archived_at is null`;
  const found = rowsOf<{ id: string }>(
    await scope.tx.execute(sql`select r.id from ${sql.identifier(def.table)} r
      where r.org_id = ${scope.ctx.orgId} and ${archived} and ${byIds} and ${compiled.where}
      order by r.id limit ${BULK_CAP + 1} for update of r`),
  );
  if (found.length > BULK_CAP) {
    throw new AppError(
      422,
      'too_many_records',
      `More than ${BULK_CAP} records match; narrow the filter or send ids`,
      { path: 'body.filter' },
    );
  }
  return found.map((r) => r.id);
}

/** Sets the owner or adds or removes tags of `ids` in one statement; answers the records changed. */
async function setField(scope: TenantScope, def: ObjectDef, ids: string[], input: BulkActionInput) {
  const { ctx } = scope;
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
  const table = sql.identifier(def.table);
  const title = sql.raw(def.titleSql?.('t') ?? 't.id::text');
  const changed = rowsOf<{ id: string; name: string; before: unknown; after: unknown }>(
    await scope.tx.execute(sql`
      with hit as (
        select id, ${sql.identifier(field)} as before from ${table}
         where org_id = ${ctx.orgId} and id = any(${idList}) and ${changedWhen}
      ), upd as (
        update ${table} t set ${set}, updated_at = now(), updated_by = ${ctx.actor.id}::uuid
          from hit where t.org_id = ${ctx.orgId} and t.id = hit.id
        returning t.id, ${title} as name, t.${sql.identifier(field)} as after
      ) select upd.id, upd.name, hit.before, upd.after from upd join hit using (id) order by upd.id`),
  );
  return changed.map((r) => ({ ...r, field }));
}
