import { z } from 'zod';
import { type CatalogueOf, defineEvent, registerEvents } from '../../platform/events/event-catalogue.js';

/** A tag's old and new name, and how many records carried it (each gets its own `*.updated`). */
const TagData = z.object({ from: z.string(), to: z.string(), records: z.number().int() });

/** The tag events. */
export const tagEvents = registerEvents({
  'tag.renamed': defineEvent({
    summary: 'A tag was renamed on every record that carries it',
    data: TagData,
    describe: ({ actor, data }) => `${actor} renamed the tag ${data.from} to ${data.to}`,
  }),
  'tag.merged': defineEvent({
    summary: 'A tag was merged into another one on every record that carries it',
    data: TagData,
    describe: ({ actor, data }) => `${actor} merged the tag ${data.from} into ${data.to}`,
  }),
});

declare module '../../platform/events/event-catalogue.js' {
  interface EventCatalogue extends CatalogueOf<typeof tagEvents> {}
}
