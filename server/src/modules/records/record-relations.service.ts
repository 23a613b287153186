import { z } from 'zod';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { assertRight } from '../../platform/access/access-profile.js';
import { AppError, badRequest, notFound } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { liveIdsIn } from '../../platform/registry/field-references.js';
import { findAnyRecordIn } from '../../platform/registry/record-lookup.js';
import { customObjectDefs, objectDef } from '../../platform/registry/registry.service.js';
import type { FieldDef, ObjectDef } from '../../platform/registry/registry.types.js';
import { updateRecordIn } from './record-engine.service.js';
import { type LinkedRecord, linkedIds, linkValuesOf, manyRelationsOf } from './record-links.service.js';

/**
 * A record's many-to-many relations seen from either side (issue 21): the links its own fields
 * make (a custom record's) and the links other objects' fields make to it (a contact's, a
 * company's, a custom record's), read and edited from the record's page. Every edit goes through
 * the record engine's update of the linking record, so it is checked, evented and on its timeline
 * as an edit of the field.
 */

export const RecordRelation = z
  .object({
    relation: z.string().describe('`<object>.<field>`: the many-to-many field that makes the links'),
    label: z.string().describe('The field’s label'),
    side: z
      .enum(['from', 'to'])
      .describe('`from`: the record’s own field links the others; `to`: the others’ field links it'),
    object: z.string().describe('The key of the linked records’ object'),
    object_label: z.string().describe('Their object’s plural label'),
    records: z
      .array(z.object({ id: z.uuid(), name: z.string() }))
      .describe('The linked live records, by name'),
  })
  .meta({ id: 'RecordRelation' });
export type RecordRelationOut = z.infer<typeof RecordRelation>;

export const RecordRelations = z.object({ data: z.array(RecordRelation) }).meta({ id: 'RecordRelations' });

const Ids = z.array(z.uuid()).max(100);
export const RecordLinksEdit = z
  .strictObject({
    relation: z
      .string()
      .regex(/^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/)
      .describe('`<object>.<field>`: one of the relations `GET` lists for the record'),
    add: Ids.optional().describe('Records of the other object to link'),
    remove: Ids.optional().describe('Records of the other object to unlink'),
  })
  .meta({ id: 'RecordLinksEdit' });

/** Most records a side lists (a relation linking more shows its first by name). */
const SIDE_LIMIT = 500;

type Relation = { owner: ObjectDef; field: FieldDef; side: 'from' | 'to'; other: string };

/** The many-to-many fields touching `object`: its own, and other custom objects' pointing to it. */
async function relationsOf(scope: TenantScope, def: ObjectDef): Promise<Relation[]> {
  const out: Relation[] = manyRelationsOf(def)
    .filter((f) => !f.retired)
    .map((field) => ({ owner: def, field, side: 'from', other: field.relation!.object }));
  for (const owner of await customObjectDefs(scope.tx, scope.ctx.orgId)) {
    if (owner.custom?.retired) continue;
    for (const field of manyRelationsOf(owner))
      if (!field.retired && field.relation!.object === def.key)
        out.push({ owner, field, side: 'to', other: owner.key });
  }
  return out;
}

/** The records linking `id` by `field` (the `to` side), live ones by name. */
async function linkingRecords(scope: TenantScope, relation: Relation, id: string): Promise<LinkedRecord[]> {
  const title = relation.owner.titleSql!('r');
  const { rows } = await scope.conn.query<LinkedRecord>(
    `select r.id, ${title} as name from record_links l
       join records r on r.org_id = l.org_id and r.id = l.from_id and r.archived_at is null
      where l.org_id = $1 and l.field_id = $2 and l.to_id = $3
      order by 2, 1 limit ${SIDE_LIMIT}`,
    [scope.ctx.orgId, relation.field.relation!.fieldId, id],
  );
  return rows;
}

async function labelOf(scope: TenantScope, object: string): Promise<string> {
  return (await objectDef(scope.tx, scope.ctx.orgId, object)).labelPlural;
}

