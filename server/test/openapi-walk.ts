/**
 * Walks the server's own OpenAPI document (`/api/openapi.json`): its operations, request
 * generators built from its JSON Schemas (fast-check arbitraries, openapi-sampler for a valid
 * seed), the check of a response against what the document declares (ajv, JSON Schema 2020-12 as
 * OpenAPI 3.1 uses it), and a seeded organization whose ids fill path parameters. Shared by
 * `api-fuzz.test.ts` and `attack-lists.test.ts`, so a new route is covered without editing them.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { sample } from 'openapi-sampler';
import { addMember, type Client, ORIGIN, signUp, type TestApp } from './harness.js';
import { expectStatus } from './kit/checks.js';
import { uploadCsv } from './kit/imports.js';

// ajv-formats is CommonJS with a default export; under ESM its function sits on `.default`.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020) => void;

export type JsonSchema = { [key: string]: unknown };
type Parameter = {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema: JsonSchema;
};
type MediaObject = { schema?: JsonSchema };
type ResponseObject = { description?: string; content?: Record<string, MediaObject> };
export type OperationObject = {
  operationId?: string;
  parameters?: Parameter[];
  requestBody?: { content: Record<string, MediaObject> };
  responses: Record<string, ResponseObject>;
  security?: unknown[];
};
export type OpenApiDocument = {
  paths: Record<string, Record<string, OperationObject>>;
  components: { schemas: Record<string, JsonSchema> };
};
export type Operation = { method: string; path: string; id: string; op: OperationObject };

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** Every operation of the document, in document order. */
export function operationsOf(doc: OpenApiDocument): Operation[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((method) => ({
      method: method.toUpperCase(),
      path,
      id: item[method]!.operationId ?? `${method} ${path}`,
      op: item[method]!,
    })),
  );
}

export const jsonBodySchema = (op: OperationObject): JsonSchema | undefined =>
  op.requestBody?.content['application/json']?.schema;
export const parametersOf = (op: OperationObject, where: Parameter['in']) =>
  (op.parameters ?? []).filter((p) => p.in === where);

/** Follows `$ref`s into `components`. */
export function deref(doc: OpenApiDocument, schema: JsonSchema): JsonSchema {
  let s = schema;
  for (let i = 0; i < 20 && typeof s.$ref === 'string'; i++) {
    const name = (s.$ref as string).replace('#/components/schemas/', '');
    s = doc.components.schemas[name] ?? {};
  }
  return s;
}

/** One valid example of `schema` (openapi-sampler), the seed the mutations start from. */
export function sampleOf(doc: OpenApiDocument, schema: JsonSchema): unknown {
  return sample(schema as never, { skipReadOnly: true, skipNonRequired: false }, doc as never);
}

/** The smallest valid example of `schema`: required properties only. */
export function sampleRequired(doc: OpenApiDocument, schema: JsonSchema): unknown {
  return sample(schema as never, { skipReadOnly: true, skipNonRequired: true }, doc as never);
}

export type GenerationContext = { doc: OpenApiDocument; knownIds: readonly string[] };

/**
 * A fast-check arbitrary of values valid for `schema` (as far as JSON Schema says: types, enums,
 * bounds, formats, required properties). uuid fields draw from `knownIds` half the time, so
 * references resolve and requests reach past the 404s. Depth is capped; past it, the sample.
 */
