import { type SQL, sql } from 'drizzle-orm';
import type { FieldDef } from '../registry/registry.types.js';
import { invalidQuery, QUERY_LIMITS } from './query.errors.js';
import {
  type FieldScope,
  idsAsText,
  LIST_TYPES,
  OPS_BY_TYPE,
  resolveField,
  valueExpr,
} from './query.fields.js';
import { FILTER_OPS, type FilterOp } from './query.schema.js';
import {
  type Bound,
  type Clock,
  dateBound,
  listElementValue,
  listValue,
  scalarParam,
  stringValue,
} from './query.values.js';

/** What compiling a filter needs: the object's fields and the clock for relative dates. */
export type FilterScope = FieldScope & { clock: Clock };

type Walk = { conditions: number };
type Node = Record<string, unknown>;

const isNode = (value: unknown): value is Node =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Compiles a filter tree to one SQL boolean condition, checking it on the way (the tree may come
 * from a stored view, so nothing is assumed from its TypeScript type).
 *
 * Semantics: `and`/`or` over their children (an empty group is no condition); `not` is two-valued
 * (`not coalesce(x, false)`), so `not {score gt 5}` includes records without a score; `neq` and
 * `nin` include records where the field is empty, so `neq` is exactly `not eq`.
 * Caps: at most 4 nested groups, 50 conditions.
 * @throws AppError 400 `invalid_query` with the path of the offending place under `path`
 */
export function compileFilter(node: unknown, scope: FilterScope, path = 'filter'): SQL {
  return compileNode(node, scope, path, 0, { conditions: 0 });
}

function compileNode(node: unknown, scope: FilterScope, path: string, depth: number, walk: Walk): SQL {
  if (!isNode(node)) throw invalidQuery('Expected a group ({and}, {or}, {not}) or a condition', path);
  const group = (['and', 'or', 'not'] as const).find((k) => k in node);
  if (!group) return compileCondition(node, scope, path, walk);
  const extra = Object.keys(node).find((k) => k !== group);
  if (extra !== undefined) throw invalidQuery(`A "${group}" group takes no other key`, `${path}.${extra}`);
  if (depth >= QUERY_LIMITS.maxDepth) {
    throw invalidQuery(`At most ${QUERY_LIMITS.maxDepth} nested groups`, path);
  }
  const childPath = `${path}.${group}`;
  if (group === 'not') {
    const inner = compileNode(node.not, scope, childPath, depth + 1, walk);
    return sql`(not coalesce(${inner}, false))`;
  }
  const children = node[group];
  if (!Array.isArray(children)) throw invalidQuery('Expected a list of filters', childPath);
  if (children.length === 0) return sql`true`;
  const parts = children.map((child, i) => compileNode(child, scope, `${childPath}[${i}]`, depth + 1, walk));
  return sql`(${sql.join(parts, sql.raw(` ${group} `))})`;
}

function compileCondition(node: Node, scope: FilterScope, path: string, walk: Walk): SQL {
  const extra = Object.keys(node).find((k) => k !== 'field' && k !== 'op' && k !== 'value');
  if (extra !== undefined) throw invalidQuery(`Unknown key "${extra}"`, `${path}.${extra}`);
  walk.conditions += 1;
  if (walk.conditions > QUERY_LIMITS.maxConditions) {
    throw invalidQuery(`At most ${QUERY_LIMITS.maxConditions} conditions`, path);
  }
  const field = resolveField(scope, node.field, 'filter', `${path}.field`);
  const op = node.op;
  if (typeof op !== 'string' || !(FILTER_OPS as readonly string[]).includes(op)) {
    throw invalidQuery(`Unknown operator; use one of ${FILTER_OPS.join(', ')}`, `${path}.op`);
  }
  const allowed = OPS_BY_TYPE[field.type];
  if (!allowed.includes(op as FilterOp)) {
    throw invalidQuery(
      `${field.label} (${field.type}) does not take "${op}"; use one of ${allowed.join(', ')}`,
      `${path}.op`,
    );
  }
  const valuePath = `${path}.value`;
  const value = node.value;
  if (field.storage.kind === 'computed' && field.storage.idsSql) {
    return relatedSetCondition(field, field.storage.idsSql, scope, op as FilterOp, value, valuePath);
  }
  const indexed = selectValuesCondition(scope, field, op as FilterOp, value, valuePath);
  if (indexed) return indexed;
  const x = valueExpr(scope, field);
  if (op === 'isEmpty' || op === 'isNotEmpty') {
    if (value !== undefined && value !== null) throw invalidQuery(`"${op}" takes no value`, valuePath);
    const empty = emptiness(field, x);
    return op === 'isEmpty' ? empty : sql`(not ${empty})`;
  }
  if (value === undefined || value === null) {
    throw invalidQuery('Expected a value (use isEmpty for empty fields)', valuePath);
  }
  if (LIST_TYPES.includes(field.type)) return listCondition(field, op as FilterOp, x, value, valuePath);
  if (field.type === 'date' || field.type === 'datetime') {
    return dateCondition(field, op as FilterOp, x, value, valuePath, scope.clock);
  }
  return scalarCondition(field, op as FilterOp, x, value, valuePath);
}

