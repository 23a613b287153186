import { z } from 'zod';
import { type CatalogueOf, defineEvent, registerEvents } from '../../platform/events/event-catalogue.js';

/** Which object: its key and label. */
const ObjectData = z.object({ key: z.string(), label: z.string() });

/** The custom object events (settings: the objects a tenant defines, issue 21). */
export const customObjectEvents = registerEvents({
  'custom_object.created': defineEvent({
    summary: 'An admin defined a custom object (with its display field)',
    data: ObjectData.extend({ display_field: z.string() }),
    describe: ({ actor, data }) => `${actor} defined the object ${data.label}`,
  }),
  'custom_object.updated': defineEvent({
    summary:
      'A custom object’s labels, icon, description or display field changed (`changes`: the settings given)',
    data: ObjectData.extend({ changes: z.record(z.string(), z.unknown()) }),
    describe: ({ actor, data }) => `${actor} changed the object ${data.label}`,
  }),
  'custom_object.retired': defineEvent({
    summary: 'A custom object was retired: hidden and refusing writes, its records kept',
    data: ObjectData,
    describe: ({ actor, data }) => `${actor} retired the object ${data.label}`,
  }),
  'custom_object.unretired': defineEvent({
    summary: 'A retired custom object was brought back',
    data: ObjectData,
    describe: ({ actor, data }) => `${actor} brought back the object ${data.label}`,
  }),
  'custom_object.purged': defineEvent({
    summary:
      'A retired custom object was purged with an explicit confirmation: its `records` records and `fields` fields deleted',
    data: ObjectData.extend({ records: z.number().int(), fields: z.number().int() }),
    describe: ({ actor, data }) => `${actor} purged the object ${data.label} and its ${data.records} records`,
  }),
});

declare module '../../platform/events/event-catalogue.js' {
  interface EventCatalogue extends CatalogueOf<typeof customObjectEvents> {}
}
