import { and, eq, inArray, sql } from 'drizzle-orm';
import type { TenantScope } from '../../db/tenant.js';
import { recordLinks } from '../../platform/records/record-link.schema.js';
import type { FieldDef, ObjectDef } from '../../platform/registry/registry.types.js';

/**
 * Many-to-many relation fields on the record engine's write path (issue 21): their values are
 * rows of `record_links`, not keys of the record's `custom`. The engine parses them with the
 * other values (`parseCustomValuesIn`: ids of live records of the relation's object in this
 * tenant), takes them out of the `custom` patch here and writes the links in its transaction.
 */

/** The object's many-to-many relation fields (retired ones included: their links stay). */
export const manyRelationsOf = (def: ObjectDef): FieldDef[] =>
  def.fields.filter((f) => f.origin === 'custom' && f.type === 'relation' && f.relation?.many);

/** A linked record as reads show it. */
export type LinkedRecord = { id: string; name: string };

/**
 * Splits a parsed `custom` patch: the many-to-many fields' id sets (null clears: no links) and
 * the values that go into the record's `custom`.
 */
export function splitLinks(
  def: ObjectDef,
  patch: Record<string, unknown>,
): { values: Record<string, unknown>; links: Map<FieldDef, string[]> } {
  const links = new Map<FieldDef, string[]>();
  const values = { ...patch };
  for (const field of manyRelationsOf(def)) {
    if (!(field.key in values)) continue;
    links.set(field, (values[field.key] as string[] | null) ?? []);
    delete values[field.key];
  }
  return { values, links };
}

/**
 * Replaces the links of the record `fromId` for each field of `links` (ids checked by the
 * caller). @returns each field whose set changed, with the ids before and after (sorted)
 */
export async function writeLinks(
  scope: TenantScope,
  fromId: string,
  links: Map<FieldDef, string[]>,
): Promise<Record<string, { before: string[]; after: string[] }>> {
  const changes: Record<string, { before: string[]; after: string[] }> = {};
  const { orgId } = scope.ctx;
  for (const [field, wanted] of links) {
    const fieldId = field.relation!.fieldId!;
    const before = await linkedIds(scope, field, fromId);
    const after = [...new Set(wanted)].sort();
    const removed = before.filter((id) => !after.includes(id));
    const added = after.filter((id) => !before.includes(id));
    if (removed.length === 0 && added.length === 0) continue;
    if (removed.length > 0)
      await scope.tx
        .delete(recordLinks)
        .where(
          and(
            eq(recordLinks.orgId, orgId),
            eq(recordLinks.fieldId, fieldId),
            eq(recordLinks.fromId, fromId),
            inArray(recordLinks.toId, removed),
          ),
        );
    if (added.length > 0)
      await scope.tx
        .insert(recordLinks)
        .values(
          added.map((toId) => ({
            orgId,
            fieldId,
            fromId,
            toId,
            createdBy: scope.ctx.actor.type === 'user' ? scope.ctx.actor.id : null,
          })),
        )
        .onConflictDoNothing();
    changes[field.key] = { before, after };
  }
  return changes;
}

/** The ids the record `fromId` links by `field`, archived records' included. */
export async function linkedIds(scope: TenantScope, field: FieldDef, fromId: string): Promise<string[]> {
  const rows = await scope.tx
    .select({ toId: recordLinks.toId })
    .from(recordLinks)
    .where(
      and(
        eq(recordLinks.orgId, scope.ctx.orgId),
        eq(recordLinks.fieldId, field.relation!.fieldId!),
        eq(recordLinks.fromId, fromId),
      ),
    );
  return rows.map((r) => r.toId).sort();
}

/**
 * The ids each record of `ids` (records of `def`) links by each of its many-to-many fields, in one
 * query whatever the count: the record's values as a write compares them (`writeLinks` replaces
 * these; links to archived records count, as in `linkedIds` and the `isEmpty` filter).
 * @returns record id -> field key -> linked ids (sorted); a field without links is left out
 */
export async function linkedIdsOf(
  scope: TenantScope,
  def: ObjectDef,
  ids: string[],
): Promise<Map<string, Record<string, string[]>>> {
  const out = new Map<string, Record<string, string[]>>(ids.map((id) => [id, {}]));
  const keyOf = new Map(manyRelationsOf(def).map((f) => [f.relation!.fieldId!, f.key]));
  if (keyOf.size === 0 || ids.length === 0) return out;
  const { rows } = await scope.conn.query(
    `select from_id, field_id, to_id from record_links
      where org_id = $1 and field_id = any($2::uuid[]) and from_id = any($3::uuid[])
      order by from_id, field_id, to_id`,
    [scope.ctx.orgId, [...keyOf.keys()], ids],
  );
  for (const r of rows as { from_id: string; field_id: string; to_id: string }[]) {
    const values = out.get(r.from_id);
    const key = keyOf.get(r.field_id);
    if (!values || !key) continue;
    const linked = values[key] ?? [];
    linked.push(r.to_id);
    values[key] = linked;
  }
  return out;
}

/**
 * The values of the record's many-to-many fields as lists show them (`[{id, name}]`, live
 * linked records by name), by field key; empty lists left out, as lists leave out empty values.
 */
export async function linkValuesOf(
  scope: TenantScope,
  def: ObjectDef,
  id: string,
): Promise<Record<string, LinkedRecord[]>> {
  const fields = manyRelationsOf(def).filter((f) => !f.retired);
  if (fields.length === 0) return {};
  const columns = fields.map(
    (f) =>
      sql`(${sql.raw((f.storage.kind === 'computed' ? f.storage.sql! : 'null').replaceAll('{table}', 'r'))}) as ${sql.identifier(f.key)}`,
  );
  const result = await scope.tx.execute<Record<string, LinkedRecord[] | null>>(
    sql`select ${sql.join(columns, sql`, `)} from records r where r.org_id = ${scope.ctx.orgId} and r.id = ${id}::uuid`,
  );
  const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as Record<
    string,
    LinkedRecord[] | null
  >[];
  const out: Record<string, LinkedRecord[]> = {};
  for (const [key, value] of Object.entries(rows[0] ?? {})) if (value && value.length > 0) out[key] = value;
  return out;
}
