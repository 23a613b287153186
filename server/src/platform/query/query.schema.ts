import { z } from 'zod';
import { assertJsonDepth, assertStorable } from '../http/input.js';
import { fieldPath } from '../http/problem.js';
import { invalidQuery, QUERY_LIMITS } from './query.errors.js';

/** Every operator of the query language; which ones a field accepts depends on its type. */
export const FILTER_OPS = [
  'eq',
  'neq',
  'in',
  'nin',
  'lt',
  'lte',
  'gt',
  'gte',
  'between',
  'contains',
  'startsWith',
  'isEmpty',
  'isNotEmpty',
  'hasAny',
  'hasAll',
  'hasNone',
] as const;
export type FilterOp = (typeof FILTER_OPS)[number];

/** One condition on one field: `{field: 'score', op: 'gte', value: 10}`. */
export type FilterCondition = { field: string; op: FilterOp; value?: unknown };
/** A filter tree: groups (`and`, `or`, `not`) over conditions. */
export type FilterNode = { and: FilterNode[] } | { or: FilterNode[] } | { not: FilterNode } | FilterCondition;

export const FilterCondition = z
  .strictObject({
    field: z.string().min(1).max(100).describe('Field key from the object registry'),
    op: z.enum(FILTER_OPS),
    value: z
      .unknown()
      .optional()
      .describe(
        'Depends on the field type and operator: a scalar, a list (in, nin, has*), [low, high] ' +
          '(between), or {"relative": "last_7_days"} for dates; absent for isEmpty / isNotEmpty',
      ),
  })
  .meta({ id: 'FilterCondition' });

export const FilterNode: z.ZodType<FilterNode> = z
  .lazy(() =>
    z.union([
      z.strictObject({ and: z.array(FilterNode) }),
      z.strictObject({ or: z.array(FilterNode) }),
      z.strictObject({ not: FilterNode }),
      FilterCondition,
    ]),
  )
  .meta({
    id: 'FilterNode',
    description: `A filter tree: at most ${QUERY_LIMITS.maxDepth} nested groups and ${QUERY_LIMITS.maxConditions} conditions`,
  });

export const SortKey = z.strictObject({
  field: z.string().min(1).max(100),
  direction: z.enum(['asc', 'desc']),
});
export type SortKey = z.infer<typeof SortKey>;

/**
 * The one list query of every object (contacts, companies, custom objects), also stored by saved
 * views, exports, reports and workflow conditions. Field rules (exists, filterable, operator per
 * type, values) are checked by `compileListQuery`, which knows the object.
 */
export const ListQuery = z
  .strictObject({
    filter: FilterNode.optional(),
    sort: z
      .array(SortKey)
      .max(QUERY_LIMITS.maxSortKeys)
      .optional()
      .describe('Sort keys in order; the record id is always the final tie-breaker'),
    cursor: z
      .string()
      .max(QUERY_LIMITS.maxCursorLength)
      .optional()
      .describe('Opaque: the `next_cursor` of the previous page, for the same sort'),
    limit: z.number().int().min(1).max(QUERY_LIMITS.maxLimit).optional().describe('Page size, default 50'),
    fields: z.array(z.string().min(1).max(100)).max(200).optional().describe('Fields to return'),
    q: z.string().max(QUERY_LIMITS.maxSearchLength).optional().describe('Free text across searchable fields'),
  })
  .meta({ id: 'ListQuery' });
export type ListQuery = z.input<typeof ListQuery>;

/**
 * A boolean URL parameter: exactly `true` or `false` (or `1` / `0`), anything else a 400. Not
 * `z.coerce.boolean()`, which reads every non-empty string, `false` and `banana` included, as true.
 */
export const QueryBoolean = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1')
  .describe('`true` or `false` (`1` or `0`)');

