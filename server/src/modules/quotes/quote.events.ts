import { z } from 'zod';
import {
  type CatalogueOf,
  defineEvent,
  FieldChangesSchema,
  RecordName,
  registerEvents,
} from '../../platform/events/event-catalogue.js';

/** The quote events (issue 29). A quote's events show on its deal's timeline too (`related`). */
export const quoteEvents = registerEvents({
  'quote.created': defineEvent({
    summary: 'A draft quote was made from a deal',
    data: z.object({ name: RecordName, number: z.string(), total: z.string(), currency: z.string() }),
    describe: ({ actor, what, data }) => `${actor} drafted ${what} (${data.total} ${data.currency})`,
  }),
  'quote.updated': defineEvent({
    summary: 'A draft quote changed: `changes` holds each field before and after (`lines`: their count)',
    data: z.object({ name: RecordName, changes: FieldChangesSchema }),
    describe: ({ actor, what }) => `${actor} edited ${what}`,
  }),
  'quote.versioned': defineEvent({
    summary: 'A sent quote was edited: a new draft version was made, the former one is read-only',
    data: z.object({ name: RecordName, version: z.number().int(), previous_id: z.string() }),
    describe: ({ actor, what, data }) => `${actor} made version ${data.version} of ${what}`,
  }),
  'quote.approved': defineEvent({
    summary: "A quote's discount above the threshold was approved",
    data: z.object({ name: RecordName, max_discount_percent: z.string() }),
    describe: ({ actor, what, data }) =>
      `${actor} approved the ${data.max_discount_percent} % discount of ${what}`,
  }),
  'quote.sent': defineEvent({
    summary: 'A quote was sent by e-mail with its PDF and a link to accept it online',
    data: z.object({ name: RecordName, to: z.string(), total: z.string(), currency: z.string() }),
    describe: ({ actor, what, data }) => `${actor} sent ${what} to ${data.to}`,
  }),
  'quote.accepted': defineEvent({
    summary:
      'The customer accepted a quote online (typed name; the SHA-256 of the version and PDF accepted); the owner is notified',
    data: z.object({
      name: RecordName,
      accepted_by: z.string(),
      owner_id: z.string().nullable(),
      total: z.string(),
      currency: z.string(),
      content_sha256: z.string().nullable(),
      pdf_sha256: z.string().nullable(),
    }),
    describe: ({ what, data }) => `${data.accepted_by} accepted ${what} online`,
  }),
  'quote.rejected': defineEvent({
    summary: 'The customer declined a quote online, with a reason',
    data: z.object({ name: RecordName, reason: z.string().nullable(), owner_id: z.string().nullable() }),
    describe: ({ what, data }) => `The customer declined ${what}${data.reason ? `: ${data.reason}` : ''}`,
  }),
  'quote.expired': defineEvent({
    summary: 'A sent quote passed its validity date unanswered',
    data: z.object({ name: RecordName, valid_until: z.string() }),
    describe: ({ what, data }) => `The validity of ${what} ended on ${data.valid_until}, unanswered`,
  }),
  'quote.paid': defineEvent({
    summary: "An accepted quote was paid through its payment link (Stripe Checkout's session completed)",
    data: z.object({ name: RecordName, session_id: z.string(), amount: z.string(), currency: z.string() }),
    describe: ({ what, data }) => `${what} was paid online (${data.amount} ${data.currency})`,
  }),
  'opportunity_lines.updated': defineEvent({
    summary: "A deal's line items were replaced (their count and net total)",
    data: z.object({
      name: RecordName,
      lines: z.number().int(),
      net_total: z.string(),
      currency: z.string(),
    }),
    describe: ({ actor, what, data }) =>
      `${actor} set ${data.lines} line item${data.lines === 1 ? '' : 's'} on ${what} (${data.net_total} ${data.currency})`,
  }),
  'sales_settings.updated': defineEvent({
    summary:
      "The organization's sales settings changed (locale, currency, approval threshold, quote defaults)",
    data: z.object({ name: RecordName, changes: FieldChangesSchema }),
    describe: ({ actor, data }) =>
      `${actor} changed the sales settings (${Object.keys(data.changes)
        .map((k) => k.replaceAll('_', ' '))
        .join(', ')})`,
  }),
});

declare module '../../platform/events/event-catalogue.js' {
  interface EventCatalogue extends CatalogueOf<typeof quoteEvents> {}
}
