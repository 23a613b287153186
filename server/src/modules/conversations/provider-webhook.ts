import { createHmac, timingSafeEqual, verify } from 'node:crypto';

/**
 * The e-mail providers' webhooks (issue 23/25): how each is verified, and their delivery events in
 * one shape. Sources: SendGrid Event Webhook reference and its signed webhook
 * (https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features),
 * Mailgun "Securing webhooks" (https://documentation.mailgun.com/docs/mailgun/user-manual/events/webhooks/),
 * Postmark webhooks (https://postmarkapp.com/developer/webhooks/webhooks-overview: basic auth in the URL).
 */

const same = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/**
 * SendGrid's signed Event Webhook: an ECDSA P-256 / SHA-256 signature (base64 DER, header
 * `X-Twilio-Email-Event-Webhook-Signature`) over the timestamp header followed by the raw body's
 * exact bytes, under the verification key shown in SendGrid's settings (base64 DER SPKI).
 */
export function isSendgridSignature(
  publicKey: string,
  signature: string | undefined,
  timestamp: string | undefined,
  rawBody: Buffer,
): boolean {
  if (!publicKey || !signature || !timestamp) return false;
  try {
    return verify(
      'sha256',
      Buffer.concat([Buffer.from(timestamp), rawBody]),
      { key: Buffer.from(publicKey, 'base64'), format: 'der', type: 'spki' },
      Buffer.from(signature, 'base64'),
    );
  } catch {
    return false;
  }
}

/** Mailgun's webhook signature: hex HMAC-SHA256 of `timestamp + token` under the webhook signing key. */
export function isMailgunSignature(
  signingKey: string,
  s: { timestamp?: unknown; token?: unknown; signature?: unknown } | undefined,
): boolean {
  if (!signingKey || !s) return false;
  const { timestamp, token, signature } = s;
  if (typeof timestamp !== 'string' || typeof token !== 'string' || typeof signature !== 'string')
    return false;
  const expected = createHmac('sha256', signingKey)
    .update(timestamp + token)
    .digest('hex');
  return same(expected, signature.toLowerCase());
}

/** HTTP basic auth (Postmark's webhooks, SendGrid's Inbound Parse): any user name, the password is the key. */
export function isBasicAuth(key: string, header: string | undefined): boolean {
  if (!key || !header?.startsWith('Basic ')) return false;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const at = decoded.indexOf(':');
  return at >= 0 && same(decoded.slice(at + 1), key);
}

/** One provider delivery event in Cairn's words. */
export type ProviderEvent = {
  /** The provider's id of the event (or one derived from its fields): a replay carries the same. */
  eventId: string;
  kind: 'delivered' | 'deferred' | 'hard' | 'soft' | 'complaint' | 'unsubscribed' | 'failed' | 'ignored';
  recipient: string | null;
  /** The provider's id of the message (as its send API answered it). */
  providerId: string | null;
  /** Cairn's message id, echoed from the send's custom args / metadata / variables. */
  cairnId: string | null;
  status: string | null;
  diagnostic: string | null;
};

type Json = Record<string, unknown>;
const str = (v: unknown) => (typeof v === 'string' && v ? v : typeof v === 'number' ? String(v) : null);
const lower = (v: unknown) => str(v)?.toLowerCase() ?? null;

/** SendGrid's events (a JSON array): `sg_message_id` is the send's `X-Message-Id` then `.filter...`. */
export function sendgridEvents(body: unknown): ProviderEvent[] {
  if (!Array.isArray(body)) return [];
  return body
    .filter((e): e is Json => !!e && typeof e === 'object')
    .map((e) => {
      const event = str(e.event) ?? '';
      const reason = str(e.reason) ?? str(e.response);
      let kind: ProviderEvent['kind'] = 'ignored';
      if (event === 'delivered') kind = 'delivered';
      else if (event === 'deferred') kind = 'deferred';
      else if (event === 'bounce') kind = e.type === 'blocked' ? 'soft' : 'hard';
      else if (event === 'spamreport') kind = 'complaint';
      else if (event === 'unsubscribe' || event === 'group_unsubscribe') kind = 'unsubscribed';
      else if (event === 'dropped')
        kind = /spam/i.test(reason ?? '')
          ? 'complaint'
          : /unsubscribed/i.test(reason ?? '')
            ? 'unsubscribed'
            : /bounce/i.test(reason ?? '')
              ? 'hard'
              : 'failed';
      const sg = str(e.sg_message_id);
      return {
        eventId: `sendgrid:${str(e.sg_event_id) ?? `${sg}:${event}:${str(e.timestamp)}`}`,
        kind,
        recipient: lower(e.email),
        providerId: sg ? sg.split('.')[0]! : null,
        cairnId: str(e.cairn_message_id),
        status: str(e.status) ?? (event || null),
        diagnostic: reason?.slice(0, 500) ?? null,
      };
    });
}

