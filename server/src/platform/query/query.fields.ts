import { type SQL, sql } from 'drizzle-orm';
import type { FieldDef, FieldType, ObjectDef } from '../registry/registry.types.js';
import { invalidQuery } from './query.errors.js';
import type { FilterOp } from './query.schema.js';

/** Types compared as text: `contains`, `startsWith` and free-text search apply to them. */
export const TEXT_LIKE_TYPES: readonly FieldType[] = ['text', 'long_text', 'email', 'phone', 'url'];
/** Types holding a list of values: a `text[]` column, or a jsonb array under `custom`. */
export const LIST_TYPES: readonly FieldType[] = ['tags', 'multi_select'];

const EQUALITY: FilterOp[] = ['eq', 'neq', 'in', 'nin'];
const EMPTINESS: FilterOp[] = ['isEmpty', 'isNotEmpty'];
const RANGE: FilterOp[] = ['lt', 'lte', 'gt', 'gte', 'between'];
const TEXT: FilterOp[] = [...EQUALITY, 'contains', 'startsWith', ...EMPTINESS];
const LIST: FilterOp[] = ['hasAny', 'hasAll', 'hasNone', ...EMPTINESS];

/** The operators each field type accepts. Dates take eq / neq / ranges (see query.values dateBound). */
export const OPS_BY_TYPE: Record<FieldType, readonly FilterOp[]> = {
  text: TEXT,
  long_text: TEXT,
  email: TEXT,
  phone: TEXT,
  url: TEXT,
  number: [...EQUALITY, ...RANGE, ...EMPTINESS],
  currency: [...EQUALITY, ...RANGE, ...EMPTINESS],
  date: ['eq', 'neq', ...RANGE, ...EMPTINESS],
  datetime: ['eq', 'neq', ...RANGE, ...EMPTINESS],
  boolean: ['eq', 'neq', ...EMPTINESS],
  select: [...EQUALITY, ...EMPTINESS],
  status: [...EQUALITY, ...EMPTINESS],
  multi_select: LIST,
  tags: LIST,
  relation: [...EQUALITY, ...EMPTINESS],
  user: [...EQUALITY, ...EMPTINESS],
  uuid: [...EQUALITY, ...EMPTINESS],
};

/** The jsonb column holding tenant-defined (`custom`) fields in every object table. */
export const CUSTOM_COLUMN = 'custom';

/** How a query reaches an object's fields: its table alias and who may read what. */
export type FieldScope = {
  object: ObjectDef;
  /** The alias (or name) of the object's table in the FROM clause; columns are qualified with it. */
  table: string;
  readable: (field: FieldDef) => boolean;
};

export type FieldPurpose = 'filter' | 'sort' | 'read';

/** True when the field has an SQL expression (a column, a custom key, or computed SQL). */
export const hasSql = (field: FieldDef) => field.storage.kind !== 'computed' || Boolean(field.storage.sql);

/**
 * The registry field `key` refers to, for `purpose`. Unknown, retired and unreadable fields get
 * the same answer, so a query cannot probe fields the caller may not see.
 * @throws AppError 400 `invalid_query` at `path`
 */
export function resolveField(scope: FieldScope, key: unknown, purpose: FieldPurpose, path: string): FieldDef {
  const field =
    typeof key === 'string' ? scope.object.fields.find((f) => f.key === key && !f.retired) : undefined;
  if (!field || !scope.readable(field)) {
    throw invalidQuery(`Unknown field "${String(key)}" on ${scope.object.labelPlural}`, path);
  }
  if (purpose === 'filter' && (!field.filterable || !hasSql(field))) {
    throw invalidQuery(`${field.label} cannot be filtered`, path);
  }
  if (purpose === 'sort' && (!field.sortable || !hasSql(field) || LIST_TYPES.includes(field.type))) {
    throw invalidQuery(`${field.label} cannot be sorted`, path);
  }
  return field;
}

/** `"alias"."column"`: both identifiers come from the registry or the caller, never from input. */
export function columnRef(table: string, column: string): SQL {
  return sql`${sql.identifier(table)}.${sql.identifier(column)}`;
}

/** A registry key as an SQL string literal (registry keys are snake_case; quotes doubled anyway). */
function keyLiteral(key: string): SQL {
  return sql.raw(`'${key.replaceAll("'", "''")}'`);
}

/** `custom->'key'`: the raw jsonb value of a custom field (keeps its JSON type). */
export function customJson(table: string, field: FieldDef): SQL {
  return sql`(${columnRef(table, CUSTOM_COLUMN)}->${keyLiteral(field.key)})`;
}

const CASTS: Partial<Record<FieldType, string>> = {
  number: 'numeric',
  currency: 'numeric',
  date: 'date',
  datetime: 'timestamptz',
  boolean: 'boolean',
};

/**
 * The field's value as an SQL expression of its type: the column; for custom fields
 * `(custom->>'key')` cast per type (numeric, date, timestamptz, boolean; text, select and ids stay
 * text), and for list types the jsonb array `custom->'key'`. Custom values are validated against
 * the registry on write, so the casts hold. Computed fields use their registry SQL verbatim.
 */
export function valueExpr(scope: FieldScope, field: FieldDef): SQL {
  const storage = field.storage;
  if (storage.kind === 'column') return columnRef(scope.table, storage.column);
  if (storage.kind === 'computed')
    return sql`(${sql.raw((storage.sql ?? 'null').replaceAll('{table}', scope.table))})`;
  if (LIST_TYPES.includes(field.type)) return customJson(scope.table, field);
  // Structured custom values (platform/registry/field-values.ts): currency {amount, currency},
  // phone {e164, raw}; filters and sorts use the amount and the E.164 number.
  const inner = field.type === 'currency' ? 'amount' : field.type === 'phone' ? 'e164' : undefined;
  const text = inner
    ? sql`(${customJson(scope.table, field)}->>${keyLiteral(inner)})`
    : sql`(${columnRef(scope.table, CUSTOM_COLUMN)}->>${keyLiteral(field.key)})`;
  const cast = CASTS[field.type];
  return cast ? sql`(${text}::${sql.raw(cast)})` : text;
}

/** The value as returned to clients: custom fields keep their JSON type (`custom->'key'`). */
export function outputExpr(scope: FieldScope, field: FieldDef): SQL {
  return field.storage.kind === 'custom' ? customJson(scope.table, field) : valueExpr(scope, field);
}

/** True when the field's expression is text-typed while the field holds ids (custom storage). */
export const idsAsText = (field: FieldDef) => field.storage.kind === 'custom';
