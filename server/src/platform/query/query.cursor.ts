import { type SQL, sql } from 'drizzle-orm';
import { isId } from '../../db/ids.js';
import type { FieldType } from '../registry/registry.types.js';
import { invalidQuery } from './query.errors.js';
import { isDay } from './query.values.js';

/** How a sort key's value travels in a cursor and is bound back to SQL. */
export type CursorKind = 'text' | 'numeric' | 'date' | 'timestamptz' | 'boolean' | 'uuid';
export type CursorValue = string | boolean | null;

/** One key of the ORDER BY: the sort fields, then the primary key. */
export type SortPart = { key: string; expr: SQL; direction: 'asc' | 'desc'; kind: CursorKind };

/** The column, added to the selection, that carries a row's sort values for `cursorOf`. */
export const CURSOR_COLUMN = '_cursor';

const DECIMAL = /^-?\d+(\.\d+)?$|^NaN$|^-?Infinity$/;
const TIMESTAMP =
  /^(\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}(:\d{2}){0,2}|Z)?|-?infinity)$/;

/** The cursor kind of a field type (ids read as text from `custom` are text). */
export function cursorKindOf(type: FieldType, idsAsText: boolean): CursorKind {
  switch (type) {
    case 'number':
    case 'currency':
      return 'numeric';
    case 'date':
      return 'date';
    case 'datetime':
      return 'timestamptz';
    case 'boolean':
      return 'boolean';
    case 'relation':
    case 'user':
    case 'uuid':
      return idsAsText ? 'text' : 'uuid';
    default:
      return 'text';
  }
}

/** `ORDER BY`: asc is NULLS LAST, desc NULLS FIRST (PostgreSQL's defaults, so indexes match). */
export function orderByOf(parts: readonly SortPart[]): SQL {
  return sql.join(
    parts.map((p) =>
      p.direction === 'asc' ? sql`${p.expr} asc nulls last` : sql`${p.expr} desc nulls first`,
    ),
    sql`, `,
  );
}

/**
 * The selected column carrying a row's sort values: a JSON array, exact for every type (numerics
 * as text, timestamps as ISO 8601 with microseconds, which a JS Date would truncate).
 */
export function cursorColumnOf(parts: readonly SortPart[]): SQL {
  return sql`${cursorValuesOf(parts)} as ${sql.identifier(CURSOR_COLUMN)}`;
}

/** The value of the cursor column (`cursorColumnOf` without its name), for a SELECT built with Drizzle. */
export function cursorValuesOf(parts: readonly SortPart[]): SQL {
  const values = parts.map((p) => (p.kind === 'numeric' ? sql`(${p.expr})::text` : p.expr));
  return sql`json_build_array(${sql.join(values, sql`, `)})`;
}

const signatureOf = (parts: readonly SortPart[]) => parts.map((p) => `${p.key}:${p.direction}`).join(',');

/**
 * The opaque cursor after `row` (a row selected with `cursorColumnOf`): base64url JSON of the sort
 * signature and the row's sort values. Not signed: it only says where to continue.
 * @throws Error when the row lacks the cursor column (a bug in the caller's SELECT)
 */
export function encodeCursor(parts: readonly SortPart[], row: Record<string, unknown>): string {
  const raw = row[CURSOR_COLUMN];
  const values: unknown = typeof raw === 'string' ? JSON.parse(raw) : raw;
  if (!Array.isArray(values) || values.length !== parts.length) {
    throw new Error(`cursorOf: the row has no ${CURSOR_COLUMN} column; select compiled.select`);
  }
  return Buffer.from(JSON.stringify({ v: 1, s: signatureOf(parts), k: values })).toString('base64url');
}

/**
 * The sort values a cursor holds, checked against this sort and each key's type.
 * @throws AppError 400 `invalid_query` at `cursor` when malformed or made for another sort
 */
export function decodeCursor(parts: readonly SortPart[], cursor: string): CursorValue[] {
  let payload: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error('not base64url');
    payload = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidQuery('The cursor is malformed; start again from the first page', 'cursor');
  }
  const { v, s, k } = (typeof payload === 'object' && payload !== null ? payload : {}) as Record<
    string,
    unknown
  >;
  if (v !== 1 || typeof s !== 'string' || !Array.isArray(k) || k.length !== parts.length) {
    throw invalidQuery('The cursor is malformed; start again from the first page', 'cursor');
  }
  if (s !== signatureOf(parts)) {
    throw invalidQuery('The cursor belongs to another sort order; start again from the first page', 'cursor');
  }
  return parts.map((part, i) => {
    const value: unknown = k[i];
    if (!validValue(part.kind, value) || (value === null && i === parts.length - 1)) {
      throw invalidQuery('The cursor is malformed; start again from the first page', 'cursor');
    }
    return value as CursorValue;
  });
}

function validValue(kind: CursorKind, value: unknown): boolean {
  if (value === null) return true;
  switch (kind) {
    case 'boolean':
      return typeof value === 'boolean';
    case 'numeric':
      return typeof value === 'string' && DECIMAL.test(value);
    case 'date':
      return typeof value === 'string' && (isDay(value) || /^-?infinity$/.test(value));
    case 'timestamptz':
      return typeof value === 'string' && TIMESTAMP.test(value);
    case 'uuid':
      return typeof value === 'string' && isId(value);
    default:
      return typeof value === 'string' && value.length <= 100_000 && !value.includes('\u0000');
  }
}

function param(kind: CursorKind, value: string | boolean): SQL {
  if (kind === 'text') return sql`${value}`;
  return sql`${String(value)}::${sql.raw(kind)}`;
}

/**
 * Rows strictly after the cursor row in `orderByOf(parts)` order: for each key i, equal on the
 * keys before it (NULL-safe) and after it on key i, where "after" follows the NULL placement
 * (asc: greater or NULL; desc: smaller, and after a NULL every non-NULL). When every key is desc
 * and no cursor value is NULL this is the row comparison `(a, b, id) < ($1, $2, $3)`, which an
 * index on the same keys serves.
 */
export function keysetCondition(parts: readonly SortPart[], values: readonly CursorValue[]): SQL {
  if (parts.every((p) => p.direction === 'desc') && values.every((v) => v !== null)) {
    const bound = parts.map((p, i) => param(p.kind, values[i] as string | boolean));
    return sql`((${sql.join(
      parts.map((p) => p.expr),
      sql`, `,
    )}) < (${sql.join(bound, sql`, `)}))`;
  }
  const terms: SQL[] = [];
  const equal: SQL[] = [];
  parts.forEach((part, i) => {
    const value = values[i] ?? null;
    const after = afterOf(part, value);
    if (after) terms.push(equal.length > 0 ? sql`(${sql.join([...equal, after], sql` and `)})` : after);
    equal.push(value === null ? sql`${part.expr} is null` : sql`${part.expr} = ${param(part.kind, value)}`);
  });
  return terms.length > 0 ? sql`(${sql.join(terms, sql` or `)})` : sql`false`;
}

function afterOf(part: SortPart, value: CursorValue): SQL | undefined {
  if (part.direction === 'asc') {
    return value === null
      ? undefined
      : sql`(${part.expr} > ${param(part.kind, value)} or ${part.expr} is null)`;
  }
  return value === null ? sql`${part.expr} is not null` : sql`${part.expr} < ${param(part.kind, value)}`;
}
