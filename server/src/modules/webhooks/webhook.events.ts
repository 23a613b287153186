import { z } from 'zod';
import { type CatalogueOf, defineEvent, registerEvents } from '../../platform/events/event-catalogue.js';

/** The webhook events: a subscription switched off by Cairn after failing for days. */
export const webhookEvents = registerEvents({
  'webhook.disabled': defineEvent({
    summary:
      "A webhook subscription was disabled because its deliveries kept failing (or its receiver answered 410 Gone); the organization's admins get an alert",
    data: z.object({
      target_url: z.string(),
      /** `failing` (failed longer than WEBHOOK_DISABLE_AFTER_HOURS) or `receiver_gone` (410). */
      reason: z.enum(['failing', 'receiver_gone']),
      failing_since: z.string().nullable(),
    }),
    describe: ({ data }) =>
      data.reason === 'receiver_gone'
        ? `Cairn disabled the webhook to ${data.target_url}: its receiver answered 410 Gone`
        : `Cairn disabled the webhook to ${data.target_url}: its deliveries kept failing`,
  }),
});

declare module '../../platform/events/event-catalogue.js' {
  interface EventCatalogue extends CatalogueOf<typeof webhookEvents> {}
}
