import { type SQL, sql } from 'drizzle-orm';
import type { TenantContext } from '../../db/tenant.js';
import { assertRight, readableOf, rowScopeSql } from '../access/access-profile.js';
import type { FieldDef, ObjectDef } from '../registry/registry.types.js';
import {
  CURSOR_COLUMN,
  cursorColumnOf,
  cursorKindOf,
  cursorValuesOf,
  decodeCursor,
  encodeCursor,
  keysetCondition,
  orderByOf,
  type SortPart,
} from './query.cursor.js';
import { invalidQuery, QUERY_LIMITS } from './query.errors.js';
import {
  columnRef,
  type FieldScope,
  hasSql,
  idsAsText,
  outputExpr,
  resolveField,
  valueExpr,
} from './query.fields.js';
import { compileFilter } from './query.filter.js';
import type { ListQuery } from './query.schema.js';
import { relevanceOf, searchCondition, searchTerms } from './query.search.js';
import { isValidTimeZone } from './query.values.js';

export type CompileListQueryOptions = {
  /**
   * How the object's table is named in the FROM clause (`from contacts c` -> 'c'); every column
   * is qualified with it. Default: `object.table`.
   */
  table?: string;
  /** Field-level read access: a field it refuses is unknown to the query (filter, sort, q, fields). */
  readable?: (field: FieldDef) => boolean;
  /**
   * The tenant context the query runs for: its access profile (issue 22), when it has one, refuses
   * the query without the object's read right (403 `right_denied`), makes its hidden fields
   * unknown (as `readable` does) and keeps the rows outside its record scope out of `where`.
   * Every list, count, export, bulk selection, board and search passes it.
   */
  tenant?: TenantContext | undefined;
  /** The moment relative dates are evaluated at. Default: now. */
  now?: Date;
  /**
   * The caller restricts rows to q's candidates itself (an object's trigram index,
   * `indexedSearchIds`): q then only ranks the rows and adds no condition of its own.
   */
  searchIndexed?: boolean;
  /** IANA zone relative dates and date-only values on datetime fields are read in. Default 'UTC'. */
  timeZone?: string;
};

/** A list query compiled for one object; every part is parameterized SQL. */
export type CompiledListQuery = {
  /** Filter AND q AND "after the cursor"; `true` when there is none. Tenancy is not in it (RLS). */
  where: SQL;
  /** The sort keys then the primary key `id` (asc NULLS LAST / desc NULLS FIRST). */
  orderBy: SQL;
  /** Page size 1..200 (default 50). Fetch `limit + 1` rows to know whether a next page exists. */
  limit: number;
  /** The fields to return, readable and not retired, in the requested or the registry order. */
  fields: FieldDef[];
  /**
   * A SELECT list: each field with SQL as `"key"` (custom fields as their JSON value), `id`, and
   * the `_cursor` column `cursorOf` needs.
   */
  select: SQL;
  /** The value `select` names `_cursor`, for a SELECT built otherwise (Drizzle's `select({...})`). */
  cursorValues: SQL;
  /** The opaque cursor continuing after `row` (a row selected with `select`). */
  cursorOf(row: Record<string, unknown>): string;
};

const ID_COLUMN = 'id';

/**
 * Compiles the list query of `object` (DESIGN "API contract": one query language for every list)
 * into parameterized SQL. Identifiers come only from the registry and `options.table`; every
 * value is a bound parameter. Use:
 * `select ${c.select} from contacts c where c.org_id = $org and ${c.where} order by ${c.orderBy}
 *  limit ${c.limit + 1}`, then `pageOf(c, rows)`.
 * @throws AppError 400 `invalid_query` with `path` naming the offending place: `filter.and[1].op`,
 *   `filter.or[0].value[3]`, `sort[2].field`, `fields[0]`, `limit`, `cursor`, `q`, `timeZone`
 */
