import { z } from 'zod';
import { type CatalogueOf, defineEvent, registerEvents } from '../../platform/events/event-catalogue.js';

/** The saved view events. */
export const viewEvents = registerEvents({
  'view.created': defineEvent({
    summary: 'A saved view was created',
    data: z.object({ name: z.string() }),
    describe: ({ actor, data }) => `${actor} saved the view ${data.name}`,
  }),
  'view.updated': defineEvent({
    summary: 'A saved view changed',
    data: z.object({ name: z.string() }),
    describe: ({ actor, data }) => `${actor} changed the view ${data.name}`,
  }),
  'view.deleted': defineEvent({
    summary: 'A saved view was deleted',
    data: z.object({}),
    describe: ({ actor }) => `${actor} deleted a view`,
  }),
});

declare module '../../platform/events/event-catalogue.js' {
  interface EventCatalogue extends CatalogueOf<typeof viewEvents> {}
}
