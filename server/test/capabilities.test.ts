import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPS_BY_TYPE } from '../src/platform/query/query.fields.js';
import type { FieldDef, ObjectDef } from '../src/platform/registry/registry.types.js';
import { STANDARD_OBJECTS } from '../src/platform/registry/standard-objects.js';
import { type Client, expectStatus, signUp, startTestApp, type TestApp } from './kit/index.js';

// Every generic capability (list, query, search, export, bulk, timeline, saved views) for every
// object of the registry, generated from the registry: a new object is covered without a line
// here. An object whose collection lacks the generic record routes is listed below until it has
// them (the last test fails when a listed one gets them: shrink the list).

/**
 * Objects not served by the generic record routes yet (`/<collection>/query`, `/export`, `/bulk`,
 * `/{id}/timeline`): tasks and notes have their own list and CRUD routes only.
 */
const KNOWN_WITHOUT_GENERIC_ROUTES = ['note', 'task'];

type Description = {
  key: string;
  label_plural: string;
  custom_object?: unknown;
  display: { fields: string[]; fallback: string[]; empty: string; columns: string[] };
  fields: { key: string; type: FieldDef['type']; filterable: boolean; storage: string; retired: boolean }[];
};
type Row = { id: string; [key: string]: unknown };

let t: TestApp;
let client: Client;
let paths: Set<string>;
let descriptions: Map<string, Description>;
beforeAll(async () => {
  t = await startTestApp();
  ({ client } = await signUp(t, 'Capabilities Co'));
  const doc = expectStatus<{ paths: Record<string, unknown> }>(await client.get('/api/openapi.json'), 200);
  paths = new Set(Object.keys(doc.paths));
  // A custom object (issue 21) with a field of each kind: it must support everything too.
  expectStatus(
    await client.post('/api/v1/objects', { key: CUSTOM, label_singular: 'Gadget', label_plural: 'Gadgets' }),
    201,
  );
  for (const field of [
    { label: 'Serial', type: 'text' },
    { label: 'Weight', type: 'number' },
    { label: 'Made on', type: 'date' },
    { label: 'Contact mail', type: 'email' },
    { label: 'Active', type: 'boolean' },
    { label: 'Colour', type: 'select', options: [{ value: 'red', label: 'Red' }] },
  ])
    expectStatus(await client.post(`/api/v1/objects/${CUSTOM}/fields`, field), 201, field.label);
  const objects = expectStatus<{ data: Description[] }>(await client.get('/api/v1/objects'), 200).data;
  descriptions = new Map(objects.map((o) => [o.key, o]));
});
afterAll(() => t?.close());

/** The custom object this file defines. */
const CUSTOM = 'gadget';

/**
 * The object's URL collection: its plural label, lower-cased (`Contacts` -> `contacts`); a custom
 * object's records are under `records/<key>`.
 */
const collectionOf = (d: Pick<Description, 'label_plural' | 'key' | 'custom_object'>) =>
  d.custom_object ? `records/${d.key}` : d.label_plural.toLowerCase().replace(/ /g, '-');
const hasGenericRoutes = (collection: string) =>
  ['/query', '/export', '/bulk', '/{id}/timeline'].every((suffix) =>
    paths.has(`/api/v1/${collection.replace(/^records\/.*$/, 'records/{object}')}${suffix}`),
  );

/** A value of a field's type that its create accepts; `token` makes text findable. */
function sampleValue(type: FieldDef['type'], token: string): unknown {
  if (type === 'email') return `${token}@capabilities.test`;
  if (type === 'phone') return '+12025550143';
  if (type === 'url') return `https://${token}.test`;
  if (type === 'number' || type === 'currency') return 7;
  if (type === 'date') return '2024-05-01';
  if (type === 'datetime') return '2024-05-01T10:00:00.000Z';
  if (type === 'boolean') return true;
  return `Cap ${token}`;
}

/**
 * A condition on `field` that the record holding `value` meets: equality (ranges for dates,
 * whose values come back rounded), `hasAll` for lists, `isEmpty` when it holds nothing.
 */
function conditionFor(field: Description['fields'][number], value: unknown) {
  const ops = OPS_BY_TYPE[field.type];
  if (value === null || value === undefined || (Array.isArray(value) && value.length === 0))
    return { field: field.key, op: 'isEmpty' };
  if (ops.includes('hasAll')) return { field: field.key, op: 'hasAll', value };
  if (field.type === 'date' || field.type === 'datetime') return { field: field.key, op: 'gte', value };
  if (field.type === 'number' || field.type === 'currency')
    return { field: field.key, op: 'eq', value: Number(value) };
  return { field: field.key, op: 'eq', value };
}

