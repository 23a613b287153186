import { z } from 'zod';
import { type CatalogueOf, defineEvent, registerEvents } from '../../platform/events/event-catalogue.js';

const Data = z.object({
  name: z.string(),
  /** `email` or `sms`. */
  kind: z.string(),
  /** Recipients: the segment's count when scheduled, those materialized when started or sent. */
  count: z.number().int().optional(),
  /** When it is to start (ISO 8601), null for now. */
  at: z.string().nullable().optional(),
});
const what = (d: { name: string; kind: string }) =>
  `${d.kind === 'sms' ? 'SMS' : 'e-mail'} broadcast “${d.name}”`;
const people = (n: number | undefined) =>
  n === undefined ? '' : ` to ${n.toLocaleString('en')} ${n === 1 ? 'contact' : 'contacts'}`;

/**
 * The broadcast events (issue 33), the broadcast as their subject; each message it sends is also
 * a `message.sent` / `message.failed` on its contact's timeline (the sending layer's events).
 */
export const broadcastEvents = registerEvents({
  'broadcast.created': defineEvent({
    summary: 'A broadcast was drafted',
    data: Data,
    describe: ({ actor, data }) => `${actor} drafted the ${what(data)}`,
  }),
  'broadcast.scheduled': defineEvent({
    summary: 'A broadcast was sent now or scheduled (`at`), its segment counted (`count`)',
    data: Data,
    describe: ({ actor, data }) =>
      data.at
        ? `${actor} scheduled the ${what(data)}${people(data.count)} for ${data.at}`
        : `${actor} sent the ${what(data)}${people(data.count)}`,
  }),
  'broadcast.started': defineEvent({
    summary: 'A broadcast started sending: its recipients were fixed (`count`)',
    data: Data,
    describe: ({ data }) => `The ${what(data)} started sending${people(data.count)}`,
  }),
  'broadcast.sent': defineEvent({
    summary: 'Every recipient of a broadcast was handed to the sending layer (or skipped)',
    data: Data,
    describe: ({ data }) => `The ${what(data)} was handed over${people(data.count)}`,
  }),
  'broadcast.cancelled': defineEvent({
    summary: 'A broadcast was cancelled: what was not yet sent will not be',
    data: Data,
    describe: ({ actor, data }) => `${actor} cancelled the ${what(data)}`,
  }),
});

declare module '../../platform/events/event-catalogue.js' {
  interface EventCatalogue extends CatalogueOf<typeof broadcastEvents> {}
}
