import { sql } from 'drizzle-orm';
import {
  bigint,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { idColumn, isoTimestamp as ts } from '../../db/columns.js';
import { organizations } from '../../platform/auth/auth.schema.js';

/** What a channel keeps that is not secret (hosts, ports, user names, the sync window). */
export type ChannelSettings = {
  smtp?: { host: string; port: number; secure: boolean; user: string | null } | undefined;
  imap?: { host: string; port: number; secure: boolean; user: string; mailbox: string } | undefined;
  /** First sync of an IMAP mailbox: the last N days only. */
  sync_days?: number | undefined;
  /** Twilio: the account, and the API base (a test's local server; default https://api.twilio.com). */
  twilio?: { account_sid: string; api_base: string | null } | undefined;
  /**
   * Provider mode of an e-mail channel (issue 23): sent through the provider's HTTP API instead of
   * SMTP, received by its inbound webhook; `api_base` is the API's base (a test's local server;
   * default the provider's public one), `domain` the Mailgun sending domain.
   */
  provider?: { name: ProviderName; api_base: string | null; domain: string | null } | undefined;
  /**
   * Messenger and Instagram (issue 23): the Facebook page whose Send API replies go through
   * (`POST /{page_id}/messages`); a Messenger channel's address is this page id, an Instagram
   * channel's is its professional account id (the page is the one linked to it).
   */
  meta?: { page_id: string } | undefined;
};

/** What a channel is (issue 23). */
export const CHANNEL_KINDS = ['email', 'sms', 'local', 'messenger', 'instagram'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];
/** The channel kinds that speak Meta's Messenger Platform (Messenger, Instagram direct messages). */
export const META_KINDS = ['messenger', 'instagram'] as const;
export type MetaKind = (typeof META_KINDS)[number];
export const isMetaKind = (kind: string): kind is MetaKind =>
  (META_KINDS as readonly string[]).includes(kind);

/** The e-mail providers a channel can send through (issue 23). */
export const PROVIDER_NAMES = ['sendgrid', 'postmark', 'mailgun'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/** The channel's secrets, sealed together (`platform/crypto/sealed.ts`); never answered by the API. */
export type ChannelSecrets = {
  smtp_password?: string;
  imap_password?: string;
  twilio_auth_token?: string;
  /** The provider's API key (SendGrid, Mailgun) or server token (Postmark). */
  provider_api_key?: string;
  /**
   * What verifies the provider's webhooks: SendGrid's verification key (base64 DER, ECDSA P-256),
   * Mailgun's HTTP webhook signing key, or the basic-auth password set in Postmark's webhook URL
   * (and in SendGrid's Inbound Parse URL, which SendGrid does not sign).
   */
  provider_webhook_key?: string;
  /** Messenger / Instagram: the page access token the Send API is called with. */
  meta_page_token?: string;
};

/**
 * A channel of an organization (issue 23): an e-mail mailbox (SMTP to send, IMAP to receive),
 * a Twilio number (SMS), or the built-in local mailbox (sends into the system-mail outbox and
 * reaches no one). `address` is the mailbox's e-mail or the number in E.164.
 */
export const channels = pgTable(
  'channels',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    /** `email`, `sms`, `local`, `messenger` or `instagram`. */
    kind: text('kind').notNull(),
    name: text('name').notNull(),
    address: text('address').notNull(),
    /** The sender's display name (`From: "name" <address>`). */
    fromName: text('from_name'),
    settings: jsonb('settings').$type<ChannelSettings>().notNull().default(sql`'{}'::jsonb`),
    /** The `ChannelSecrets`, sealed (AES-256-GCM under the server's SECRET). */
    secrets: text('secrets'),
    /** `active` or `paused`. */
    status: text('status').notNull().default('active'),
    /** IMAP: the mailbox's UIDVALIDITY and the highest UID synced, to resume from. */
    imapUidValidity: bigint('imap_uid_validity', { mode: 'number' }),
    imapLastUid: bigint('imap_last_uid', { mode: 'number' }).notNull().default(0),
    lastSyncAt: ts('last_sync_at'),
    /**
     * IMAP IDLE (issue 23): the worker holding the mailbox's one IDLE connection and until when its
     * lease runs (renewed while it listens); another worker takes over once it has run out.
     */
    idleOwner: text('idle_owner'),
    idleUntil: ts('idle_until'),
    lastError: text('last_error'),
    /** Webhook requests refused for a bad signature. */
    rejectedWebhooks: integer('rejected_webhooks').notNull().default(0),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.id] })],
);

/**
 * A conversation: the thread of messages with one counterpart on one channel. `counterpart` is
 * the other side's e-mail (lower-cased), number (E.164), or page-scoped id (Messenger PSID,
 * Instagram IGSID).
 */