export function arbitraryOf(ctx: GenerationContext, input: JsonSchema, depth = 0): fc.Arbitrary<unknown> {
  const schema = deref(ctx.doc, input);
  if (depth > 5) return fc.constant(sampleOf(ctx.doc, schema));
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  if ('const' in schema) return fc.constant(schema.const);
  const alternatives = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (alternatives) return fc.oneof(...alternatives.map((a) => arbitraryOf(ctx, a, depth + 1)));
  if (Array.isArray(schema.allOf)) return arbitraryOf(ctx, (schema.allOf as JsonSchema[])[0]!, depth + 1);
  const type = schema.type;
  if (Array.isArray(type))
    return fc.oneof(...type.map((t) => arbitraryOf(ctx, { ...schema, type: t }, depth + 1)));
  switch (type) {
    case 'string':
      return stringArbitrary(ctx, schema);
    case 'integer':
      return fc.integer({
        min: Math.max(Number(schema.minimum ?? -1_000_000), -1_000_000),
        max: Math.min(Number(schema.maximum ?? 1_000_000), 1_000_000),
      });
    case 'number':
      return fc.double({
        min: Math.max(Number(schema.minimum ?? -1e9), -1e9),
        max: Math.min(Number(schema.maximum ?? 1e9), 1e9),
        noNaN: true,
        noDefaultInfinity: true,
      });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const items = (schema.items as JsonSchema | undefined) ?? {};
      const minLength = Number(schema.minItems ?? 0);
      return fc.array(arbitraryOf(ctx, items, depth + 1), {
        minLength,
        maxLength: Math.max(minLength, Math.min(Number(schema.maxItems ?? 3), 3)),
      });
    }
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
      const required = (schema.required ?? []) as string[];
      if (Object.keys(properties).length === 0) {
        const extra = schema.additionalProperties;
        if (extra && typeof extra === 'object')
          return fc.dictionary(
            fc.string({ minLength: 1, maxLength: 12 }),
            arbitraryOf(ctx, extra as JsonSchema, depth + 1),
            {
              maxKeys: 2,
            },
          );
        return fc.constant({});
      }
      const model = Object.fromEntries(
        Object.entries(properties).map(([k, v]) => [k, arbitraryOf(ctx, v, depth + 1)]),
      );
      return fc.record(model, { requiredKeys: required.filter((k) => k in properties) });
    }
    default:
      return fc.constant(sampleOf(ctx.doc, schema));
  }
}

function stringArbitrary(ctx: GenerationContext, schema: JsonSchema): fc.Arbitrary<string> {
  const minLength = Number(schema.minLength ?? 0);
  const maxLength = Math.max(minLength, Math.min(Number(schema.maxLength ?? 40), 40));
  switch (schema.format) {
    case 'uuid':
      return ctx.knownIds.length > 0 ? fc.oneof(fc.constantFrom(...ctx.knownIds), fc.uuid()) : fc.uuid();
    case 'email':
      return fc.emailAddress().filter((e) => e.length <= Number(schema.maxLength ?? 254));
    case 'date-time':
      return fc
        .date({ min: new Date(2000, 0, 1), max: new Date(2100, 0, 1), noInvalidDate: true })
        .map((d) => d.toISOString());
    case 'date':
      return fc
        .date({ min: new Date(2000, 0, 1), max: new Date(2100, 0, 1), noInvalidDate: true })
        .map((d) => d.toISOString().slice(0, 10));
    case 'uri':
      return fc.webUrl();
  }
  if (typeof schema.pattern === 'string') {
    try {
      return fc
        .stringMatching(new RegExp(schema.pattern))
        .filter((s) => s.length >= minLength && s.length <= Number(schema.maxLength ?? Infinity));
    } catch {
      // a pattern JavaScript cannot compile: fall through to plain strings
    }
  }
  return fc.oneof(
    fc.string({ minLength, maxLength }),
    fc.string({ unit: 'grapheme', minLength, maxLength }),
    fc.constant(
      String(sampleOf(ctx.doc, schema) ?? '')
        .slice(0, maxLength)
        .padEnd(minLength, 'x'),
    ),
  );
}

/** Nested `depth` levels: `{"and":[{"and":[...]}]}`, the shape a filter tree recurses on. */
export function deeplyNested(depth: number): unknown {
  let v: unknown = { field: 'first_name', op: 'eq', value: 'x' };
  for (let i = 0; i < depth; i++) v = { and: [v] };
  return v;
}

/**
 * Values too deep for `JSON.stringify` to write (it recurses): a marker string that `send`
 * replaces with the raw JSON text. 3,000 levels: past where recursive validation overflowed.
 */
const RAW_JSON: Record<string, string> = {
  'raw:deep-filter': `${'{"and":['.repeat(3000)}{"field":"first_name","op":"eq","value":"x"}${']}'.repeat(3000)}`,
  'raw:deep-array': `${'['.repeat(3000)}${']'.repeat(3000)}`,
};
const rawMarker = (name: keyof typeof RAW_JSON & string) => `\u0001${name}`;
/** `JSON.stringify(value)` with the deep markers replaced by their raw JSON. */
export function toJson(value: unknown): string {
  let text = JSON.stringify(value);
  for (const [name, raw] of Object.entries(RAW_JSON)) text = text.replaceAll(`"\\u0001${name}"`, raw);
  return text;
}

