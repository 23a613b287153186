import type { FastifySchema, RouteOptions } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { RouteAccess } from '../access/permissions.js';
import { Problem } from './problem.js';

/** The content type every error is sent with (RFC 9457), as the document declares it. */
export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

/** The session cookie scheme, named in `components.securitySchemes`. */
export const SESSION_SCHEME = 'session';
/** The API key scheme (`Authorization: Bearer cairn_...`), named in `components.securitySchemes`. */
export const API_KEY_SCHEME = 'apiKey';

/** What each error status means on this API; the description of its response in the document. */
const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'The request is invalid: `validation_failed` (with `errors[]`, one per field), `invalid_json`, `invalid_query` and the like',
  401: 'No valid session (`unauthenticated`)',
  403: 'The session may not do this (`forbidden`, `no_organization`), or a cookie-borne mutation came from an untrusted Origin (`csrf_rejected`)',
  404: 'Not found, or another organization’s (`not_found`)',
  405: 'The path exists but not with this method (`method_not_allowed`, with an `Allow` header)',
  409: 'Conflicts with the current state (`unique_violation`, `last_admin`, ...)',
  413: 'The request body is larger than the limit (`payload_too_large`)',
  414: 'A path parameter is longer than the server accepts (`uri_too_long`)',
  415: 'The body is not in a media type this operation reads (`unsupported_media_type`)',
  422: 'Well-formed but refers to something that cannot be used (`reference_not_found`, ...)',
  424: 'A service this operation depends on failed (the AI provider: `ai_provider_timeout`, `ai_provider_rate_limited` with `Retry-After`, `ai_provider_rejected_key`, `ai_provider_malformed`, `ai_provider_error`, `ai_provider_unreachable`)',
  429: 'Too many requests (`rate_limited`), with `Retry-After` in seconds',
  431: 'The request headers are too large',
  503: 'The database did not answer in time (`statement_timeout`) or the server is shutting down; retry later',
};

/** Methods whose body Fastify reads, so a body too large (413) or of another type (415) is refused. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

type ResponseSpec = Record<string, unknown>;

/** The form of a file upload (`multipart/form-data`), for the document only. */
const MultipartFile = z.object({
  file: z.string().meta({ format: 'binary' }).describe('The file (one per request)'),
});

/** A problem+json response object as fastify-type-provider-zod converts it (zod schema inside). */
function problemResponse(status: number) {
  return {
    description: ERROR_DESCRIPTIONS[status] ?? 'Error',
    content: { [PROBLEM_MEDIA_TYPE]: { schema: Problem } },
  };
}

/**
 * The error statuses any operation of this server may answer, whatever its handler does, and why:
 * 400 (malformed URL, query, header or body), 429 (the rate limit), 431 (headers too large),
 * 503 (statement timeout, shutting down); 401 and 403 on every route that needs a session
 * (the route guard); 403 on every mutation (the CSRF Origin check, public routes included);
 * 413 and 415 on every method whose body Fastify reads; 404 where the path names a record, and
 * 414 there too (a path parameter longer than Fastify's `maxParamLength`).
 */
export function standardErrorStatuses(route: {
  method: string | string[];
  url: string;
  access: RouteAccess | undefined;
}): number[] {
  const statuses = new Set([400, 429, 431, 503]);
  if (route.access !== 'public') {
    statuses.add(401);
    statuses.add(403);
  }
  const methods = [route.method].flat();
  if (methods.some((m) => BODY_METHODS.has(m))) {
    statuses.add(403);
    statuses.add(413);
    statuses.add(415);
  }
  if (/[:{]/.test(route.url)) {
    statuses.add(404);
    statuses.add(414); // a path parameter longer than Fastify's maxParamLength
  }
  return [...statuses].sort((a, b) => a - b);
}

type TransformInput = Parameters<typeof jsonSchemaTransform>[0];

/**
 * The `transform` of @fastify/swagger: documents each route as the server answers it, in one place
 * rather than per route. On top of fastify-type-provider-zod's zod -> JSON Schema conversion:
 * - every error status (>= 400) a route declares with the `Problem` schema is declared as
 *   `application/problem+json`, the media type `sendProblem` sends;
 * - the standard error statuses of `standardErrorStatuses` are added where the route did not
 *   declare them;
 * - a multipart upload without a body schema documents its form (one `file` field);
 * - a route that `produces` non-JSON media types (exports) documents its 200 as those types;
 * - `security`: `[]` for `config.access: 'public'` routes, the session scheme for the caller's own
 *   routes (`authenticated`), the session or an API key otherwise.
 * Each documented route names its `operationId` in its schema (camelCase, unique, stable: clients
 * generate method names from it); `test/api-contract.test.ts` checks every operation has one.
 */
export function openApiTransform(input: TransformInput): ReturnType<typeof jsonSchemaTransform> {
  const { schema, url } = input;
  const route = (input as TransformInput & { route: RouteOptions }).route;
  if (!schema || (schema as { hide?: boolean }).hide) return jsonSchemaTransform(input);
  const s = schema as FastifySchema & {
    operationId?: string;
    produces?: string[];
    consumes?: string[];
    response?: ResponseSpec;
  };
  const access = route.config?.access;
  const response: ResponseSpec = {};
  for (const [status, declared] of Object.entries(s.response ?? {})) {
    response[status] =
      Number(status) >= 400 && declared === (Problem as z.ZodType)
        ? problemResponse(Number(status))
        : declared;
  }
  const produces = s.produces?.filter((type) => type !== 'application/json') ?? [];
  if (produces.length > 0 && !Object.keys(response).some((status) => status.startsWith('2'))) {
    response[200] = {
      description: `The content, streamed as ${produces.join(' or ')}`,
      content: Object.fromEntries(produces.map((type) => [type, { schema: z.string() }])),
    };
  }
  for (const status of standardErrorStatuses({ method: route.method, url, access })) {
    response[status] ??= problemResponse(status);
  }
  // A multipart upload reads its file itself (no body schema to validate): document the form.
  const multipart = !s.body && s.consumes?.includes('multipart/form-data');
  return jsonSchemaTransform({
    ...input,
    schema: {
      ...s,
      ...(multipart ? { body: MultipartFile, consumes: ['multipart/form-data'] } : {}),
      response,
      security:
        access === 'public'
          ? []
          : access === 'authenticated'
            ? [{ [SESSION_SCHEME]: [] }]
            : [{ [SESSION_SCHEME]: [] }, { [API_KEY_SCHEME]: [] }],
    } as FastifySchema,
  });
}
