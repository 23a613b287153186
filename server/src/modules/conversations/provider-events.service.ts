import type { TenantScope } from '../../db/tenant.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import type { ChannelRow } from './channel.service.js';
import { recordDeliveryReports } from './delivery-report.js';
import { announceInbox } from './inbox-stream.js';
import type { ProviderEvent } from './provider-webhook.js';
import { suppressIn } from './suppression.service.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The outgoing message an event is about: by Cairn's id echoed back, else by the provider's id. */
async function messageOf(scope: TenantScope, channel: ChannelRow, e: ProviderEvent) {
  const { rows } = await scope.conn.query<{ id: string; message_id: string | null }>(
    `select id, message_id from messages
      where org_id = $1 and channel_id = $2 and direction = 'out'
        and (id = $3::uuid or provider_id = $4 or message_id = $5)
      limit 1`,
    [
      scope.ctx.orgId,
      channel.id,
      e.cairnId && UUID.test(e.cairnId) ? e.cairnId : null,
      e.providerId,
      e.providerId ? `<${e.providerId}>` : null,
    ],
  );
  return rows[0] ?? null;
}

/**
 * Applies a provider's delivery events, in the caller's tenant transaction (issue 23/25):
 * `delivered` / `deferred` set the message's delivery status; a bounce or spam complaint goes
 * through the same path as a DSN or ARF report read from a synced mailbox (`recordDeliveryReports`:
 * delivery-report row once per event, suppression, `message.bounced` / `message.complained` event,
 * which ends sequence enrollments); an unsubscribe suppresses the address and ends the contact's
 * enrollments as the one-click unsubscribe does; a drop or rejection marks the message failed.
 * A replayed event changes nothing (same event id, same report row; status updates are idempotent).
 * @returns how many events were applied (opens, clicks and unknown types are ignored)
 */
export async function applyProviderEvents(
  services: Services,
  scope: TenantScope,
  channel: ChannelRow,
  events: ProviderEvent[],
): Promise<number> {
  const orgId = scope.ctx.orgId;
  let applied = 0;
  for (const e of events) {
    if (e.kind === 'ignored') continue;
    const message = await messageOf(scope, channel, e);
    applied += 1;
    if (e.kind === 'delivered' || e.kind === 'deferred') {
      if (message)
        await scope.conn.query(
          `update messages set delivery_status = $3,
                  delivered_at = case when $3 = 'delivered' then coalesce(delivered_at, clock_timestamp()) else delivered_at end
            where org_id = $1 and id = $2
              and (delivery_status is null or delivery_status in ('deferred', 'delivered'))`,
          [orgId, message.id, e.kind],
        );
      continue;
    }
    if (e.kind === 'failed') {
      if (message)
        await scope.conn.query(
          `update messages set status = 'failed', error = $3 where org_id = $1 and id = $2 and status in ('sending', 'sent')`,
          [
            orgId,
            message.id,
            `${channel.settings.provider?.name ?? 'provider'}: ${e.diagnostic ?? e.status ?? 'dropped'}`,
          ],
        );
      continue;
    }
    if (!e.recipient) continue;
    if (e.kind === 'unsubscribed') {
      // Suppressed at once (no send leaves after this commit); the sequences end the contacts'
      // enrollments from the event (their consumer), as they do for bounces and complaints.
      await suppressIn(scope, 'email', e.recipient, 'unsubscribed', e.eventId);
      const { rows } = await scope.conn.query<{ id: string; name: string | null }>(
        `select distinct c.id, nullif(trim(concat_ws(' ', c.first_name, c.last_name)), '') as name
           from contact_emails ce join contacts c on c.org_id = ce.org_id and c.id = ce.contact_id
          where ce.org_id = $1 and ce.email = $2`,
        [orgId, e.recipient],
      );
      const subjects = rows.length
        ? rows.map((r) => ({ subject: { object: 'contact', id: r.id }, name: r.name }))
        : [{ subject: { object: 'channel', id: channel.id }, name: null }];
      for (const { subject, name } of subjects)
        await emitEvent(scope, services.jobs, {
          type: 'message.unsubscribed',
          subject,
          data: { name, recipient: e.recipient, channel_id: channel.id },
        });
      continue;
    }
    await recordDeliveryReports(services, scope, channel, e.eventId, [
      {
        kind: e.kind,
        recipient: e.recipient,
        status: e.status,
        diagnostic: e.diagnostic,
        originalMessageId: message?.message_id ?? null,
      },
    ]);
  }
  if (applied) await announceInbox(scope.conn, orgId);
  return applied;
}
