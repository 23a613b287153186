import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
// The app registers every module's event types: the catalogue as the server has it.
import '../src/app.js';
import { describeEvent } from '../src/modules/timeline/timeline.service.js';
import { eventCatalogue } from '../src/platform/events/event-catalogue.js';
import type { FieldDef, ObjectDef } from '../src/platform/registry/registry.types.js';
import { STANDARD_OBJECTS } from '../src/platform/registry/standard-objects.js';
import { signUp, startTestApp, type TestApp } from './harness.js';

/** A tenant's custom field, as the registry describes it. */
const customField = (key: string, label: string): FieldDef => ({
  ...STANDARD_OBJECTS.contact!.fields.find((f) => f.key === 'first_name')!,
  key,
  label,
  storage: { kind: 'custom' },
  origin: 'custom',
});
const STAPLER = customField('stapler_colour', 'Stapler colour');

/** The tenant's registry: every standard object with a custom field, and a custom object. */
const DEFS: Record<string, ObjectDef> = {
  ...Object.fromEntries(
    Object.values(STANDARD_OBJECTS).map((def) => [
      def.key,
      def.activity ? def : { ...def, fields: [...def.fields, STAPLER] },
    ]),
  ),
  intended_parent: {
    ...STANDARD_OBJECTS.company!,
    key: 'intended_parent',
    labelSingular: 'Intended parent',
    labelPlural: 'Intended parents',
    fields: [customField('full_name', 'Full name'), STAPLER],
  },
};

/** The object an event of `type` is about: its prefix (a custom object's records share `record.*`). */
const subjectOf = (type: string) => (type.startsWith('record.') ? 'intended_parent' : type.split('.')[0]!);

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  format?: string;
};

/**
 * A representative value of `schema`: every optional key present and nullable values set
 * (`full`), or optional keys left out and nullable values null (`bare`). Records of changes name
 * a real field and a custom field of the subject's object.
 */
function sample(schema: JsonSchema, key: string, mode: 'full' | 'bare', object: string): unknown {
  if ('const' in schema) return schema.const;
  if (schema.enum) return schema.enum[0];
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches) {
    const nonNull = branches.filter((b) => b.type !== 'null');
    if (mode === 'bare' && nonNull.length < branches.length) return null;
    return sample(nonNull[0] ?? {}, key, mode, object);
  }
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (mode === 'bare' && types.includes('null')) return null;
  const type = types.find((t) => t !== 'null');
  switch (type) {
    case 'object': {
      if (schema.properties) {
        const out: Record<string, unknown> = {};
        for (const [k, s] of Object.entries(schema.properties))
          if (mode === 'full' || schema.required?.includes(k)) out[k] = sample(s, k, mode, object);
        return out;
      }
      if (key === 'changes') return changesOf(object);
      const value = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : {};
      return { notes: sample(value, 'notes', mode, object) };
    }
    case 'array':
      return [sample(schema.items ?? {}, key, mode, object)];
    case 'integer':
    case 'number':
      return 3;
    case 'boolean':
      return true;
    case 'string':
      if (schema.format === 'uuid' || key.endsWith('id')) return '0190a6f0-0000-7000-8000-000000000001';
      if (schema.format === 'date-time' || key.endsWith('_at')) return '2026-12-06T09:30:00.000Z';
      return `Sample ${key.replaceAll('_', ' ')}`;
    default:
      return 'Sample value';
  }
}

/** A change of a standard field and of the custom field, as the object's updates record them. */
function changesOf(object: string) {
  const def = DEFS[object];
  if (!def) return { name: { before: 'Old', after: 'New' } };
  const own = def.fields.find((f) => f.origin === 'standard' && !f.readOnly) ?? def.fields[0]!;
  const changes: Record<string, { before: unknown; after: unknown }> = {
    [own.key]: { before: 'Old', after: 'New' },
  };
  if (def.custom) changes[STAPLER.key] = { before: 'red', after: 'blue' };
  else if (!def.activity)
    changes.custom = { before: { [STAPLER.key]: 'red' }, after: { [STAPLER.key]: 'blue' } };
  return changes;
}

/** Why `words` does not read as a sentence about an event of `type`, or nothing. */
function faults(words: string, type: string): string[] {
  const found: string[] = [];
  if (!/^[A-Z]/.test(words)) found.push('does not start with a capital');
  if (words.split(' ').length < 3) found.push('is not a sentence');
  for (const raw of ['undefined', 'null', 'NaN', '[object Object]', type, type.replace('.', ' ')])
    if (words.includes(raw)) found.push(`shows "${raw}"`);
  if (words.replaceAll('_', ' ').toLowerCase().includes(type.replaceAll(/[._]/g, ' ')))
    found.push('shows its type');
  if (/ {2}| [,.)]|\( /.test(words)) found.push('has stray spaces');
  return found;
}

const catalogue = eventCatalogue();

describe('timeline wording', () => {
  it('covers the catalogue the server emits (a guard against walking nothing)', () => {
    expect(catalogue.length).toBeGreaterThan(50);
  });

  for (const [type, definition] of catalogue) {
    const object = subjectOf(type);
    const schema = z.toJSONSchema(definition.data, { io: 'input', unrepresentable: 'any' }) as JsonSchema;

    it(`${type} reads as a sentence, with every detail and with the least`, () => {
      for (const mode of ['full', 'bare'] as const) {
        const data = sample(schema, '', mode, object) as Record<string, unknown>;
        expect(definition.data.safeParse(data).success, `${mode} sample of ${type}`).toBe(true);
        const words = describeEvent({ type, subjectObject: object, data }, 'Ada Admin', DEFS);
        expect(faults(words, type), `${mode}: "${words}"`).toEqual([]);
      }
    });

    if ('changes' in (schema.properties ?? {}) && DEFS[object] && !DEFS[object].activity)
      it(`${type} names a changed custom field by its label`, () => {
        const data = sample(schema, '', 'bare', object) as Record<string, unknown>;
        const words = describeEvent({ type, subjectObject: object, data }, 'Ada Admin', DEFS);
        expect(words).toContain('stapler colour');
        expect(words).not.toMatch(/\bcustom\b/);
      });

    it(`${type} stored in an older shape still reads as a sentence`, () => {
      const words = describeEvent(
        { type, subjectObject: object, data: { unexpected: 1 } },
        'Ada Admin',
        DEFS,
      );
      expect(faults(words, type), `"${words}"`).toEqual([]);
    });
  }
});

describe('a record page’s timeline', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it('names a changed custom field by its label, and a completed task in words', async () => {
    const { client: c } = await signUp(t, 'Wording Co');
    const field = await c.post('/api/v1/objects/contact/fields', { label: 'Stapler colour', type: 'text' });
    expect(field.status).toBe(201);
    const contact = (await c.post('/api/v1/contacts', { first_name: 'Milton' })).body;
    const patched = await c.patch(`/api/v1/contacts/${contact.id}`, {
      custom: { [field.body.key]: 'red' },
    });
    expect(patched.status).toBe(200);
    const task = (
      await c.post('/api/v1/tasks', {
        title: 'Find the stapler',
        link: { object: 'contact', id: contact.id },
      })
    ).body;
    await c.post(`/api/v1/tasks/${task.id}/complete`);
    const words = (await c.get(`/api/v1/contacts/${contact.id}/timeline`)).body.data.map(
      (e: { description: string }) => e.description,
    );
    expect(words).toContain('Ada Admin changed the stapler colour of contact Milton');
    expect(words).toContain('Ada Admin completed task Find the stapler');
  });
});
