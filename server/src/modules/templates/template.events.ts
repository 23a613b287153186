import { z } from 'zod';
import { type CatalogueOf, defineEvent, registerEvents } from '../../platform/events/event-catalogue.js';

/** Templates (issue 21): an admin applied one (`subject` is the organization's applied-template row). */
export const templateEvents = registerEvents({
  'template.applied': defineEvent({
    summary: 'An admin applied a template: the objects and roles it created (views, queues and fields too)',
    data: z.object({
      key: z.string(),
      name: z.string(),
      objects: z.array(z.string()),
      roles: z.array(z.string()),
    }),
    describe: ({ actor, data }) =>
      `${actor} applied the template ${data.name}${data.objects.length ? ` (${data.objects.join(', ')})` : ''}`,
  }),
});

declare module '../../platform/events/event-catalogue.js' {
  interface EventCatalogue extends CatalogueOf<typeof templateEvents> {}
}
