import { z } from 'zod';
import {
  type CatalogueOf,
  defineEvent,
  RecordName,
  registerEvents,
} from '../../platform/events/event-catalogue.js';

/** The order events (issue 29); an order's events show on its deal's timeline too (`related`). */
export const orderEvents = registerEvents({
  'order.created': defineEvent({
    summary: "An accepted quote was converted to an order (its total also in the organization's currency)",
    data: z.object({
      name: RecordName,
      number: z.string(),
      quote_id: z.string(),
      total: z.string(),
      currency: z.string(),
      org_total: z.string(),
      org_currency: z.string(),
    }),
    describe: ({ actor, what, data }) =>
      `${actor} converted a quote to ${what} (${data.total} ${data.currency})`,
  }),
  'order.fulfilled': defineEvent({
    summary: 'Products of an order were delivered: `status` is partly_fulfilled or fulfilled',
    data: z.object({ name: RecordName, status: z.string(), lines: z.number().int() }),
    describe: ({ actor, what, data }) =>
      `${actor} delivered ${data.lines} line${data.lines === 1 ? '' : 's'} of ${what} (${data.status.replace('_', ' ')})`,
  }),
  'order.cancelled': defineEvent({
    summary: 'An order was cancelled; what it still reserved was released',
    data: z.object({ name: RecordName }),
    describe: ({ actor, what }) => `${actor} cancelled ${what}`,
  }),
  'order.paid': defineEvent({
    summary: "An order's quote was paid through its payment link (Stripe Checkout)",
    data: z.object({ name: RecordName, session_id: z.string(), amount: z.string(), currency: z.string() }),
    describe: ({ what, data }) => `${what} was paid online (${data.amount} ${data.currency})`,
  }),
});

declare module '../../platform/events/event-catalogue.js' {
  interface EventCatalogue extends CatalogueOf<typeof orderEvents> {}
}
