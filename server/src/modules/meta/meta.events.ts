import { z } from 'zod';
import { type CatalogueOf, defineEvent, registerEvents } from '../../platform/events/event-catalogue.js';

/** Meta Lead Ads events (issue 31): a lead's record made or matched, a page token's warning. */
export const metaEvents = registerEvents({
  'meta.lead_received': defineEvent({
    summary:
      'A Meta Lead Ads lead arrived: the subject is the record it created or matched (by e-mail or phone); the ad, ad set, campaign and form ids are its source',
    data: z.object({
      name: z.string().nullable(),
      leadgen_id: z.string(),
      page_id: z.string(),
      form_id: z.string().nullable(),
      ad_id: z.string().nullable(),
      adset_id: z.string().nullable(),
      campaign_id: z.string().nullable(),
      campaign_name: z.string().nullable(),
      /** True when the lead created the record; false when it matched an existing one. */
      created: z.boolean(),
    }),
    describe: ({ what, data }) =>
      `${data.created ? 'A Meta lead ad created' : 'A Meta lead ad matched'} ${what}${
        data.campaign_name
          ? ` (campaign ${data.campaign_name})`
          : data.campaign_id
            ? ` (campaign ${data.campaign_id})`
            : ''
      }`,
  }),
  'meta.page_token_warning': defineEvent({
    summary:
      "The daily check found a Facebook page's access token about to expire, expired or invalid (Graph's debug_token); the organization's admins get an alert",
    data: z.object({
      page_id: z.string(),
      page_name: z.string().nullable(),
      status: z.enum(['expiring', 'expired', 'invalid']),
      expires_at: z.string().nullable(),
    }),
    describe: ({ data }) => {
      const page = data.page_name ?? data.page_id;
      if (data.status === 'expiring')
        return data.expires_at
          ? `The access token of the Facebook page ${page} expires on ${data.expires_at.slice(0, 10)}`
          : `The access token of the Facebook page ${page} expires soon`;
      if (data.status === 'expired') return `The access token of the Facebook page ${page} has expired`;
      return `The access token of the Facebook page ${page} is no longer valid`;
    },
  }),
});

declare module '../../platform/events/event-catalogue.js' {
  interface EventCatalogue extends CatalogueOf<typeof metaEvents> {}
}
