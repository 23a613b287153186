import { z } from 'zod';
import { eventCatalogue } from './event-catalogue.js';

/** `contact.company_linked` -> `onContactCompanyLinked`: the operationId of an event's entry. */
const operationIdOf = (type: string) =>
  `on${type
    .split(/[._]/)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('')}`;

/** The JSON schema of the event envelope (DESIGN invariant 6) around one type's data. */
function envelopeSchema(type: string, data: z.ZodType): object {
  const { $schema: _, ...dataSchema } = z.toJSONSchema(data, { io: 'input', unrepresentable: 'any' });
  return {
    type: 'object',
    required: ['id', 'org_id', 'type', 'version', 'occurred_at', 'actor', 'subject', 'data', 'trace_id'],
    properties: {
      id: { type: 'string', format: 'uuid' },
      org_id: { type: 'string', format: 'uuid' },
      type: { type: 'string', const: type },
      version: { type: 'integer' },
      occurred_at: { type: 'string', description: 'When it happened (ISO 8601)' },
      actor: {
        type: 'object',
        required: ['type', 'id'],
        properties: {
          type: { type: 'string', enum: ['user', 'api_key', 'workflow', 'system', 'import'] },
          id: { type: ['string', 'null'] },
        },
      },
      subject: {
        type: 'object',
        required: ['object', 'id'],
        properties: { object: { type: 'string' }, id: { type: 'string' } },
      },
      data: dataSchema,
      trace_id: { type: ['string', 'null'] },
    },
  };
}

/**
 * The event reference, generated from the catalogue: one OpenAPI 3.1 `webhooks` entry per event
 * type, with its summary and its envelope (the `data` schema is the catalogue's). It documents
 * what event consumers (webhooks, workflows) receive.
 */
export function eventWebhooks() {
  return Object.fromEntries(
    eventCatalogue().map(([type, definition]) => [
      type,
      {
        post: {
          operationId: operationIdOf(type),
          tags: ['events'],
          summary: definition.summary,
          requestBody: {
            required: true,
            content: { 'application/json': { schema: envelopeSchema(type, definition.data) } },
          },
          responses: { '200': { description: 'Received' } },
        },
      },
    ]),
  );
}
