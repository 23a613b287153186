import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import { z } from 'zod';
import { AppError, type FieldError, type ProblemCode, STATUS_TITLES } from '../errors/app-error.js';
import { mapDatabaseError } from '../errors/db-errors.js';

/** RFC 9457 problem details, as every error response of the API carries them. */
export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string().describe('Stable machine-readable code, e.g. `validation_failed`, `not_found`'),
    detail: z.string().optional(),
    path: z.string().optional().describe('The offending field, e.g. `body.emails[0].value`'),
    errors: z
      .array(z.object({ path: z.string(), code: z.string(), message: z.string() }))
      .optional()
      .describe('Every problem found with the input, one per field'),
    instance: z.string().optional(),
    trace_id: z.string(),
  })
  .meta({ id: 'Problem' });
export type ProblemBody = z.infer<typeof Problem>;

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** The problem+json body of `error`, for the request at `url` (its path is the `instance`). */
function problemBody(error: AppError, url: string | undefined, traceId: string): ProblemBody {
  return {
    type: `urn:cairn:problem:${error.code}`,
    title: STATUS_TITLES[error.status] ?? 'Error',
    status: error.status,
    code: error.code,
    detail: error.detail ?? error.message,
    ...(error.path ? { path: error.path } : {}),
    ...(error.errors ? { errors: error.errors } : {}),
    ...(url !== undefined ? { instance: url.split('?')[0] } : {}),
    trace_id: traceId,
  };
}

/** Sends `error` as problem+json. The one place an error becomes a response. */
export function sendProblem(req: FastifyRequest, reply: FastifyReply, error: AppError): FastifyReply {
  const body = problemBody(error, req.url, String(req.id));
  if (error.retryAfterS !== undefined) reply.header('retry-after', String(error.retryAfterS));
  if (error.allow !== undefined) reply.header('allow', error.allow.join(', '));
  // Serialize here: a route's own response schema must not reshape the problem body.
  return reply.code(error.status).type(PROBLEM_CONTENT_TYPE).serializer(JSON.stringify).send(body);
}

/** Turns a dotted/bracketed path: ('body', ['emails','0','value']) -> `body.emails[0].value`. */
export function fieldPath(where: string, segments: readonly (string | number)[]): string {
  return segments.reduce<string>(
    (acc, s) => (typeof s === 'number' || /^\d+$/.test(s) ? `${acc}[${s}]` : `${acc}.${s}`),
    where,
  );
}

/** The stable code of a 4xx a library raised without one of Cairn's codes. */
const STATUS_CODES: Record<number, ProblemCode> = {
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'request_timeout',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  416: 'range_not_satisfiable',
  429: 'rate_limited',
  431: 'headers_too_large',
};

/** Converts any thrown value to the AppError a client sees. Unknown errors are 500 (a bug). */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const fastifyError = error as FastifyError;
  if (hasZodFastifySchemaValidationErrors(fastifyError)) {
    const where = fastifyError.validationContext ?? 'request';
    const errors: FieldError[] = fastifyError.validation.flatMap((v) => {
      const segments = v.instancePath.split('/').filter(Boolean);
      const keys =
        v.keyword === 'unrecognized_keys' ? ((v.params as { keys?: string[] }).keys ?? []) : [undefined];
      return keys.map((key) => ({
        path: fieldPath(where, key === undefined ? segments : [...segments, key]),
        code: v.keyword === 'unrecognized_keys' ? 'unknown_field' : v.keyword,
        message:
          v.keyword === 'unrecognized_keys' ? `Unknown field "${key}"` : (v.message ?? 'Invalid value'),
      }));
    });
    return new AppError(400, 'validation_failed', 'The request is invalid', {
      detail: errors.map((e) => `${e.path}: ${e.message}`).join('; '),
      errors,
    });
  }
  const mapped = mapDatabaseError(error);
  if (mapped) return mapped;
  switch (fastifyError.code) {
    case 'FST_ERR_BAD_URL':
      return new AppError(400, 'invalid_url', 'The URL is not validly percent-encoded (RFC 3986)');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new AppError(414, 'uri_too_long', 'A path segment of the URL is too long');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError(413, 'payload_too_large', 'The request body is too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError(415, 'unsupported_media_type', 'Send the body as application/json');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError(400, 'invalid_json', 'The request body is not valid JSON', { path: 'body' });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError(400, 'invalid_request', 'The Content-Length header is invalid');
  }
  // A library's own 4xx (@fastify/static's 416, a plugin's 429) keeps its status, with a stable code.
  const status = fastifyError.statusCode ?? (error as { status?: unknown }).status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new AppError(status, STATUS_CODES[status] ?? 'invalid_request', fastifyError.message);
  }
  return new AppError(500, 'internal_error', 'Something went wrong on our side; it has been logged', {
    cause: error,
  });
}

