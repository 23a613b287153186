import { and, asc, eq } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { ExpiringCache } from '../cache/expiring-cache.js';
import { notFound } from '../errors/app-error.js';
import { customFields } from './custom-field.schema.js';
import { customObjectDef, customObjectRows } from './custom-objects.js';
import type { FieldDef, FieldType, ObjectDef } from './registry.types.js';
import { STANDARD_OBJECTS } from './standard-objects.js';

/** A custom field as the registry describes it. */
export function customFieldDef(row: typeof customFields.$inferSelect): FieldDef {
  const type = row.type as FieldType;
  if (type === 'relation' && row.relationMany && row.relationObject) return manyRelationDef(row);
  return {
    key: row.key,
    label: row.label,
    type,
    storage: { kind: 'custom' },
    required: row.required,
    unique: false,
    options: row.options ?? undefined,
    statuses: row.statuses ?? undefined,
    relation: row.relationObject ? { object: row.relationObject } : undefined,
    maxLength: type === 'long_text' ? 10_000 : type === 'url' ? 2_048 : 500,
    searchable: false,
    filterable: type !== 'long_text',
    sortable: !['multi_select', 'long_text', 'currency', 'tags'].includes(type),
    readOnly: false,
    origin: 'custom',
    position: 1000 + row.position,
    retired: row.retiredAt !== null,
    description: row.description ?? undefined,
  };
}

/**
 * A many-to-many relation field (issue 21): its value is computed from `record_links` (the linked
 * live records, `[{id, name}]` by name), filtered as a set of ids (`idsSql`: `eq`/`in` linked to
 * one of them, `isEmpty` linked to none), as a contact's companies are.
 */
function manyRelationDef(row: typeof customFields.$inferSelect): FieldDef {
  const target = row.relationObject!;
  const field = `'${row.id}'::uuid`;
  const standard = STANDARD_OBJECTS[target];
  const join = standard
    ? `join ${standard.table} t on t.org_id = l.org_id and t.id = l.to_id and t.archived_at is null`
    : `join records t on t.org_id = l.org_id and t.id = l.to_id and t.archived_at is null
       join custom_objects o on o.org_id = t.org_id and o.id = t.object_id`;
  const name = standard?.titleSql
    ? standard.titleSql('t')
    : `coalesce(nullif(t.custom->>o.display_field, ''), t.id::text)`;
  return {
    key: row.key,
    label: row.label,
    type: 'relation',
    storage: {
      kind: 'computed',
      idsSql: `select l.to_id from record_links l where l.org_id = {table}.org_id and l.field_id = ${field} and l.from_id = {table}.id`,
      sql: `select coalesce(json_agg(json_build_object('id', t.id, 'name', ${name}) order by ${name}, t.id), '[]'::json)
              from record_links l ${join}
             where l.org_id = {table}.org_id and l.field_id = ${field} and l.from_id = {table}.id`,
    },
    required: row.required,
    unique: false,
    relation: { object: target, many: true, fieldId: row.id },
    searchable: false,
    filterable: true,
    sortable: false,
    readOnly: false,
    origin: 'custom',
    position: 1000 + row.position,
    retired: row.retiredAt !== null,
    description: row.description ?? undefined,
  };
}

/**
 * The registry entry of `object` for the transaction's tenant: the standard fields plus the
 * tenant's custom fields (retired ones included, flagged). @throws 404 for an unknown object
 */
export async function objectDef(tx: Tx, orgId: string, object: string): Promise<ObjectDef> {
  const standard = STANDARD_OBJECTS[object];
  if (!standard) {
    const [custom] = await customObjectDefs(tx, orgId, [object]);
    if (!custom) throw notFound('Object', object);
    return custom;
  }
  if (standard.activity) return standard;
  const rows = await tx
    .select()
    .from(customFields)
    .where(and(eq(customFields.orgId, orgId), eq(customFields.object, object)))
    .orderBy(asc(customFields.position));
  return { ...standard, fields: [...standard.fields, ...rows.map(customFieldDef)] };
}

/** The tenant's custom objects (issue 21), retired ones included (flagged), or those of `keys`. */
export async function customObjectDefs(tx: Tx, orgId: string, keys?: string[]): Promise<ObjectDef[]> {
  const rows = await customObjectRows(tx, orgId, keys);
  return rows.map(({ row, fields }) => customObjectDef(row, fields.map(customFieldDef)));
}

/** How long a list reuses a tenant's registry entry in this process, ms. */
export const REGISTRY_CACHE_MS = 5_000;
const REGISTRY_CACHE_MAX = 10_000;
const registryCache = new ExpiringCache<ObjectDef>(REGISTRY_CACHE_MS, REGISTRY_CACHE_MAX);

/**
 * `objectDef` reused for REGISTRY_CACHE_MS per tenant and object, for reads that run on every
 * list request (issue 18: one statement less per list). Writes keep `objectDef` (read in their own
 * transaction). Concurrent lists of a tenant whose entry expired share one read. A custom field change clears the tenant's entries in this process at once
 * (`forgetRegistry`); another process sees it within REGISTRY_CACHE_MS.
 */
export async function cachedObjectDef(tx: Tx, orgId: string, object: string): Promise<ObjectDef> {
  const key = `${orgId}:${object}`;
  const def = registryCache.peek(key) ?? (await registryCache.get(key, () => objectDef(tx, orgId, object)));
  return def!;
}

/** Drops the tenant's cached registry entries (after its custom fields changed and committed). */
export function forgetRegistry(orgId: string): void {
  registryCache.deleteWhere((key) => key.startsWith(`${orgId}:`));
}
