import { createHash } from 'node:crypto';
import { type AddressObject, simpleParser } from 'mailparser';
import sanitizeHtml from 'sanitize-html';
import type { TenantScope } from '../../db/tenant.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import type { ChannelRow } from './channel.service.js';
import { type ChannelKind, isMetaKind } from './conversation.schema.js';
import { type DeliveryReport, deliveryReportsOf, recordDeliveryReports } from './delivery-report.js';
import { announceInbox } from './inbox-stream.js';

/** Bodies kept up to this many characters (text and HTML each); the rest is cut. */
const MAX_BODY_CHARS = 1_000_000;
const PREVIEW_CHARS = 200;
/** Attachments kept per message (names and sizes; their bytes through the files pipeline). */
const MAX_ATTACHMENTS = 100;
/** A message with no Message-ID, or no thread found by its headers, joins a thread by subject this recent. */
const SUBJECT_THREAD_DAYS = 30;

/**
 * What a message keeps of an attachment: its name, declared type and size, and once the files
 * pipeline has seen it, the stored file (`file_id`) or why it was refused (`status`, `reason`).
 */
export type AttachmentMeta = {
  filename: string | null;
  content_type: string;
  size: number;
  file_id?: string | null;
  status?: 'stored' | 'rejected' | 'infected' | null;
  reason?: string | null;
};

export type Inbound = {
  messageId: string;
  inReplyTo: string | null;
  references: string[];
  from: string;
  to: string[];
  subject: string | null;
  text: string;
  html: string | null;
  attachments: AttachmentMeta[];
  /**
   * The attachments' bytes (an e-mail parsed here), for the files pipeline once the message is
   * stored (`storeInboundAttachments`); in the order of `attachments`.
   */
  files?: Buffer[];
  providerId?: string | null;
  date?: Date | null;
  /** The delivery reports it carries (a bounce, a complaint). */
  reports?: DeliveryReport[];
};

const addressesOf = (a: AddressObject | AddressObject[] | undefined): string[] =>
  [a ?? []]
    .flat()
    .flatMap((o) => o.value)
    .flatMap((v) => (v.group ? v.group : [v]))
    .map((v) => (v.address ?? '').trim().toLowerCase())
    .filter(Boolean);

const cut = (s: string, n = MAX_BODY_CHARS) => (s.length > n ? s.slice(0, n) : s);

/**
 * Parses a raw e-mail with mailparser (https://nodemailer.com/extras/mailparser/). Malformed MIME
 * gives what could be read; a message with no Message-ID gets one from its bytes' hash, so the
 * same message synced twice is still stored once.
 * @returns null when nothing could be read (not even a sender)
 */
export async function parseEmail(raw: Buffer): Promise<Inbound | null> {
  let parsed: Awaited<ReturnType<typeof simpleParser>>;
  try {
    parsed = await simpleParser(raw, {
      skipImageLinks: true,
      skipTextToHtml: true,
      maxHtmlLengthToParse: MAX_BODY_CHARS,
    });
  } catch {
    return null;
  }
  const from = addressesOf(parsed.from)[0];
  if (!from) return null;
  const refs = parsed.references;
  const messageId = (
    parsed.messageId ?? `<${createHash('sha256').update(raw).digest('hex')}@cairn.invalid>`
  ).slice(0, 998);
  const html = typeof parsed.html === 'string' ? sanitizeHtml(cut(parsed.html)) : null;
  return {
    messageId,
    reports: deliveryReportsOf(raw, messageId),
    inReplyTo: parsed.inReplyTo?.slice(0, 998) ?? null,
    references: (Array.isArray(refs) ? refs : refs ? [refs] : []).slice(-50).map((r) => r.slice(0, 998)),
    from,
    to: [...addressesOf(parsed.to), ...addressesOf(parsed.cc)].slice(0, 100),
    subject: parsed.subject?.slice(0, 998) ?? null,
    text: cut(parsed.text ?? ''),
    html,
    attachments: parsed.attachments.slice(0, MAX_ATTACHMENTS).map((a) => ({
      filename: a.filename?.slice(0, 255) ?? null,
      content_type: a.contentType,
      size: a.size,
    })),
    files: parsed.attachments.slice(0, MAX_ATTACHMENTS).map((a) => a.content),
    date: parsed.date ?? null,
  };
}

