import { type TenantContext, withTenant } from '../../db/tenant.js';
import { conflict, notFound } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import type { AlertView, IntegrationView } from './ops.dto.js';

/** API keys that expire within this many days show as `expiring_token`. */
export const EXPIRY_WARNING_DAYS = 14;

type HealthRow = {
  id: string;
  kind: string;
  ref: string;
  name: string;
  last_success_at: string | null;
  last_error_at: string | null;
  last_error: string | null;
  consecutive_failures: number;
  config_state: string;
  config_detail: string | null;
};

/** The organization's members' names by user id (users are read outside tenant transactions). */
async function memberNames(services: Services, orgId: string): Promise<Map<string, string>> {
  const { rows } = await services.database.raw.query<{ id: string; name: string }>(
    'select u.id::text as id, u.name from members m join users u on u.id = m.user_id where m.organization_id = $1',
    [orgId],
  );
  return new Map(rows.map((r) => [r.id, r.name]));
}

const iso = (v: string | Date | null) => (v === null ? null : new Date(v).toISOString());

/**
 * Every integration of the organization with its health: those that recorded an outcome, plus
 * the configured ones that have not run yet (mail channels, webhook subscriptions, calendars),
 * and API keys that expire soon. The configuration state is read from each integration's own
 * row now (a disabled webhook or channel, a channel without its password, an expiring key), so
 * it is current without waiting for the next call. Error counts are per UTC hour, last 24 hours.
 */
export async function listIntegrations(services: Services, ctx: TenantContext): Promise<IntegrationView[]> {
  const names = await memberNames(services, ctx.orgId);
  return withTenant(services.database, ctx, async ({ conn }) => {
    const { rows } = await conn.query<HealthRow>(
      `select id, kind, ref, name, last_success_at::text, last_error_at::text, last_error, consecutive_failures,
              config_state, config_detail from integration_health where org_id = $1 order by kind, name`,
      [ctx.orgId],
    );
    const { rows: hours } = await conn.query<{
      integration_id: string;
      hour: string;
      successes: number;
      errors: number;
    }>(
      `select integration_id, hour::text, successes, errors from integration_health_hours
        where org_id = $1 and hour > clock_timestamp() - interval '24 hours' order by hour`,
      [ctx.orgId],
    );
    const { rows: channels } = await conn.query<{
      id: string;
      kind: string;
      name: string;
      status: string;
      smtp: boolean;
      imap: boolean;
      provider: boolean;
      has_secrets: boolean;
      needs_password: boolean;
    }>(
      `select id, kind, name, status, settings ? 'smtp' as smtp, settings ? 'imap' as imap,
              settings ? 'provider' as provider,
              secrets is not null as has_secrets,
              (coalesce(settings->'smtp'->>'user', '') <> '' or settings ? 'imap' or kind = 'sms') as needs_password
         from channels where org_id = $1`,
      [ctx.orgId],
    );
    const { rows: hooks } = await conn.query<{
      id: string;
      target_url: string;
      status: string;
      disabled_reason: string | null;
    }>(`select id, target_url, status, disabled_reason from webhook_subscriptions where org_id = $1`, [
      ctx.orgId,
    ]);
    const { rows: calendars } = await conn.query<{ user_id: string }>(
      `select user_id from calendar_connections where org_id = $1`,
      [ctx.orgId],
    );
    const { rows: keys } = await conn.query<{
      id: string;
      name: string;
      expires_at: string;
      expired: boolean;
    }>(
      `select id, name, expires_at::text, expires_at <= clock_timestamp() as expired from api_keys
        where org_id = $1 and revoked_at is null and expires_at is not null
          and expires_at <= clock_timestamp() + make_interval(days => $2)`,
      [ctx.orgId, EXPIRY_WARNING_DAYS],
    );

    const byKey = new Map(rows.map((r) => [`${r.kind}:${r.ref}`, r]));
    const view = (r: HealthRow): IntegrationView => ({
      id: r.id,
      kind: r.kind as IntegrationView['kind'],
      ref: r.ref,
      name: r.name,
      status: r.consecutive_failures > 0 ? 'failing' : r.last_success_at ? 'healthy' : 'unknown',
      last_success_at: iso(r.last_success_at),
      last_error_at: iso(r.last_error_at),
      last_error: r.last_error,
      consecutive_failures: Number(r.consecutive_failures),
      config_state: r.config_state as IntegrationView['config_state'],
      config_detail: r.config_detail,
      errors_by_hour: hours
        .filter((h) => h.integration_id === r.id)
        .map((h) => ({ hour: iso(h.hour)!, successes: Number(h.successes), errors: Number(h.errors) })),
    });
    const blank = (kind: string, ref: string, name: string): HealthRow => ({
      id: null as unknown as string,
      kind,
      ref,
      name,
      last_success_at: null,
      last_error_at: null,
      last_error: null,
      consecutive_failures: 0,
      config_state: 'ok',
      config_detail: null,
    });
    const out: IntegrationView[] = [];
    const seen = new Set<string>();
    const add = (kind: string, ref: string, name: string, state?: [string, string]) => {
      const key = `${kind}:${ref}`;
      seen.add(key);
      const row = byKey.get(key) ?? blank(kind, ref, name);
      const v = { ...view(row), name };
      if (state) {
        v.config_state = state[0] as IntegrationView['config_state'];
        v.config_detail = state[1];
      }
      out.push(v);
    };
    for (const c of channels) {
      const state: [string, string] | undefined =
        c.status !== 'active'
          ? ['disabled', 'The channel is turned off']
          : c.needs_password && !c.has_secrets
            ? ['missing_credentials', 'No password or token is stored for this channel']
            : undefined;
      if (c.kind === 'sms') add('twilio', c.id, c.name, state);
      if (c.smtp) add('smtp', c.id, c.name, state);
      if (c.imap) add('imap', c.id, c.name, state);
      if (c.provider) add('provider', c.id, c.name, state);
    }
    for (const h of hooks)
      add(
        'webhook',
        h.id,
        h.target_url,
        h.status === 'disabled' ? ['disabled', `Disabled: ${h.disabled_reason ?? 'by an admin'}`] : undefined,
      );
    for (const c of calendars) add('caldav', c.user_id, `Calendar of ${names.get(c.user_id) ?? 'a member'}`);
    for (const r of rows) if (!seen.has(`${r.kind}:${r.ref}`)) out.push(view(r));
    for (const k of keys)
      out.push({
        ...view(blank('api_key', k.id, k.name)),
        id: null,
        config_state: k.expired ? 'expired_token' : 'expiring_token',
        config_detail: `${k.expired ? 'Expired' : 'Expires'} ${iso(k.expires_at)}`,
      });
    return out;
  });
}

