import { createSerializerCompiler } from 'fastify-type-provider-zod';

type SerializerCompiler = ReturnType<typeof createSerializerCompiler>;

const passThroughSchemas = new WeakSet<object>();

/**
 * Marks a response schema whose encoding could neither change nor refuse what its handler
 * returns (issue 18, throughput): a list page is `{data: record[], next_cursor}`, where each record
 * is an open map that the query compiler built from the registry, so zod's encode of 50 rows only
 * copied them (0.28 ms of a list request's CPU, as much as JSON.stringify itself). Such a response is
 * sent with JSON.stringify alone. The schema stays in the OpenAPI document, and the API fuzzer
 * still checks every response against it (server/test/api-fuzz.test.ts).
 * Never use it on a schema that strips keys (a `z.object` of a record with private columns).
 */
export function passThrough<T extends object>(schema: T): T {
  passThroughSchemas.add(schema);
  return schema;
}

const zodSerializer = createSerializerCompiler({});

/** Fastify's serializer compiler: zod's encode, except for `passThrough` schemas. */
export const responseSerializer: SerializerCompiler = (route) =>
  passThroughSchemas.has(route.schema as object)
    ? (data: unknown) => JSON.stringify(data)
    : zodSerializer(route);
