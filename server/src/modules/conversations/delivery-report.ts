import type { TenantScope } from '../../db/tenant.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { suppressIn } from './suppression.service.js';

/**
 * Delivery reports found in a synced mailbox (issue 25): a DSN (RFC 3464, `multipart/report;
 * report-type=delivery-status`) says a message to a recipient failed (`Action: failed`, a 5.x.x
 * status: `hard`) or is delayed (`delayed`, or 4.x.x: `soft`); an abuse report (ARF, RFC 5965,
 * `report-type=feedback-report`) is a spam `complaint`. Read from the raw bytes, since mailparser
 * folds a `message/delivery-status` part into the text.
 */
export type DeliveryReport = {
  kind: 'hard' | 'soft' | 'complaint';
  recipient: string;
  status: string | null;
  diagnostic: string | null;
  /** The Message-ID of the message reported on, when the report quotes it. */
  originalMessageId: string | null;
};

const field = (block: string, name: string): string | null => {
  const m = new RegExp(`^${name}:[ \\t]*(.*(?:\\r?\\n[ \\t].*)*)`, 'im').exec(block);
  return m ? m[1]!.replace(/\r?\n[ \t]+/g, ' ').trim() : null;
};
const address = (value: string | null) => {
  if (!value) return null;
  const m = /<?([^\s<>;]+@[^\s<>;]+?)>?\s*$/.exec(value.replace(/^rfc822;\s*/i, ''));
  return m ? m[1]!.toLowerCase() : null;
};

/** The reports in a raw message, one per recipient; empty for an ordinary message. */
export function deliveryReportsOf(raw: Buffer, ownMessageId: string): DeliveryReport[] {
  const text = raw.toString('latin1');
  const head = text.slice(0, text.search(/\r?\n\r?\n/) + 1 || text.length);
  const type = field(head, 'Content-Type') ?? '';
  if (!/multipart\/report/i.test(type)) return [];
  const quoted = [...text.matchAll(/^Message-ID:[ \t]*(<[^>\r\n]+>|\S+)/gim)]
    .map((m) => (m[1]!.startsWith('<') ? m[1]! : `<${m[1]}>`))
    .filter((id) => id !== ownMessageId);
  const originalMessageId = quoted[0] ?? null;
  if (/report-type="?feedback-report/i.test(type)) {
    const recipient = address(field(text, 'Original-Rcpt-To')) ?? address(field(text, 'Removal-Recipient'));
    if (!recipient) return [];
    return [
      {
        kind: 'complaint',
        recipient,
        status: field(text, 'Feedback-Type'),
        diagnostic: null,
        originalMessageId,
      },
    ];
  }
  if (!/report-type="?delivery-status/i.test(type)) return [];
  // The message/delivery-status part: a per-message block, then one block per recipient, blank-line separated.
  const at = text.search(/^Content-Type:[ \t]*message\/delivery-status/im);
  if (at < 0) return [];
  const part = text.slice(at).split(/\r?\n--/)[0]!;
  const blocks = part
    .split(/\r?\n[ \t]*\r?\n/)
    .slice(1)
    .filter((b) => /^Final-Recipient:/im.test(b));
  const reports: DeliveryReport[] = [];
  for (const block of blocks) {
    const recipient = address(field(block, 'Final-Recipient'));
    const action = (field(block, 'Action') ?? '').toLowerCase();
    const status = field(block, 'Status');
    if (!recipient || !['failed', 'delayed'].includes(action)) continue;
    reports.push({
      kind: action === 'failed' && status?.startsWith('5') ? 'hard' : 'soft',
      recipient,
      status,
      diagnostic: field(block, 'Diagnostic-Code')?.slice(0, 500) ?? null,
      originalMessageId,
    });
  }
  return reports;
}

/** Soft bounces of one address (delays, 4.x.x) before it is suppressed (`SOFT_BOUNCE_LIMIT`, default 3). */
export const softBounceLimit = () => Number(process.env.SOFT_BOUNCE_LIMIT ?? 3);

/**
 * Records delivery reports, in the caller's tenant transaction: those a synced message carried,
 * and a provider's bounce and complaint webhooks (`provider-events.service.ts`, its event id as
 * `reportMessageId`). Each one a
 * `delivery_reports` row (once per report and recipient) and a `message.bounced` or
 * `message.complained` event on the recipient's contact; a hard bounce and a complaint suppress
 * the address at once, soft bounces when they reach `softBounceLimit()`.
 */
export async function recordDeliveryReports(
  services: Services,
  scope: TenantScope,
  channel: { id: string },
  reportMessageId: string,
  reports: DeliveryReport[],
): Promise<void> {
  const orgId = scope.ctx.orgId;
  for (const r of reports) {
    const { rows: fresh } = await scope.conn.query(
      `insert into delivery_reports (org_id, channel_id, kind, recipient, status, diagnostic, original_message_id, report_message_id)
       values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict do nothing returning id`,
      [orgId, channel.id, r.kind, r.recipient, r.status, r.diagnostic, r.originalMessageId, reportMessageId],
    );
    if (fresh.length === 0) continue;
    // The message reported on (ours, quoted by its Message-ID): its delivery status.
    if (r.originalMessageId && r.kind !== 'soft')
      await scope.conn.query(
        `update messages set delivery_status = $3 where org_id = $1 and message_id = $2 and direction = 'out'`,
        [orgId, r.originalMessageId, r.kind === 'complaint' ? 'complained' : 'bounced'],
      );
    let suppress = r.kind !== 'soft';
    if (!suppress) {
      const { rows } = await scope.conn.query<{ n: number }>(
        `select count(*)::int as n from delivery_reports where org_id = $1 and recipient = $2 and kind = 'soft'`,
        [orgId, r.recipient],
      );
      suppress = rows[0]!.n >= softBounceLimit();
    }
    if (suppress)
      await suppressIn(
        scope,
        'email',
        r.recipient,
        r.kind === 'complaint' ? 'complaint' : 'bounced',
        `report:${reportMessageId}`,
      );
    const { rows: contact } = await scope.conn.query<{ id: string; name: string | null }>(
      `select c.id, nullif(trim(concat_ws(' ', c.first_name, c.last_name)), '') as name
         from contact_emails e join contacts c on c.org_id = e.org_id and c.id = e.contact_id
        where e.org_id = $1 and e.email = $2 limit 1`,
      [orgId, r.recipient],
    );
    await emitEvent(scope, services.jobs, {
      type: r.kind === 'complaint' ? 'message.complained' : 'message.bounced',
      subject: contact[0] ? { object: 'contact', id: contact[0].id } : { object: 'channel', id: channel.id },
      data: {
        name: contact[0]?.name ?? r.recipient,
        recipient: r.recipient,
        kind: r.kind,
        status: r.status,
        diagnostic: r.diagnostic,
        original_message_id: r.originalMessageId,
        suppressed: suppress,
      },
    });
  }
}