type AlertRow = {
  id: string;
  fingerprint: string;
  integration_id: string | null;
  title: string;
  detail: string | null;
  status: string;
  count: number;
  first_seen_at: string;
  last_seen_at: string;
  acknowledged_by: string | null;
  acknowledged_at: string | null;
  snoozed_until: string | null;
  resolved_at: string | null;
  resolved_by: string | null;
};

const ALERT_COLUMNS = `id, fingerprint, integration_id, title, detail, status, count, first_seen_at::text,
  last_seen_at::text, acknowledged_by, acknowledged_at::text, snoozed_until::text, resolved_at::text, resolved_by`;

function alertView(r: AlertRow): AlertView {
  // A snooze that has run out leaves the alert open again.
  const status =
    r.status === 'snoozed' && r.snoozed_until && Date.parse(r.snoozed_until) <= Date.now()
      ? 'open'
      : r.status;
  return {
    id: r.id,
    fingerprint: r.fingerprint,
    integration_id: r.integration_id,
    title: r.title,
    detail: r.detail,
    status: status as AlertView['status'],
    count: Number(r.count),
    first_seen_at: iso(r.first_seen_at)!,
    last_seen_at: iso(r.last_seen_at)!,
    acknowledged_by: r.acknowledged_by,
    acknowledged_at: iso(r.acknowledged_at),
    snoozed_until: iso(r.snoozed_until),
    resolved_at: iso(r.resolved_at),
    resolved_by: r.resolved_by,
  };
}

/**
 * The organization's alerts, the latest seen first: `active` (default) those not resolved,
 * `resolved` the resolved ones (the latest 100), `all` both.
 */
export async function listAlerts(
  services: Services,
  ctx: TenantContext,
  which: 'active' | 'resolved' | 'all' = 'active',
): Promise<AlertView[]> {
  const where =
    which === 'active' ? `and status <> 'resolved'` : which === 'resolved' ? `and status = 'resolved'` : '';
  return withTenant(services.database, ctx, async ({ conn }) => {
    const { rows } = await conn.query<AlertRow>(
      `select ${ALERT_COLUMNS} from ops_alerts where org_id = $1 ${where} order by last_seen_at desc, id desc limit 200`,
      [ctx.orgId],
    );
    return rows.map(alertView);
  });
}

