/**
 * The one way to raise an error a client should see. The HTTP layer turns it into an RFC 9457
 * `application/problem+json` body: `{type, title, status, code, detail, path?, errors?, trace_id}`.
 */
export type ProblemCode =
  | 'validation_failed'
  | 'unauthenticated'
  | 'forbidden'
  | 'csrf_rejected'
  | 'not_found'
  | 'route_not_found'
  | 'conflict'
  | 'unique_violation'
  | 'reference_not_found'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'unsupported_charset'
  | 'invalid_json'
  | 'invalid_utf8'
  | 'invalid_character'
  | 'too_deep'
  | 'invalid_url'
  | 'method_not_allowed'
  | 'request_timeout'
  | 'uri_too_long'
  | 'range_not_satisfiable'
  | 'headers_too_large'
  | 'invalid_state'
  | 'rate_limited'
  | 'account_locked'
  | 'unavailable'
  | 'internal_error'
  | (string & {});

/** One problem with one input field. `path` is dotted/bracketed: `body.emails[0].value`. */
export type FieldError = { path: string; code: string; message: string };

export type AppErrorOptions = {
  detail?: string;
  /** The offending field, when there is one. */
  path?: string;
  errors?: FieldError[];
  /** Seconds, for 429 and 503 (sent as Retry-After). */
  retryAfterS?: number;
  /** The methods the path takes, for 405 (sent as Allow). */
  allow?: readonly string[];
  cause?: unknown;
};

export const STATUS_TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  422: 'Unprocessable Content',
  424: 'Failed Dependency',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export class AppError extends Error {
  readonly detail: string | undefined;
  readonly path: string | undefined;
  readonly errors: FieldError[] | undefined;
  readonly retryAfterS: number | undefined;
  readonly allow: readonly string[] | undefined;

  constructor(
    readonly status: number,
    readonly code: ProblemCode,
    message: string,
    options: AppErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.detail = options.detail;
    this.path = options.path ?? options.errors?.[0]?.path;
    this.errors = options.errors;
    this.retryAfterS = options.retryAfterS;
    this.allow = options.allow;
  }
}

export const badRequest = (message: string, path?: string, code: ProblemCode = 'validation_failed') =>
  new AppError(400, code, message, { path, errors: path ? [{ path, code, message }] : undefined });

/** Also what another tenant's id gets: its existence is never revealed. */
export const notFound = (what: string, id?: string) =>
  new AppError(404, 'not_found', id ? `${what} ${id} was not found` : `${what} was not found`);

export const forbidden = (message = 'You do not have permission to do this') =>
  new AppError(403, 'forbidden', message);

export const unauthenticated = (message = 'Sign in first, or send an API key') =>
  new AppError(401, 'unauthenticated', message);

export const conflict = (message: string, path?: string, code: ProblemCode = 'conflict') =>
  new AppError(409, code, message, { path });
