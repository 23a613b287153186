import { z } from 'zod';
import { type CatalogueOf, defineEvent, registerEvents } from '../../platform/events/event-catalogue.js';

/** The form events: a submission accepted, about the record it created or matched. */
export const formEvents = registerEvents({
  'form.submitted': defineEvent({
    summary:
      'A form was submitted: the subject is the record it created or matched (by e-mail or phone); `source` holds UTM parameters, referrer, landing page and hidden fields',
    data: z.object({
      name: z.string().nullable(),
      form_id: z.string(),
      form_name: z.string(),
      form_version: z.number().int(),
      submission_id: z.string(),
      /** True when the submission created the record; false when it matched an existing one. */
      created: z.boolean(),
      channel: z.enum(['page', 'ingest']),
      values: z.record(z.string(), z.unknown()),
      source: z.record(z.string(), z.unknown()),
      consent: z.boolean().optional(),
    }),
    describe: ({ what, data }) =>
      data.created
        ? `Someone created ${what} through the form ${data.form_name}`
        : `Someone sent the form ${data.form_name} again for ${what}`,
  }),
});

declare module '../../platform/events/event-catalogue.js' {
  interface EventCatalogue extends CatalogueOf<typeof formEvents> {}
}