/** The methods a path may be asked with; a route of another method makes the others a 405. */
const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/**
 * Installs the error and not-found handlers: every error leaves as problem+json. A path that
 * exists with other methods answers 405 with `Allow` (RFC 9110 section 15.5.6), not 404; the
 * routes are mirrored into a router of their own to tell (the web app's catch-all GET `/*` is
 * left out, so it does not make every unknown path a 405).
 */
export function installProblemHandlers(app: FastifyInstance): void {
  const known = FindMyWay();
  app.addHook('onRoute', (route) => {
    if (route.url === '/*') return;
    for (const method of [route.method].flat()) {
      if (
        !(HTTP_METHODS as readonly string[]).includes(method) ||
        known.hasRoute(method as HTTPMethod, route.url)
      )
        continue;
      known.on(method as HTTPMethod, route.url, () => undefined);
    }
  });
  app.setErrorHandler((error, req, reply) => {
    const appError = toAppError(error);
    if (appError.status >= 500) {
      req.log.error({ err: error, serialization: isResponseSerializationError(error) }, 'request failed');
    } else {
      req.log.info({ code: appError.code, status: appError.status }, appError.message);
    }
    return sendProblem(req, reply, appError);
  });
  app.setNotFoundHandler((req, reply) => {
    const pathname = req.url.split('?')[0] ?? '/';
    // A segment longer than a path parameter may be is refused as such even where a wildcard
    // route (the web app's) took the request from the parametric route it was aimed at.
    if (pathname.split('/').some((segment) => segment.length > app.initialConfig.maxParamLength!)) {
      return sendProblem(req, reply, toAppError({ code: 'FST_ERR_MAX_PARAM_LENGTH' }));
    }
    const allow = HTTP_METHODS.filter((m) => known.find(m, pathname) !== null);
    // (A route that calls `callNotFound` itself, @fastify/static's for a missing file, stays a 404.)
    if (allow.length > 0 && !allow.includes(req.method as (typeof HTTP_METHODS)[number])) {
      return sendProblem(
        req,
        reply,
        new AppError(405, 'method_not_allowed', `${pathname} does not take ${req.method}`, {
          detail: `Allowed: ${allow.join(', ')}`,
          allow,
        }),
      );
    }
    return sendProblem(
      req,
      reply,
      new AppError(404, 'route_not_found', `There is no route ${req.method} ${pathname}`),
    );
  });
}

/**
 * Fastify's `frameworkErrors`: what its router refuses before a route runs (a URL that is not
 * validly percent-encoded, 400 `invalid_url`; a path parameter over `maxParamLength`, 414
 * `uri_too_long`), as problem+json.
 */
export function frameworkErrorHandler(error: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const appError = toAppError(error);
  req.log.info({ code: appError.code, status: appError.status }, appError.message);
  void sendProblem(req, reply, appError);
}

/**
 * Fastify's `clientErrorHandler`: Node's HTTP parser refused the request before Fastify saw it
 * (header block over `--max-http-header-size`, 431; the request did not arrive in time, 408;
 * anything else that is not HTTP, 400). Written to the socket as problem+json, then closed.
 * See https://nodejs.org/api/http.html#event-clienterror
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const appError =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new AppError(431, 'headers_too_large', 'The request line and headers are too large')
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new AppError(408, 'request_timeout', 'The request did not arrive in time')
        : new AppError(400, 'invalid_request', 'The request is not valid HTTP/1.1');
  const body = JSON.stringify(problemBody(appError, undefined, randomBytes(16).toString('hex')));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${appError.status} ${STATUS_TITLES[appError.status] ?? 'Error'}\r\n` +
        `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Connection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
