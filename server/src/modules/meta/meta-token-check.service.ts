import { and, eq, sql } from 'drizzle-orm';
import { isId } from '../../db/ids.js';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { unseal } from '../../platform/crypto/sealed.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { OutboundError, sendOutbound } from '../../platform/net/outbound-http.js';
import { deliverNotification } from '../notifications/notification-delivery.service.js';
import { outboundPolicyOf } from '../webhooks/webhook.service.js';
import type { MetaPageView } from './meta.dto.js';
import { metaPages, metaSettings } from './meta.schema.js';

/** The queue of the daily page token check, one job per organization (stately). */
export const META_TOKEN_CHECK_QUEUE = 'meta-token-check';
type TokenCheckJob = { org_id: string; not_before: number };

const DAY_S = 86_400;

/** Queues the organization's next token check in `inSeconds` (one queued at a time). */
export async function scheduleTokenCheck(
  scope: TenantScope,
  services: Services,
  inSeconds: number,
): Promise<void> {
  const job: TokenCheckJob = { org_id: scope.ctx.orgId, not_before: Date.now() + inSeconds * 1000 };
  await services.jobs.send(scope.conn, META_TOKEN_CHECK_QUEUE, job, {
    startAfter: inSeconds,
    singletonKey: `meta-token:${scope.ctx.orgId}`,
  });
}

type Finding = { status: MetaPageView['token']['status']; expiresAt: string | null; detail?: string };

/**
 * What Graph's `debug_token` says of a page token
 * (https://developers.facebook.com/docs/graph-api/reference/debug_token): `data.is_valid`,
 * `data.expires_at` and `data.data_access_expires_at` (Unix seconds; 0 = never). Expired when
 * past, expiring within `META_TOKEN_WARN_DAYS`, invalid when Graph says so; unknown when Graph
 * could not be asked (no app credentials, a network failure).
 */
export function findingOf(body: unknown, now: number, warnDays: number): Finding {
  const data = (
    body as { data?: { is_valid?: boolean; expires_at?: number; data_access_expires_at?: number } }
  )?.data;
  if (!data) return { status: 'unknown', expiresAt: null };
  const ends = [data.expires_at, data.data_access_expires_at].filter(
    (t): t is number => typeof t === 'number' && t > 0,
  );
  const first = ends.length ? Math.min(...ends) : null;
  const expiresAt = first === null ? null : new Date(first * 1000).toISOString();
  if (first !== null && first * 1000 <= now) return { status: 'expired', expiresAt };
  if (data.is_valid === false) return { status: 'invalid', expiresAt };
  if (first !== null && first * 1000 <= now + warnDays * DAY_S * 1000)
    return { status: 'expiring', expiresAt };
  return { status: 'valid', expiresAt };
}

/**
 * Checks every page token of an organization with `GET {META_GRAPH_URL}/debug_token?input_token=
 * <page token>&access_token=<app id>|<app secret>`, records the finding on the page, and for a
 * token expiring, expired or invalid records a `meta.page_token_warning` event (the ops record)
 * and sends each admin an `ops_alert` notification.
 * @returns the pages' findings
 */
export async function checkPageTokens(
  services: Services,
  ctx: TenantContext,
): Promise<Record<string, Finding>> {
  const { pages, settings } = await withTenant(services.database, ctx, async ({ tx }) => ({
    pages: await tx.select().from(metaPages).where(eq(metaPages.orgId, ctx.orgId)),
    settings: (await tx.select().from(metaSettings).where(eq(metaSettings.orgId, ctx.orgId)))[0],
  }));
  const secret = services.config.secret;
  const appToken =
    settings?.appId && settings.appSecretSealed
      ? `${settings.appId}|${unseal(secret, 'meta-app-secret', settings.appSecretSealed)}`
      : null;
  const findings: Record<string, Finding> = {};
  for (const page of pages) {
    let finding: Finding = { status: 'unknown', expiresAt: null, detail: 'no_app_credentials' };
    if (appToken) {
      const token = unseal(secret, 'meta-page-token', page.tokenSealed);
      const url = `${services.config.meta.graphUrl}/debug_token?input_token=${encodeURIComponent(token)}&access_token=${encodeURIComponent(appToken)}`;
      try {
        const response = await sendOutbound(
          url,
          { method: 'GET', timeoutMs: 15_000 },
          outboundPolicyOf(services),
        );
        finding =
          response.status === 200
            ? findingOf(JSON.parse(response.body), Date.now(), services.config.meta.tokenWarnDays)
            : { status: 'unknown', expiresAt: null, detail: `http_${response.status}` };
      } catch (error) {
        finding = {
          status: 'unknown',
          expiresAt: null,
          detail: error instanceof OutboundError ? error.code : 'graph_invalid_json',
        };
      }
    }
    findings[page.id] = finding;
    await withTenant(services.database, ctx, async (scope) => {
      await scope.tx
        .update(metaPages)
        .set({
          tokenStatus: finding.status,
          tokenExpiresAt: finding.expiresAt,
          tokenCheckedAt: sql`clock_timestamp()`,
        })
        .where(and(eq(metaPages.orgId, ctx.orgId), eq(metaPages.id, page.id)));
      if (finding.status !== 'expiring' && finding.status !== 'expired' && finding.status !== 'invalid')
        return;
      const eventId = await emitEvent(scope, services.jobs, {
        type: 'meta.page_token_warning',
        subject: { object: 'meta_page', id: page.id },
        data: {
          page_id: page.pageId,
          page_name: page.name,
          status: finding.status,
          expires_at: finding.expiresAt,
        },
      });
      const { rows: admins } = await scope.conn.query<{ user_id: string }>(
        `select user_id from members where organization_id = $1 and role = 'admin'`,
        [ctx.orgId],
      );
      const name = page.name ?? page.pageId;
      const detail =
        finding.status === 'expiring'
          ? `The access token of the Facebook page ${name} expires on ${finding.expiresAt}: leads stop arriving then. Paste a new one in Settings → Meta.`
          : `The access token of the Facebook page ${name} is ${finding.status}: leads cannot be fetched. Paste a new one in Settings → Meta.`;
      for (const admin of admins)
        await deliverNotification(scope, {
          recipientId: admin.user_id,
          kind: 'ops_alert',
          object: 'meta_page',
          recordId: page.id,
          recordName: name,
          actorId: null,
          detail,
          eventId,
        });
    });
  }
  return findings;
}

/** Registers the daily token check (before the job queue starts); each run queues the next while pages exist. */
export function defineMetaTokenJobs(services: Services): void {
  services.jobs.define<TokenCheckJob>(
    { name: META_TOKEN_CHECK_QUEUE, retryLimit: 3, policy: 'stately', expireInSeconds: 3600 },
    async ({ data }) => {
      if (!isId(data.org_id) || Date.now() < data.not_before - 5_000) return;
      const ctx: TenantContext = { orgId: data.org_id, actor: { type: 'system', id: null } };
      const findings = await checkPageTokens(services, ctx);
      if (Object.keys(findings).length > 0)
        await withTenant(services.database, ctx, (scope) => scheduleTokenCheck(scope, services, DAY_S));
    },
  );
}
