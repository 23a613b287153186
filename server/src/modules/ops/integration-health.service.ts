import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import type { Services } from '../../platform/http/types.js';
import { deliverNotification } from '../notifications/notification-delivery.service.js';

/** The integrations whose health the ops console shows (issue 30). */
export const INTEGRATION_KINDS = [
  'smtp',
  'imap',
  'provider',
  'twilio',
  'meta',
  'webhook',
  'caldav',
  'stripe',
  'ai',
] as const;
export type IntegrationKind = (typeof INTEGRATION_KINDS)[number];

/** A configuration problem an admin should fix before it fails (or that explains a failure). */
export const CONFIG_STATES = [
  'ok',
  'missing_credentials',
  'expiring_token',
  'expired_token',
  'disabled',
] as const;
export type ConfigState = (typeof CONFIG_STATES)[number];

export type IntegrationOutcome = {
  kind: IntegrationKind;
  /** The channel's, subscription's or connection's id; '' for the organization's single one. */
  ref?: string;
  /** What an admin calls it: the channel's name, the webhook's URL, the member's calendar. */
  name: string;
  /** Whether the call worked. Undefined: only the configuration state is updated. */
  ok?: boolean;
  /** The failure as the integration told it (its first 500 characters are kept). */
  error?: string | null;
  configState?: ConfigState;
  configDetail?: string | null;
};

const LABELS: Record<IntegrationKind, string> = {
  smtp: 'Sending mail (SMTP)',
  imap: 'Mailbox sync (IMAP)',
  provider: 'E-mail provider (SendGrid, Postmark, Mailgun)',
  twilio: 'SMS (Twilio)',
  meta: 'Messenger / Instagram (Meta)',
  webhook: 'Webhook',
  caldav: 'Calendar (CalDAV)',
  stripe: 'Payments (Stripe)',
  ai: 'AI provider',
};

/** The fingerprint of an integration's "it is failing" alert: one open alert per integration. */
export const failingFingerprint = (kind: IntegrationKind, ref = '') => `integration:${kind}:${ref}:failing`;

/**
 * Records one outcome of an integration where it runs (a mail sync, a send, a webhook delivery, a
 * connection test): its last success or last error, the hour's success and error counts, and the
 * alert that follows. A failure opens the integration's alert, or, while one is open (acknowledged
 * or snoozed too), adds to its `count` and `last_seen_at`: fifty failures make one alert. A
 * success resolves it by itself. When an alert opens, every admin gets an `ops_alert` notification.
 *
 * Runs in its own tenant transaction, so call it outside one (the embedded database has a single
 * connection). Never throws: recording health must not fail what it records.
 */
export async function recordIntegration(
  services: Services,
  orgId: string,
  outcome: IntegrationOutcome,
): Promise<void> {
  const ctx: TenantContext = { orgId, actor: { type: 'system', id: null } };
  if (outcome.ok === true && !outcome.configState) return recordSuccess(services, orgId, outcome);
  try {
    await withTenant(services.database, ctx, (scope) => recordIn(scope, outcome));
  } catch {
    // The caller's work stands; its health is recorded at its next outcome.
  }
}

/** Successes of one integration waiting for the write in flight to end, and who awaits them. */
const pendingSuccesses = new Map<
  string,
  { outcome: IntegrationOutcome; count: number; waiters: (() => void)[] }
>();
const writing = new Set<string>();

/**
 * A success, written at once when no write of that integration's successes is in flight, else
 * with the others that came meanwhile, as one write (`count` successes): a mailbox sending a
 * hundred messages a second updated its one health row a hundred times a second, each waiting
 * for the last one's row lock (issue 25). The caller still waits for its success to be written.
 */
function recordSuccess(services: Services, orgId: string, outcome: IntegrationOutcome): Promise<void> {
  const key = `${orgId}|${outcome.kind}|${outcome.ref ?? ''}`;
  let pending = pendingSuccesses.get(key);
  if (!pending) {
    pending = { outcome, count: 0, waiters: [] };
    pendingSuccesses.set(key, pending);
  }
  pending.outcome = outcome;
  pending.count += 1;
  const written = new Promise<void>((resolve) => pending.waiters.push(resolve));
  if (!writing.has(key)) void writeSuccesses(services, orgId, key);
  return written;
}

