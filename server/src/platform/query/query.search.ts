import { type SQL, sql } from 'drizzle-orm';
import type { ObjectDef } from '../registry/registry.types.js';
import { invalidQuery, QUERY_LIMITS } from './query.errors.js';
import { type FieldScope, hasSql, TEXT_LIKE_TYPES, valueExpr } from './query.fields.js';
import { escapeLike } from './query.filter.js';

/** Words of `q` that take part in the search; more are ignored. */
export const MAX_SEARCH_TERMS = 8;
/** Digits `q` needs before phone numbers are matched by their digits. */
export const MIN_PHONE_DIGITS = 3;

/**
 * The free-text condition of `q` over the object's searchable, readable text-like fields:
 * every word of q must occur (case-insensitive substring, ILIKE with % _ \ escaped) in one of the
 * fields, so "ada love" finds first_name Ada + last_name Lovelace; or, when q holds at least 3
 * digits, those digits occur in the digits of a phone field, so "(555) 123" finds
 * "+1 555-123-4567". Returns undefined for a blank q, `false` when nothing is searchable.
 * Ranking and trigram indexes are the search work's concern; this is the plain condition.
 * @throws AppError 400 `invalid_query` at `q` when it is too long
 */
export function searchCondition(scope: FieldScope, q: unknown): SQL | undefined {
  if (q === undefined) return undefined;
  if (typeof q !== 'string') throw invalidQuery('Expected a string', 'q');
  if (q.length > QUERY_LIMITS.maxSearchLength) {
    throw invalidQuery(`At most ${QUERY_LIMITS.maxSearchLength} characters`, 'q');
  }
  if (q.includes('\u0000')) throw invalidQuery('q cannot contain the NUL character', 'q');
  const terms = q.split(/\s+/).filter(Boolean).slice(0, MAX_SEARCH_TERMS);
  if (terms.length === 0) return undefined;
  const fields = scope.object.fields.filter(
    (f) => f.searchable && !f.retired && hasSql(f) && TEXT_LIKE_TYPES.includes(f.type) && scope.readable(f),
  );
  if (fields.length === 0) return sql`false`;
  const exprs = fields.map((f) => valueExpr(scope, f));
  const termMatches = terms.map(
    (term) =>
      sql`(${sql.join(
        exprs.map((x) => sql`${x} ilike ${`%${escapeLike(term)}%`}`),
        sql` or `,
      )})`,
  );
  const alternatives = [sql`(${sql.join(termMatches, sql` and `)})`];
  const digits = q.replace(/\D/g, '');
  if (digits.length >= MIN_PHONE_DIGITS) {
    for (const field of fields.filter((f) => f.type === 'phone')) {
      alternatives.push(
        sql`regexp_replace(${valueExpr(scope, field)}, '[^0-9]', '', 'g') like ${`%${digits}%`}`,
      );
    }
  }
  return sql`(${sql.join(alternatives, sql` or `)})`;
}

/**
 * The candidate ids of `q` for an object with `indexedSearch`, through its trigram index: the
 * SECURITY DEFINER functions of migrations 0005/0007 (contacts, companies) and 0019 (a custom
 * object's records, filtered by object), at most `max` of them. Use as `id in (<this>)`.
 */
export function indexedSearchIds(object: ObjectDef, q: string, max: number): SQL {
  return object.custom
    ? sql`select cairn_search_record_ids(${object.custom.id}::uuid, ${q}, ${max})`
    : sql`select cairn_search_ids(${object.table}, ${q}, ${max})`;
}
