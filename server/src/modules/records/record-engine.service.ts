import { and, eq, inArray, isNotNull, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { auditView } from '../../db/columns.js';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { assertMember } from '../../platform/access/membership.js';
import { conflict, notFound } from '../../platform/errors/app-error.js';
import { emitEvent, emitEvents, type NewEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { records } from '../../platform/records/record.schema.js';
import { recordLinks } from '../../platform/records/record-link.schema.js';
import { formatRecordNumber, searchTextSql } from '../../platform/registry/custom-objects.js';
import { parseCustomValuesIn } from '../../platform/registry/field-references.js';
import { mergeCustom } from '../../platform/registry/field-values.js';
import { customObjectDefs } from '../../platform/registry/registry.service.js';
import type { ObjectDef } from '../../platform/registry/registry.types.js';
import { STANDARD_OBJECTS } from '../../platform/registry/standard-objects.js';
import { openHandoffs } from '../handoffs/handoff-open.service.js';
import { ensureTags } from '../tags/tag.service.js';
import { linkValuesOf, manyRelationsOf, splitLinks, writeLinks } from './record-links.service.js';
import { takeRecordNumbers } from './record-numbers.js';
import { checkStatusChanges, recordStatusChanges, statusKeysOf } from './record-status.service.js';

/**
 * The record engine's write path for custom objects' records (issue 21): create, update,
 * archive, restore and delete, validated against the registry (types, required, lengths, select
 * options, relations to live records of this tenant, owners who are members), each change with
 * its `record.*` event in the same transaction.
 */

export const RecordView = z
  .object({
    id: z.uuid(),
    object: z.string().describe('The custom object’s key'),
    name: z.string().describe('The display field’s value (the id when it is empty)'),
    number: z
      .number()
      .int()
      .nullable()
      .describe('The record’s number in its object, when the object numbers its records'),
    number_label: z.string().nullable().describe('The number as shown: `CASE-00042`'),
    owner_id: z.uuid().nullable(),
    tags: z.array(z.string()),
    custom: z.record(z.string(), z.unknown()).describe('The values of the object’s fields, by key'),
    created_at: z.string(),
    updated_at: z.string(),
    created_by: z.string().nullable(),
    updated_by: z.string().nullable(),
    archived_at: z.string().nullable(),
  })
  .meta({ id: 'CustomRecord' });
export type RecordViewOut = z.infer<typeof RecordView>;

export const RecordWrite = z
  .strictObject({
    owner_id: z.uuid().nullable().optional(),
    tags: z.array(z.string().trim().min(1).max(64)).max(100).optional(),
    custom: z
      .record(z.string().max(64), z.unknown())
      .optional()
      .describe('Values by field key, checked against the object’s fields; on update null clears one'),
    status_reason: z
      .string()
      .trim()
      .max(2_000)
      .optional()
      .describe('Why a status field changes: required by the moves and statuses whose definition says so'),
  })
  .meta({ id: 'CustomRecordWrite' });
export type RecordWriteInput = z.infer<typeof RecordWrite>;

type Row = typeof records.$inferSelect;

/** A custom object's registry entry. @throws 404 for standard and unknown objects */
export async function customObjectIn(scope: TenantScope, object: string): Promise<ObjectDef> {
  const [def] = STANDARD_OBJECTS[object] ? [] : await customObjectDefs(scope.tx, scope.ctx.orgId, [object]);
  if (!def?.custom) throw notFound('Object', object);
  return def;
}

/** @throws 409 `object_retired`: a retired object's records are read-only */
export function assertWritable(def: ObjectDef): string {
  if (def.custom!.retired)
    throw conflict(
      `${def.labelPlural} are retired: their records are read-only`,
      'path.object',
      'object_retired',
    );
  return def.custom!.id;
}

export const nameOf = (def: ObjectDef, row: Pick<Row, 'id' | 'custom'>): string => {
  const value = row.custom[def.custom!.displayField];
  return typeof value === 'string' && value !== '' ? value : row.id;
};

function viewOf(def: ObjectDef, row: Row): RecordViewOut {
  return {
    id: row.id,
    object: def.key,
    name: nameOf(def, row),
    number: row.number,
    number_label:
      row.number !== null && def.custom!.numbering
        ? formatRecordNumber(def.custom!.numbering, row.number)
        : null,
    owner_id: row.ownerId,
    tags: row.tags,
    custom: row.custom,
    ...auditView(row),
  };
}

/** The view with its many-to-many fields' linked records under `custom` (as lists show them). */
async function withLinks(scope: TenantScope, def: ObjectDef, view: RecordViewOut): Promise<RecordViewOut> {
  if (manyRelationsOf(def).length === 0) return view;
  return { ...view, custom: { ...view.custom, ...(await linkValuesOf(scope, def, view.id)) } };
}

/** The `search` text of a record with these values (registry/custom-objects.ts `searchTextSql`). */
const searchOf = (def: ObjectDef, custom: Record<string, unknown>, number: number | null) =>
  searchTextSql(
    def,
    sql`${JSON.stringify(custom)}::jsonb`,
    number === null ? undefined : sql`${number}::bigint`,
  );

/** The records a record's relation fields point to: its events show on their timelines too. */
export function relatedOf(def: ObjectDef, custom: Record<string, unknown>) {
  return def.fields
    .filter(
      (f) =>
        f.origin === 'custom' && f.type === 'relation' && f.relation && typeof custom[f.key] === 'string',
    )
    .map((f) => ({ object: f.relation!.object, id: custom[f.key] as string }));
}

export async function loadRow(scope: TenantScope, def: ObjectDef, id: string, lock = false): Promise<Row> {
  const query = scope.tx
    .select()
    .from(records)
    .where(and(eq(records.orgId, scope.ctx.orgId), eq(records.objectId, def.custom!.id), eq(records.id, id)));
  const [row] = lock ? await query.for('update') : await query;
  if (!row) throw notFound(def.labelSingular, id);
  return row;
}

/** Owner and tags of a write, checked: the owner must be a member; tags are registered. */
async function ownerAndTags(scope: TenantScope, input: RecordWriteInput) {
  if (input.owner_id) await assertMember(scope, input.owner_id, 'body.owner_id');
  const tags = input.tags ? await ensureTags(scope, input.tags) : undefined;
  return { tags };
}

/** Creates a record of `object`. @throws 400/422 naming `body.custom.<key>`, 404, 409 `object_retired` */
export async function createRecord(
  services: Services,
  ctx: TenantContext,
  object: string,
  input: RecordWriteInput,
): Promise<RecordViewOut> {
  return withTenant(services.database, ctx, (scope) => createRecordIn(scope, services, object, input));
}

/** `createRecord` inside the caller's tenant transaction (a workflow's step). */
export async function createRecordIn(
  scope: TenantScope,
  services: Services,
  object: string,
  input: RecordWriteInput,
): Promise<RecordViewOut> {
  const { ctx } = scope;
  const def = await customObjectIn(scope, object);
  const objectId = assertWritable(def);
  const { values, links } = splitLinks(
    def,
    await parseCustomValuesIn(scope, def, input.custom, { path: 'body.custom', creating: true }),
  );
  const custom = mergeCustom({}, values);
  const { tags } = await ownerAndTags(scope, input);
  // Status fields: a first status (the initial one unless given), checked against its roles.
  const statuses = checkStatusChanges(def, null, custom, { reason: input.status_reason, role: ctx.role });
  const [number = null] = def.custom!.numbering ? await takeRecordNumbers(scope, objectId, 1) : [];
  const [row] = await scope.tx
    .insert(records)
    .values({
      orgId: ctx.orgId,
      objectId,
      ownerId: input.owner_id ?? null,
      tags: tags ?? [],
      custom,
      number,
      search: searchOf(def, custom, number),
      createdBy: ctx.actor.id,
      updatedBy: ctx.actor.id,
    })
    .returning();
  await writeLinks(scope, row!.id, links);
  await emitEvent(scope, services.jobs, {
    type: 'record.created',
    subject: { object, id: row!.id },
    data: { name: nameOf(def, row!) },
    related: relatedOf(def, custom),
  });
  const subject = { id: row!.id, name: nameOf(def, row!), createdAt: row!.createdAt };
  await recordStatusChanges(
    scope,
    services,
    def,
    [{ subject, changes: statuses, reason: input.status_reason }],
    false,
  );
  await openHandoffs(scope, services, def, { ...subject, ownerId: row!.ownerId }, statuses);
  return withLinks(scope, def, viewOf(def, row!));
}

/** A record of `object`, archived ones included. @throws 404 (another tenant's id included) */
export async function getRecord(services: Services, ctx: TenantContext, object: string, id: string) {
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      const def = await customObjectIn(scope, object);
      return withLinks(scope, def, viewOf(def, await loadRow(scope, def, id)));
    },
    { readOnly: true },
  );
}