/**
 * A relation to many records read as a set of ids (`idsSql`): `eq`/`in` keep records linked to one
 * of the values, `neq`/`nin` those linked to none of them, `isEmpty` those linked to nothing.
 */
function relatedSetCondition(
  field: FieldDef,
  idsSql: string,
  scope: FieldScope,
  op: FilterOp,
  value: unknown,
  path: string,
): SQL {
  const ids = sql.raw(idsSql.replaceAll('{table}', scope.table));
  if (op === 'isEmpty' || op === 'isNotEmpty') {
    if (value !== undefined && value !== null) throw invalidQuery(`"${op}" takes no value`, path);
    return op === 'isEmpty' ? sql`(not exists (${ids}))` : sql`(exists (${ids}))`;
  }
  if (value === undefined || value === null) {
    throw invalidQuery('Expected a value (use isEmpty for empty fields)', path);
  }
  const wanted =
    op === 'eq' || op === 'neq'
      ? scalarParam(field, value, path, false)
      : sql.join(
          listValue(value, path, (v, p) => scalarParam(field, v, p, false)),
          sql`, `,
        );
  const linked = sql`(select 1 from (${ids}) as related(id) where related.id in (${wanted}))`;
  return op === 'eq' || op === 'in' ? sql`(exists ${linked})` : sql`(not exists ${linked})`;
}

/** The field types whose custom objects' values `record_select_values` holds (migration 0055). */
const SELECT_VALUE_TYPES: readonly FieldDef['type'][] = ['select', 'status', 'multi_select'];

/**
 * A custom object's select, status or multi-select field under eq / in / hasAny / hasAll, as a
 * semi-join on `record_select_values` (platform/records/record-select-value.schema.ts says why:
 * under the RLS policy only LEAKPROOF operators reach an index, and no jsonb operator is). The
 * same records as the `custom` expressions match; undefined for other fields and operators (neq,
 * nin, hasNone and emptiness keep those: a negation does not gain from an index).
 */
function selectValuesCondition(
  scope: FieldScope,
  field: FieldDef,
  op: FilterOp,
  value: unknown,
  path: string,
): SQL | undefined {
  if (!scope.object.custom || field.storage.kind !== 'custom' || !SELECT_VALUE_TYPES.includes(field.type))
    return undefined;
  if (!['eq', 'in', 'hasAny', 'hasAll'].includes(op) || value === undefined || value === null)
    return undefined;
  const values =
    op === 'eq'
      ? [scalarParam(field, value, path, true)]
      : field.type === 'multi_select'
        ? listValue(value, path, (v, p) => listElementValue(field, v, p))
        : listValue(value, path, (v, p) => scalarParam(field, v, p, true));
  const table = sql.identifier(scope.table);
  const having = (wanted: SQL) =>
    sql`exists (select 1 from record_select_values sv where sv.org_id = ${table}.org_id and sv.record_id = ${table}.id and sv.object_id = ${table}.object_id and sv.field_key = ${field.key} and sv.value in (${wanted}))`;
  if (op === 'hasAll')
    return sql`(${sql.join(
      values.map((v) => having(sql`${v}`)),
      sql` and `,
    )})`;
  return sql`(${having(
    sql.join(
      values.map((v) => sql`${v}`),
      sql`, `,
    ),
  )})`;
}

/** Empty is NULL, '' for text, and an empty (or null) list. */
function emptiness(field: FieldDef, x: SQL): SQL {
  if (LIST_TYPES.includes(field.type)) {
    return field.storage.kind === 'custom'
      ? sql`(${x} is null or ${x} in ('null'::jsonb, '[]'::jsonb))`
      : sql`(${x} is null or cardinality(${x}) = 0)`;
  }
  if (field.type === 'select' || field.type === 'status') return sql`(${x} is null or ${x}::text = '')`;
  if (OPS_BY_TYPE[field.type].includes('contains')) return sql`(${x} is null or ${x} = '')`;
  return sql`(${x} is null)`;
}

