// The record engine's batch writes (issue 21, "batch writes for import"): many records of one
// custom object created or updated in the caller's transaction, each checked by the same rules as
// `createRecord` / `updateRecord`, in a few set-based statements, one `record.*` event each.
import { sql } from 'drizzle-orm';
import { newId } from '../../db/ids.js';
import type { TenantScope } from '../../db/tenant.js';
import { AppError, type FieldError, notFound } from '../../platform/errors/app-error.js';
import { emitEvents, type NewEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { searchTextSql } from '../../platform/registry/custom-objects.js';
import { mergeCustom, parseCustomValues } from '../../platform/registry/field-values.js';
import type { FieldDef, ObjectDef } from '../../platform/registry/registry.types.js';
import { STANDARD_OBJECTS } from '../../platform/registry/standard-objects.js';
import { openHandoffs } from '../handoffs/handoff-open.service.js';
import { ensureTags, uniqueTagNames } from '../tags/tag.service.js';
import { assertWritable, customObjectIn, nameOf, relatedOf } from './record-engine.service.js';
import { splitLinks, writeLinks } from './record-links.service.js';
import { takeRecordNumbers } from './record-numbers.js';
import {
  checkStatusChanges,
  recordStatusChanges,
  type StatusChange,
  statusKeysOf,
} from './record-status.service.js';

/**
 * A new record of a batch: its values by field key (as `RecordWrite.custom`), owner and tags, and
 * the id it gets when the caller chose one (a later item of the batch may refer to it).
 */
export type NewRecord = {
  id?: string | undefined;
  custom: Record<string, unknown>;
  ownerId?: string | null | undefined;
  tags?: string[] | undefined;
};

/** A change of a batch: the values to set by key (null clears one), on the record `id`. */
export type RecordPatch = { id: string; custom: Record<string, unknown> };

/**
 * How a batch of updates is asked for. `person`: a member's bulk change (issue 21), checked as a
 * single change of theirs is (their role may set each status, the reason where one is needed), and
 * each status change opens its hand-offs as a single change does (`openHandoffs`). Absent: an
 * import or a revert (roles and reasons not asked, no hand-off).
 */
export type UpdateManyOptions = { person?: { role: string | undefined; reason: string | undefined } };

/** What became of one item: the record written, or why it was refused (nothing written for it). */
export type BatchOutcome = { ok: true; id: string } | { ok: false; error: AppError };

/** What became of one change: the values it replaced (by key, null for empty), or why it was refused. */
export type PatchOutcome =
  | { ok: true; before: Record<string, unknown>; changed: boolean }
  | { ok: false; error: AppError };

const rowsOf = <T>(result: unknown) =>
  (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];

const refused = (error: unknown): { ok: false; error: AppError } => {
  if (error instanceof AppError) return { ok: false, error };
  throw error;
};

/**
 * The relation and user values of many parsed items that point to nothing live in this tenant:
 * one query per relation or user field, whatever the number of items (`parseCustomValuesIn`'s
 * rule, set-based). @returns per item, its errors (empty when all were found)
 */
async function missingReferences(
  scope: TenantScope,
  def: ObjectDef,
  items: (Record<string, unknown> | null)[],
): Promise<FieldError[][]> {
  const errors: FieldError[][] = items.map(() => []);
  const { orgId } = scope.ctx;
  for (const field of def.fields) {
    if (field.origin !== 'custom' || (field.type !== 'relation' && field.type !== 'user')) continue;
    const idsOf = (value: unknown): string[] =>
      typeof value === 'string' ? [value] : Array.isArray(value) ? (value as string[]) : [];
    const ids = [...new Set(items.flatMap((c) => (c ? idsOf(c[field.key]) : [])))];
    if (ids.length === 0) continue;
    let found: { id: string }[];
    if (field.type === 'user')
      found = rowsOf(
        await scope.conn.query(
          'select user_id as id from members where organization_id = $1 and user_id = any($2::uuid[])',
          [orgId, ids],
        ),
      );
    else {
      const table = STANDARD_OBJECTS[field.relation!.object]?.table;
      found = rowsOf(
        await scope.conn.query(
          table
            ? `select id from ${table} where org_id = $1 and id = any($2::uuid[]) and archived_at is null`
            : `select r.id from records r join custom_objects o on o.org_id = r.org_id and o.id = r.object_id
                where r.org_id = $1 and r.id = any($2::uuid[]) and o.key = $3 and r.archived_at is null`,
          table ? [orgId, ids] : [orgId, ids, field.relation!.object],
        ),
      );
    }
    const live = new Set(found.map((r) => r.id));
    for (const [i, c] of items.entries()) {
      if (c && idsOf(c[field.key]).some((id) => !live.has(id)))
        errors[i]!.push({
          path: `body.custom.${field.key}`,
          code: 'reference_not_found',
          message: `No ${field.relation?.object ?? 'member'} with this id`,
        });
    }
  }
  return errors;
}

const referenceError = (errors: FieldError[]) =>
  new AppError(422, 'reference_not_found', 'A custom field points to a record that does not exist', {
    errors,
  });

/**
 * Creates many records of `object` in the caller's transaction: each item's values checked as
 * `createRecord` checks them (types, required, lengths, select options, relations to live records
 * of this tenant, users who are members), then one insert for those that pass and one
 * `record.created` event each. An item refused is not written; the others are.
 * @returns one outcome per item, in order @throws 404 unknown object, 409 `object_retired`
 */
export async function createRecordsIn(
  scope: TenantScope,
  services: Services,
  object: string,
  items: NewRecord[],
): Promise<BatchOutcome[]> {
  const def = await customObjectIn(scope, object);
  const objectId = assertWritable(def);
  const checked = items.map((item) => {
    try {
      return parseCustomValues(def, item.custom, { path: 'body.custom', creating: true });
    } catch (error) {
      return refused(error).error;
    }
  });
  const missing = await missingReferences(
    scope,
    def,
    checked.map((p) => (p instanceof AppError ? null : p)),
  );
  // Many-to-many values become rows of record_links after the insert; the rest goes into `custom`.
  const linksOf: Map<FieldDef, string[]>[] = [];
  const parsed = checked.map((p, i) => {
    if (p instanceof AppError) return p;
    const { values, links } = splitLinks(def, p);
    linksOf[i] = links;
    return mergeCustom({}, values) as Record<string, unknown>;
  });
  const outcomes: BatchOutcome[] = [];
  const rows: {
    id: string;
    owner_id: string | null;
    tags: string[];
    custom: Record<string, unknown>;
    number: number | null;
  }[] = [];
  const statuses: StatusChange[][] = [];
  /** The item each row comes from. */
  const itemOf: number[] = [];
  for (const [i, p] of parsed.entries()) {
    if (p instanceof AppError) outcomes.push({ ok: false, error: p });
    else if (missing[i]!.length > 0) outcomes.push({ ok: false, error: referenceError(missing[i]!) });
    else {
      const id = items[i]!.id ?? newId();
      // A first status: the initial one unless the row gives one (an import is not asked for roles or reasons).
      statuses.push(checkStatusChanges(def, null, p, { bulk: true }));
      rows.push({
        id,
        owner_id: items[i]!.ownerId ?? null,
        tags: uniqueTagNames(items[i]!.tags ?? []),
        custom: p,
        number: null,
      });
      itemOf.push(i);
      outcomes.push({ ok: true, id });
    }
  }
  if (rows.length === 0) return outcomes;
  // Record numbers in the order of the items, from the counter locked by this transaction.
  if (def.custom!.numbering) {
    const numbers = await takeRecordNumbers(scope, objectId, rows.length);
    for (const [i, row] of rows.entries()) row.number = numbers[i]!;
  }
  await ensureTags(
    scope,
    rows.flatMap((r) => r.tags),
  );
  const actor = scope.ctx.actor.id;
  await scope.tx.execute(sql`
    insert into records (org_id, id, object_id, owner_id, tags, custom, number, search, created_by, updated_by)
    select ${scope.ctx.orgId}::uuid, x.id, ${objectId}::uuid, x.owner_id,
           array(select jsonb_array_elements_text(x.tags)), x.custom, x.number,
           ${searchTextSql(def, sql`x.custom`, sql`x.number`)},
           ${actor}::uuid, ${actor}::uuid
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
        as x(id uuid, owner_id uuid, tags jsonb, custom jsonb, number integer)`);
  const links = rows.flatMap((row, k) =>
    [...(linksOf[itemOf[k]!] ?? [])].flatMap(([field, ids]) =>
      ids.map((to) => ({ field_id: field.relation!.fieldId!, from_id: row.id, to_id: to })),
    ),
  );
  if (links.length > 0)
    await scope.tx.execute(sql`
      insert into record_links (org_id, field_id, from_id, to_id, created_by)
      select ${scope.ctx.orgId}::uuid, x.field_id, x.from_id, x.to_id, ${actor}::uuid
        from jsonb_to_recordset(${JSON.stringify(links)}::jsonb) as x(field_id uuid, from_id uuid, to_id uuid)
      on conflict do nothing`);
  await emitEvents(
    scope,
    services.jobs,
    rows.map(
      (row): NewEvent => ({
        type: 'record.created',
        subject: { object, id: row.id },
        data: { name: nameOf(def, row) },
        related: relatedOf(def, row.custom),
      }),
    ),
  );
  const now = new Date().toISOString();
  await recordStatusChanges(
    scope,
    services,
    def,
    rows.map((row, i) => ({
      subject: { id: row.id, name: nameOf(def, row), createdAt: now },
      changes: statuses[i]!,
    })),
    false,
  );
  return outcomes;
}

/**
 * Changes many records of `object` in the caller's transaction, in order (a record changed twice
 * gets both, the second on the first's result): each patch checked as `updateRecord` checks it,
 * the records read (locked) once and written with one update, one `record.updated` event per
 * patch that changed something (each changed field's before and after).
 * @returns one outcome per patch: the values it replaced, or why it was refused (404 for a record
 *   that is not one of `object`'s in this tenant)
 */
export async function updateRecordsIn(
  scope: TenantScope,
  services: Services,
  object: string,
  patches: RecordPatch[],
  options: UpdateManyOptions = {},
): Promise<PatchOutcome[]> {
  const def = await customObjectIn(scope, object);
  const objectId = assertWritable(def);
  if (patches.length === 0) return [];
  const locked = rowsOf<{
    id: string;
    custom: Record<string, unknown>;
    owner_id: string | null;
    created_ms: number | string;
  }>(
    await scope.conn.query(
      `select id, custom, owner_id, (extract(epoch from created_at) * 1000)::float8 as created_ms from records where org_id = $1 and object_id = $2 and id = any($3::uuid[])
        order by id for update`,
      [scope.ctx.orgId, objectId, [...new Set(patches.map((p) => p.id))]],
    ),
  );
  const current = new Map(locked.map((r) => [r.id, r.custom]));
  const ownerOf = new Map(locked.map((r) => [r.id, r.owner_id]));
  const createdAt = new Map(locked.map((r) => [r.id, new Date(Number(r.created_ms)).toISOString()]));
  const checked = patches.map((p) => {
    try {
      return parseCustomValues(def, p.custom, { path: 'body.custom', creating: false });
    } catch (error) {
      return refused(error).error;
    }
  });
  const missing = await missingReferences(
    scope,
    def,
    checked.map((p) => (p instanceof AppError ? null : p)),
  );
  // Many-to-many values: each record's links replaced after the update (`writeLinks`).
  const linksOf: Map<FieldDef, string[]>[] = [];
  const parsed = checked.map((p, i) => {
    if (p instanceof AppError) return p;
    const { values, links } = splitLinks(def, p);
    linksOf[i] = links;
    return values;
  });
  const outcomes: PatchOutcome[] = [];
  const events: NewEvent[] = [];
  const written = new Set<string>();
  const statusItems: Parameters<typeof recordStatusChanges>[3] = [];
  for (const [i, patch] of parsed.entries()) {
    const { id } = patches[i]!;
    const values = current.get(id);
    if (!values) outcomes.push({ ok: false, error: notFound(def.labelSingular, id) });
    else if (patch instanceof AppError) outcomes.push({ ok: false, error: patch });
    else if (missing[i]!.length > 0) outcomes.push({ ok: false, error: referenceError(missing[i]!) });
    else {
      const after = mergeCustom(values, patch);
      // Status fields move only as their definitions allow (an import is not asked for roles or reasons).
      let statusChanges: StatusChange[];
      try {
        statusChanges = checkStatusChanges(
          def,
          values,
          after,
          options.person ? { role: options.person.role, reason: options.person.reason } : { bulk: true },
        );
      } catch (error) {
        outcomes.push(refused(error));
        continue;
      }
      const statusKeys = statusKeysOf(statusChanges);
      const changes: Record<string, { before: unknown; after: unknown }> = {};
      const before: Record<string, unknown> = {};
      for (const key of Object.keys(patch))
        if (JSON.stringify(values[key] ?? null) !== JSON.stringify(after[key] ?? null)) {
          if (!statusKeys.has(key)) changes[key] = { before: values[key] ?? null, after: after[key] ?? null };
          before[key] = values[key] ?? null;
        }
      const linked = linksOf[i]?.size ? await writeLinks(scope, id, linksOf[i]!) : {};
      for (const [key, set] of Object.entries(linked)) {
        changes[key] = set;
        before[key] = set.before;
      }
      const changed = Object.keys(before).length > 0;
      if (changed) {
        current.set(id, after);
        if (Object.keys(before).some((key) => !(key in linked))) written.add(id);
        if (Object.keys(changes).length > 0)
          events.push({
            type: 'record.updated',
            subject: { object, id },
            data: { name: nameOf(def, { id, custom: after }), changes },
            related: relatedOf(def, after),
          });
        if (statusChanges.length > 0)
          statusItems.push({
            subject: {
              id,
              name: nameOf(def, { id, custom: after }),
              createdAt: createdAt.get(id)!,
              related: relatedOf(def, after),
            },
            changes: statusChanges,
            ...(options.person ? { reason: options.person.reason } : {}),
          });
      }
      outcomes.push({ ok: true, before, changed });
    }
  }
  const rows = [...written].map((id) => ({ id, custom: current.get(id)! }));
  if (rows.length > 0)
    await scope.tx.execute(sql`
    update records r set custom = x.custom, search = ${searchTextSql(def, sql`x.custom`, sql`r.number`)},
           updated_at = now(), updated_by = ${scope.ctx.actor.id}::uuid
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x(id uuid, custom jsonb)
     where r.org_id = ${scope.ctx.orgId}::uuid and r.object_id = ${objectId}::uuid and r.id = x.id`);
  await emitEvents(scope, services.jobs, events);
  await recordStatusChanges(scope, services, def, statusItems);
  // A member's bulk change hands records off as their single change would (the same hook).
  if (options.person)
    for (const item of statusItems)
      await openHandoffs(
        scope,
        services,
        def,
        { id: item.subject.id, name: item.subject.name, ownerId: ownerOf.get(item.subject.id) ?? null },
        item.changes,
      );
  return outcomes;
}
