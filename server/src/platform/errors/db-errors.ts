import { AppError } from './app-error.js';

type PgError = { code?: string; constraint?: string; column?: string; detail?: string; message?: string };

function pgErrorOf(error: unknown): PgError | undefined {
  // Drizzle wraps driver errors ("Failed query: ...") and keeps the driver's error as `cause`.
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as PgError).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return e as PgError;
  }
  return undefined;
}

/**
 * Maps a PostgreSQL error (SQLSTATE, https://www.postgresql.org/docs/15/errcodes-appendix.html)
 * to the error a client sees. The one place a driver error becomes a domain error, so no route
 * leaks a raw database message. Returns undefined for errors that are bugs (they become a 500).
 */
export function mapDatabaseError(error: unknown): AppError | undefined {
  const pgError = pgErrorOf(error);
  if (!pgError) return undefined;
  const constraint = pgError.constraint;
  switch (pgError.code) {
    case '23505':
      return new AppError(409, 'unique_violation', 'A record with this value already exists', {
        detail: constraint ? `unique constraint ${constraint}` : undefined,
        path: constraintPath(constraint),
        cause: error,
      });
    case '23503':
      return new AppError(422, 'reference_not_found', 'A referenced record does not exist', {
        path: constraintPath(constraint),
        cause: error,
      });
    case '23502':
      return new AppError(400, 'validation_failed', `${pgError.column ?? 'A field'} is required`, {
        path: pgError.column,
        cause: error,
      });
    case '23514':
      return new AppError(422, 'validation_failed', 'A value breaks a rule of this record', {
        detail: constraint,
        cause: error,
      });
    case '22001':
      return new AppError(400, 'validation_failed', 'A value is too long', { cause: error });
    case '22P02':
    case '22007':
    case '22008':
    case '22003':
      return new AppError(400, 'validation_failed', 'A value has the wrong format', { cause: error });
    case '42501':
      // Row-level security refused the row: it belongs to another tenant, which we never reveal.
      return new AppError(404, 'not_found', 'The record was not found', { cause: error });
    case '40001':
    case '40P01':
      return new AppError(409, 'conflict', 'A concurrent change got in the way; try again', {
        retryAfterS: 1,
        cause: error,
      });
    case '57014':
      // statement_timeout fired, the tenant transaction passed its deadline, or its client left.
      return new AppError(503, 'statement_timeout', 'The request took too long and was stopped; try again', {
        retryAfterS: 2,
        cause: error,
      });
    case '53300':
    case '57P03':
      return new AppError(503, 'unavailable', 'The database is busy; try again shortly', {
        retryAfterS: 2,
        cause: error,
      });
    default:
      return undefined;
  }
}

/** `contacts_org_id_email_key` style names carry the column; best effort, for the error's path. */
function constraintPath(constraint: string | undefined): string | undefined {
  const match = constraint?.match(/^[a-z_]+?_(?:org_id_)?([a-z_]+?)_(?:key|fkey|unique|idx)$/);
  return match?.[1];
}
