import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import type { Services } from '../../platform/http/types.js';
import type { ChannelSecrets, channels } from './conversation.schema.js';
import { unsealChannelSecrets } from './secrets.js';

type RequestOptions<T> = RequestClient.RequestOptions<T>;

const TWILIO_API = 'https://api.twilio.com';

/**
 * Twilio's own request client with the API base swapped for the channel's (`api_base`: a test's
 * local server speaking Twilio's REST format, or a regional edge), so sends go through the
 * official SDK (https://www.twilio.com/docs/libraries/reference/twilio-node) either way.
 */
class BasedRequestClient extends twilio.RequestClient {
  constructor(private readonly base: string) {
    super({ timeout: 15_000 });
  }
  override request<T>(opts: RequestOptions<T>) {
    const uri = opts.uri.startsWith(TWILIO_API)
      ? this.base.replace(/\/$/, '') + opts.uri.slice(TWILIO_API.length)
      : opts.uri;
    return super.request<T>({ ...opts, uri });
  }
}

export function twilioClient(services: Services, row: typeof channels.$inferSelect) {
  const settings = row.settings.twilio;
  if (!settings) throw new Error('The channel has no Twilio account');
  const secrets: ChannelSecrets = unsealChannelSecrets(services, row);
  const base = settings.api_base ?? TWILIO_API;
  return twilio(settings.account_sid, secrets.twilio_auth_token ?? '', {
    ...(base !== TWILIO_API ? { httpClient: new BasedRequestClient(base) } : {}),
    autoRetry: false,
  });
}

/**
 * Whether a webhook request is Twilio's: X-Twilio-Signature is base64(HMAC-SHA1(auth token, the
 * URL and the sorted form parameters)), checked by the SDK's `validateRequest`
 * (https://www.twilio.com/docs/usage/webhooks/webhooks-security), which also accepts the URL with
 * or without its default port.
 */
export function isTwilioSignature(
  authToken: string,
  signature: string | undefined,
  url: string,
  params: Record<string, string | string[]>,
): boolean {
  if (!signature || !authToken) return false;
  try {
    return twilio.validateRequest(authToken, signature, url, params);
  } catch {
    return false;
  }
}
