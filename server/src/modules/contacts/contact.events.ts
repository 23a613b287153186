import { z } from 'zod';
import {
  type CatalogueOf,
  defineEvent,
  RecordName,
  registerEvents,
} from '../../platform/events/event-catalogue.js';
import { mergeEvents, standardRecordEvents } from '../../platform/events/record-events.js';

const standard = standardRecordEvents('contact');
const merges = mergeEvents('contact');

/** A contact's link to a company, added or removed. */
const CompanyLinkData = z.object({
  name: RecordName.optional(),
  company_id: z.string(),
  company_name: z.string().optional(),
  /** Why, when the link changed as a side effect: `company_archived`, `company_merged`. */
  reason: z.string().optional(),
});

/** The contact events (the `contact` object's catalogue). */
export const contactEvents = registerEvents({
  'contact.created': defineEvent({
    summary: 'A contact was created (by hand, the API or an import)',
    data: z.object({ name: RecordName, email: z.string().nullable() }),
    describe: ({ actor, what }) => `${actor} created ${what}`,
  }),
  'contact.updated': standard.updated,
  'contact.erased': defineEvent({
    summary:
      "A contact's personal data was erased (GDPR Art. 17): the contact, its notes, tasks and files are gone and " +
      'its history is scrubbed; this tombstone holds no personal data, only how much was removed',
    data: z.object({ removed: z.record(z.string(), z.number()).optional() }),
    describe: ({ actor }) => `${actor} erased the personal data of a contact`,
  }),
  'contact.archived': standard.archived,
  'contact.restored': standard.restored,
  'contact.deleted': standard.deleted,
  'contact.company_linked': defineEvent({
    summary: 'A contact was linked to a company (also on the company’s timeline)',
    data: CompanyLinkData,
    describe: ({ actor, what, data }) =>
      `${actor} linked ${what} to company ${data.company_name ?? ''}`.trimEnd(),
  }),
  'contact.company_unlinked': defineEvent({
    summary: 'A contact’s link to a company was removed (also on the company’s timeline)',
    data: CompanyLinkData,
    describe: ({ actor, what, data }) =>
      `${actor} removed the link between ${what} and company ${data.company_name ?? ''}`.trimEnd(),
  }),
  'contact.converted': defineEvent({
    summary: 'A lead was converted into an opportunity (and linked to a company when one was given)',
    data: z.object({
      name: RecordName,
      opportunity_id: z.string(),
      opportunity_title: z.string(),
      company_id: z.string().nullable(),
    }),
    describe: ({ actor, what, data }) =>
      `${actor} converted ${what} into opportunity ${data.opportunity_title}`.trimEnd(),
  }),
  'contact.merged': merges.merged,
  'contact.merge_undone': merges.merge_undone,
});

declare module '../../platform/events/event-catalogue.js' {
  interface EventCatalogue extends CatalogueOf<typeof contactEvents> {}
}