/** LIKE metacharacters (% _ and the escape character \) in a value match themselves. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function scalarCondition(field: FieldDef, op: FilterOp, x: SQL, value: unknown, path: string): SQL {
  const asText = idsAsText(field);
  const one = () => scalarParam(field, value, path, asText);
  const many = () =>
    sql.join(
      listValue(value, path, (v, p) => scalarParam(field, v, p, asText)),
      sql`, `,
    );
  switch (op) {
    case 'eq':
      return sql`(${x} = ${one()})`;
    case 'neq':
      return sql`(${x} is distinct from ${one()})`;
    case 'in':
      return sql`(${x} in (${many()}))`;
    case 'nin':
      return sql`(${x} is null or ${x} not in (${many()}))`;
    case 'lt':
      return sql`(${x} < ${one()})`;
    case 'lte':
      return sql`(${x} <= ${one()})`;
    case 'gt':
      return sql`(${x} > ${one()})`;
    case 'gte':
      return sql`(${x} >= ${one()})`;
    case 'between': {
      const [low, high] = pair(value, path, (v, p) => scalarParam(field, v, p, asText));
      return sql`(${x} >= ${low} and ${x} <= ${high})`;
    }
    case 'contains':
      return sql`(${x} ilike ${`%${escapeLike(stringValue(value, path))}%`})`;
    case 'startsWith':
      return sql`(${x} ilike ${`${escapeLike(stringValue(value, path))}%`})`;
    default:
      throw invalidQuery(`"${op}" does not apply to ${field.label}`, path);
  }
}

function pair<T>(value: unknown, path: string, each: (v: unknown, path: string) => T): [T, T] {
  if (!Array.isArray(value) || value.length !== 2) throw invalidQuery('Expected [low, high]', path);
  return [each(value[0], `${path}[0]`), each(value[1], `${path}[1]`)];
}

/**
 * A date value is a period (a day, `{relative: 'this_month'}`) or, on datetime fields, an instant.
 * eq: within the period; neq: not within it (or empty); lt: before it starts; lte: before it
 * ends; gt: after it ends; gte: from its start; between [a, b]: from a's start to b's end, and
 * between one relative value is the same as eq.
 */
function dateCondition(
  field: FieldDef,
  op: FilterOp,
  x: SQL,
  value: unknown,
  path: string,
  clock: Clock,
): SQL {
  const bound = (v: unknown, p: string) => dateBound(field, v, p, clock);
  const beforeEnd = (b: Bound) => (b.endInclusive ? sql`${x} <= ${b.end}` : sql`${x} < ${b.end}`);
  const within = (b: Bound) =>
    b.endInclusive ? sql`(${x} = ${b.start})` : sql`(${x} >= ${b.start} and ${x} < ${b.end})`;
  switch (op) {
    case 'eq':
      return within(bound(value, path));
    case 'neq':
      return sql`(${x} is null or not ${within(bound(value, path))})`;
    case 'lt':
      return sql`(${x} < ${bound(value, path).start})`;
    case 'lte':
      return sql`(${beforeEnd(bound(value, path))})`;
    case 'gt': {
      const b = bound(value, path);
      return b.endInclusive ? sql`(${x} > ${b.end})` : sql`(${x} >= ${b.end})`;
    }
    case 'gte':
      return sql`(${x} >= ${bound(value, path).start})`;
    case 'between': {
      if (!Array.isArray(value)) return within(bound(value, path));
      const [low, high] = pair(value, path, bound);
      return sql`(${x} >= ${low.start} and ${beforeEnd(high)})`;
    }
    default:
      throw invalidQuery(`"${op}" does not apply to ${field.label}`, path);
  }
}

/**
 * Lists: `text[]` columns use && / @>; custom lists are jsonb arrays and use jsonb_exists_any /
 * jsonb_exists_all. Tags compare case-insensitively: the given tags are lower-cased; record tag
 * columns are stored lower-case (normalized at write, migration 0017), so they compile to the
 * plain `tags && $1` / `tags @> $1`, which the GIN index on tags serves and the planner estimates
 * from the column's statistics (the former `lower(tags::text)::text[]` was misestimated tenfold,
 * issue 18). Custom tag lists (jsonb) are lower-cased element by element. hasNone includes
 * records with no values.
 */
function listCondition(field: FieldDef, op: FilterOp, x: SQL, value: unknown, path: string): SQL {
  const values = listValue(value, path, (v, p) => listElementValue(field, v, p));
  const array = sql`array[${sql.join(
    values.map((v) => sql`${v}`),
    sql`, `,
  )}]::text[]`;
  const custom = field.storage.kind === 'custom';
  if (field.type === 'tags' && custom) {
    const elements = sql`jsonb_array_elements_text(case when jsonb_typeof(${x}) = 'array' then ${x} end)`;
    const lowered = sql`array(select lower(t) from ${elements} as t)`;
    if (op === 'hasAny') return sql`(${lowered} && ${array})`;
    if (op === 'hasAll') return sql`(${lowered} @> ${array})`;
    return sql`(not (${lowered} && ${array}))`;
  }
  // text[] (tags included): the plain operators; hasNone keeps the records without values.
  const any = custom ? sql`jsonb_exists_any(${x}, ${array})` : sql`(${x} && ${array})`;
  if (op === 'hasAny') return any;
  if (op === 'hasAll') return custom ? sql`jsonb_exists_all(${x}, ${array})` : sql`(${x} @> ${array})`;
  return sql`(not coalesce(${any}, false))`;
}
