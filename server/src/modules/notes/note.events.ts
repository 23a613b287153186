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

const OUTCOME_WORDS: Record<string, string> = {
  connected: 'connected',
  left_voicemail: 'left a voicemail',
  no_answer: 'no answer',
  busy: 'busy',
  wrong_number: 'wrong number',
};

/** A logged activity's words: "logged a call with Grace Hopper (connected, 15 min): About pricing". */
function loggedWords(
  actor: string,
  data: { name: string | null; kind?: string; on?: string; outcome?: string; duration_minutes?: number },
): string {
  const what = data.kind === 'call' ? 'a call' : data.kind === 'meeting' ? 'a meeting' : 'an e-mail';
  const on = data.on ? `${data.kind === 'email' ? ' to' : ' with'} ${data.on}` : '';
  const details = [
    data.outcome ? (OUTCOME_WORDS[data.outcome] ?? data.outcome.replaceAll('_', ' ')) : '',
    data.duration_minutes !== undefined ? `${data.duration_minutes} min` : '',
  ].filter(Boolean);
  const text = data.name ? `: ${data.name}` : '';
  return `${actor} logged ${what}${on}${details.length ? ` (${details.join(', ')})` : ''}${text}`;
}

/** The note events (the `note` object's catalogue); `name` is the start of its text. On its record's timeline too. */
export const noteEvents = registerEvents({
  'note.created': defineEvent({
    summary:
      "A note was written on a record (`mentions`: the members it mentions, who are notified), or a call, meeting or e-mail was logged (`kind`, `on`: the record's name, `outcome`, `duration_minutes`, `occurred_at`)",
    data: NamedData.extend({
      mentions: Mentions,
      kind: z.enum(['call', 'meeting', 'email']).optional(),
      on: z.string().optional(),
      outcome: z.string().optional(),
      duration_minutes: z.number().optional(),
      occurred_at: z.string().optional(),
    }),
    describe: ({ actor, what, data }) => (data.kind ? loggedWords(actor, data) : `${actor} created ${what}`),
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