export const conversations = pgTable(
  'conversations',
  {
    orgId: uuid('org_id').notNull(),
    id: idColumn(),
    channelId: uuid('channel_id').notNull(),
    contactId: uuid('contact_id'),
    counterpart: text('counterpart').notNull(),
    subject: text('subject'),
    /** `open` or `closed`. */
    status: text('status').notNull().default('open'),
    assigneeId: text('assignee_id'),
    unreadCount: integer('unread_count').notNull().default(0),
    lastMessageAt: ts('last_message_at').notNull().defaultNow(),
    lastPreview: text('last_preview'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    index('conversations_list_idx').on(t.orgId, t.lastMessageAt.desc(), t.id.desc()),
    index('conversations_counterpart_idx').on(t.orgId, t.channelId, t.counterpart),
    index('conversations_contact_idx').on(t.orgId, t.contactId),
    foreignKey({ columns: [t.orgId, t.channelId], foreignColumns: [channels.orgId, channels.id] }).onDelete(
      'cascade',
    ),
  ],
);

/**
 * One message in or out. `message_id` is the e-mail's Message-ID (or the SMS's provider id):
 * unique per channel, so a message synced twice is stored once. An outgoing message carries its
 * `idempotency_key` (the send job's), `status` (`queued`, `sent`, `failed`) and, on failure, the
 * provider's reason in `error`.
 */
export const messages = pgTable(
  'messages',
  {
    orgId: uuid('org_id').notNull(),
    id: idColumn(),
    conversationId: uuid('conversation_id').notNull(),
    channelId: uuid('channel_id').notNull(),
    /** `in` or `out`. */
    direction: text('direction').notNull(),
    messageId: text('message_id'),
    inReplyTo: text('in_reply_to'),
    references: text('references').array().notNull().default(sql`'{}'::text[]`),
    fromAddress: text('from_address').notNull(),
    toAddresses: text('to_addresses').array().notNull().default(sql`'{}'::text[]`),
    subject: text('subject'),
    text: text('text').notNull().default(''),
    /** The HTML part, sanitized. */
    html: text('html'),
    /**
     * Names, types and sizes of the attachments; their bytes are in the files pipeline
     * (`file_id`), or were refused there (`status`, `reason`) (issue 23).
     */
    attachments: jsonb('attachments')
      .$type<
        {
          filename: string | null;
          content_type: string;
          size: number;
          file_id?: string | null;
          status?: 'stored' | 'rejected' | 'infected' | null;
          reason?: string | null;
        }[]
      >()
      .notNull()
      .default(sql`'[]'::jsonb`),
    /** `received`, `queued`, `sent`, `failed`. */
    status: text('status').notNull(),
    error: text('error'),
    idempotencyKey: text('idempotency_key'),
    /** Extra headers of an outgoing e-mail (List-Unsubscribe of a sequence's message). */
    headers: jsonb('headers').$type<Record<string, string>>().notNull().default(sql`'{}'::jsonb`),
    providerId: text('provider_id'),
    /**
     * What the provider reported after the hand-over (issue 25): `delivered`, `deferred`,
     * `bounced`, `complained`; null until a report arrives.
     */
    deliveryStatus: text('delivery_status'),
    deliveredAt: ts('delivered_at'),
    attempts: integer('attempts').notNull().default(0),
    /**
     * When a send job claimed it (`queued` -> `sending`, issue 25): a message still `sending` a
     * lease after this was claimed by a worker that died mid-send and is recovered (send-batch.service).
     */
    claimedAt: ts('claimed_at'),
    sentBy: text('sent_by'),
    readAt: ts('read_at'),
    sentAt: ts('sent_at'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex('messages_message_id_key').on(t.orgId, t.channelId, t.messageId),
    uniqueIndex('messages_idempotency_key').on(t.orgId, t.idempotencyKey),
    index('messages_provider_id_idx').on(t.orgId, t.providerId),
    index('messages_thread_idx').on(t.orgId, t.conversationId, t.createdAt, t.id),
    foreignKey({
      columns: [t.orgId, t.conversationId],
      foreignColumns: [conversations.orgId, conversations.id],
    }).onDelete('cascade'),
  ],
);

/**
 * Addresses never sent to (issue 25: `channel_kind` `domain` suppresses every address of a domain) (issue 23's minimal suppression list, for issue 25's consent work to
 * extend): an e-mail or number with its channel kind (`email`, `sms`), why (`unsubscribed`,
 * `sms_stop`, `bounced`, `manual`) and from where.
 */
export const suppressions = pgTable(
  'message_suppressions',
  {
    orgId: uuid('org_id').notNull(),
    id: idColumn(),
    channelKind: text('channel_kind').notNull(),
    address: text('address').notNull(),
    reason: text('reason').notNull(),
    source: text('source'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex('message_suppressions_key').on(t.orgId, t.channelKind, t.address),
  ],
);

/**
 * A delivery report read from the synced mailbox (issue 25): a DSN (RFC 3464, `hard` for a 5.x.x
 * status, `soft` for 4.x.x) or a complaint (ARF, RFC 5965), about `recipient`, naming the
 * Message-ID it reports on when it quotes it.
 */
export const deliveryReports = pgTable(
  'delivery_reports',
  {
    orgId: uuid('org_id').notNull(),
    id: idColumn(),
    channelId: uuid('channel_id').notNull(),
    /** `hard`, `soft` or `complaint`. */
    kind: text('kind').notNull(),
    recipient: text('recipient').notNull(),
    status: text('status'),
    diagnostic: text('diagnostic'),
    originalMessageId: text('original_message_id'),
    reportMessageId: text('report_message_id').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex('delivery_reports_key').on(t.orgId, t.channelId, t.reportMessageId, t.recipient),
    index('delivery_reports_recipient_idx').on(t.orgId, t.recipient),
  ],
);
