import { z } from 'zod';
import { type EventDefinition, eventCatalogue } from '../../platform/events/event-catalogue.js';
import { objectOfType, TRIGGER_ALIASES } from './webhook-types.js';

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  format?: string;
};

const SAMPLE_ID = '0190a6f0-0000-7000-8000-000000000001';
const SAMPLE_TIME = '2026-12-06T09:30:00.000Z';

/** A representative value of a JSON schema, every optional key filled (an example, not a contract). */
function sampleOf(schema: JsonSchema, key: string, depth = 0): unknown {
  if (depth > 6) return null;
  if ('const' in schema) return schema.const;
  if (schema.enum) return schema.enum[0];
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches) return sampleOf(branches.find((b) => b.type !== 'null') ?? {}, key, depth + 1);
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  switch (types.find((t) => t !== 'null')) {
    case 'object':
      if (key === 'changes') return { name: { before: 'Old value', after: 'New value' } };
      return Object.fromEntries(
        Object.entries(schema.properties ?? {}).map(([k, s]) => [k, sampleOf(s, k, depth + 1)]),
      );
    case 'array':
      return [sampleOf(schema.items ?? {}, key, depth + 1)];
    case 'integer':
    case 'number':
      return 1;
    case 'boolean':
      return true;
    case 'string':
      if (schema.format === 'uuid' || key === 'id' || key.endsWith('_id')) return SAMPLE_ID;
      if (schema.format === 'date-time' || key.endsWith('_at')) return SAMPLE_TIME;
      return `Example ${key.replaceAll('_', ' ')}`.trim();
    default:
      return null;
  }
}

/**
 * The trigger catalogue for automation tools (n8n, Zapier, Make): every event type Cairn emits,
 * what it means, the object it is about, and an example of the body a subscriber receives (the
 * event envelope, DESIGN invariant 6), generated from the event catalogue's schemas.
 */
export function triggerCatalogue() {
  const catalogue = eventCatalogue();
  const byType = new Map(catalogue);
  const aliases = Object.entries(TRIGGER_ALIASES).map(([alias, { summary, types }]) => {
    const first = entryOf(types[0]!, byType.get(types[0]!)!);
    return { ...first, event: alias, summary };
  });
  return [...aliases, ...catalogue.map(([type, definition]) => entryOf(type, definition))].sort((a, b) =>
    a.event.localeCompare(b.event),
  );
}

function entryOf(type: string, definition: EventDefinition) {
  const schema = z.toJSONSchema(definition.data, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const object = objectOfType(type);
  return {
    event: type,
    summary: definition.summary,
    object,
    sample: {
      id: '0190a6f0-0000-7000-8000-0000000000e1',
      org_id: '0190a6f0-0000-7000-8000-0000000000a1',
      type,
      version: 1,
      occurred_at: SAMPLE_TIME,
      actor: { type: 'user', id: '0190a6f0-0000-7000-8000-0000000000b1' },
      subject: { object, id: SAMPLE_ID },
      data: (sampleOf(schema, '') as Record<string, unknown> | null) ?? {},
      trace_id: 'example-trace-id',
    },
  };
}