describe('every registry object supports every generic capability', () => {
  it.for([...Object.values(STANDARD_OBJECTS).map((o: ObjectDef) => o.key), CUSTOM])(
    '%s',
    async (key, ctx) => {
      const description = descriptions.get(key)!;
      expect(description, `GET /api/v1/objects lists ${key}`).toBeDefined();
      const collection = collectionOf(description);
      if (!hasGenericRoutes(collection)) {
        expect(KNOWN_WITHOUT_GENERIC_ROUTES, `${key} has no generic record routes`).toContain(key);
        ctx.skip();
      }
      const base = `/api/v1/${collection}`;
      // Two unrelated words, so that a search for one does not find the other by similarity.
      const tokens = [1, 2].map(() => `zq${randomBytes(5).toString('hex')}`);
      const byKey = new Map(description.fields.map((f) => [f.key, f]));
      const custom = Boolean(description.custom_object);
      /** A field's value on a row: custom fields' under `custom`. */
      const fieldValue = (row: Row, field: Description['fields'][number]) =>
        field.storage === 'custom'
          ? (row.custom as Record<string, unknown> | undefined)?.[field.key]
          : row[field.key];

      // Create two records from the registry: its display fields and its required ones.
      const made: Row[] = [];
      for (const token of tokens) {
        const values = Object.fromEntries(
          description.display.fields.map((k) => [k, sampleValue(byKey.get(k)!.type, token)]),
        );
        const body = custom ? { custom: values } : values;
        made.push(expectStatus<Row>(await client.post(base, body), 201, `create ${key}`));
      }
      const [first, second] = made as [Row, Row];
      const ids = made.map((r) => r.id);

      // List.
      const listed = expectStatus<{ data: Row[] }>(await client.get(`${base}?limit=200`), 200);
      expect(listed.data.map((r) => r.id)).toEqual(expect.arrayContaining(ids));

      // Bulk: tag (where the object has tags), so the tags filter below meets a value.
      const tagsField = description.fields.find((f) => f.type === 'tags' && f.storage === 'column');
      if (tagsField) {
        const tagged = await client.post(`${base}/bulk`, { ids, action: 'add_tags', tags: ['capable'] });
        expect(expectStatus(tagged, 200)).toEqual({ matched: 2, changed: 2 });
      }

      // Query: a condition on every filterable field that the first record meets finds it.
      const filterable = description.fields.filter((f) => f.filterable && !f.retired);
      expect(filterable.length).toBeGreaterThan(0);
      const selected = await client.post(`${base}/query`, {
        filter: { field: 'id', op: 'eq', value: first.id },
        fields: filterable.map((f) => f.key),
      });
      const record = expectStatus<{ data: Row[] }>(selected, 200).data[0]!;
      for (const field of filterable) {
        const condition = conditionFor(field, fieldValue(record, field));
        const res = await client.post(`${base}/query`, {
          filter: { and: [{ field: 'id', op: 'eq', value: first.id }, condition] },
        });
        const page = expectStatus<{ data: Row[] }>(
          res,
          200,
          `${key}.${field.key} ${JSON.stringify(condition)}`,
        );
        expect(
          page.data.map((r) => r.id),
          `${key}.${field.key} ${JSON.stringify(condition)}`,
        ).toEqual([first.id]);
      }

      // Search with q, where the object has an indexed search.
      if (STANDARD_OBJECTS[key]?.indexedSearch ?? custom) {
        const found = expectStatus<{ data: Row[] }>(await client.get(`${base}?q=${tokens[0]}`), 200);
        expect(found.data.map((r) => r.id)).toEqual([first.id]);
      }

      // Export, CSV and JSON lines: every record, its name in it.
      const csv = await client.get(`${base}/export?format=csv`);
      expect(csv.status).toBe(200);
      for (const token of tokens) expect(csv.text).toContain(token);
      const jsonl = await client.get(`${base}/export?format=jsonl`);
      expect(jsonl.status).toBe(200);
      const lines = jsonl.text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Row);
      expect(lines.map((r) => r.id)).toEqual(expect.arrayContaining(ids));

      // Timeline: the creation is on it.
      const timeline = expectStatus<{ data: { type: string }[] }>(
        await client.get(`${base}/${first.id}/timeline`),
        200,
      );
      expect(timeline.data.map((e) => e.type)).toContain(custom ? 'record.created' : `${key}.created`);

      // A saved view of the object: its query and the registry's default columns.
      const view = await client.post('/api/v1/views', {
        object: key,
        name: `Capable ${key}`,
        query: { filter: { field: 'id', op: 'eq', value: second.id } },
        columns: description.display.columns,
      });
      const saved = expectStatus<{ id: string; columns: string[] }>(view, 201, `view of ${key}`);
      expect(saved.columns).toEqual(description.display.columns);
      const views = expectStatus<{ data: { id: string }[] }>(
        await client.get(`/api/v1/views?object=${key}`),
        200,
      );
      expect(views.data.map((v) => v.id)).toContain(saved.id);

      // Bulk archive (where the object has an archived state), then restore.
      if (byKey.has('archived_at')) {
        expect(
          expectStatus(await client.post(`${base}/bulk`, { ids: [second.id], action: 'archive' }), 200),
        ).toEqual({ matched: 1, changed: 1 });
        const archived = expectStatus<Row>(await client.get(`${base}/${second.id}`), 200);
        expect(archived.archived_at).not.toBeNull();
        expect(
          expectStatus(await client.post(`${base}/bulk`, { ids: [second.id], action: 'restore' }), 200),
        ).toEqual({ matched: 1, changed: 1 });
      }
    },
  );

  it('lists as lacking the generic routes only objects that still lack them', () => {
    const still = KNOWN_WITHOUT_GENERIC_ROUTES.filter((key) => {
      const d = descriptions.get(key);
      return d && !hasGenericRoutes(collectionOf(d));
    });
    expect(still).toEqual(KNOWN_WITHOUT_GENERIC_ROUTES);
  });
});
