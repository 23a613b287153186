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
  const terms = searchTerms(q);
  if (terms === undefined) return undefined;
  const fields = searchFields(scope);
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
  const digits = (q as string).replace(/\D/g, '');
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
 * The words of a valid, non-blank `q` (at most MAX_SEARCH_TERMS), or undefined when q is absent
 * or blank.
 * @throws AppError 400 `invalid_query` at `q` when it is not a string, too long or holds NUL
 */
export function searchTerms(q: unknown): string[] | undefined {
  if (q === undefined) return undefined;
  if (typeof q !== 'string') throw invalidQuery('Expected a string', 'q');
  if (q.length > QUERY_LIMITS.maxSearchLength) {
    throw invalidQuery(`At most ${QUERY_LIMITS.maxSearchLength} characters`, 'q');
  }
  if (q.includes('\u0000')) throw invalidQuery('q cannot contain the NUL character', 'q');
  const terms = q.split(/\s+/).filter(Boolean).slice(0, MAX_SEARCH_TERMS);
  return terms.length > 0 ? terms : undefined;
}

/** The fields `q` searches: searchable, active, readable, text-like, with SQL. */
function searchFields(scope: FieldScope) {
  return scope.object.fields.filter(
    (f) => f.searchable && !f.retired && hasSql(f) && TEXT_LIKE_TYPES.includes(f.type) && scope.readable(f),
  );
}

/** Relevance tiers of a search hit, best first (`relevanceOf`). */
export const RELEVANCE = { exact: 0, prefix: 1, substring: 2, fuzzy: 3 } as const;
/** A tier as an SQL integer literal (a bound parameter would make the CASE text-typed). */
const tier = (n: number) => sql.raw(String(n));
/** Typed digits that also match a phone's last digits (a national number without its country code). */
const PHONE_SUFFIX_DIGITS = 7;
/** What a typed phone number looks like: digits and the usual separators only. */
const PHONE_INPUT = /^[0-9 ()+./-]+$/;

/**
 * The relevance tier of a row for `q` as an integer SQL expression (lower is better):
 * 0 (`exact`) an e-mail field equal to q (case-insensitive), or a phone field whose digits equal
 * q's digits (or end with them, from 7 digits: "555 123 4567" finds +1 555-123-4567);
 * 1 (`prefix`) a name field (the object's display fields, else its searchable text fields), or
 * the name they form together, starting with q; 2 (`substring`) every word of q in a searchable
 * field; 3 (`fuzzy`) the rest, which only the trigram candidates (typos, phone digits) bring.
 * Only readable fields count, so the order cannot reveal a field the caller may not read.
 * Undefined for a blank q.
 * @throws AppError 400 `invalid_query` at `q` as `searchCondition`
 */
export function relevanceOf(scope: FieldScope, q: unknown): SQL | undefined {
  const terms = searchTerms(q);
  if (terms === undefined) return undefined;
  const fields = searchFields(scope);
  if (fields.length === 0) return tier(RELEVANCE.fuzzy);
  const phrase = terms.join(' ').toLowerCase();
  const tiers: SQL[] = [];

  const exact: SQL[] = fields
    .filter((f) => f.type === 'email')
    .map((f) => sql`lower(${valueExpr(scope, f)}) = ${phrase}`);
  const digits = (q as string).replace(/\D/g, '');
  if (digits.length >= MIN_PHONE_DIGITS && PHONE_INPUT.test((q as string).trim())) {
    for (const f of fields.filter((x) => x.type === 'phone')) {
      const phoneDigits = sql`regexp_replace(${valueExpr(scope, f)}, '[^0-9]', '', 'g')`;
      exact.push(
        digits.length >= PHONE_SUFFIX_DIGITS
          ? sql`(${phoneDigits} = ${digits} or ${phoneDigits} like ${`%${digits}`})`
          : sql`${phoneDigits} = ${digits}`,
      );
    }
  }
  if (exact.length > 0) tiers.push(sql`when ${sql.join(exact, sql` or `)} then ${tier(RELEVANCE.exact)}`);

  const displayKeys = scope.object.display?.fields ?? [];
  const displayed = fields.filter((f) => displayKeys.includes(f.key));
  const names = displayed.length > 0 ? displayed : fields.filter((f) => f.type === 'text');
  if (names.length > 0) {
    const prefix = `${escapeLike(phrase)}%`;
    const starts = names.map((f) => sql`lower(${valueExpr(scope, f)}) like ${prefix}`);
    if (names.length > 1) {
      const whole = sql.join(
        names.map((f) => valueExpr(scope, f)),
        sql`, `,
      );
      starts.push(sql`lower(concat_ws(' ', ${whole})) like ${prefix}`);
    }
    tiers.push(sql`when ${sql.join(starts, sql` or `)} then ${tier(RELEVANCE.prefix)}`);
  }

  const substring = searchCondition(scope, q) ?? sql`false`;
  tiers.push(sql`when ${substring} then ${tier(RELEVANCE.substring)}`);
  return sql`(case ${sql.join(tiers, sql` `)} else ${tier(RELEVANCE.fuzzy)} end)`;
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
