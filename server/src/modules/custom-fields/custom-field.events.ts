import { z } from 'zod';
import { type CatalogueOf, defineEvent, registerEvents } from '../../platform/events/event-catalogue.js';

/** Which field: its object and key. */
const FieldData = z.object({ object: z.string(), key: z.string() });

/** The custom field events (settings of an object's custom fields). */
export const customFieldEvents = registerEvents({
  'custom_field.created': defineEvent({
    summary: 'A custom field was added to an object',
    data: FieldData.extend({ label: z.string(), type: z.string() }),
    describe: ({ actor, data }) => `${actor} added the field ${data.label} to ${data.object}s`,
  }),
  'custom_field.updated': defineEvent({
    summary: 'A custom field’s settings changed (`changes`: the settings given)',
    data: FieldData.extend({ changes: z.record(z.string(), z.unknown()) }),
    describe: ({ actor, data }) => `${actor} changed the field ${data.key} of ${data.object}s`,
  }),
  'custom_field.retired': defineEvent({
    summary: 'A custom field was retired: hidden and refused on write, its values kept',
    data: FieldData,
    describe: ({ actor, data }) => `${actor} retired the field ${data.key} of ${data.object}s`,
  }),
  'custom_field.unretired': defineEvent({
    summary: 'A retired custom field was brought back',
    data: FieldData,
    describe: ({ actor, data }) => `${actor} brought back the field ${data.key} of ${data.object}s`,
  }),
  'custom_field.purged': defineEvent({
    summary: 'A retired custom field was purged: its values removed from `records` records',
    data: FieldData.extend({ records: z.number().int() }),
    describe: ({ actor, data }) => `${actor} purged the field ${data.key} of ${data.object}s`,
  }),
});

declare module '../../platform/events/event-catalogue.js' {
  interface EventCatalogue extends CatalogueOf<typeof customFieldEvents> {}
}
