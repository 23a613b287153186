import { badRequest } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { OutboundError, type OutboundResponse, sendOutbound } from '../../platform/net/outbound-http.js';
import { outboundPolicyOf } from '../webhooks/webhook.service.js';
import type { channels } from './conversation.schema.js';

type ChannelRow = typeof channels.$inferSelect;

import type { ProviderName } from './conversation.schema.js';
import { unsealChannelSecrets as secretsOf } from './secrets.js';

/** The providers' public API bases (a channel's `provider.api_base` replaces it: a test's local server). */
export const PROVIDER_API_BASE: Record<ProviderName, string> = {
  sendgrid: 'https://api.sendgrid.com',
  postmark: 'https://api.postmarkapp.com',
  mailgun: 'https://api.mailgun.net',
};

/** One e-mail to hand to a provider. */
export type ProviderMail = {
  from: { address: string; name: string | null };
  to: string;
  subject: string;
  text: string;
  /** Message-ID, In-Reply-To, References, List-Unsubscribe...: set on the message as given. */
  headers: Record<string, string>;
  /** Cairn's id of the message: echoed back in the provider's events (custom args / metadata / variables). */
  cairnId: string;
};

/** What the provider answered: its id of the message, or why it refused (and whether a retry may pass). */
export type ProviderOutcome =
  | { ok: true; providerId: string | null }
  | { ok: false; error: string; retry: boolean };

const join = (base: string, path: string) => `${base.replace(/\/+$/, '')}${path}`;
const display = (f: ProviderMail['from']) =>
  f.name ? `"${f.name.replace(/["\\\r\n]/g, '')}" <${f.address}>` : f.address;

/** The provider's request for one message, from its API reference. */
function requestOf(
  name: ProviderName,
  base: string,
  key: string,
  domain: string | null,
  mail: ProviderMail,
): { url: string; headers: Record<string, string>; body: string } {
  if (name === 'sendgrid')
    // https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send
    return {
      url: join(base, '/v3/mail/send'),
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        personalizations: [{ to: [{ email: mail.to }], custom_args: { cairn_message_id: mail.cairnId } }],
        from: { email: mail.from.address, ...(mail.from.name ? { name: mail.from.name } : {}) },
        subject: mail.subject,
        content: [{ type: 'text/plain', value: mail.text || ' ' }],
        headers: mail.headers,
      }),
    };
  if (name === 'postmark')
    // https://postmarkapp.com/developer/api/email-api#send-a-single-email
    return {
      url: join(base, '/email'),
      headers: {
        'x-postmark-server-token': key,
        accept: 'application/json',
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        From: display(mail.from),
        To: mail.to,
        Subject: mail.subject,
        TextBody: mail.text,
        Headers: Object.entries(mail.headers).map(([Name, Value]) => ({ Name, Value })),
        Metadata: { cairn_message_id: mail.cairnId },
        MessageStream: 'outbound',
      }),
    };
  // Mailgun: https://documentation.mailgun.com/docs/mailgun/api-reference/openapi-final/tag/Messages/
  if (!domain) throw badRequest('A Mailgun channel needs its sending domain', 'body.provider.domain');
  const form = new URLSearchParams({
    from: display(mail.from),
    to: mail.to,
    subject: mail.subject,
    text: mail.text,
    'v:cairn_message_id': mail.cairnId,
  });
  for (const [k, v] of Object.entries(mail.headers)) form.append(`h:${k}`, v);
  return {
    url: join(base, `/v3/${encodeURIComponent(domain)}/messages`),
    headers: {
      authorization: `Basic ${Buffer.from(`api:${key}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: form.toString(),
  };
}

/** The provider's reason from an error answer (SendGrid `errors[].message`, Postmark `Message`, Mailgun `message`). */
function reasonOf(name: ProviderName, res: OutboundResponse): string {
  let detail = res.body.slice(0, 300);
  try {
    const body = JSON.parse(res.body) as {
      errors?: { message?: string }[];
      Message?: string;
      ErrorCode?: number;
      message?: string;
    };
    detail =
      body.errors?.map((e) => e.message).join('; ') ||
      (body.Message ? `${body.Message}${body.ErrorCode ? ` (error ${body.ErrorCode})` : ''}` : '') ||
      body.message ||
      detail;
  } catch {
    // Not JSON: the answer's first bytes.
  }
  return `${name} ${res.status}: ${detail}`.slice(0, 500);
}

/**
 * Sends one message through the channel's provider API. Never throws for the provider's answer:
 * a 2xx is `ok` with the provider's id (SendGrid's `X-Message-Id` header, Postmark's `MessageID`,
 * Mailgun's `id`); 429 and 5xx (and no answer at all) may pass on a retry; other 4xx are final.
 * @throws 400 when the channel is not in provider mode
 */
export async function sendThroughProvider(
  services: Services,
  channel: ChannelRow,
  mail: ProviderMail,
): Promise<ProviderOutcome> {
  const provider = channel.settings.provider;
  if (!provider) throw badRequest('The channel is not in provider mode', 'body.provider');
  const key = secretsOf(services, channel).provider_api_key ?? '';
  const base = provider.api_base ?? PROVIDER_API_BASE[provider.name];
  const req = requestOf(provider.name, base, key, provider.domain, mail);
  let res: OutboundResponse;
  try {
    res = await sendOutbound(
      req.url,
      {
        method: 'POST',
        headers: { ...req.headers, 'user-agent': 'Cairn-Mail/1' },
        body: req.body,
        timeoutMs: 20_000,
      },
      outboundPolicyOf(services),
    );
  } catch (error) {
    const text = error instanceof OutboundError ? `${error.code}: ${error.message}` : String(error);
    return { ok: false, error: `${provider.name}: ${text}`.slice(0, 500), retry: true };
  }
  if (res.status < 200 || res.status >= 300)
    return {
      ok: false,
      error: reasonOf(provider.name, res),
      retry: res.status === 429 || res.status >= 500,
    };
  if (provider.name === 'sendgrid') {
    const id = res.headers['x-message-id'];
    return { ok: true, providerId: (Array.isArray(id) ? id[0] : id) ?? null };
  }
  try {
    const body = JSON.parse(res.body) as { MessageID?: string; id?: string };
    const id = provider.name === 'postmark' ? body.MessageID : body.id?.replace(/^<|>$/g, '');
    return { ok: true, providerId: id ?? null };
  } catch {
    return { ok: true, providerId: null };
  }
}

/**
 * Checks the API key against the provider without sending: SendGrid `GET /v3/scopes`, Postmark
 * `GET /server`, Mailgun `GET /v3/domains/{domain}`.
 * @throws Error with the provider's reason when refused
 */
export async function checkProvider(services: Services, channel: ChannelRow): Promise<void> {
  const provider = channel.settings.provider!;
  const key = secretsOf(services, channel).provider_api_key ?? '';
  const base = provider.api_base ?? PROVIDER_API_BASE[provider.name];
  const [path, headers] =
    provider.name === 'sendgrid'
      ? ['/v3/scopes', { authorization: `Bearer ${key}` }]
      : provider.name === 'postmark'
        ? ['/server', { 'x-postmark-server-token': key, accept: 'application/json' }]
        : [
            `/v3/domains/${encodeURIComponent(provider.domain ?? '')}`,
            { authorization: `Basic ${Buffer.from(`api:${key}`).toString('base64')}` },
          ];
  const res = await sendOutbound(join(base, path), { method: 'GET', headers }, outboundPolicyOf(services));
  if (res.status < 200 || res.status >= 300) throw new Error(reasonOf(provider.name, res));
}