async function writeSuccesses(services: Services, orgId: string, key: string): Promise<void> {
  writing.add(key);
  const ctx: TenantContext = { orgId, actor: { type: 'system', id: null } };
  try {
    for (let batch = pendingSuccesses.get(key); batch; batch = pendingSuccesses.get(key)) {
      pendingSuccesses.delete(key);
      try {
        await withTenant(services.database, ctx, (scope) => recordIn(scope, batch.outcome, batch.count));
      } catch {
        // As for one outcome: recorded at the next.
      }
      for (const resolve of batch.waiters) resolve();
    }
  } finally {
    writing.delete(key);
  }
}

async function recordIn(scope: TenantScope, o: IntegrationOutcome, count = 1): Promise<void> {
  const { conn, ctx } = scope;
  const ref = o.ref ?? '';
  const error = o.ok === false ? (o.error ?? 'failed').slice(0, 500) : null;
  const { rows } = await conn.query<{ id: string }>(
    `insert into integration_health as h (org_id, kind, ref, name, last_success_at, last_error_at, last_error,
            consecutive_failures, config_state, config_detail, updated_at)
     values ($1, $2, $3, $4,
             case when $5::boolean then clock_timestamp() end,
             case when not $5::boolean then clock_timestamp() end,
             $6, case when not $5::boolean then 1 else 0 end,
             coalesce($7, 'ok'), $8, clock_timestamp())
     on conflict (org_id, kind, ref) do update set
       name = excluded.name,
       last_success_at = case when $5::boolean then clock_timestamp() else h.last_success_at end,
       last_error_at = case when not $5::boolean then clock_timestamp() else h.last_error_at end,
       last_error = case when not $5::boolean then excluded.last_error else h.last_error end,
       consecutive_failures = case when $5::boolean then 0
                                   when not $5::boolean then h.consecutive_failures + 1
                                   else h.consecutive_failures end,
       config_state = coalesce($7, h.config_state),
       config_detail = case when $7 is null then h.config_detail else $8 end,
       updated_at = clock_timestamp()
     returning id`,
    [ctx.orgId, o.kind, ref, o.name, o.ok ?? null, error, o.configState ?? null, o.configDetail ?? null],
  );
  const integrationId = rows[0]!.id;
  if (o.ok === undefined) return;
  await conn.query(
    `insert into integration_health_hours as x (org_id, integration_id, hour, successes, errors)
     values ($1, $2, date_trunc('hour', clock_timestamp(), 'UTC'), $3, $4)
     on conflict (org_id, integration_id, hour) do update
       set successes = x.successes + excluded.successes, errors = x.errors + excluded.errors`,
    [ctx.orgId, integrationId, o.ok ? count : 0, o.ok ? 0 : count],
  );
  const fingerprint = failingFingerprint(o.kind, ref);
  if (o.ok) {
    await conn.query(
      `update ops_alerts set status = 'resolved', resolved_at = clock_timestamp(), resolved_by = null
        where org_id = $1 and fingerprint = $2 and status <> 'resolved'`,
      [ctx.orgId, fingerprint],
    );
    return;
  }
  const title = `${LABELS[o.kind]} is failing: ${o.name}`;
  const { rows: alerts } = await conn.query<{ id: string; count: number }>(
    `insert into ops_alerts as a (org_id, fingerprint, integration_id, title, detail)
     values ($1, $2, $3, $4, $5)
     on conflict (org_id, fingerprint) where status <> 'resolved' do update
       set count = a.count + 1, last_seen_at = clock_timestamp(), detail = excluded.detail, title = excluded.title
     returning id, count`,
    [ctx.orgId, fingerprint, integrationId, title, error],
  );
  const alert = alerts[0]!;
  if (Number(alert.count) === 1) await notifyAdmins(scope, alert.id, o.name, `${title}: ${error}`);
}

/** An `ops_alert` notification to each admin of the organization about a newly opened alert. */
async function notifyAdmins(scope: TenantScope, alertId: string, name: string, detail: string) {
  const { rows: admins } = await scope.conn.query<{ user_id: string }>(
    `select user_id from members where organization_id = $1 and role = 'admin'`,
    [scope.ctx.orgId],
  );
  for (const admin of admins)
    await deliverNotification(scope, {
      recipientId: admin.user_id,
      kind: 'ops_alert',
      object: 'ops_alert',
      recordId: alertId,
      recordName: name,
      actorId: null,
      detail: detail.slice(0, 500),
      eventId: alertId,
    });
}
