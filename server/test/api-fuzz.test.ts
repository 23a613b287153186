import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, startTestApp, type TestApp } from './harness.js';
import {
  edgeCasesFor,
  type GenerationContext,
  type OpenApiDocument,
  type Operation,
  operationsOf,
  ResponseChecker,
  requestsFor,
  type Seed,
  seedOrganization,
  send,
} from './openapi-walk.js';

/**
 * Property-based fuzzing of every operation of `/api/openapi.json`: requests generated from the
 * document's own schemas (valid ones and broken ones), each response checked against what the
 * document declares for that operation. Bounded (RUNS per operation) and reproducible (SEED).
 */
const SEED = 20_261_206;
const RUNS = 20;

/** Operations that change the caller's session: fuzzed with a session of their own. */
const SESSION_CHANGING = new Set(['createOrganization', 'switchActiveOrganization']);

let t: TestApp;
let doc: OpenApiDocument;
let seed: Seed;
beforeAll(async () => {
  t = await startTestApp();
  doc = (await t.client().get('/api/openapi.json')).body;
  seed = await seedOrganization(t);
});
afterAll(() => t?.close());

/** A request as a short line: long strings cut to 40 characters. */
const summarize = (request: unknown) =>
  JSON.stringify(request, (_k, v) =>
    typeof v === 'string' && v.length > 40 ? `${v.slice(0, 40)}…(${v.length})` : v,
  );

/** Reads first, then writes, then deletions: a deleted seed makes later requests 404 only. */
const order = (o: Operation) => (o.method === 'GET' ? 0 : o.method === 'DELETE' ? 2 : 1);

describe('the OpenAPI document tells the truth', () => {
  it(`answers ${RUNS} generated requests per operation as the document declares, and never with a 5xx`, {
    timeout: 240_000,
  }, async () => {
    const ctx: GenerationContext = { doc, knownIds: seed.knownIds };
    const scratch = (await signUp(t, 'Fuzz Scratch')).client;
    const operations = operationsOf(doc).sort((a, b) => order(a) - order(b));
    const checker = new ResponseChecker(doc);
    const findings = new Map<string, string[]>();
    let requests = 0;
    const bands = new Map<string, number>();
    const timings: [string, number][] = [];
    for (const operation of operations) {
      const started = performance.now();
      const isPublic = Array.isArray(operation.op.security) && operation.op.security.length === 0;
      const generated = [
        ...edgeCasesFor(ctx, seed, operation),
        ...fc.sample(requestsFor(ctx, seed, operation), { seed: SEED, numRuns: RUNS }),
      ];
      for (const request of generated) {
        // Public operations go without a session (sign-up would replace the admin's cookie).
        const client = isPublic ? t.client() : SESSION_CHANGING.has(operation.id) ? scratch : seed.admin;
        requests++;
        const res = await send(t, client, operation, request).catch((error: Error) => error);
        const band = res instanceof Error ? 'cut' : `${String(res.statusCode)[0]}xx`;
        bands.set(band, (bands.get(band) ?? 0) + 1);
        const problem =
          res instanceof Error
            ? { kind: 'response cut off', detail: res.message }
            : checker.problemOf(operation, res);
        if (problem) {
          const key = `${operation.id} (${operation.method} ${operation.path}): ${problem.kind}`;
          const list = findings.get(key) ?? [];
          if (list.length < 2) list.push(`${summarize(request)} -> ${problem.detail.slice(0, 200)}`);
          findings.set(key, list);
        }
      }
      timings.push([operation.id, performance.now() - started]);
    }
    if (process.env.FUZZ_TIMINGS) {
      const slowest = timings.sort((a, b) => b[1] - a[1]).slice(0, 15);
      console.log(slowest.map(([id, ms]) => `${id} ${ms.toFixed(0)} ms`).join('\n'));
    }
    console.log(
      `api-fuzz: ${requests} requests over ${operations.length} operations ` +
        `(${[...bands]
          .sort()
          .map(([band, n]) => `${band} ${n}`)
          .join(', ')}), ${findings.size} findings`,
    );
    expect(Object.fromEntries(findings)).toEqual({});
  });
});
