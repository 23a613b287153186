import { and, desc, eq, inArray, lt, sql } from 'drizzle-orm';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError, conflict, notFound } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { countMetaWebhookRefused } from '../../platform/metrics/metrics.js';
import { ingestMessagingEvents } from '../conversations/meta-messaging.js';
import { orgOfToken } from '../forms/form.service.js';
import type { LedgerQueryInput, MetaDeliveryView, MetaLeadView } from './meta.dto.js';
import { metaDeliveries, metaLeads, metaPages, metaSettings } from './meta.schema.js';
import { ledgerPageOf } from './meta-ledger.js';
import { SEAL, unsealed } from './meta-settings.service.js';
import { checkSignature, leadgenChanges, type SignatureResult } from './meta-wire.js';

/** The queue whose jobs fetch one lead from the Graph API and make its record. */
export const META_LEAD_QUEUE = 'meta-lead';
export type LeadJob = { org_id: string; lead_id: string };

/** The raw body kept in the ledger: its first 64 KiB. */
const RAW_KEPT = 65_536;

type LeadRow = typeof metaLeads.$inferSelect;
type DeliveryRow = typeof metaDeliveries.$inferSelect;

const systemCtx = (orgId: string): TenantContext => ({ orgId, actor: { type: 'system', id: null } });

/** The settings row of a public endpoint token. @throws 404 for a token of no organization */
async function settingsOfToken(scope: TenantScope, token: string) {
  const [row] = await scope.tx
    .select()
    .from(metaSettings)
    .where(and(eq(metaSettings.orgId, scope.ctx.orgId), eq(metaSettings.endpointToken, token)));
  if (!row) throw notFound('Meta webhook');
  return row;
}

/**
 * Meta's verification handshake (https://developers.facebook.com/docs/graph-api/webhooks/getting-started#verification-requests):
 * `hub.mode=subscribe` with the verify token shown in the settings is answered with `hub.challenge`.
 * @throws 404 unknown endpoint; 403 `verify_token_mismatch`
 */
export async function verifyMetaSubscription(
  services: Services,
  token: string,
  query: {
    'hub.mode'?: string | undefined;
    'hub.verify_token'?: string | undefined;
    'hub.challenge'?: string | undefined;
  },
): Promise<string> {
  const orgId = orgOfToken(token);
  if (!orgId) throw notFound('Meta webhook');
  const settings = await withTenant(services.database, systemCtx(orgId), (scope) =>
    settingsOfToken(scope, token),
  );
  if (
    query['hub.mode'] !== 'subscribe' ||
    query['hub.verify_token'] !== settings.verifyToken ||
    !query['hub.challenge']
  )
    throw new AppError(
      403,
      'verify_token_mismatch',
      'hub.mode or hub.verify_token does not match this endpoint',
    );
  return query['hub.challenge'];
}

/**
 * Queues each leadgen change of a signed body once, by its leadgen id. A lead id already in the
 * ledger is counted as seen (no second row, no second record), unless `requeue` and it was
 * `ignored` or `failed` (a replay by hand).
 */
async function queueChanges(
  scope: TenantScope,
  services: Services,
  deliveryId: string,
  rawBody: string,
  requeue: boolean,
) {
  const { changes, error } = leadgenChanges(rawBody);
  let queued = 0;
  let seen = 0;
  const pages = new Set(
    (
      await scope.tx
        .select({ pageId: metaPages.pageId })
        .from(metaPages)
        .where(eq(metaPages.orgId, scope.ctx.orgId))
    ).map((p) => p.pageId),
  );
  for (const c of changes) {
    const listened = pages.has(c.page_id);
    const [row] = await scope.tx
      .insert(metaLeads)
      .values({
        orgId: scope.ctx.orgId,
        deliveryId,
        leadgenId: c.leadgen_id,
        pageId: c.page_id,
        formId: c.form_id,
        adId: c.ad_id,
        adsetId: c.adgroup_id,
        status: listened ? 'queued' : 'ignored',
        error: listened ? null : 'page_not_listened',
      })
      .onConflictDoNothing()
      .returning({ id: metaLeads.id });
    let id = row?.id;
    if (!row) {
      seen++;
      if (!requeue || !listened) continue;
      const [again] = await scope.tx
        .update(metaLeads)
        .set({
          status: 'queued',
          attempts: 0,
          error: null,
          errorDetail: null,
          updatedAt: sql`clock_timestamp()`,
        })
        .where(
          and(
            eq(metaLeads.orgId, scope.ctx.orgId),
            eq(metaLeads.leadgenId, c.leadgen_id),
            inArray(metaLeads.status, ['ignored', 'failed']),
          ),
        )
        .returning({ id: metaLeads.id });
      if (!again) continue;
      id = again.id;
      seen--;
    }
    if (!listened) continue;
    queued++;
    await services.jobs.send(scope.conn, META_LEAD_QUEUE, { org_id: scope.ctx.orgId, lead_id: id });
  }
  return { queued, seen, error: error ?? null };
}