async function relationsView(scope: TenantScope, def: ObjectDef, id: string): Promise<RecordRelationOut[]> {
  const relations = await relationsOf(scope, def);
  const own = relations.some((r) => r.side === 'from') ? await linkValuesOf(scope, def, id) : {};
  const out: RecordRelationOut[] = [];
  for (const relation of relations) {
    out.push({
      relation: `${relation.owner.key}.${relation.field.key}`,
      label: relation.field.label,
      side: relation.side,
      object: relation.other,
      object_label: await labelOf(scope, relation.other),
      records:
        relation.side === 'from'
          ? (own[relation.field.key] ?? [])
          : await linkingRecords(scope, relation, id),
    });
  }
  return out;
}

/** The record `id` of `object` in the tenant. @throws 404 (another tenant's id, an unknown object) */
async function recordDef(scope: TenantScope, object: string, id: string): Promise<ObjectDef> {
  const found = await findAnyRecordIn(scope, object, id);
  if (!found) throw notFound('Record', id);
  return objectDef(scope.tx, scope.ctx.orgId, object);
}

/** The many-to-many relations of a record, both sides. @throws 404 */
export async function recordRelations(
  services: Services,
  ctx: TenantContext,
  object: string,
  id: string,
): Promise<{ data: RecordRelationOut[] }> {
  return withTenant(
    services.database,
    ctx,
    async (scope) => ({ data: await relationsView(scope, await recordDef(scope, object, id), id) }),
    { readOnly: true },
  );
}

/**
 * Links or unlinks records from either side of a relation: from its own side, the record's field
 * changes; from the other, each linking record's field does (through the record engine).
 * @throws 404 for the record, 400 at `body.relation` for a relation not touching it, 422
 *   `reference_not_found` at `body.add.<i>` / `body.remove.<i>` for a record that is not one of the
 *   other object's (another tenant's included)
 */
export async function editRecordLinks(
  services: Services,
  ctx: TenantContext,
  object: string,
  id: string,
  input: z.infer<typeof RecordLinksEdit>,
): Promise<{ data: RecordRelationOut[] }> {
  return withTenant(services.database, ctx, async (scope) => {
    const def = await recordDef(scope, object, id);
    const relation = (await relationsOf(scope, def)).find(
      (r) => `${r.owner.key}.${r.field.key}` === input.relation,
    );
    if (!relation)
      throw badRequest(`${def.labelSingular} has no relation ${input.relation}`, 'body.relation');
    // Every link is a change of the linking record's field: the right to update its object.
    assertRight(ctx, relation.owner.key, 'update', relation.owner.labelPlural.toLowerCase());
    const add = [...new Set(input.add ?? [])];
    const remove = new Set(input.remove ?? []);
    // Linked: live records; unlinked: any record of the other object (an archived one's link goes too).
    const live = await liveIdsIn(scope, relation.other, add);
    const known = await liveIdsIn(scope, relation.other, [...remove], { archived: true });
    const errors = [
      ...add.map((x, i) => ({ x, path: `body.add.${i}`, ok: live.has(x) })),
      ...[...remove].map((x, i) => ({ x, path: `body.remove.${i}`, ok: known.has(x) })),
    ]
      .filter(({ ok }) => !ok)
      .map(({ path }) => ({
        path,
        code: 'reference_not_found',
        message: `No ${relation.other} with this id`,
      }));
    if (errors.length > 0)
      throw new AppError(422, 'reference_not_found', 'A linked record does not exist', {
        path: errors[0]!.path,
        errors,
      });
    const key = relation.field.key;
    const patch = { custom: {} as Record<string, unknown> };
    if (relation.side === 'from') {
      const current = await linkedIds(scope, relation.field, id);
      patch.custom[key] = [...current.filter((x) => !remove.has(x)), ...add];
      await updateRecordIn(scope, services, relation.owner.key, id, patch);
    } else {
      // Each linking record changes its own field: one engine update (and event) per record.
      for (const from of [...add, ...remove]) {
        const current = await linkedIds(scope, relation.field, from);
        const next = remove.has(from) ? current.filter((x) => x !== id) : [...current, id];
        await updateRecordIn(scope, services, relation.owner.key, from, { custom: { [key]: next } });
      }
    }
    return { data: await relationsView(scope, def, id) };
  });
}