/**
 * Changes the given fields; absent ones stay, null clears; custom values merge. One
 * `record.updated` event with each changed field's before and after (none when nothing changed).
 */
export async function updateRecord(
  services: Services,
  ctx: TenantContext,
  object: string,
  id: string,
  input: RecordWriteInput,
): Promise<RecordViewOut> {
  return withTenant(services.database, ctx, (scope) => updateRecordIn(scope, services, object, id, input));
}

/**
 * `updateRecord` inside the caller's tenant transaction (a workflow's step). `handoffReturn`: a
 * denied hand-off sends the record back (no status rule checked, no new hand-off opened).
 */
export async function updateRecordIn(
  scope: TenantScope,
  services: Services,
  object: string,
  id: string,
  input: RecordWriteInput,
  options: { handoffReturn?: boolean } = {},
): Promise<RecordViewOut> {
  const { ctx } = scope;
  const def = await customObjectIn(scope, object);
  assertWritable(def);
  const current = await loadRow(scope, def, id, true);
  const { values: patch, links } = splitLinks(
    def,
    await parseCustomValuesIn(scope, def, input.custom, { path: 'body.custom', creating: false }),
  );
  const { tags } = await ownerAndTags(scope, input);
  const custom = mergeCustom(current.custom, patch);
  // Status fields move only as their definitions allow (409 / 403 / 422 before anything is written).
  const statuses = checkStatusChanges(def, current.custom, custom, {
    reason: input.status_reason,
    role: ctx.role,
    handoffReturn: options.handoffReturn ?? false,
  });
  const statusKeys = statusKeysOf(statuses);
  const changes: Record<string, { before: unknown; after: unknown }> = {};
  const diff = (key: string, before: unknown, after: unknown) => {
    if (JSON.stringify(before ?? null) !== JSON.stringify(after ?? null))
      changes[key] = { before: before ?? null, after: after ?? null };
  };
  for (const key of Object.keys(patch)) if (!statusKeys.has(key)) diff(key, current.custom[key], custom[key]);
  if (input.owner_id !== undefined) diff('owner_id', current.ownerId, input.owner_id);
  if (tags !== undefined) diff('tags', current.tags, tags);
  // Many-to-many fields: their links replaced, each changed set a change like any field's.
  Object.assign(changes, await writeLinks(scope, id, links));
  if (Object.keys(changes).length === 0 && statuses.length === 0)
    return withLinks(scope, def, viewOf(def, current));
  const [row] = await scope.tx
    .update(records)
    .set({
      custom,
      search: searchOf(def, custom, current.number),
      ...(input.owner_id !== undefined ? { ownerId: input.owner_id } : {}),
      ...(tags !== undefined ? { tags } : {}),
      updatedAt: sql`now()`,
      updatedBy: ctx.actor.id,
    })
    .where(and(eq(records.orgId, ctx.orgId), eq(records.id, id)))
    .returning();
  if (Object.keys(changes).length > 0)
    await emitEvent(scope, services.jobs, {
      type: 'record.updated',
      subject: { object, id },
      data: { name: nameOf(def, row!), changes },
      related: relatedOf(def, custom),
    });
  await recordStatusChanges(scope, services, def, [
    {
      subject: { id, name: nameOf(def, row!), createdAt: row!.createdAt, related: relatedOf(def, custom) },
      changes: statuses,
      reason: input.status_reason,
    },
  ]);
  if (!options.handoffReturn)
    await openHandoffs(
      scope,
      services,
      def,
      { id, name: nameOf(def, row!), ownerId: row!.ownerId },
      statuses,
    );
  return withLinks(scope, def, viewOf(def, row!));
}

