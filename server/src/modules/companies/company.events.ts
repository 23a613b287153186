import { z } from 'zod';
import {
  type CatalogueOf,
  defineEvent,
  RecordName,
  registerEvents,
} from '../../platform/events/event-catalogue.js';
import { mergeEvents, NamedData, standardRecordEvents } from '../../platform/events/record-events.js';

const standard = standardRecordEvents('company');
const merges = mergeEvents('company');

/** The company events (the `company` object's catalogue). */
export const companyEvents = registerEvents({
  'company.created': defineEvent({
    summary: 'A company was created (by hand, the API or an import)',
    data: NamedData,
    describe: ({ actor, what }) => `${actor} created ${what}`,
  }),
  'company.updated': standard.updated,
  'company.archived': defineEvent({
    summary: 'A company was archived; its contact links were removed (`unlinked_contacts`)',
    data: z.object({ name: RecordName, unlinked_contacts: z.array(z.string()) }),
    describe: ({ actor, what }) => `${actor} archived ${what}`,
  }),
  'company.restored': standard.restored,
  'company.deleted': standard.deleted,
  'company.merged': merges.merged,
  'company.merge_undone': merges.merge_undone,
});

declare module '../../platform/events/event-catalogue.js' {
  interface EventCatalogue extends CatalogueOf<typeof companyEvents> {}
}
