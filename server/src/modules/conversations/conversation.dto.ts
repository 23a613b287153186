import { z } from 'zod';
import { CHANNEL_KINDS } from './conversation.schema.js';

const Host = z.string().trim().min(1).max(253);
const Port = z.number().int().min(1).max(65535);

const SmtpIn = z.strictObject({
  host: Host,
  port: Port,
  secure: z
    .boolean()
    .default(false)
    .describe('TLS from the start (port 465); otherwise STARTTLS when offered'),
  user: z.string().max(320).nullable().optional(),
  password: z.string().max(1000).optional().describe('Write-only: never answered'),
});
const ImapIn = z.strictObject({
  host: Host,
  port: Port,
  secure: z.boolean().default(true),
  user: z.string().min(1).max(320),
  password: z.string().max(1000).optional().describe('Write-only: never answered'),
  mailbox: z.string().min(1).max(200).default('INBOX'),
});
const TwilioIn = z.strictObject({
  account_sid: z.string().trim().min(2).max(64),
  auth_token: z.string().min(1).max(200).optional().describe('Write-only: never answered'),
  api_base: z
    .url({ protocol: /^https?$/ })
    .max(500)
    .nullable()
    .optional()
    .describe("Twilio's REST API base; default https://api.twilio.com"),
});

const ProviderIn = z.strictObject({
  name: z.enum(['sendgrid', 'postmark', 'mailgun']),
  api_key: z
    .string()
    .min(1)
    .max(1000)
    .optional()
    .describe('Write-only: the API key (SendGrid, Mailgun) or server token (Postmark)'),
  webhook_key: z
    .string()
    .min(1)
    .max(2000)
    .optional()
    .describe(
      "Write-only: SendGrid's event verification key (base64), Mailgun's webhook signing key, or the basic-auth password put in Postmark's (and SendGrid Inbound Parse's) webhook URL",
    ),
  api_base: z
    .url({ protocol: /^https?$/ })
    .max(500)
    .nullable()
    .optional()
    .describe("The provider's API base; default its public one (Mailgun EU: https://api.eu.mailgun.net)"),
  domain: z.string().trim().min(1).max(253).nullable().optional().describe('Mailgun: the sending domain'),
});

const MetaIn = z.strictObject({
  page_id: z
    .string()
    .trim()
    .regex(/^\d{1,32}$/)
    .optional()
    .describe(
      'Instagram: the id of the Facebook page linked to the account (replies go through it); Messenger: the page is the address',
    ),
  page_token: z
    .string()
    .min(10)
    .max(1000)
    .optional()
    .describe('Write-only: the page access token (pages_messaging, instagram_manage_messages)'),
});

export const ChannelCreate = z.strictObject({
  kind: z.enum(CHANNEL_KINDS),
  name: z.string().trim().min(1).max(200),
  address: z
    .string()
    .trim()
    .min(3)
    .max(320)
    .describe(
      'The mailbox’s e-mail address, the Twilio number in E.164 (+14155550100), the Facebook page id (Messenger) or the Instagram professional account id (Instagram)',
    ),
  from_name: z.string().trim().max(200).nullable().optional(),
  smtp: SmtpIn.optional(),
  imap: ImapIn.optional(),
  sync_days: z.number().int().min(1).max(3650).optional().describe('First IMAP sync: the last N days'),
  twilio: TwilioIn.optional(),
  provider: ProviderIn.nullable()
    .optional()
    .describe(
      'Provider mode (e-mail): send by the provider’s API and receive by its webhooks instead of SMTP / IMAP',
    ),
  meta: MetaIn.optional().describe(
    "Messenger / Instagram: the page and its token. Messages arrive at the organization's Meta webhook (Settings, Meta), verified with its app secret",
  ),
});
export type ChannelCreateInput = z.infer<typeof ChannelCreate>;

export const ChannelUpdate = ChannelCreate.omit({ kind: true })
  .partial()
  .extend({ status: z.enum(['active', 'paused']).optional() });
export type ChannelUpdateInput = z.infer<typeof ChannelUpdate>;

const Masked = z
  .string()
  .nullable()
  .describe('`********` when set, null when not: the secret is never answered');

