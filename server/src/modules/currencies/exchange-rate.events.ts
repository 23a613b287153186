import { z } from 'zod';
import {
  type CatalogueOf,
  defineEvent,
  RecordName,
  registerEvents,
} from '../../platform/events/event-catalogue.js';

/** The exchange-rate events (issue 29): an admin setting a dated rate. */
export const exchangeRateEvents = registerEvents({
  'exchange_rate.set': defineEvent({
    summary: "A dated exchange rate into the organization's currency was set",
    data: z.object({ name: RecordName, currency: z.string(), valid_on: z.string(), rate: z.string() }),
    describe: ({ actor, data }) =>
      `${actor} set the ${data.currency} rate from ${data.valid_on} to ${data.rate}`,
  }),
});

declare module '../../platform/events/event-catalogue.js' {
  interface EventCatalogue extends CatalogueOf<typeof exchangeRateEvents> {}
}
