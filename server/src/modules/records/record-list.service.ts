import { sql } from 'drizzle-orm';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { indexedSearchAllowed } from '../../platform/access/access-profile.js';
import type { Services } from '../../platform/http/types.js';
import { compileListQuery, pageOf } from '../../platform/query/query.compiler.js';
import type { ListQuery } from '../../platform/query/query.schema.js';
import { indexedSearchIds } from '../../platform/query/query.search.js';
import { cachedObjectDef } from '../../platform/registry/registry.service.js';
import type { FieldDef, ObjectDef } from '../../platform/registry/registry.types.js';

/** One row of a list: the requested fields by key, custom values under `custom`. */
export type ListItem = Record<string, unknown> & { id: string };
export type ListPage = { data: ListItem[]; next_cursor: string | null };

const ALIAS = 'r';
/** Most records a free-text search considers before filters and sort apply (PERFORMANCE.md trap 4). */
const SEARCH_CANDIDATES = 1000;

/** Whether the query mentions `archived_at`: then it decides; otherwise archived records are hidden. */
function mentionsArchived(node: unknown): boolean {
  if (!node || typeof node !== 'object') return false;
  if ((node as { field?: unknown }).field === 'archived_at') return true;
  return Object.values(node).some((v) => (Array.isArray(v) ? v.some(mentionsArchived) : mentionsArchived(v)));
}

/**
 * Moves custom fields' values under `custom`, as single records show them. Returns the function
 * that shapes a row of `fields` (built once per page: a row of an object without custom fields is
 * sent as the database returned it).
 */
export function itemShaper(fields: FieldDef[]): (row: Record<string, unknown>) => ListItem {
  const customKeys = new Set(fields.filter((f) => f.origin === 'custom').map((f) => f.key));
  if (customKeys.size === 0) return (row) => row as ListItem;
  return (row) => {
    const item: Record<string, unknown> = {};
    const custom: Record<string, unknown> = {};
    for (const key in row) {
      const value = row[key];
      if (customKeys.has(key)) {
        if (value !== null && value !== undefined) custom[key] = value;
      } else item[key] = value;
    }
    item.custom = custom;
    return item as ListItem;
  };
}

/**
 * One page of an object's records for the query language (filter, sort, keyset cursor, q,
 * fields). Archived records are left out unless the filter names `archived_at`.
 * @throws AppError 400 `invalid_query` naming the offending path
 */
export async function listPage(scope: TenantScope, object: ObjectDef, query: ListQuery): Promise<ListPage> {
  const q = query.q;
  const indexed =
    object.indexedSearch && q !== undefined && q.trim() !== '' && indexedSearchAllowed(scope.ctx, object);
  const compiled = compileListQuery(object, query, {
    table: ALIAS,
    searchIndexed: indexed,
    tenant: scope.ctx,
  });
  // Free text through the trigram index (see migrations/0005_search.sql for why a function); the
  // relevance order (query.search.ts relevanceOf) only sorts these bounded candidates.
  const search = indexed
    ? sql`${sql.identifier(ALIAS)}.id in (${indexedSearchIds(object, q, SEARCH_CANDIDATES)})`
    : sql`true`;
  const archived = mentionsArchived(query.filter)
    ? sql`true`
    : sql`${sql.identifier(ALIAS)}.archived_at is null`;
  const result = await scope.tx.execute<Record<string, unknown>>(sql`
    select ${compiled.select}
      from ${sql.identifier(object.table)} as ${sql.identifier(ALIAS)}
     where ${sql.identifier(ALIAS)}.org_id = ${scope.ctx.orgId} and ${archived} and ${search} and ${compiled.where}
     order by ${compiled.orderBy}
     limit ${compiled.limit + 1}`);
  const rows = (
    Array.isArray(result) ? result : (result as { rows: Record<string, unknown>[] }).rows
  ) as Record<string, unknown>[];
  const { items, nextCursor } = pageOf(compiled, rows);
  return { data: items.map(itemShaper(compiled.fields)), next_cursor: nextCursor };
}

/** A page of records of `object` for the tenant. */
export async function listRecords(
  services: Services,
  ctx: TenantContext,
  object: string,
  query: ListQuery,
): Promise<ListPage> {
  return withTenant(
    services.database,
    ctx,
    async (scope) => listPage(scope, await cachedObjectDef(scope.tx, ctx.orgId, object), query),
    { readOnly: true },
  );
}