export function compileListQuery(
  object: ObjectDef,
  query: ListQuery,
  options: CompileListQueryOptions = {},
): CompiledListQuery {
  const timeZone = options.timeZone ?? 'UTC';
  if (!isValidTimeZone(timeZone)) throw invalidQuery(`Unknown time zone "${timeZone}"`, 'timeZone');
  const tenant = options.tenant;
  if (tenant) assertRight(tenant, object.key, 'read', object.labelPlural.toLowerCase());
  const scope: FieldScope = {
    object,
    table: options.table ?? object.table,
    readable: options.readable ?? readableOf(tenant, object.key) ?? (() => true),
  };
  const clock = { now: options.now ?? new Date(), timeZone };

  const limit = query.limit ?? QUERY_LIMITS.defaultLimit;
  if (!Number.isInteger(limit) || limit < 1 || limit > QUERY_LIMITS.maxLimit) {
    throw invalidQuery(`limit must be an integer 1..${QUERY_LIMITS.maxLimit}`, 'limit');
  }
  // With q and no explicit sort, relevance leads the order (an explicit sort keeps its meaning).
  const relevance = query.sort === undefined ? relevanceOf(scope, query.q) : undefined;
  const parts = sortPartsOf(scope, query.sort, relevance);
  const fields = fieldsOf(scope, query.fields);

  const conditions: SQL[] = [];
  // A custom object's records share the `records` table: only those of this object (issue 21).
  if (object.custom) conditions.push(sql`${columnRef(scope.table, 'object_id')} = ${object.custom.id}::uuid`);
  // The access profile's record scope (own, team): rows beyond it are not there for this query.
  const rowScope = tenant ? rowScopeSql(tenant, object, scope.table) : undefined;
  if (rowScope) conditions.push(rowScope);
  if (query.filter !== undefined) conditions.push(compileFilter(query.filter, { ...scope, clock }));
  if (options.searchIndexed) searchTerms(query.q); // validated here; the caller applies the condition
  const search = options.searchIndexed ? undefined : searchCondition(scope, query.q);
  if (search) conditions.push(search);
  if (query.cursor !== undefined) {
    if (typeof query.cursor !== 'string' || query.cursor.length > QUERY_LIMITS.maxCursorLength) {
      throw invalidQuery('The cursor is malformed; start again from the first page', 'cursor');
    }
    conditions.push(keysetCondition(parts, decodeCursor(parts, query.cursor)));
  }

  const selected = fields.filter(hasSql).map((f) => sql`${outputExpr(scope, f)} as ${sql.identifier(f.key)}`);
  if (!fields.some((f) => f.key === ID_COLUMN)) {
    selected.unshift(sql`${columnRef(scope.table, ID_COLUMN)} as ${sql.identifier(ID_COLUMN)}`);
  }
  selected.push(cursorColumnOf(parts));

  return {
    where: conditions.length > 0 ? sql`(${sql.join(conditions, sql` and `)})` : sql`true`,
    orderBy: orderByOf(parts),
    limit,
    fields,
    select: sql.join(selected, sql`, `),
    cursorValues: cursorValuesOf(parts),
    cursorOf: (row) => encodeCursor(parts, row),
  };
}

/**
 * Splits rows fetched with `limit + 1` into the page and the cursor of the next one (null on the
 * last page), dropping the `_cursor` column from the items.
 */
export function pageOf<T extends Record<string, unknown>>(
  compiled: Pick<CompiledListQuery, 'limit' | 'cursorOf'>,
  rows: readonly T[],
): { items: Omit<T, typeof CURSOR_COLUMN>[]; nextCursor: string | null } {
  const page = rows.slice(0, compiled.limit);
  const last = page[page.length - 1];
  const nextCursor = rows.length > compiled.limit && last ? compiled.cursorOf(last) : null;
  const items = page.map((row) => {
    const { [CURSOR_COLUMN]: _cursor, ...item } = row;
    return item;
  });
  return { items, nextCursor };
}

/** The relevance key of a ranked search in cursors and sort signatures (no field key starts with _). */
export const RELEVANCE_KEY = '_relevance';

/**
 * The requested sort (or `relevance` ascending, then the object's default), then `id` in the last
 * key's direction. The relevance tier is a key like any other, so the cursor carries it.
 */
function sortPartsOf(scope: FieldScope, sort: ListQuery['sort'], relevance?: SQL): SortPart[] {
  const requested = sort ?? [scope.object.defaultSort];
  if (!Array.isArray(requested) || requested.length > QUERY_LIMITS.maxSortKeys) {
    throw invalidQuery(`Sort by at most ${QUERY_LIMITS.maxSortKeys} fields`, 'sort');
  }
  const parts: SortPart[] = relevance
    ? [{ key: RELEVANCE_KEY, expr: relevance, direction: 'asc', kind: 'numeric' }]
    : [];
  for (const [i, key] of requested.entries()) {
    let field: FieldDef;
    try {
      field = resolveField(scope, key?.field, 'sort', `sort[${i}].field`);
    } catch (error) {
      // A default sort the caller may not read falls back to the primary key alone.
      if (sort === undefined) break;
      throw error;
    }
    if (key.direction !== 'asc' && key.direction !== 'desc') {
      throw invalidQuery('direction is asc or desc', `sort[${i}].direction`);
    }
    if (parts.some((p) => p.key === field.key)) {
      throw invalidQuery(`${field.label} is already sorted on`, `sort[${i}].field`);
    }
    const isId = field.storage.kind === 'column' && field.storage.column === ID_COLUMN;
    parts.push({
      key: field.key,
      expr: valueExpr(scope, field),
      direction: key.direction,
      kind: isId ? 'uuid' : cursorKindOf(field.type, idsAsText(field)),
    });
    if (isId) return parts;
  }
  const direction = parts[parts.length - 1]?.direction ?? 'asc';
  parts.push({ key: ID_COLUMN, expr: columnRef(scope.table, ID_COLUMN), direction, kind: 'uuid' });
  return parts;
}

/** The requested fields, or every readable, active field in registry position order. */
function fieldsOf(scope: FieldScope, keys: ListQuery['fields']): FieldDef[] {
  if (keys === undefined) {
    return scope.object.fields
      .filter((f) => !f.retired && scope.readable(f))
      .sort((a, b) => a.position - b.position);
  }
  if (!Array.isArray(keys)) throw invalidQuery('Expected a list of field keys', 'fields');
  const fields = keys.map((key, i) => resolveField(scope, key, 'read', `fields[${i}]`));
  return [...new Set(fields)];
}