/** Hostile values that take the place of a valid one: wrong types, extremes, odd text, depth. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    null,
    true,
    0,
    -1,
    1e308,
    2 ** 63,
    {},
    [],
    '',
    ' ',
    '\u0000',
    'a\u0000b',
    '\ud800',
    '🦄'.repeat(300),
    'x'.repeat(100_000),
    '%s%n%x',
    '../../../etc/passwd',
    '1e999',
    'banana',
    '2024-02-30',
    '00000000-0000-0000-0000-000000000000',
  ),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.integer(),
  fc.constantFrom(rawMarker('raw:deep-filter'), rawMarker('raw:deep-array')),
);

/** Hostile strings for URL parameters (query values and path segments). */
export const hostileParam: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    'banana',
    '-1',
    '1e9',
    '99999999999999999999',
    'NaN',
    'true',
    'null',
    '[object Object]',
    '\u0000',
    'x'.repeat(10_000),
    '🦄',
    'not-a-uuid',
    '00000000-0000-0000-0000-000000000000',
    RAW_JSON['raw:deep-filter']!,
    '{"field":"first_name","op":"eq","value":"a\u0000b"}',
    "' or 1=1 --",
  ),
  fc.string({ unit: 'binary', maxLength: 20 }),
);

type PathKey = (string | number)[];
function pathsIn(value: unknown, prefix: PathKey = [], out: PathKey[] = []): PathKey[] {
  out.push(prefix);
  if (value && typeof value === 'object' && prefix.length < 6) {
    for (const [k, v] of Object.entries(value))
      pathsIn(v, [...prefix, Array.isArray(value) ? Number(k) : k], out);
  }
  return out;
}

/** `value` with one thing broken: a field replaced by a hostile value, a field removed, an extra field. */
export function mutationOf(value: unknown): fc.Arbitrary<unknown> {
  const paths = pathsIn(value);
  return fc
    .tuple(fc.constantFrom(...paths), fc.constantFrom('replace', 'remove', 'extra'), hostileValue)
    .map(([path, how, hostile]) => {
      if (path.length === 0) return how === 'remove' ? undefined : hostile;
      const copy = structuredClone(value) as Record<string | number, unknown>;
      let parent = copy;
      for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
      const last = path[path.length - 1]!;
      if (how === 'replace') parent[last] = hostile;
      else if (how === 'remove') {
        if (Array.isArray(parent)) parent.splice(Number(last), 1);
        else delete parent[last];
      } else if (parent && typeof parent === 'object' && !Array.isArray(parent))
        parent.__unexpected = hostile;
      else parent[last] = hostile;
      return copy;
    });
}

/** What the seeded organization holds: ids by collection, for path parameters and uuid fields. */
export type Seed = {
  admin: Client;
  orgId: string;
  /** Path parameter values by `collection` (`contacts`) or parameter name (`stageId`, `key`). */
  values: Record<string, string>;
  knownIds: string[];
};

const expectCreated = (res: { status: number; text: string; body: { id?: string } }, what: string) => {
  if (res.status !== 201 && res.status !== 200) throw new Error(`seeding ${what}: ${res.status} ${res.text}`);
  return res.body.id as string;
};

