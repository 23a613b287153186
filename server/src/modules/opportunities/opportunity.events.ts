import { z } from 'zod';
import {
  type CatalogueOf,
  defineEvent,
  RecordName,
  registerEvents,
} from '../../platform/events/event-catalogue.js';
import { standardRecordEvents } from '../../platform/events/record-events.js';

const standard = standardRecordEvents('opportunity');

/** The opportunity events (the `opportunity` object's catalogue); on its contact's and company's timelines too. */
export const opportunityEvents = registerEvents({
  'opportunity.created': defineEvent({
    summary: 'An opportunity was created in a stage',
    data: z.object({
      name: RecordName,
      stage: z.string(),
      amount: z.union([z.number(), z.string()]).nullable(),
      currency: z.string().nullable(),
    }),
    describe: ({ actor, what }) => `${actor} created ${what}`,
  }),
  'opportunity.updated': standard.updated,
  'opportunity.moved': defineEvent({
    summary: 'An opportunity moved to another open stage',
    data: z.object({
      name: RecordName,
      from_stage: z.string(),
      to_stage: z.string(),
      status: z.string().optional(),
      days_in_previous_stage: z.number().optional(),
      /** `stage_deleted` when its stage was deleted. */
      reason: z.string().optional(),
    }),
    describe: ({ actor, what, data }) => `${actor} moved ${what} from ${data.from_stage} to ${data.to_stage}`,
  }),
  'opportunity.closed': defineEvent({
    summary: 'An opportunity was closed as won or lost',
    data: z.object({
      name: RecordName,
      status: z.string(),
      reason: z.string().nullable().optional(),
      from_stage: z.string(),
      to_stage: z.string(),
      days_in_previous_stage: z.number().optional(),
    }),
    describe: ({ actor, what, data }) =>
      `${actor} closed ${what} as ${data.status}${data.reason ? ` (${data.reason})` : ''}`,
  }),
  'opportunity.reopened': defineEvent({
    summary: 'A closed opportunity was reopened in an open stage',
    data: z.object({ name: RecordName, to_stage: z.string() }),
    describe: ({ actor, what, data }) => `${actor} reopened ${what} in ${data.to_stage}`,
  }),
  'opportunity.archived': standard.archived,
  'opportunity.restored': standard.restored,
  'opportunity.deleted': standard.deleted,
});

declare module '../../platform/events/event-catalogue.js' {
  interface EventCatalogue extends CatalogueOf<typeof opportunityEvents> {}
}
