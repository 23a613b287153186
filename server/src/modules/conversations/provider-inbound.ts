import { createHash } from 'node:crypto';
import type { ProviderName } from './conversation.schema.js';
import { type AttachmentMeta, type Inbound, MAX_ATTACHMENTS, parseEmail } from './inbound.service.js';

/**
 * Inbound e-mail from a provider's webhook (issue 23), read into the same `Inbound` as a synced
 * message, so threading, contact matching, duplicates, events and attachments are the IMAP path's
 * (`ingestMessage`, then `storeInboundAttachments`). When the provider passes the raw MIME
 * (SendGrid Inbound Parse "raw", Postmark `RawEmail`, Mailgun's `body-mime`) it is parsed as it
 * is, its attachments with it; otherwise the header block it passes and its text and HTML bodies
 * are put back into one MIME message and parsed by the same parser (mailparser): no second parser
 * of addresses, dates or encodings. The files it posts beside (SendGrid's `attachment1..n`,
 * Mailgun's `attachment-1..n`, Postmark's `Attachments`) become the message's attachments with
 * their bytes.
 */

/**
 * A file part of a provider's post: its name and declared type, its size in bytes (at least this
 * many when the post cut it), and its bytes (`content`): all of them, or for a file over the files
 * pipeline's limit its first `FILE_MAX_BYTES + 1` (the pipeline refuses it as too large), or null
 * when they were not kept, `reason` saying why.
 */
export type FilePart = {
  filename: string | null;
  mimetype: string;
  size: number;
  content: Buffer | null;
  reason?: string | null;
};
export type FormPart = { value: string } | FilePart;
export type InboundForm = Record<string, FormPart | FormPart[]>;

type Header = [string, string];
const MIME_OWN = /^(content-type|content-transfer-encoding|mime-version)$/i;
const oneLine = (v: string) => v.replace(/\r?\n[ \t]*/g, ' ').replace(/[\r\n]/g, ' ');

/** A MIME message from a header list and its bodies (base64 parts of a multipart/alternative). */
function mimeOf(headers: Header[], text: string, html: string | null): Buffer {
  // From the content: the same post read twice is the same bytes (a message without a
  // Message-ID is then still stored once, by its bytes' hash).
  const boundary = `cairn-${createHash('sha256')
    .update(JSON.stringify([headers, text, html]))
    .digest('hex')
    .slice(0, 24)}`;
  const lines = headers
    .filter(([name]) => !MIME_OWN.test(name) && /^[\x21-\x39\x3b-\x7e]+$/.test(name))
    .map(([name, value]) => `${name}: ${oneLine(value)}`);
  const part = (type: string, body: string) =>
    [
      `--${boundary}`,
      `Content-Type: ${type}; charset=utf-8`,
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from(body, 'utf8').toString('base64').replace(/.{76}/g, '$&\r\n'),
    ].join('\r\n');
  return Buffer.from(
    [
      ...lines,
      'MIME-Version: 1.0',
      `Content-Type: multipart/alternative; boundary="${boundary}"`,
      '',
      part('text/plain', text),
      ...(html ? [part('text/html', html)] : []),
      `--${boundary}--`,
      '',
    ].join('\r\n'),
    'utf8',
  );
}

/** The header block SendGrid passes (unfolded lines, `Name: value`). */
function headerBlock(raw: string): Header[] {
  const out: Header[] = [];
  for (const line of raw.replace(/\r\n/g, '\n').split('\n')) {
    if (/^[ \t]/.test(line) && out.length) out[out.length - 1]![1] += ` ${line.trim()}`;
    else {
      const at = line.indexOf(':');
      if (at > 0) out.push([line.slice(0, at).trim(), line.slice(at + 1).trim()]);
    }
  }
  return out;
}

const field = (form: InboundForm, name: string): string | null => {
  const v = [form[name] ?? []].flat()[0];
  return v && 'value' in v ? v.value : null;
};
const filesOf = (form: InboundForm): FilePart[] =>
  Object.values(form)
    .flat()
    .filter((p): p is FilePart => 'mimetype' in p);

/** The message with the posted files after its own attachments, at most `MAX_ATTACHMENTS` as synced mail. */
function withFiles(m: Inbound | null, parts: FilePart[]): Inbound | null {
  if (!m || parts.length === 0) return m;
  const metas = parts.map(
    (p): AttachmentMeta => ({
      filename: p.filename?.slice(0, 255) ?? null,
      content_type: p.mimetype,
      size: p.size,
      // Bytes not kept: refused here as the pipeline refuses, with the reason shown in the thread.
      ...(p.content === null && p.reason ? { file_id: null, status: 'rejected', reason: p.reason } : {}),
    }),
  );
  const own = m.files ?? m.attachments.map(() => null);
  return {
    ...m,
    attachments: [...m.attachments, ...metas].slice(0, MAX_ATTACHMENTS),
    files: [...own, ...parts.map((p) => p.content)].slice(0, MAX_ATTACHMENTS),
  };
}