/** "Re: Re: Fwd: Hello" -> "hello". */
export const baseSubject = (subject: string | null) =>
  (subject ?? '')
    .replace(/^(\s*(re|fwd?|aw|wg|sv|tr)(\[\d+\])?\s*:\s*)+/i, '')
    .trim()
    .toLowerCase();

/** The contact with this e-mail (an active one), or this number, or (Messenger, Instagram) the one this person's thread was linked to. */
async function contactOf(
  scope: TenantScope,
  channel: ChannelRow,
  counterpart: string,
): Promise<{ id: string; name: string | null } | null> {
  const kind = channel.kind;
  if (isMetaKind(kind)) {
    // A page-scoped id names no one outside its page: the thread's contact, once linked.
    const { rows } = await scope.conn.query<{ id: string; name: string | null }>(
      `select c.id, nullif(trim(concat_ws(' ', c.first_name, c.last_name)), '') as name
         from conversations v join contacts c on c.org_id = v.org_id and c.id = v.contact_id
        where v.org_id = $1 and v.channel_id = $2 and v.counterpart = $3
        order by v.last_message_at desc limit 1`,
      [scope.ctx.orgId, channel.id, counterpart],
    );
    return rows[0] ?? null;
  }
  const { rows } =
    kind === 'sms'
      ? await scope.conn.query<{ id: string; name: string | null }>(
          `select c.id, nullif(trim(concat_ws(' ', c.first_name, c.last_name)), '') as name
             from contacts c
            where c.org_id = $1 and (c.phone = $2 or c.phones @> jsonb_build_array(jsonb_build_object('e164', $2::text)))
            order by c.created_at limit 1`,
          [scope.ctx.orgId, counterpart],
        )
      : await scope.conn.query<{ id: string; name: string | null }>(
          `select c.id, nullif(trim(concat_ws(' ', c.first_name, c.last_name)), '') as name
             from contact_emails e join contacts c on c.org_id = e.org_id and c.id = e.contact_id
            where e.org_id = $1 and e.email = $2 and e.active
            limit 1`,
          [scope.ctx.orgId, counterpart],
        );
  return rows[0] ?? null;
}

/** The conversation a message belongs to: by its references, else (e-mail) its subject, else a new one. */
async function threadOf(
  scope: TenantScope,
  channel: ChannelRow,
  message: Inbound,
  counterpart: string,
  contactId: string | null,
): Promise<string> {
  const orgId = scope.ctx.orgId;
  if (channel.kind === 'sms' || isMetaKind(channel.kind)) {
    const { rows } = await scope.conn.query<{ id: string }>(
      `select id from conversations where org_id = $1 and channel_id = $2 and counterpart = $3
        order by last_message_at desc limit 1`,
      [orgId, channel.id, counterpart],
    );
    if (rows[0]) return rows[0].id;
  } else {
    const refs = [message.inReplyTo, ...message.references].filter((r): r is string => !!r);
    if (refs.length) {
      const { rows } = await scope.conn.query<{ conversation_id: string }>(
        `select conversation_id from messages where org_id = $1 and channel_id = $2 and message_id = any($3::text[])
          order by created_at desc limit 1`,
        [orgId, channel.id, refs],
      );
      if (rows[0]) return rows[0].conversation_id;
    }
    const base = baseSubject(message.subject);
    if (base) {
      // The last resort: the same subject with the same person, recently.
      const { rows } = await scope.conn.query<{ id: string; subject: string | null }>(
        `select id, subject from conversations
          where org_id = $1 and channel_id = $2 and counterpart = $3
            and last_message_at > now() - make_interval(days => $4)
          order by last_message_at desc limit 20`,
        [orgId, channel.id, counterpart, SUBJECT_THREAD_DAYS],
      );
      const same = rows.find((r) => baseSubject(r.subject) === base);
      if (same) return same.id;
    }
  }
  const { rows } = await scope.conn.query<{ id: string }>(
    `insert into conversations (org_id, channel_id, contact_id, counterpart, subject)
     values ($1, $2, $3, $4, $5) returning id`,
    [orgId, channel.id, contactId, counterpart, message.subject],
  );
  return rows[0]!.id;
}

