import type { Services } from '../../platform/http/types.js';
import { OutboundError, type OutboundResponse, sendOutbound } from '../../platform/net/outbound-http.js';
import { outboundPolicyOf } from '../webhooks/webhook.service.js';
import type { channels } from './conversation.schema.js';
import { unsealChannelSecrets } from './secrets.js';

type ChannelRow = typeof channels.$inferSelect;

/**
 * Meta's Graph API for Messenger and Instagram channels (issue 23): the Send API for replies and a
 * read of the page or account for the connection test, with the channel's page access token,
 * through the outbound guard (`META_GRAPH_URL`, a test's local server speaking the Graph API).
 */

/** The channel's Graph API call: `{META_GRAPH_URL}/{path}` with its page access token, through the outbound guard. */
export async function graphCall(
  services: Services,
  channel: ChannelRow,
  path: string,
  request: { method: 'GET' | 'POST'; json?: unknown },
): Promise<OutboundResponse> {
  const token = unsealChannelSecrets(services, channel).meta_page_token ?? '';
  const url = `${services.config.meta.graphUrl}/${path}${path.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(token)}`;
  return sendOutbound(
    url,
    {
      method: request.method,
      timeoutMs: 15_000,
      maxBodyBytes: 65_536,
      ...(request.json === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(request.json) }),
    },
    outboundPolicyOf(services),
  );
}

/** Graph error codes worth another attempt (https://developers.facebook.com/docs/graph-api/guides/error-handling). */
const TRANSIENT_GRAPH_CODES = new Set([1, 2, 4, 17, 32, 341, 613]);

/** Graph's error body (`{"error":{"message","type","code","error_subcode","fbtrace_id"}}`) as a reason. */
export function graphReason(response: OutboundResponse): { error: string; retry: boolean } {
  let e: { code?: number; error_subcode?: number; message?: string } | undefined;
  try {
    e = (JSON.parse(response.body) as { error?: typeof e }).error;
  } catch {
    e = undefined;
  }
  const retry =
    response.status >= 500 ||
    response.status === 429 ||
    (e?.code !== undefined && TRANSIENT_GRAPH_CODES.has(e.code));
  const code =
    e?.code !== undefined
      ? `graph_${e.code}${e.error_subcode ? `/${e.error_subcode}` : ''}`
      : `http_${response.status}`;
  return { error: `${code}: ${(e?.message ?? response.body).slice(0, 450)}`, retry };
}

/**
 * Sends a reply with the Send API: `POST /{page-id}/messages` with `recipient.id` (the PSID or
 * IGSID), `messaging_type: RESPONSE` (a reply inside the 24-hour window Meta allows) and the text.
 * @returns Meta's message id, or the reason it refused (its error code and message)
 */
export async function sendMetaMessage(
  services: Services,
  channel: ChannelRow,
  to: string,
  text: string,
): Promise<{ ok: true; providerId: string | null } | { ok: false; error: string; retry: boolean }> {
  const page = channel.settings.meta?.page_id;
  if (!page) return { ok: false, error: 'The channel has no Facebook page', retry: false };
  let response: OutboundResponse;
  try {
    response = await graphCall(services, channel, `${encodeURIComponent(page)}/messages`, {
      method: 'POST',
      json: { recipient: { id: to }, messaging_type: 'RESPONSE', message: { text } },
    });
  } catch (error) {
    const code = error instanceof OutboundError ? error.code : 'connect_failed';
    // A refused address (the outbound guard) will not pass later; a network failure may.
    return {
      ok: false,
      error: `${code}: the Graph API could not be reached`,
      retry: !(error instanceof OutboundError) || ['dns_failed', 'connect_failed', 'timeout'].includes(code),
    };
  }
  if (response.status !== 200) return { ok: false, ...graphReason(response) };
  try {
    const body = JSON.parse(response.body) as { message_id?: unknown };
    return { ok: true, providerId: typeof body.message_id === 'string' ? body.message_id : null };
  } catch {
    return { ok: true, providerId: null };
  }
}

/**
 * The person's name as Meta shares it with the page: Messenger's User Profile API
 * (`GET /{PSID}?fields=first_name,last_name`), Instagram's (`GET /{IGSID}?fields=name,username`).
 * @returns null when Meta does not answer with one (no permission, the person blocked the page)
 */
export async function metaProfileOf(
  services: Services,
  channel: ChannelRow,
  personId: string,
): Promise<{ first_name: string | null; last_name: string | null } | null> {
  const fields = channel.kind === 'instagram' ? 'name,username' : 'first_name,last_name';
  try {
    const response = await graphCall(services, channel, `${encodeURIComponent(personId)}?fields=${fields}`, {
      method: 'GET',
    });
    if (response.status !== 200) return null;
    const p = JSON.parse(response.body) as Record<string, unknown>;
    const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim().slice(0, 100) : null);
    if (channel.kind === 'instagram') {
      const name = text(p.name) ?? (text(p.username) ? `@${text(p.username)}` : null);
      return name ? { first_name: name, last_name: null } : null;
    }
    const first = text(p.first_name);
    const last = text(p.last_name);
    return first || last ? { first_name: first, last_name: last } : null;
  } catch {
    return null;
  }
}
