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
  'record.status_changed': defineEvent({
    summary:
      'A status field of a custom object’s record changed (`field`; `from` null for a first status), with the reason given and the days spent in the previous status',
    data: z.object({
      name: RecordName,
      field: z.string(),
      field_label: z.string(),
      from: z.string().nullable(),
      to: z.string(),
      from_label: z.string().nullable(),
      to_label: z.string(),
      to_kind: z.enum(['open', 'done', 'cancelled']),
      reason: z.string().nullable(),
      days_in_previous_status: z.number(),
    }),
    describe: ({ actor, what, data }) =>
      `${actor} moved ${what} ${data.from_label ? `from ${data.from_label} ` : ''}to ${data.to_label}${
        data.reason ? ` (${data.reason})` : ''
      }`,
  }),
});

declare module '../../platform/events/event-catalogue.js' {
  interface EventCatalogue extends CatalogueOf<typeof recordEvents> {}
}