/** SendGrid Inbound Parse (multipart/form-data: `headers`, `text`, `html`, or `email` in raw mode; files). */
export async function sendgridInbound(form: InboundForm): Promise<Inbound | null> {
  const raw = field(form, 'email');
  if (raw) return parseEmail(Buffer.from(raw, 'utf8'));
  const headers = headerBlock(field(form, 'headers') ?? '');
  if (!headers.some(([n]) => /^from$/i.test(n))) headers.push(['From', field(form, 'from') ?? '']);
  if (!headers.some(([n]) => /^subject$/i.test(n))) headers.push(['Subject', field(form, 'subject') ?? '']);
  return withFiles(
    await parseEmail(mimeOf(headers, field(form, 'text') ?? '', field(form, 'html'))),
    filesOf(form),
  );
}

/** Mailgun's route forward (form fields `message-headers` as JSON pairs, `body-plain`, `body-html`, or `body-mime`). */
export async function mailgunInbound(form: InboundForm): Promise<Inbound | null> {
  const mime = field(form, 'body-mime');
  if (mime) return parseEmail(Buffer.from(mime, 'utf8'));
  let headers: Header[] = [];
  try {
    const parsed = JSON.parse(field(form, 'message-headers') ?? '[]') as unknown;
    if (Array.isArray(parsed))
      headers = parsed.filter(
        (h): h is Header => Array.isArray(h) && typeof h[0] === 'string' && typeof h[1] === 'string',
      );
  } catch {
    // Fall back to the separate fields.
  }
  if (!headers.length)
    headers = (
      [
        ['From', field(form, 'from') ?? field(form, 'sender')],
        ['To', field(form, 'To') ?? field(form, 'recipient')],
        ['Subject', field(form, 'subject')],
        ['Message-Id', field(form, 'Message-Id')],
        ['In-Reply-To', field(form, 'In-Reply-To')],
        ['References', field(form, 'References')],
        ['Date', field(form, 'Date')],
      ] as [string, string | null][]
    ).filter((h): h is Header => !!h[1]);
  return withFiles(
    await parseEmail(mimeOf(headers, field(form, 'body-plain') ?? '', field(form, 'body-html'))),
    filesOf(form),
  );
}

type PostmarkInbound = {
  From?: string;
  To?: string;
  Cc?: string;
  ReplyTo?: string;
  Subject?: string;
  Date?: string;
  MessageID?: string;
  TextBody?: string;
  HtmlBody?: string;
  RawEmail?: string;
  Headers?: { Name?: unknown; Value?: unknown }[];
  Attachments?: {
    Name?: unknown;
    ContentType?: unknown;
    ContentLength?: unknown;
    Content?: unknown;
    Data?: unknown;
  }[];
};

/** Postmark's inbound webhook (JSON; `RawEmail` when "include raw email content" is on). */
export async function postmarkInbound(body: unknown): Promise<Inbound | null> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return null;
  const b = body as PostmarkInbound;
  if (typeof b.RawEmail === 'string' && b.RawEmail) return parseEmail(Buffer.from(b.RawEmail, 'utf8'));
  const headers: Header[] = (
    [
      ['From', b.From],
      ['To', b.To],
      ['Cc', b.Cc],
      ['Reply-To', b.ReplyTo],
      ['Subject', b.Subject],
      ['Date', b.Date],
    ] as [string, unknown][]
  ).filter((h): h is Header => typeof h[1] === 'string' && h[1] !== '');
  for (const h of Array.isArray(b.Headers) ? b.Headers : [])
    if (typeof h?.Name === 'string' && typeof h.Value === 'string') headers.push([h.Name, h.Value]);
  // Postmark's own id keeps a message without a Message-ID header stored once.
  if (!headers.some(([n]) => /^message-id$/i.test(n)) && typeof b.MessageID === 'string')
    headers.push(['Message-ID', `<${b.MessageID}@inbound.postmarkapp.com>`]);
  const parsed = await parseEmail(mimeOf(headers, b.TextBody ?? '', b.HtmlBody ?? null));
  const files = (Array.isArray(b.Attachments) ? b.Attachments : [])
    .slice(0, MAX_ATTACHMENTS)
    .filter((a) => !!a && typeof a === 'object')
    .map((a): FilePart => {
      // Base64 `Content` (Postmark's inbound webhook); `Data` in the payload of its settings' "test" button.
      const base64 = typeof a.Content === 'string' ? a.Content : typeof a.Data === 'string' ? a.Data : null;
      const content = base64 === null ? null : Buffer.from(base64, 'base64');
      return {
        filename: typeof a.Name === 'string' ? a.Name : null,
        mimetype: typeof a.ContentType === 'string' ? a.ContentType : 'application/octet-stream',
        size: content?.length ?? (typeof a.ContentLength === 'number' ? a.ContentLength : 0),
        content,
        reason: content ? null : 'Postmark sent no content for it',
      };
    });
  return withFiles(parsed, files);
}

/** The provider's inbound payload as an `Inbound`, or null when nothing could be read. */
export function providerInbound(name: ProviderName, body: unknown): Promise<Inbound | null> {
  if (name === 'postmark') return postmarkInbound(body);
  const form = (body ?? {}) as InboundForm;
  return name === 'sendgrid' ? sendgridInbound(form) : mailgunInbound(form);
}