/**
 * Meta's webhook delivery to `/public/meta/webhook/<token>`: every delivery is kept in the intake
 * ledger with its signature check's result. A body whose `X-Hub-Signature-256` does not verify
 * under the app secret (or has none) is refused with 403 `invalid_signature` and counted
 * (`cairn_meta_webhook_refused_total`); a signed one has each leadgen change queued once, and
 * its Messenger / Instagram messages stored in the inbox (`conversations/meta-messaging.ts`).
 * @throws 404 unknown endpoint; 403 `invalid_signature`
 */
export async function receiveMetaWebhook(
  services: Services,
  token: string,
  rawBody: string,
  signatureHeader: string | undefined,
): Promise<{
  received: true;
  leads_queued: number;
  leads_seen: number;
  messages_stored: number;
  messages_seen: number;
  messages_ignored: number;
}> {
  const orgId = orgOfToken(token);
  if (!orgId) throw notFound('Meta webhook');
  const outcome = await withTenant(services.database, systemCtx(orgId), async (scope) => {
    const settings = await settingsOfToken(scope, token);
    const signature: SignatureResult = checkSignature(
      unsealed(services, SEAL.appSecret, settings.appSecretSealed),
      rawBody,
      signatureHeader,
    );
    const [delivery] = await scope.tx
      .insert(metaDeliveries)
      .values({
        orgId,
        rawBody: rawBody.slice(0, RAW_KEPT),
        signature,
        error: signature === 'valid' ? null : 'invalid_signature',
      })
      .returning({ id: metaDeliveries.id });
    const none = { stored: 0, seen: 0, ignored: 0 };
    if (signature !== 'valid') return { signature, queued: 0, seen: 0, messages: none };
    const { queued, seen, error } = await queueChanges(scope, services, delivery!.id, rawBody, false);
    // Messenger and Instagram direct messages of the same app (issue 23): into the inbox.
    const messages = await ingestMessagingEvents(services, scope, rawBody);
    const carried = messages.stored + messages.seen + messages.ignored > 0;
    await scope.tx
      .update(metaDeliveries)
      .set({ leadsQueued: queued, leadsSeen: seen, error: carried ? null : error })
      .where(and(eq(metaDeliveries.orgId, orgId), eq(metaDeliveries.id, delivery!.id)));
    return { signature, queued, seen, messages };
  });
  if (outcome.signature !== 'valid') {
    countMetaWebhookRefused(outcome.signature);
    throw new AppError(
      403,
      'invalid_signature',
      outcome.signature === 'not_configured'
        ? 'No app secret is set for this endpoint: deliveries cannot be verified'
        : 'X-Hub-Signature-256 is missing or does not verify this body with the app secret',
    );
  }
  return {
    received: true,
    leads_queued: outcome.queued,
    leads_seen: outcome.seen,
    messages_stored: outcome.messages.stored,
    messages_seen: outcome.messages.seen,
    messages_ignored: outcome.messages.ignored,
  };
}

export function leadViewOf(r: LeadRow): MetaLeadView {
  return {
    id: r.id,
    delivery_id: r.deliveryId,
    leadgen_id: r.leadgenId,
    page_id: r.pageId,
    form_id: r.formId,
    ad_id: r.adId,
    adset_id: r.adsetId,
    campaign_id: r.campaignId,
    status: r.status as MetaLeadView['status'],
    attempts: r.attempts,
    error: r.error,
    error_detail: r.errorDetail,
    next_attempt_at: r.nextAttemptAt,
    record_object: r.recordObject,
    record_id: r.recordId,
    lead: r.lead ?? null,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
  };
}

const deliveryViewOf = (r: DeliveryRow): MetaDeliveryView => ({
  id: r.id,
  signature: r.signature as MetaDeliveryView['signature'],
  leads_queued: r.leadsQueued,
  leads_seen: r.leadsSeen,
  error: r.error,
  raw_body: r.rawBody,
  received_at: r.receivedAt,
});

