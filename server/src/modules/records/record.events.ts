import { z } from 'zod';
import {
  type CatalogueOf,
  defineEvent,
  RecordName,
  registerEvents,
} from '../../platform/events/event-catalogue.js';
import { standardRecordEvents } from '../../platform/events/record-events.js';

const standard = standardRecordEvents('record');

/**
 * The events of custom objects' records (issue 21): one set of types for every custom object,
 * the object in the event's `subject.object` (`property`), so timelines, webhooks and workflows
 * read them like any record's.
 */
export const recordEvents = registerEvents({
  'record.created': defineEvent({
    summary: 'A record of a custom object was created (`subject.object` is the object’s key)',
    data: z.object({ name: RecordName }),
    describe: ({ actor, what }) => `${actor} created ${what}`,
  }),
  'record.updated': standard.updated,
  'record.archived': standard.archived,
  'record.restored': standard.restored,
  'record.deleted': standard.deleted,
});

declare module '../../platform/events/event-catalogue.js' {
  interface EventCatalogue extends CatalogueOf<typeof recordEvents> {}
}