/** The same query as URL parameters (GET lists). Decode with `parseListQueryParams`. */
export const ListQueryParams = z.object({
  filter: z.string().max(8000).optional().describe('A FilterNode as JSON'),
  sort: z
    .string()
    .max(500)
    .optional()
    .describe('Comma-separated `field:asc`, `field:desc` or `-field` (descending)'),
  cursor: z.string().max(QUERY_LIMITS.maxCursorLength).optional(),
  limit: z.string().max(4).optional().describe('Page size 1..200, default 50'),
  fields: z.string().max(4000).optional().describe('Comma-separated field keys'),
  q: z.string().max(QUERY_LIMITS.maxSearchLength).optional(),
});
export type ListQueryParams = z.infer<typeof ListQueryParams>;

/**
 * Validates any value as a ListQuery (a request body, a stored saved view).
 * @throws AppError 400 `invalid_query` with the path of the first problem (`filter.and[0].op`)
 */
export function parseListQuery(input: unknown): ListQuery {
  const parsed = ListQuery.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = mostSpecificIssue(parsed.error.issues);
  throw invalidQuery(issueMessage(issue), issuePath(issue.path));
}

/**
 * Decodes URL parameters: `filter` is JSON, `sort` is `name:asc,created_at:desc` or `-created_at`,
 * `fields` is comma-separated, `limit` an integer.
 * @throws AppError 400 `invalid_query` naming the parameter (`filter`, `sort[1]`, `limit`); 400
 * `too_deep` or `invalid_character` (`query.filter.value`) from the input rules of `input.ts`
 */
export function parseListQueryParams(params: ListQueryParams): ListQuery {
  const query: Record<string, unknown> = {};
  if (params.filter !== undefined && params.filter.trim() !== '') {
    assertJsonDepth(params.filter, 'query.filter');
    try {
      query.filter = JSON.parse(params.filter);
    } catch {
      throw invalidQuery('filter must be a JSON filter tree', 'filter');
    }
    assertStorable(query.filter, 'query.filter');
  }
  if (params.sort !== undefined && params.sort.trim() !== '') {
    query.sort = params.sort.split(',').map((part, i) => parseSortPart(part.trim(), i));
  }
  if (params.fields !== undefined && params.fields.trim() !== '') {
    query.fields = params.fields
      .split(',')
      .map((f) => f.trim())
      .filter(Boolean);
  }
  if (params.limit !== undefined && params.limit !== '') {
    if (!/^\d{1,4}$/.test(params.limit)) throw invalidQuery('limit must be an integer 1..200', 'limit');
    query.limit = Number(params.limit);
  }
  if (params.cursor !== undefined && params.cursor !== '') query.cursor = params.cursor;
  if (params.q !== undefined) query.q = params.q;
  return parseListQuery(query);
}

function parseSortPart(part: string, index: number): SortKey {
  const descending = /^-[a-z0-9_]+$/i.test(part);
  if (descending) return { field: part.slice(1), direction: 'desc' };
  const match = /^([a-z0-9_]+)(?::(asc|desc))?$/i.exec(part);
  if (!match) {
    throw invalidQuery('Sort by `field`, `field:asc`, `field:desc` or `-field`', `sort[${index}]`);
  }
  const direction = match[2]?.toLowerCase() === 'desc' ? 'desc' : 'asc';
  return { field: match[1] ?? '', direction };
}

type Issue = z.core.$ZodIssue;

/** In a union (a FilterNode), the branch with the fewest problems is the one the client meant. */
function mostSpecificIssue(issues: readonly Issue[]): Issue {
  const first = issues[0];
  if (!first) return { code: 'custom', path: [], message: 'Invalid list query', input: undefined };
  if (first.code !== 'invalid_union' || first.errors.length === 0) return first;
  const branches = [...first.errors].sort((a, b) => a.length - b.length);
  const best = branches[0] ?? [];
  const inner = mostSpecificIssue(best);
  return { ...inner, path: [...first.path, ...inner.path] };
}

function issueMessage(issue: Issue): string {
  if (issue.code === 'unrecognized_keys') return `Unknown key "${issue.keys.join('", "')}"`;
  return issue.message;
}

function issuePath(segments: readonly PropertyKey[]): string {
  const parts = segments.map((s) => (typeof s === 'number' ? s : String(s)));
  const [head, ...rest] = parts;
  if (head === undefined) return 'query';
  return fieldPath(String(head), rest);
}
