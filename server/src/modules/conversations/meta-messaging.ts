import { and, eq, inArray } from 'drizzle-orm';
import type { TenantScope } from '../../db/tenant.js';
import type { Services } from '../../platform/http/types.js';
import { channels, META_KINDS, type MetaKind } from './conversation.schema.js';

import { ingestMessage } from './message-ingest.service.js';

/**
 * Messenger and Instagram direct messages (issue 23) through Meta's Messenger Platform: the page
 * webhook's `messaging` events in (https://developers.facebook.com/docs/messenger-platform/webhooks,
 * `object: "page"` for Messenger, `"instagram"` for Instagram), the Send API out
 * (`POST /{page-id}/messages`, https://developers.facebook.com/docs/messenger-platform/reference/send-api).
 * The deliveries arrive at the organization's Meta webhook (`/public/meta/webhook/<token>`), verified
 * there with the app secret (X-Hub-Signature-256) before they reach this module.
 */

/** One message of a `messaging` event: the person's (in) or the page's own (an echo, out). */
export type MessagingEvent = {
  kind: MetaKind;
  /** The entry's id: the page id (Messenger) or the Instagram professional account id. */
  account: string;
  sender: string;
  recipient: string;
  timestamp: number | null;
  mid: string;
  text: string;
  attachments: { filename: string | null; content_type: string; size: number }[];
  /** A message the page sent (from Cairn, Meta's inbox or another app), echoed back. */
  echo: boolean;
};

/** Ids Meta may send as JSON numbers wider than a double: quoted before parsing. */
const ID_KEYS = /"(id)"(\s*):(\s*)(-?\d+)/g;
const idOf = (v: unknown): string | null =>
  (typeof v === 'string' && /^[0-9A-Za-z_.:-]{1,128}$/.test(v)) ||
  (typeof v === 'number' && Number.isInteger(v))
    ? String(v)
    : null;

/** Messenger keeps 2,000 characters of text per message, Instagram 1,000; a stored one is cut at 10,000. */
const MAX_TEXT = 10_000;

/**
 * The messages of a page or Instagram webhook body (`{"object":"page"|"instagram","entry":[{"id",
 * "time","messaging":[{"sender":{"id"},"recipient":{"id"},"timestamp","message":{"mid","text",
 * "attachments":[{"type","payload":{"url"}}],"is_echo"}}]}]}`), every entry's every event; a
 * postback (a button tapped) counts as a message with the button's title. Delivery and read
 * receipts, reactions and deleted messages are skipped; so is anything that is not one of these.
 */
export function messagingEvents(rawBody: string): MessagingEvent[] {
  let body: unknown;
  try {
    body = JSON.parse(rawBody.replace(ID_KEYS, '"$1"$2:$3"$4"'));
  } catch {
    return [];
  }
  const b = body as { object?: unknown; entry?: unknown };
  if (!b || typeof b !== 'object' || !Array.isArray(b.entry)) return [];
  const kind: MetaKind | null =
    b.object === 'page' ? 'messenger' : b.object === 'instagram' ? 'instagram' : null;
  if (!kind) return [];
  const events: MessagingEvent[] = [];
  for (const entry of b.entry as { id?: unknown; messaging?: unknown }[]) {
    if (!entry || !Array.isArray(entry.messaging)) continue;
    for (const e of entry.messaging as Record<string, unknown>[]) {
      if (!e || typeof e !== 'object') continue;
      const sender = idOf((e.sender as { id?: unknown } | undefined)?.id);
      const recipient = idOf((e.recipient as { id?: unknown } | undefined)?.id);
      const account = idOf(entry.id) ?? recipient;
      if (!sender || !recipient || !account) continue;
      const timestamp = typeof e.timestamp === 'number' ? e.timestamp : null;
      const message = e.message as Record<string, unknown> | undefined;
      const postback = e.postback as { mid?: unknown; title?: unknown; payload?: unknown } | undefined;
      if (message && typeof message === 'object') {
        if (message.is_deleted || message.is_unsupported) continue;
        const mid = typeof message.mid === 'string' ? message.mid.slice(0, 500) : null;
        if (!mid) continue;
        const attachments = Array.isArray(message.attachments)
          ? (message.attachments as { type?: unknown; payload?: { url?: unknown } }[])
              .slice(0, 20)
              .map((a) => ({
                filename: typeof a?.payload?.url === 'string' ? a.payload.url.slice(0, 2000) : null,
                content_type: typeof a?.type === 'string' ? a.type.slice(0, 50) : 'file',
                size: 0,
              }))
          : [];
        events.push({
          kind,
          account,
          sender,
          recipient,
          timestamp,
          mid,
          text: typeof message.text === 'string' ? message.text.slice(0, MAX_TEXT) : '',
          attachments,
          echo: message.is_echo === true,
        });
      } else if (postback && typeof postback === 'object' && typeof postback.mid === 'string') {
        events.push({
          kind,
          account,
          sender,
          recipient,
          timestamp,
          mid: postback.mid.slice(0, 500),
          text: typeof postback.title === 'string' ? postback.title.slice(0, MAX_TEXT) : '',
          attachments: [],
          echo: false,
        });
      }
    }
  }
  return events;
}

export type MessagingOutcome = { stored: number; seen: number; ignored: number };

/**
 * Stores the messages of a verified Meta webhook body in the caller's tenant transaction (the
 * organization whose webhook endpoint received it): each on the active Messenger or Instagram
 * channel of its page or account, threaded by the person's page-scoped id (PSID / IGSID) like an
 * SMS by its number, once per message id. An echo of a message Cairn sent (same message id as the
 * Send API answered) is not stored again; one sent from elsewhere is stored as outgoing. A message
 * for a page no channel of this organization listens to is ignored.
 */
export async function ingestMessagingEvents(
  services: Services,
  scope: TenantScope,
  rawBody: string,
): Promise<MessagingOutcome> {
  const outcome: MessagingOutcome = { stored: 0, seen: 0, ignored: 0 };
  const events = messagingEvents(rawBody);
  if (events.length === 0) return outcome;
  const rows = await scope.tx
    .select()
    .from(channels)
    .where(
      and(
        eq(channels.orgId, scope.ctx.orgId),
        inArray(channels.kind, [...META_KINDS]),
        eq(channels.status, 'active'),
      ),
    );
  for (const event of events) {
    const channel = rows.find((r) => r.kind === event.kind && r.address === event.account);
    if (!channel) {
      outcome.ignored += 1;
      continue;
    }
    if (event.echo) {
      // Cairn's own reply comes back as an echo with the id the Send API answered.
      const { rows: sent } = await scope.conn.query(
        `select 1 from messages where org_id = $1 and channel_id = $2 and provider_id = $3 limit 1`,
        [scope.ctx.orgId, channel.id, event.mid],
      );
      if (sent.length) {
        outcome.seen += 1;
        continue;
      }
    }
    const id = await ingestMessage(services, scope, channel, {
      messageId: event.mid,
      inReplyTo: null,
      references: [],
      from: event.sender,
      to: [event.recipient],
      subject: null,
      text: event.text,
      html: null,
      attachments: event.attachments,
      providerId: event.mid,
      date: event.timestamp ? new Date(event.timestamp) : null,
    });
    if (id) outcome.stored += 1;
    else outcome.seen += 1;
  }
  return outcome;
}
