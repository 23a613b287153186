import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError, type FieldError, STATUS_TITLES } from '../errors/app-error.js';
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

/** Sends `error` as problem+json. The one place an error becomes a response. */
export function sendProblem(req: FastifyRequest, reply: FastifyReply, error: AppError): FastifyReply {
  const body: ProblemBody = {
    type: `urn:cairn:problem:${error.code}`,
    title: STATUS_TITLES[error.status] ?? 'Error',
    status: error.status,
    code: error.code,
    detail: error.detail ?? error.message,
    ...(error.path ? { path: error.path } : {}),
    ...(error.errors ? { errors: error.errors } : {}),
    instance: req.url.split('?')[0],
    trace_id: String(req.id),
  };
  if (error.retryAfterS !== undefined) reply.header('retry-after', String(error.retryAfterS));
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
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new AppError(status, status === 429 ? 'rate_limited' : 'invalid_request', fastifyError.message);
  }
  return new AppError(500, 'internal_error', 'Something went wrong on our side; it has been logged', {
    cause: error,
  });
}

/** Installs the error and not-found handlers: every error leaves as problem+json. */
export function installProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error, req, reply) => {
    const appError = toAppError(error);
    if (appError.status >= 500) {
      req.log.error({ err: error, serialization: isResponseSerializationError(error) }, 'request failed');
    } else {
      req.log.info({ code: appError.code, status: appError.status }, appError.message);
    }
    return sendProblem(req, reply, appError);
  });
  app.setNotFoundHandler((req, reply) =>
    sendProblem(
      req,
      reply,
      new AppError(404, 'route_not_found', `There is no route ${req.method} ${req.url.split('?')[0]}`),
    ),
  );
}
