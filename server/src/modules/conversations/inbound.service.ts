import { createHash } from 'node:crypto';
import { type AddressObject, simpleParser } from 'mailparser';
import sanitizeHtml from 'sanitize-html';
import { type DeliveryReport, deliveryReportsOf } from './delivery-report.js';

/** Bodies kept up to this many characters (text and HTML each); the rest is cut. */
const MAX_BODY_CHARS = 1_000_000;
const PREVIEW_CHARS = 200;
/** Attachments kept per message (names and sizes; their bytes through the files pipeline). */
export const MAX_ATTACHMENTS = 100;

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
   * The attachments' bytes (an e-mail parsed here, a provider's posted files), for the files
   * pipeline once the message is stored (`storeInboundAttachments`); in the order of
   * `attachments`. Null where they were not received (the attachment then says why, or keeps
   * only its name and size).
   */
  files?: (Buffer | null)[];
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

export const previewOf = (text: string) => text.replace(/\s+/g, ' ').trim().slice(0, PREVIEW_CHARS);