/**
 * Archives or restores records of `object` in the caller's transaction (one statement, one event
 * each): those already so are left alone. @returns the records that changed
 */
export async function setRecordsArchived(
  scope: TenantScope,
  services: Services,
  object: string,
  ids: string[],
  archive: boolean,
): Promise<RecordViewOut[]> {
  const def = await customObjectIn(scope, object);
  const objectId = assertWritable(def);
  if (ids.length === 0) return [];
  const rows = await scope.tx
    .update(records)
    .set({
      archivedAt: archive ? sql`now()` : null,
      updatedAt: sql`now()`,
      updatedBy: scope.ctx.actor.id,
    })
    .where(
      and(
        eq(records.orgId, scope.ctx.orgId),
        eq(records.objectId, objectId),
        inArray(records.id, ids),
        archive ? isNull(records.archivedAt) : isNotNull(records.archivedAt),
      ),
    )
    .returning();
  await emitEvents(
    scope,
    services.jobs,
    rows.map(
      (row): NewEvent => ({
        type: archive ? 'record.archived' : 'record.restored',
        subject: { object, id: row.id },
        data: { name: nameOf(def, row) },
      }),
    ),
  );
  return rows.map((row) => viewOf(def, row));
}

/** Archives (soft-deletes) or restores one record; one already so is answered as it is. */
export async function archiveRecord(
  services: Services,
  ctx: TenantContext,
  object: string,
  id: string,
  archive: boolean,
): Promise<RecordViewOut> {
  return withTenant(services.database, ctx, async (scope) => {
    const def = await customObjectIn(scope, object);
    const current = await loadRow(scope, def, id, true);
    const [changed] = await setRecordsArchived(scope, services, object, [id], archive);
    return changed ?? viewOf(def, current);
  });
}

/** Deletes a record for good (admins), leaving a `record.deleted` event. */
export async function deleteRecord(services: Services, ctx: TenantContext, object: string, id: string) {
  await withTenant(services.database, ctx, async (scope) => {
    const def = await customObjectIn(scope, object);
    assertWritable(def);
    const row = await loadRow(scope, def, id, true);
    await scope.tx.delete(records).where(and(eq(records.orgId, ctx.orgId), eq(records.id, id)));
    // Its links go with it (`record_links_from_fk`), and so do other records' links to it.
    await scope.tx.delete(recordLinks).where(and(eq(recordLinks.orgId, ctx.orgId), eq(recordLinks.toId, id)));
    await emitEvent(scope, services.jobs, {
      type: 'record.deleted',
      subject: { object, id },
      data: { name: nameOf(def, row) },
    });
  });
}

/** @throws 404 for an unknown object, 409 `object_retired` for a retired one */
export async function assertObjectWritable(services: Services, ctx: TenantContext, object: string) {
  await withTenant(
    services.database,
    ctx,
    async (scope) => assertWritable(await customObjectIn(scope, object)),
    {
      readOnly: true,
    },
  );
}
