import { z } from 'zod';
import {
  type CatalogueOf,
  defineEvent,
  RecordName,
  RecordRef,
  registerEvents,
} from '../../platform/events/event-catalogue.js';
import { NamedData, standardRecordEvents } from '../../platform/events/record-events.js';

const standard = standardRecordEvents('note');

/** The members a note mentions (`<span data-mention="<user id>">`): on an update, the newly mentioned. */
const Mentions = z.array(z.string()).optional();

/** The note events (the `note` object's catalogue); `name` is the start of its text. On its record's timeline too. */
export const noteEvents = registerEvents({
  'note.created': defineEvent({
    summary: 'A note was written on a record (`mentions`: the members it mentions, who are notified)',
    data: NamedData.extend({ mentions: Mentions }),
    describe: ({ actor, what }) => `${actor} created ${what}`,
  }),
  'note.updated': defineEvent({
    ...standard.updated,
    summary: `${standard.updated.summary}; \`mentions\`: the members newly mentioned (notified)`,
    data: standard.updated.data.extend({ mentions: Mentions }),
  }),
  'note.deleted': standard.deleted,
  'note.relinked': defineEvent({
    summary: 'A note moved to another record (a merge, or its undo)',
    data: z.object({ name: RecordName.optional(), from: RecordRef, to: RecordRef }),
    describe: ({ actor, what, data }) => `${actor} moved ${what} to another ${data.to.object}`,
  }),
});

declare module '../../platform/events/event-catalogue.js' {
  interface EventCatalogue extends CatalogueOf<typeof noteEvents> {}
}
