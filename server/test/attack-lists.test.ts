import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedPath, signUp, startTestApp, type TestApp } from './kit/index.js';
import {
  deref,
  type JsonSchema,
  jsonBodySchema,
  type OpenApiDocument,
  type Operation,
  operationsOf,
  organizationFingerprint,
  parametersOf,
  type Seed,
  sampleOf,
  sampleRequired,
  seededParam,
  seedOrganization,
  send,
} from './openapi-walk.js';

/**
 * The real attack lists of `../shared/data/security/` (XSS, SQL and NoSQL injection, CSV
 * injection, the big list of naughty strings) sent through every string field of every write
 * operation's body and every query parameter of every operation, walking `/api/openapi.json` so a
 * new route is covered. No answer may be a 5xx, and a refused request (4xx) must leave everything
 * the organization holds as it was.
 *
 * Bounded and deterministic: PER_LIST payloads from each list (evenly spaced through the file);
 * each target (a field or parameter) gets one payload of each family, rotating through that
 * family's sample, so every sampled payload is sent and every family reaches every target.
 */
const PER_LIST = 12;
const SECURITY = sharedPath('security/');

type Family = { name: string; payloads: string[] };

/** Every `count`-th line of a list, evenly spaced, blank lines skipped. */
function evenlySampled(lines: string[], count: number): string[] {
  const kept = lines.filter((l) => l.trim() !== '');
  if (kept.length <= count) return kept;
  return Array.from({ length: count }, (_, i) => kept[Math.floor((i * kept.length) / count)]!);
}

function listsIn(dir: string): string[][] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .map((f) => evenlySampled(readFileSync(`${dir}/${f}`, 'utf8').split(/\r?\n/), PER_LIST));
}

/** The attack families, read from the shared data (see its MANIFEST.md). */
function attackFamilies(): Family[] {
  const pat = `${SECURITY}payloadsallthethings/`;
  const blns = JSON.parse(readFileSync(`${SECURITY}blns/blns.json`, 'utf8')) as string[];
  return [
    { name: 'xss', payloads: listsIn(`${pat}xss`).flat() },
    { name: 'sqli', payloads: listsIn(`${pat}sqli`).flat() },
    { name: 'nosqli', payloads: listsIn(`${pat}nosqli`).flat() },
    { name: 'csv-injection', payloads: listsIn(`${SECURITY}csv-injection`).flat() },
    { name: 'blns', payloads: evenlySampled(blns, PER_LIST * 5) },
  ];
}

type Target =
  | { operation: Operation; where: 'body'; path: (string | number)[]; body: unknown }
  | { operation: Operation; where: 'query'; name: string };

/** A valid-looking id for a uuid field, by its name: `company_id` -> the seeded company. */
function seededIdFor(seed: Seed, field: string): string {
  if (/^(owner|assignee)_id$/.test(field)) return seed.values.userId!;
  if (field === 'stage_id') return seed.values.stageId!;
  const stem = field.replace(/_ids?$/, '');
  const plural = stem.endsWith('y') ? `${stem.slice(0, -1)}ies` : `${stem}s`;
  return seed.values[plural] ?? seed.values.contacts!;
}

/** The sample body with its uuids replaced by seeded ids, so a payload gets past the lookups. */
function seededBody(seed: Seed, value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => seededBody(seed, v, key));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, seededBody(seed, v, k)]));
  if (typeof value === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-/.test(value)) return seededIdFor(seed, key);
  return value;
}

/** The paths of the string leaves of a sample body (`emails.0.value`, `address.city`). */
function stringLeaves(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value === 'string') return [prefix];
  if (Array.isArray(value)) return value.flatMap((v, i) => stringLeaves(v, [...prefix, i]));
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => stringLeaves(v, [...prefix, k]));
  return [];
}

function withValue(body: unknown, path: (string | number)[], value: string): unknown {
  const copy = structuredClone(body) as Record<string | number, unknown>;
  let parent = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  parent[path[path.length - 1]!] = value;
  return copy;
}

let t: TestApp;
let doc: OpenApiDocument;
let seed: Seed;
beforeAll(async () => {
  t = await startTestApp();
  doc = (await t.client().get('/api/openapi.json')).body;
  seed = await seedOrganization(t);
});
afterAll(() => t?.close());

describe('the attack lists', () => {
  it('never get a 5xx through any string field or query parameter, and a refused one changes nothing', {
    timeout: 1_200_000, // the walk grows with every route and field: 603 s on the embedded database in CI on 2026-12-07
  }, async () => {
    const families = attackFamilies();
    for (const f of families) expect(f.payloads.length, f.name).toBeGreaterThan(5);
    const scratch = (await signUp(t, 'Attack Scratch')).client;
    const targets: Target[] = [];
    for (const operation of operationsOf(doc)) {
      for (const p of parametersOf(operation.op, 'query'))
        targets.push({ operation, where: 'query', name: p.name });
      const schema = jsonBodySchema(operation.op);
      if (!schema) continue;
      // The payload goes into a body that is otherwise as small and valid as the sample allows:
      // the required fields, plus the one top-level field that holds the target.
      const full = seededBody(seed, sampleOf(doc, deref(doc, schema) as JsonSchema)) as Record<
        string,
        unknown
      >;
      const required = seededBody(seed, sampleRequired(doc, schema)) as Record<string, unknown>;
      for (const path of stringLeaves(full)) {
        const body = { ...required, [path[0]!]: full[path[0] as string] };
        targets.push({ operation, where: 'body', path, body });
      }
    }

    const findings: string[] = [];
    const next = new Map(families.map((f) => [f.name, 0]));
    let requests = 0;
    let refused = 0;
    for (const target of targets) {
      const { operation } = target;
      const isPublic = Array.isArray(operation.op.security) && operation.op.security.length === 0;
      const client = isPublic
        ? t.client()
        : ['createOrganization', 'switchActiveOrganization'].includes(operation.id)
          ? scratch
          : seed.admin;
      const path = Object.fromEntries(
        parametersOf(operation.op, 'path').map((p) => [p.name, seededParam(seed, operation.path, p.name)]),
      );
      for (const family of families) {
        const i = next.get(family.name)!;
        next.set(family.name, i + 1);
        const payload = family.payloads[i % family.payloads.length]!;
        const request =
          target.where === 'query'
            ? { path, query: { [target.name]: payload }, body: undefined, anonymous: false }
            : { path, query: {}, body: withValue(target.body, target.path, payload), anonymous: false };
        const before = await organizationFingerprint(t, seed.orgId);
        const where = target.where === 'query' ? `query.${target.name}` : `body.${target.path.join('.')}`;
        const label = `${operation.id} ${where} <- ${family.name} ${JSON.stringify(payload).slice(0, 60)}`;
        requests++;
        const res = await send(t, client, operation, request).catch((error: Error) => error);
        if (res instanceof Error) {
          findings.push(`${label}: the response was cut off (${res.message})`);
        } else if (res.statusCode >= 500) {
          findings.push(`${label}: ${res.statusCode} ${res.body.slice(0, 160)}`);
        } else if (res.statusCode >= 400) {
          refused++;
          if ((await organizationFingerprint(t, seed.orgId)) !== before)
            findings.push(`${label}: refused with ${res.statusCode} but the organization changed`);
        }
      }
    }
    console.log(
      `attack-lists: ${requests} requests, ${targets.length} targets (fields and parameters), ` +
        `${families.map((f) => `${f.name} ${f.payloads.length}`).join(', ')} payloads; ` +
        `${refused} refused, ${findings.length} findings`,
    );
    expect(findings).toEqual([]);
  });
});