/**
 * Acknowledges, snoozes (until `until`) or resolves an alert. Acting on a resolved alert is a
 * 409 `alert_resolved`; another organization's alert is a 404.
 */
export async function actOnAlert(
  services: Services,
  ctx: TenantContext,
  id: string,
  action: { kind: 'acknowledge' } | { kind: 'snooze'; until: string } | { kind: 'resolve' },
): Promise<AlertView> {
  const who = ctx.actor.id;
  const set =
    action.kind === 'acknowledge'
      ? `status = 'acknowledged', acknowledged_by = $3, acknowledged_at = clock_timestamp(), snoozed_until = null`
      : action.kind === 'snooze'
        ? `status = 'snoozed', snoozed_until = $3::timestamptz`
        : `status = 'resolved', resolved_by = $3, resolved_at = clock_timestamp()`;
  return withTenant(services.database, ctx, async ({ conn }) => {
    const { rows: found } = await conn.query<{ status: string }>(
      'select status from ops_alerts where org_id = $1 and id = $2',
      [ctx.orgId, id],
    );
    if (!found[0]) throw notFound('Alert', id);
    if (found[0].status === 'resolved')
      throw conflict('The alert is resolved already', undefined, 'alert_resolved');
    const { rows } = await conn.query<AlertRow>(
      `update ops_alerts set ${set} where org_id = $1 and id = $2 returning ${ALERT_COLUMNS}`,
      [ctx.orgId, id, action.kind === 'snooze' ? action.until : who],
    );
    return alertView(rows[0]!);
  });
}

/**
 * The job queue as the console shows it: this organization's jobs and the install's per queue
 * and state, this organization's failed jobs, and its webhook dead letters per subscription.
 */
export async function jobsView(services: Services, ctx: TenantContext) {
  const [organization, install, failed] = await Promise.all([
    services.jobs.counts(ctx.orgId),
    services.jobs.counts(),
    services.jobs.failedJobs(ctx.orgId, 50),
  ]);
  const webhook_dead_letters = await withTenant(services.database, ctx, async ({ conn }) => {
    const { rows } = await conn.query<{ subscription_id: string; target_url: string; dead: number }>(
      `select d.subscription_id, s.target_url, count(*)::int as dead
         from webhook_deliveries d join webhook_subscriptions s on s.org_id = d.org_id and s.id = d.subscription_id
        where d.org_id = $1 and d.status = 'dead' group by 1, 2 order by 3 desc`,
      [ctx.orgId],
    );
    return rows.map((r) => ({ ...r, dead: Number(r.dead) }));
  });
  return { organization, install, failed, webhook_dead_letters };
}

/** Queues a failed job of the organization again. @throws 404 when it has no such failed job */
export async function retryJob(services: Services, ctx: TenantContext, id: string) {
  if (!(await services.jobs.retryFailed(ctx.orgId, id))) throw notFound('Failed job', id);
  return { retried: true };
}

/**
 * API requests per API key and per member, per UTC hour or day, over the last `days` days, the
 * latest first, from the hourly counters (`api-usage.service.ts`).
 */
export async function apiUsage(
  services: Services,
  ctx: TenantContext,
  granularity: 'hour' | 'day',
  days: number,
) {
  const names = await memberNames(services, ctx.orgId);
  return withTenant(services.database, ctx, async ({ conn }) => {
    const { rows } = await conn.query<{
      period: string;
      principal_type: 'api_key' | 'user';
      principal_id: string;
      name: string | null;
      requests: number;
      errors: number;
    }>(
      `select date_trunc($2, u.hour, 'UTC')::text as period, u.principal_type, u.principal_id,
              k.name, sum(u.requests)::int as requests, sum(u.errors)::int as errors
         from api_usage_hours u
         left join api_keys k on u.principal_type = 'api_key' and k.org_id = u.org_id and k.id::text = u.principal_id
        where u.org_id = $1 and u.hour >= clock_timestamp() - make_interval(days => $3)
        group by 1, 2, 3, 4 order by 1 desc, 5 desc`,
      [ctx.orgId, granularity, days],
    );
    return {
      granularity,
      rows: rows.map((r) => ({
        ...r,
        period: iso(r.period)!,
        name:
          (r.principal_type === 'user' ? names.get(r.principal_id) : r.name) ??
          (r.principal_type === 'api_key' ? 'A deleted key' : 'A former member'),
        requests: Number(r.requests),
        errors: Number(r.errors),
      })),
    };
  });
}
