import { z } from 'zod';
import {
  type CatalogueOf,
  defineEvent,
  RecordName,
  registerEvents,
} from '../../platform/events/event-catalogue.js';

const Movement = z.object({
  name: RecordName,
  warehouse_id: z.string(),
  warehouse: z.string(),
  quantity: z.string(),
  on_hand: z.string(),
  reserved: z.string(),
  order_id: z.string().nullable(),
  reason: z.string().nullable(),
});

/**
 * The stock events (issue 29): every change of a product's stock in a warehouse is one event
 * (and one row of the stock ledger), on the product's timeline and its order's.
 */
export const stockEvents = registerEvents({
  'warehouse.created': defineEvent({
    summary: 'A warehouse was added',
    data: z.object({ name: RecordName, is_default: z.boolean() }),
    describe: ({ actor, what }) => `${actor} added the warehouse ${what}`,
  }),
  'stock.adjusted': defineEvent({
    summary: "A product's stock on hand in a warehouse was adjusted by hand, with a reason",
    data: Movement,
    describe: ({ actor, what, data }) =>
      `${actor} adjusted the stock of ${what} in ${data.warehouse} by ${data.quantity}${data.reason ? ` (${data.reason})` : ''}`,
  }),
  'stock.reserved': defineEvent({
    summary: 'An open order reserved a quantity of a product in a warehouse',
    data: Movement,
    describe: ({ what, data }) => `An order reserved ${data.quantity} of ${what} in ${data.warehouse}`,
  }),
  'stock.released': defineEvent({
    summary: "A cancelled order's reservation of a product was released",
    data: Movement,
    describe: ({ what, data }) =>
      `A cancelled order released ${data.quantity} of ${what} in ${data.warehouse}`,
  }),
  'stock.fulfilled': defineEvent({
    summary: 'A quantity of a product left a warehouse to fulfil an order (on hand and reserved both fall)',
    data: Movement,
    describe: ({ what, data }) => `${data.quantity} of ${what} left ${data.warehouse} for an order`,
  }),
});

declare module '../../platform/events/event-catalogue.js' {
  interface EventCatalogue extends CatalogueOf<typeof stockEvents> {}
}
