import { AppError } from '../errors/app-error.js';

/**
 * The one error of the query language: 400 `invalid_query`, with `path` naming the offending
 * place relative to the list query (`filter.and[1].or[0].field`, `sort[2].field`, `cursor`).
 */
export function invalidQuery(message: string, path: string): AppError {
  return new AppError(400, 'invalid_query', message, {
    path,
    errors: [{ path, code: 'invalid_query', message }],
  });
}

/** Caps that keep one list query cheap to validate and to plan. */
export const QUERY_LIMITS = {
  /** Nested groups (and / or / not) in a filter. */
  maxDepth: 4,
  /** Conditions (leaves) in a filter. */
  maxConditions: 50,
  /** Values in an `in`, `nin`, `hasAny`, `hasAll` or `hasNone` list. */
  maxValues: 100,
  /** Characters in one string value. */
  maxStringLength: 500,
  /** Characters in the free-text `q`. */
  maxSearchLength: 200,
  /** Page size. */
  maxLimit: 200,
  defaultLimit: 50,
  /** Sort keys a client may give (the primary key is appended to them). */
  maxSortKeys: 5,
  /** Characters in an opaque cursor. */
  maxCursorLength: 4096,
} as const;