/** Signs up an organization and creates one of each record, so every path parameter has a real id. */
export async function seedOrganization(t: TestApp): Promise<Seed> {
  const { client: admin, orgId } = await signUp(t, 'Fuzz Org');
  // The walks send every route ids that do not exist: thousands of 404s in minutes, for which the
  // guard would (rightly) warn the admins and then stop the caller. Its refusal budget is raised.
  const walkBudget = { warn: 1_000_000, block: 1_000_000, window_seconds: 600 };
  for (const role of ['admin', 'user'])
    expectStatus(await admin.put('/api/v1/guard/settings', { role, budgets: { denied: walkBudget } }), 200);
  const member = await addMember(t, admin, 'user');
  const company = expectCreated(await admin.post('/api/v1/companies', { name: 'Fuzz Company' }), 'company');
  const contact = expectCreated(
    await admin.post('/api/v1/contacts', {
      first_name: 'Fuzz',
      last_name: 'Contact',
      emails: [{ value: 'fuzz@example.com' }],
      tags: ['fuzz'],
    }),
    'contact',
  );
  const twin = expectCreated(
    await admin.post('/api/v1/contacts', { first_name: 'Fuzz', last_name: 'Twin' }),
    'contact',
  );
  const pipeline = (
    await admin.post('/api/v1/pipelines', {
      name: 'Fuzz Pipeline',
      stages: [
        { name: 'Open', probability: 10, kind: 'open' },
        { name: 'Won', probability: 100, kind: 'won' },
      ],
    })
  ).body;
  const pipelineId = expectCreated(
    { status: 201, text: JSON.stringify(pipeline), body: pipeline },
    'pipeline',
  );
  const stageId = (pipeline.stages as { id: string }[])[0]!.id;
  const opportunity = expectCreated(
    await admin.post('/api/v1/opportunities', {
      title: 'Fuzz Deal',
      pipeline_id: pipelineId,
      stage_id: stageId,
      amount: 100,
    }),
    'opportunity',
  );
  const task = expectCreated(
    await admin.post('/api/v1/tasks', { title: 'Fuzz task', link: { object: 'contact', id: contact } }),
    'task',
  );
  const note = expectCreated(
    await admin.post('/api/v1/notes', { object: 'contact', id: contact, body: '<p>Fuzz</p>' }),
    'note',
  );
  const view = expectCreated(
    await admin.post('/api/v1/views', { object: 'contact', name: 'Fuzz view', query: {}, columns: [] }),
    'view',
  );
  const field = await admin.post('/api/v1/objects/contact/fields', { label: 'Fuzz field', type: 'text' });
  if (field.status !== 201) throw new Error(`seeding field: ${field.status} ${field.text}`);
  const tags = await admin.get('/api/v1/tags');
  const tag = (tags.body.data as { id: string }[])[0]!.id;
  const invitation = expectCreated(
    await admin.post('/api/v1/invitations', { email: `invitee.${orgId}@example.com`, role: 'viewer' }),
    'invitation',
  );
  const upload = await uploadCsv(t, admin, 'contact', 'fuzz.csv', 'First name,Email\nAda,ada@example.com\n');
  const importId = expectCreated({ ...upload, status: upload.status }, 'import');
  const mapping = expectCreated(
    await admin.post('/api/v1/import-mappings', {
      name: 'Fuzz mapping',
      object: 'contact',
      columns: { Email: 'email' },
    }),
    'import mapping',
  );
  const merged = await admin.post('/api/v1/contacts/merge', {
    survivor_id: contact,
    merged_ids: [twin],
    values: {},
  });
  if (merged.status !== 200) throw new Error(`seeding merge: ${merged.status} ${merged.text}`);
  const values: Record<string, string> = {
    contacts: contact,
    companies: company,
    opportunities: opportunity,
    pipelines: pipelineId,
    stageId,
    tasks: task,
    notes: note,
    views: view,
    tags: tag,
    imports: importId,
    'import-mappings': mapping,
    merges: merged.body.merge_id ?? merged.body.id,
    invitations: invitation,
    userId: member.userId,
    object: 'contact',
    key: field.body.key,
    index: '0',
  };
  return { admin, orgId, values, knownIds: Object.values(values).filter((v) => /^[0-9a-f-]{36}$/.test(v)) };
}