/** One Postmark webhook (a JSON object per event: `RecordType` Delivery, Bounce, SpamComplaint, SubscriptionChange...). */
export function postmarkEvents(e: unknown): ProviderEvent[] {
  if (!e || typeof e !== 'object' || Array.isArray(e)) return [];
  const b = e as Json;
  const record = str(b.RecordType) ?? '';
  const type = str(b.Type) ?? '';
  let kind: ProviderEvent['kind'] = 'ignored';
  if (record === 'Delivery') kind = 'delivered';
  else if (record === 'SpamComplaint' || type === 'SpamComplaint') kind = 'complaint';
  else if (record === 'Bounce')
    kind =
      type === 'HardBounce' || type === 'BadEmailAddress' || type === 'ManuallyDeactivated'
        ? 'hard'
        : type === 'Unsubscribe'
          ? 'unsubscribed'
          : type === 'Transient' || type === 'SoftBounce' || type === 'DnsError'
            ? 'soft'
            : 'ignored';
  else if (record === 'SubscriptionChange' && b.SuppressSending === true)
    kind =
      b.SuppressionReason === 'HardBounce'
        ? 'hard'
        : b.SuppressionReason === 'SpamComplaint'
          ? 'complaint'
          : 'unsubscribed';
  const recipient = lower(b.Recipient) ?? lower(b.Email);
  const metadata = (b.Metadata ?? {}) as Json;
  return [
    {
      eventId: `postmark:${record}:${str(b.ID) ?? `${str(b.MessageID)}:${recipient}:${str(b.ChangedAt) ?? ''}`}`,
      kind,
      recipient,
      providerId: str(b.MessageID),
      cairnId: str(metadata.cairn_message_id),
      status: type || record || null,
      diagnostic: (str(b.Details) ?? str(b.Description))?.slice(0, 500) ?? null,
    },
  ];
}

/**
 * A Mailgun webhook: the current JSON (`signature` + `event-data`) or a legacy form post (the
 * signature's fields and `event` at the top level).
 */
export function mailgunEvents(body: Json): ProviderEvent[] {
  const data = (body['event-data'] as Json | undefined) ?? body;
  const event = str(data.event) ?? '';
  const status = (data['delivery-status'] ?? {}) as Json;
  const severity = str(data.severity);
  let kind: ProviderEvent['kind'] = 'ignored';
  if (event === 'delivered') kind = 'delivered';
  else if (event === 'failed' || event === 'bounced' || event === 'dropped')
    kind = severity === 'temporary' ? 'soft' : 'hard';
  else if (event === 'rejected') kind = 'failed';
  else if (event === 'complained') kind = 'complaint';
  else if (event === 'unsubscribed') kind = 'unsubscribed';
  const message = (data.message ?? {}) as Json;
  const headers = (message.headers ?? {}) as Json;
  const messageId = str(headers['message-id']) ?? str(data['Message-Id']) ?? str(data['message-id']);
  const variables = (data['user-variables'] ?? {}) as Json;
  const signature = (body.signature ?? body) as Json;
  return [
    {
      eventId: `mailgun:${str(data.id) ?? `${str(signature.token)}:${event}`}`,
      kind,
      recipient: lower(data.recipient),
      providerId: messageId ? messageId.replace(/^<|>$/g, '') : null,
      cairnId: str(variables.cairn_message_id) ?? str(data.cairn_message_id),
      status: str(status.code) ?? str(data.code) ?? (event || null),
      diagnostic:
        (str(status.description) || str(status.message) || str(data.error) || str(data.reason))?.slice(
          0,
          500,
        ) ?? null,
    },
  ];
}