export const Channel = z
  .object({
    id: z.uuid(),
    kind: z.enum(CHANNEL_KINDS),
    name: z.string(),
    address: z.string(),
    from_name: z.string().nullable(),
    status: z.enum(['active', 'paused']),
    smtp: z
      .object({
        host: z.string(),
        port: z.number(),
        secure: z.boolean(),
        user: z.string().nullable(),
        password: Masked,
      })
      .nullable(),
    imap: z
      .object({
        host: z.string(),
        port: z.number(),
        secure: z.boolean(),
        user: z.string(),
        mailbox: z.string(),
        password: Masked,
      })
      .nullable(),
    sync_days: z.number().int(),
    twilio: z
      .object({ account_sid: z.string(), api_base: z.string().nullable(), auth_token: Masked })
      .nullable(),
    provider: z
      .object({
        name: z.enum(['sendgrid', 'postmark', 'mailgun']),
        api_base: z.string().nullable(),
        domain: z.string().nullable(),
        api_key: Masked,
        webhook_key: Masked,
        events_webhook_url: z.string().describe("The URL to set as the provider's event webhook"),
        inbound_webhook_url: z
          .string()
          .describe("The URL to set as the provider's inbound route (Inbound Parse, inbound webhook, route)"),
      })
      .nullable(),
    meta: z
      .object({ page_id: z.string(), page_token: Masked })
      .nullable()
      .describe('Messenger / Instagram: the page replies are sent through'),
    inbound_webhook_url: z
      .string()
      .nullable()
      .describe("SMS: the URL to set as the Twilio number's messaging webhook"),
    listening: z
      .boolean()
      .describe('IMAP: a worker holds an IDLE connection to the mailbox, so new mail arrives within seconds'),
    imap_last_uid: z.number().int(),
    last_sync_at: z.string().nullable(),
    last_error: z.string().nullable(),
    rejected_webhooks: z.number().int(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'Channel' });
export type ChannelView = z.infer<typeof Channel>;

export const ConnectionTest = z
  .object({
    ok: z.boolean(),
    checks: z.array(
      z.object({
        part: z.enum(['smtp', 'imap', 'twilio', 'local', 'provider', 'meta']),
        ok: z.boolean(),
        error: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: 'ChannelConnectionTest' });

export const Message = z
  .object({
    id: z.uuid(),
    conversation_id: z.uuid(),
    direction: z.enum(['in', 'out']),
    message_id: z.string().nullable(),
    from: z.string(),
    to: z.array(z.string()),
    subject: z.string().nullable(),
    text: z.string(),
    html: z.string().nullable(),
    attachments: z.array(
      z.object({
        filename: z.string().nullable(),
        content_type: z.string(),
        size: z.number(),
        file_id: z
          .uuid()
          .nullable()
          .describe('The stored file (download: POST /files/{id}/link); null when refused or not kept'),
        status: z
          .enum(['stored', 'rejected', 'infected'])
          .nullable()
          .describe('What the files pipeline made of it; null when its bytes never reached Cairn'),
        reason: z.string().nullable().describe('Why it was refused'),
      }),
    ),
    status: z.enum(['received', 'queued', 'sending', 'sent', 'failed']),
    error: z.string().nullable().describe('Why the send failed: the provider’s answer'),
    delivery_status: z
      .enum(['delivered', 'deferred', 'bounced', 'complained'])
      .nullable()
      .describe('What the provider or a delivery report said after the hand-over; null until then'),
    attempts: z.number().int(),
    sent_by: z.string().nullable(),
    read_at: z.string().nullable(),
    sent_at: z.string().nullable(),
    created_at: z.string(),
  })
  .meta({ id: 'Message' });
export type MessageView = z.infer<typeof Message>;

export const Conversation = z
  .object({
    id: z.uuid(),
    channel: z.object({ id: z.uuid(), kind: z.enum(CHANNEL_KINDS), name: z.string() }),
    contact: z.object({ id: z.uuid(), name: z.string().nullable() }).nullable(),
    counterpart: z.string(),
    subject: z.string().nullable(),
    status: z.enum(['open', 'closed']),
    assignee_id: z.string().nullable(),
    unread_count: z.number().int(),
    last_message_at: z.string(),
    last_preview: z.string().nullable(),
    created_at: z.string(),
  })
  .meta({ id: 'Conversation' });
export type ConversationView = z.infer<typeof Conversation>;

export const ConversationListQuery = z.strictObject({
  filter: z.enum(['all', 'mine', 'unassigned']).default('all'),
  status: z.enum(['open', 'closed', 'any']).default('open'),
  channel_id: z.uuid().optional(),
  contact_id: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional().describe('`next_cursor` of the previous page'),
});
export type ConversationListQueryInput = z.infer<typeof ConversationListQuery>;

export const ConversationUpdate = z.strictObject({
  status: z.enum(['open', 'closed']).optional(),
  assignee_id: z.uuid().nullable().optional().describe('A member of the organization, or null'),
});

export const ConversationContact = z.strictObject({
  contact_id: z
    .uuid()
    .optional()
    .describe("An existing contact; left out, the sender's contact is found or made"),
});

const Text = z
  .string()
  .min(1)
  .max(100_000)
  .describe(
    'Template variables ({{first_name}}, {{company}}, {{contact.<field>}}, {{sender.name}}) are filled for the contact; 422 `unknown_variable` for one that names no field',
  );
const WithSignature = z
  .boolean()
  .optional()
  .describe('E-mail: append your signature (default true); ignored on SMS');

const Attachments = z
  .array(z.uuid())
  .max(10)
  .optional()
  .describe(
    'E-mail: stored files to attach (upload them to the contact first: POST /files), at most 10 and 25 MB',
  );

export const Reply = z.strictObject({
  text: Text,
  subject: z.string().trim().max(500).optional(),
  signature: WithSignature,
  attachments: Attachments,
});

export const Compose = z.strictObject({
  channel_id: z.uuid(),
  to: z.string().trim().min(3).max(320).describe('An e-mail address, or a number in E.164 for SMS'),
  subject: z.string().trim().max(500).optional(),
  text: Text,
  signature: WithSignature,
  attachments: Attachments,
});