/** The seeded value of a path parameter: by name (`stageId`), else by the path's collection. */
export function seededParam(seed: Seed, path: string, name: string): string {
  if (name in seed.values && name !== 'id') return seed.values[name]!;
  const collection = path.replace(/^\/api\/v1\//, '').split('/')[0]!;
  return seed.values[collection] ?? '00000000-0000-4000-8000-000000000000';
}

export type GeneratedRequest = {
  path: Record<string, string>;
  query: Record<string, string>;
  /** The JSON body; `undefined` sends none. */
  body: unknown;
  /** Send the query string as given, without percent-encoding (malformed escapes). */
  rawQuery?: string;
  anonymous: boolean;
};

/**
 * Requests for `operation`: valid ones (generated from the schemas and the sampler's seed, with
 * the seeded ids) and broken ones (a hostile body field, query value or path segment, an unknown
 * query parameter, no body, malformed percent-encoding, no session).
 */
export function requestsFor(
  ctx: GenerationContext,
  seed: Seed,
  operation: Operation,
): fc.Arbitrary<GeneratedRequest> {
  const { op, path } = operation;
  const pathParams = parametersOf(op, 'path');
  const queryParams = parametersOf(op, 'query');
  const bodySchema = jsonBodySchema(op);

  const validPath = fc.record(
    Object.fromEntries(
      pathParams.map((p) => [
        p.name,
        fc.oneof(
          { weight: 4, arbitrary: fc.constant(seededParam(seed, path, p.name)) },
          { weight: 1, arbitrary: arbitraryOf(ctx, p.schema).map(String) },
        ),
      ]),
    ),
  ) as fc.Arbitrary<Record<string, string>>;
  const validQuery = fc.record(
    Object.fromEntries(queryParams.map((p) => [p.name, queryValueOf(ctx, p.schema)])),
    { requiredKeys: queryParams.filter((p) => p.required).map((p) => p.name) },
  ) as fc.Arbitrary<Record<string, string>>;
  const seedBody = bodySchema ? sampleOf(ctx.doc, bodySchema) : undefined;
  const validBody: fc.Arbitrary<unknown> = bodySchema
    ? fc.oneof(fc.constant(seedBody), arbitraryOf(ctx, bodySchema))
    : fc.constant(undefined);
  const valid = fc.record({
    path: validPath,
    query: validQuery,
    body: validBody,
    anonymous: fc.constant(false),
  });

  const broken: fc.Arbitrary<GeneratedRequest>[] = [
    fc
      .tuple(valid, fc.constantFrom('__unexpected', ...queryParams.map((p) => p.name)), hostileParam)
      .map(([r, name, value]) => ({ ...r, query: { ...r.query, [name]: value } })),
    valid.map((r) => ({ ...r, anonymous: true })),
    valid.map((r) => ({ ...r, rawQuery: `${queryParams[0]?.name ?? 'x'}=%E0%A4%A&y=%` })),
  ];
  if (pathParams.length > 0)
    broken.push(
      fc
        .tuple(valid, fc.constantFrom(...pathParams.map((p) => p.name)), hostileParam)
        .map(([r, name, value]) => ({
          ...r,
          path: { ...r.path, [name]: value },
        })),
    );
  if (bodySchema) {
    broken.push(
      fc
        .tuple(valid, fc.oneof(mutationOf(seedBody), validBody.chain(mutationOf)))
        .map(([r, body]) => ({ ...r, body })),
      valid.map((r) => ({ ...r, body: undefined })),
    );
    const fields = Object.keys((deref(ctx.doc, bodySchema).properties ?? {}) as object);
    if (fields.length > 0)
      broken.push(
        fc
          .tuple(
            valid,
            fc.constantFrom(...fields),
            fc.constantFrom(rawMarker('raw:deep-filter'), rawMarker('raw:deep-array')),
          )
          .map(([r, field, deep]) => ({ ...r, body: { ...(r.body as object), [field]: deep } })),
      );
  } else if (operation.method !== 'GET') {
    broken.push(fc.tuple(valid, hostileValue).map(([r, body]) => ({ ...r, body })));
  }
  return fc.oneof({ weight: 2, arbitrary: valid }, { weight: 3, arbitrary: fc.oneof(...broken) });
}

/**
 * Deterministic edge cases next to the random ones: each top-level body field replaced by a
 * filter tree 3,000 levels deep (the shape recursive validation overflowed on), with seeded ids.
 */
export function edgeCasesFor(ctx: GenerationContext, seed: Seed, operation: Operation): GeneratedRequest[] {
  const bodySchema = jsonBodySchema(operation.op);
  if (!bodySchema) return [];
  const body = sampleOf(ctx.doc, bodySchema);
  const path = Object.fromEntries(
    parametersOf(operation.op, 'path').map((p) => [p.name, seededParam(seed, operation.path, p.name)]),
  );
  const fields = Object.keys((deref(ctx.doc, bodySchema).properties ?? {}) as object);
  return fields.map((field) => ({
    path,
    query: {},
    body: { ...(body as object), [field]: rawMarker('raw:deep-filter') },
    anonymous: false,
  }));
}

function queryValueOf(ctx: GenerationContext, schema: JsonSchema): fc.Arbitrary<string> {
  return arbitraryOf(ctx, schema).map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
}

/** The URL of a generated request: path parameters and query values percent-encoded. */
export function urlOf(operation: Operation, request: GeneratedRequest): string {
  const path = operation.path.replace(/\{(\w+)\}/g, (_, name: string) =>
    encodeURIComponent(request.path[name] ?? ''),
  );
  const query =
    request.rawQuery ??
    Object.entries(request.query)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
      .join('&');
  return query ? `${path}?${query}` : path;
}

/** Sends a generated request through the app (inject), as `client` or without a session. */
export async function send(
  t: TestApp,
  client: Client,
  operation: Operation,
  request: GeneratedRequest,
): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = {};
  if (!request.anonymous && client.cookieHeader) headers.cookie = client.cookieHeader;
  if (operation.method !== 'GET') headers.origin = ORIGIN;
  const hasBody = request.body !== undefined;
  if (hasBody) headers['content-type'] = 'application/json';
  return t.app.inject({
    method: operation.method as 'GET',
    url: urlOf(operation, request),
    headers,
    remoteAddress: client.ip,
    ...(hasBody ? { payload: toJson(request.body) } : {}),
  });
}

