import { z } from 'zod';
import { type CatalogueOf, defineEvent, registerEvents } from '../../platform/events/event-catalogue.js';
import { CHANNEL_KINDS } from './conversation.schema.js';

/**
 * The messages of the inbox (issue 23): each message in and out is an event, its subject the
 * contact it was matched to (so it is on the contact's timeline) or, for an unknown sender, the
 * conversation.
 */
const MessageData = z.object({
  name: z.string().nullable(),
  conversation_id: z.string(),
  message_id: z.string(),
  channel_id: z.string(),
  channel_kind: z.enum(CHANNEL_KINDS),
  subject: z.string().nullable(),
  /** The first 200 characters of the text. */
  preview: z.string(),
  /** Why a send failed (the provider's answer). */
  error: z.string().optional(),
});

/** A delivery report about one recipient (issue 25). */
const ReportData = z.object({
  name: z.string().nullable(),
  recipient: z.string(),
  kind: z.enum(['hard', 'soft', 'complaint']),
  status: z.string().nullable(),
  diagnostic: z.string().nullable(),
  original_message_id: z.string().nullable(),
  suppressed: z.boolean(),
});

/** An unsubscribe a sending provider reported about one recipient (issue 25). */
const UnsubscribeData = z.object({
  name: z.string().nullable(),
  recipient: z.string(),
  /** The channel (provider-mode e-mail) whose webhook reported it. */
  channel_id: z.string(),
});

/** Who a delivery report is about: the contact's name and address, or the address alone. */
const whom = (data: { name: string | null; recipient: string }) =>
  data.name ? `${data.name} (${data.recipient})` : data.recipient;
const medium = (kind: string) =>
  kind === 'sms'
    ? 'a text message'
    : kind === 'messenger'
      ? 'a Messenger message'
      : kind === 'instagram'
        ? 'an Instagram message'
        : 'an e-mail';
const about = (subject: string | null) => (subject ? `: “${subject}”` : '');

export const conversationEvents = registerEvents({
  'message.received': defineEvent({
    summary: 'A message (e-mail or SMS) arrived on a channel of the organization',
    data: MessageData,
    describe: ({ what, data }) => `${what} sent ${medium(data.channel_kind)}${about(data.subject)}`,
  }),
  'message.sent': defineEvent({
    summary: 'A message (e-mail or SMS) was sent from the inbox',
    data: MessageData,
    describe: ({ actor, what, data }) =>
      `${actor} sent ${medium(data.channel_kind)} to ${what}${about(data.subject)}`,
  }),
  'message.failed': defineEvent({
    summary: 'A message could not be sent: `error` holds the provider’s reason; it can be retried',
    data: MessageData,
    describe: ({ what, data }) =>
      `${capital(medium(data.channel_kind))} to ${what} could not be sent${data.error ? ` (${data.error})` : ''}`,
  }),
  'message.bounced': defineEvent({
    summary:
      'A delivery status notification (RFC 3464) in a synced mailbox says a message to `recipient` failed (`kind` hard) or was delayed (soft); `suppressed` when the address is now on the suppression list',
    data: ReportData,
    describe: ({ data }) =>
      `An e-mail to ${whom(data)} bounced (${data.kind}${data.status ? ` ${data.status}` : ''})`,
  }),
  'message.complained': defineEvent({
    summary:
      'An abuse report (ARF, RFC 5965) says `recipient` marked a message as spam; the address is suppressed',
    data: ReportData,
    describe: ({ data }) => `${capital(whom(data))} marked an e-mail as spam`,
  }),
  'message.unsubscribed': defineEvent({
    summary:
      "A sending provider's event webhook (SendGrid, Postmark, Mailgun) says `recipient` unsubscribed; the address is suppressed. One event per contact with that address (the subject), or the channel when none has it",
    data: UnsubscribeData,
    describe: ({ data }) => `${capital(whom(data))} unsubscribed from e-mails`,
  }),
});

function capital(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

declare module '../../platform/events/event-catalogue.js' {
  interface EventCatalogue extends CatalogueOf<typeof conversationEvents> {}
}
