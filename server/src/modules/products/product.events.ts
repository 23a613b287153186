import { z } from 'zod';
import {
  type CatalogueOf,
  defineEvent,
  FieldChangesSchema,
  RecordName,
  registerEvents,
} from '../../platform/events/event-catalogue.js';
import { NamedData, standardRecordEvents } from '../../platform/events/record-events.js';

const standard = standardRecordEvents('product');

/** The product events (the `product` object's catalogue, issue 29). */
export const productEvents = registerEvents({
  'product.created': defineEvent({
    summary: 'A product was added to the catalog',
    data: NamedData,
    describe: ({ actor, what }) => `${actor} added ${what} to the catalog`,
  }),
  'product.updated': standard.updated,
  'product.archived': standard.archived,
  'product.restored': standard.restored,
  'product.deleted': standard.deleted,
  'product.price_set': defineEvent({
    summary: 'A price of a product was added to a price list (a tier or a validity period)',
    data: z.object({
      name: RecordName,
      price_list: z.string(),
      currency: z.string(),
      unit_price: z.string(),
      min_quantity: z.string(),
    }),
    describe: ({ actor, what, data }) =>
      `${actor} priced ${what} at ${data.unit_price} ${data.currency} on ${data.price_list}` +
      (data.min_quantity === '1' ? '' : ` from ${data.min_quantity} up`),
  }),
  'product.price_removed': defineEvent({
    summary: 'A price of a product was removed from a price list',
    data: z.object({ name: RecordName, price_list: z.string(), currency: z.string() }),
    describe: ({ actor, what, data }) => `${actor} removed a price of ${what} from ${data.price_list}`,
  }),
  'price_list.created': defineEvent({
    summary: 'A price list was created',
    data: z.object({ name: RecordName, currency: z.string() }),
    describe: ({ actor, what, data }) => `${actor} created ${what} in ${data.currency}`,
  }),
  'price_list.updated': defineEvent({
    summary: 'A price list was renamed or made the default',
    data: z.object({ name: RecordName, changes: FieldChangesSchema }),
    describe: ({ actor, what }) => `${actor} changed ${what}`,
  }),
});

declare module '../../platform/events/event-catalogue.js' {
  interface EventCatalogue extends CatalogueOf<typeof productEvents> {}
}