export const previewOf = (text: string) => text.replace(/\s+/g, ' ').trim().slice(0, PREVIEW_CHARS);

/**
 * Stores one incoming message in the caller's tenant transaction: threaded, matched to a contact,
 * an event (on the contact's timeline). A message already stored (same Message-ID on this
 * channel) is left alone.
 * @returns the new message's id, or null for a duplicate
 */
export async function ingestMessage(
  services: Services,
  scope: TenantScope,
  channel: ChannelRow,
  message: Inbound,
): Promise<string | null> {
  const orgId = scope.ctx.orgId;
  const { rows: seen } = await scope.conn.query(
    `select 1 from messages where org_id = $1 and channel_id = $2 and message_id = $3`,
    [orgId, channel.id, message.messageId],
  );
  if (seen.length) return null;
  const outgoing = message.from === channel.address;
  const counterpart = (outgoing ? message.to[0] : message.from) ?? message.from;
  const contact = await contactOf(scope, channel, counterpart);
  const conversationId = await threadOf(scope, channel, message, counterpart, contact?.id ?? null);
  const { rows } = await scope.conn.query<{ id: string }>(
    `insert into messages (org_id, conversation_id, channel_id, direction, message_id, in_reply_to, "references",
        from_address, to_addresses, subject, text, html, attachments, status, provider_id, sent_at, created_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, clock_timestamp())
     on conflict (org_id, channel_id, message_id) do nothing
     returning id`,
    [
      orgId,
      conversationId,
      channel.id,
      outgoing ? 'out' : 'in',
      message.messageId,
      message.inReplyTo,
      message.references,
      message.from,
      message.to,
      message.subject,
      message.text,
      message.html,
      JSON.stringify(message.attachments),
      outgoing ? 'sent' : 'received',
      message.providerId ?? null,
      message.date && !Number.isNaN(message.date.getTime()) ? message.date.toISOString() : null,
    ],
  );
  const id = rows[0]?.id;
  if (!id) return null;
  if (message.reports?.length)
    await recordDeliveryReports(services, scope, channel, message.messageId, message.reports);
  const preview = previewOf(message.text || message.subject || '');
  await scope.conn.query(
    `update conversations
        set last_message_at = clock_timestamp(), last_preview = $3, updated_at = clock_timestamp(),
            unread_count = unread_count + $4, status = case when $4 = 1 then 'open' else status end,
            contact_id = coalesce(contact_id, $5)
      where org_id = $1 and id = $2`,
    [orgId, conversationId, preview, outgoing ? 0 : 1, contact?.id ?? null],
  );
  await announceInbox(scope.conn, orgId);
  await emitEvent(scope, services.jobs, {
    type: outgoing ? 'message.sent' : 'message.received',
    subject: contact ? { object: 'contact', id: contact.id } : { object: 'conversation', id: conversationId },
    related: contact ? [{ object: 'conversation', id: conversationId }] : [],
    data: {
      name: contact?.name ?? (contact ? null : counterpart),
      conversation_id: conversationId,
      message_id: id,
      channel_id: channel.id,
      channel_kind: channel.kind as ChannelKind,
      subject: message.subject,
      preview,
    },
  });
  return id;
}
