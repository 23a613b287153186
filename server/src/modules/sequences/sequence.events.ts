import { z } from 'zod';
import { type CatalogueOf, defineEvent, registerEvents } from '../../platform/events/event-catalogue.js';

const SequenceData = z.object({ name: z.string() });
const EnrollmentData = z.object({
  /** The contact's name. */
  name: z.string().nullable(),
  sequence_id: z.string(),
  sequence_name: z.string(),
  enrollment_id: z.string(),
  /** Why it ended: replied, bounced, unsubscribed, suppressed, meeting_booked, opportunity_closed, removed, manual, finished. */
  reason: z.string().optional(),
});
const quoted = (name: string) => `sequence “${name}”`;

/**
 * The outreach events (issue 25): a sequence's own changes have the sequence as subject; an
 * enrollment's have the contact, so they are on its timeline.
 */
export const sequenceEvents = registerEvents({
  'sequence.created': defineEvent({
    summary: 'A sequence was created',
    data: SequenceData,
    describe: ({ actor, data }) => `${actor} created the ${quoted(data.name)}`,
  }),
  'sequence.updated': defineEvent({
    summary: 'A sequence’s name, status, settings or steps changed',
    data: SequenceData,
    describe: ({ actor, data }) => `${actor} edited the ${quoted(data.name)}`,
  }),
  'sequence.archived': defineEvent({
    summary: 'A sequence was archived: its active enrollments ended (`removed`)',
    data: SequenceData,
    describe: ({ actor, data }) => `${actor} archived the ${quoted(data.name)}`,
  }),
  'sequence.enrolled': defineEvent({
    summary: 'A contact was enrolled in a sequence',
    data: EnrollmentData,
    describe: ({ actor, what, data }) => `${actor} enrolled ${what} in the ${quoted(data.sequence_name)}`,
  }),
  'sequence.ended': defineEvent({
    summary:
      'A contact’s enrollment ended: every step done (`finished`) or an exit rule (`reason`: a reply, a bounce, an unsubscribe, a meeting, ...)',
    data: EnrollmentData,
    describe: ({ what, data }) =>
      `${capital(what)} left the ${quoted(data.sequence_name)} (${(data.reason ?? 'finished').replaceAll('_', ' ')})`,
  }),
  'sequence.paused': defineEvent({
    summary: 'A contact’s enrollment was paused or resumed (`reason`: paused, resumed)',
    data: EnrollmentData,
    describe: ({ actor, what, data }) =>
      `${actor} ${data.reason === 'resumed' ? 'resumed' : 'paused'} ${what} in the ${quoted(data.sequence_name)}`,
  }),
});

function capital(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

declare module '../../platform/events/event-catalogue.js' {
  interface EventCatalogue extends CatalogueOf<typeof sequenceEvents> {}
}