/** The intake ledger's leads, newest first, of one status when asked. @throws 400 at `query.cursor` */
export async function listMetaLeads(services: Services, ctx: TenantContext, q: LedgerQueryInput) {
  return withTenant(services.database, ctx, async ({ tx }) =>
    ledgerPageOf(q, async (after, limit) =>
      (
        await tx
          .select()
          .from(metaLeads)
          .where(
            and(
              eq(metaLeads.orgId, ctx.orgId),
              q.status ? eq(metaLeads.status, q.status) : undefined,
              after ? lt(metaLeads.id, after) : undefined,
            ),
          )
          .orderBy(desc(metaLeads.id))
          .limit(limit)
      ).map(leadViewOf),
    ),
  );
}

/** The intake ledger's deliveries (raw bodies and signature results), newest first. @throws 400 at `query.cursor` */
export async function listMetaDeliveries(services: Services, ctx: TenantContext, q: LedgerQueryInput) {
  return withTenant(services.database, ctx, async ({ tx }) =>
    ledgerPageOf(q, async (after, limit) =>
      (
        await tx
          .select()
          .from(metaDeliveries)
          .where(
            and(
              eq(metaDeliveries.orgId, ctx.orgId),
              q.status ? eq(metaDeliveries.signature, q.status) : undefined,
              after ? lt(metaDeliveries.id, after) : undefined,
            ),
          )
          .orderBy(desc(metaDeliveries.id))
          .limit(limit)
      ).map(deliveryViewOf),
    ),
  );
}

export async function getMetaLead(services: Services, ctx: TenantContext, id: string): Promise<MetaLeadView> {
  return withTenant(services.database, ctx, async ({ tx }) => {
    const [row] = await tx
      .select()
      .from(metaLeads)
      .where(and(eq(metaLeads.orgId, ctx.orgId), eq(metaLeads.id, id)));
    if (!row) throw notFound('Meta lead', id);
    return leadViewOf(row);
  });
}

/**
 * Fetches a lead again (a support person's replay): a `failed` or `ignored` lead is queued with
 * fresh attempts. @throws 404; 409 `already_created` for a lead that has its record (no duplicate)
 */
export async function replayMetaLead(
  services: Services,
  ctx: TenantContext,
  id: string,
): Promise<MetaLeadView> {
  return withTenant(services.database, ctx, async (scope) => {
    const [row] = await scope.tx
      .select()
      .from(metaLeads)
      .where(and(eq(metaLeads.orgId, ctx.orgId), eq(metaLeads.id, id)))
      .for('update');
    if (!row) throw notFound('Meta lead', id);
    if (row.status === 'created' || row.status === 'matched')
      throw conflict('This lead already has its record', undefined, 'already_created');
    const [updated] = await scope.tx
      .update(metaLeads)
      .set({
        status: 'queued',
        attempts: 0,
        error: null,
        errorDetail: null,
        nextAttemptAt: null,
        updatedAt: sql`clock_timestamp()`,
      })
      .where(and(eq(metaLeads.orgId, ctx.orgId), eq(metaLeads.id, id)))
      .returning();
    await services.jobs.send(scope.conn, META_LEAD_QUEUE, { org_id: ctx.orgId, lead_id: id });
    return leadViewOf(updated!);
  });
}

/**
 * Runs a signed delivery's body through the intake again: leads never seen are queued, `failed`
 * and `ignored` ones queued afresh, the rest counted as seen.
 * @throws 404; 409 `unsigned_delivery` for a delivery whose signature did not verify
 */
export async function replayMetaDelivery(services: Services, ctx: TenantContext, id: string) {
  return withTenant(services.database, ctx, async (scope) => {
    const [row] = await scope.tx
      .select()
      .from(metaDeliveries)
      .where(and(eq(metaDeliveries.orgId, ctx.orgId), eq(metaDeliveries.id, id)));
    if (!row) throw notFound('Meta delivery', id);
    if (row.signature !== 'valid')
      throw conflict(
        'Only a delivery whose signature verified can be replayed',
        undefined,
        'unsigned_delivery',
      );
    const { queued, seen } = await queueChanges(scope, services, row.id, row.rawBody, true);
    return { leads_queued: queued, leads_seen: seen };
  });
}