/**
 * Checks responses against the document: the status is declared for the operation, the
 * content type is one declared for that status, and a JSON body validates against its schema.
 */
export class ResponseChecker {
  private readonly ajv: Ajv2020;
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(doc: OpenApiDocument) {
    this.ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: true });
    addFormats(this.ajv);
    this.ajv.addSchema({ $id: 'cairn-openapi', components: doc.components });
  }

  /** What is wrong with `res` as a response of `operation`, or null. Each problem has a class. */
  problemOf(operation: Operation, res: LightMyRequestResponse): { kind: string; detail: string } | null {
    const status = String(res.statusCode);
    if (res.statusCode >= 500) return { kind: `server error ${status}`, detail: res.body.slice(0, 300) };
    const declared =
      operation.op.responses[status] ??
      operation.op.responses[`${status[0]}XX`] ??
      operation.op.responses.default;
    if (!declared) return { kind: `undeclared status ${status}`, detail: res.body.slice(0, 300) };
    const contentType = String(res.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim();
    const content = declared.content ?? {};
    if (Object.keys(content).length === 0) {
      return res.body === ''
        ? null
        : { kind: `undeclared body on ${status}`, detail: res.body.slice(0, 200) };
    }
    const media = content[contentType];
    if (!media)
      return {
        kind: `undeclared content type ${contentType || '(none)'} on ${status}`,
        detail: `declared: ${Object.keys(content).join(', ')}`,
      };
    if (!contentType.includes('json') || !media.schema) return null;
    let body: unknown;
    try {
      body = JSON.parse(res.body);
    } catch {
      return { kind: `invalid JSON on ${status}`, detail: res.body.slice(0, 200) };
    }
    const validate = this.validatorFor(`${operation.id} ${status} ${contentType}`, media.schema);
    if (validate(body)) return null;
    return {
      kind: `body breaks schema on ${status}`,
      detail: `${this.ajv.errorsText(validate.errors)}: ${res.body.slice(0, 200)}`,
    };
  }

  private validatorFor(key: string, schema: JsonSchema): ValidateFunction {
    let validate = this.validators.get(key);
    if (!validate) {
      const rebased = JSON.parse(
        JSON.stringify(schema).replaceAll('"#/components/', '"cairn-openapi#/components/'),
      ) as JsonSchema;
      validate = this.ajv.compile(rebased);
      this.validators.set(key, validate);
    }
    return validate;
  }
}

/**
 * A fingerprint of everything an organization holds (a hash of each tenant table's rows for it),
 * to check that a refused request changed nothing. Left out: what background jobs derive from
 * earlier requests while the walk runs (event deliveries, the duplicates finder's keys, pairs,
 * marks and scan state, webhook deliveries and their attempts, Meta's intake ledger of deliveries,
 * which keeps a refused forged delivery on purpose), the idempotency cache, and the
 * guard's rolling counters (which count refused requests: that is their job), and the ops
 * console's counters (API usage per hour, integration health and its alerts: they count every
 * request and every failed delivery, refused ones included).
 */
export async function organizationFingerprint(t: TestApp, orgId: string): Promise<string> {
  const { rows: tables } = await t.services.database.raw.query<{ table_name: string }>(
    `select table_name from information_schema.columns
      where table_schema = 'public' and column_name = 'org_id'
        and table_name not in ('event_deliveries', 'idempotency_keys')
        and table_name not in ('duplicate_keys', 'duplicate_pairs', 'duplicate_dirty', 'duplicate_scans')
        and table_name not in ('guard_counters', 'webhook_deliveries', 'webhook_attempts')
        and table_name not in ('meta_deliveries')
        and table_name not in ('api_usage_hours', 'integration_health', 'integration_health_hours', 'ops_alerts')
      order by table_name`,
  );
  const parts = tables.map(
    (r) =>
      `(select md5(coalesce(string_agg(x::text, ',' order by x::text), '')) from "${r.table_name}" x where x.org_id = $1)`,
  );
  const { rows } = await t.services.database.raw.query<{ fp: string }>(
    `select concat_ws('|', ${parts.join(', ')}) as fp`,
    [orgId],
  );
  return rows[0]!.fp;
}
