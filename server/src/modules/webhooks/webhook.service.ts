import { and, desc, eq, lt, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError, badRequest, notFound } from '../../platform/errors/app-error.js';
import { eventDefinition } from '../../platform/events/event-catalogue.js';
import type { Services } from '../../platform/http/types.js';
import {
  checkTargetNow,
  checkTargetUrl,
  OutboundError,
  type OutboundPolicy,
  type OutboundResponse,
  sendOutbound,
} from '../../platform/net/outbound-http.js';
import { compileFilter } from '../../platform/query/query.filter.js';
import { objectDef } from '../../platform/registry/registry.service.js';
import type {
  DeliveryListQueryInput,
  WebhookCreateInput,
  WebhookDeliveryView,
  WebhookUpdateInput,
  WebhookView,
} from './webhook.dto.js';
import { webhookAttempts, webhookDeliveries, webhookSubscriptions } from './webhook.schema.js';
import { newSigningSecret, ROTATION_OVERLAP_HOURS, sealSecret, signedHeaders } from './webhook-secrets.js';
import { objectOfType, TRIGGER_ALIASES } from './webhook-types.js';

type SubscriptionRow = typeof webhookSubscriptions.$inferSelect;
type DeliveryRow = typeof webhookDeliveries.$inferSelect;

export const outboundPolicyOf = (services: Services): OutboundPolicy => ({
  allowedHosts: services.config.outboundAllowedHosts,
});

/**
 * Checks a target URL another module saves (a workflow's `call_webhook` step) without connecting,
 * under the same SSRF guard as subscriptions: http(s), no credentials, an IP literal host public
 * unless the operator allow-lists it (`OUTBOUND_ALLOWED_HOSTS`). A host name is checked when it is
 * resolved, at each request. @throws OutboundError (`invalid_url`, `ssrf_loopback`...)
 */
export function checkOutboundTarget(services: Services, url: string): URL {
  return checkTargetUrl(url, outboundPolicyOf(services));
}

/**
 * POSTs JSON for another module (a workflow's `call_webhook` step) the way deliveries go out:
 * signed per Standard Webhooks (`webhook-id` is `id`, the same on every retry, so the receiver
 * can drop a repeat; a fresh timestamp per attempt) under each of `secrets`, through the SSRF
 * guard (a name resolving to a private address is refused when the socket connects), with the
 * delivery timeout (`WEBHOOK_TIMEOUT_MS`). A non-2xx status is an answer, not a throw.
 * @throws OutboundError when no answer came (`timeout`, `connect_failed`, a refusal code)
 */
export function postSignedJson(
  services: Services,
  url: string,
  message: { id: string; body: string; secrets: string[] },
): Promise<OutboundResponse> {
  return sendOutbound(
    url,
    {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...signedHeaders(message.secrets, message.id, message.body),
      },
      body: message.body,
      timeoutMs: services.config.webhookTimeoutMs,
      maxBodyBytes: 4096,
    },
    outboundPolicyOf(services),
  );
}

export function webhookViewOf(r: SubscriptionRow): WebhookView {
  return {
    id: r.id,
    target_url: r.targetUrl,
    event_types: r.eventTypes,
    filter: r.filter ?? null,
    description: r.description,
    source: r.source as WebhookView['source'],
    status: r.status as WebhookView['status'],
    disabled_reason: r.disabledReason,
    failing_since: r.failingSince,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
  };
}

export function deliveryViewOf(r: DeliveryRow): WebhookDeliveryView {
  return {
    id: r.id,
    subscription_id: r.subscriptionId,
    event_id: r.eventId,
    event_type: r.eventType,
    status: r.status as WebhookDeliveryView['status'],
    attempts: r.attempts,
    next_attempt_at: r.nextAttemptAt,
    last_status_code: r.lastStatusCode,
    last_error: r.lastError,
    last_response_ms: r.lastResponseMs,
    occurred_at: r.occurredAt,
    delivered_at: r.deliveredAt,
    created_at: r.createdAt,
  };
}

/** @throws 400 `unknown_event_type` at the type's path (`body.event_types[2]`, or `body.event` for one) */
function checkEventTypes(types: string[], path: string): string[] {
  const at = (i: number) => (path.endsWith('_types') ? `${path}[${i}]` : path);
  types.forEach((type, i) => {
    if (type !== '*' && !eventDefinition(type) && !TRIGGER_ALIASES[type])
      throw badRequest(
        `${type} is not an event type Cairn emits (see GET /api/v1/hooks/triggers)`,
        at(i),
        'unknown_event_type',
      );
  });
  return [...new Set(types)];
}

/**
 * A filter is checked against the object of the subscription's event types when they name one
 * object of the registry (`opportunity.*`); otherwise it is applied to each event's subject as it
 * comes (an event whose record does not match, or has no such field, is not delivered).
 * @throws 400 `invalid_query` at `body.filter...`
 */
async function checkFilter(
  scope: TenantScope,
  types: string[],
  filter: unknown,
  path: string,
): Promise<void> {
  if (filter === null || filter === undefined) return;
  const objects = [...new Set(types.map(objectOfType))];
  if (objects.length !== 1 || objects[0] === '') return;
  let def: Awaited<ReturnType<typeof objectDef>>;
  try {
    def = await objectDef(scope.tx, scope.ctx.orgId, objects[0]!);
  } catch {
    return;
  }
  compileFilter(
    filter,
    { object: def, table: 'r', readable: () => true, clock: { now: new Date(), timeZone: 'UTC' } },
    path,
  );
}

/** @throws 400 with the refusal code (`ssrf_loopback`, `ssrf_metadata`...) at `path` */
async function checkTarget(services: Services, url: string, path: string): Promise<string> {
  try {
    return (await checkTargetNow(url, outboundPolicyOf(services))).toString();
  } catch (error) {
    if (error instanceof OutboundError) throw badRequest(error.message, path, error.code);
    throw error;
  }
}

/**
 * Creates a subscription with a new signing secret, which the answer holds this once.
 * @throws 400 `unknown_event_type`, `invalid_query`, an SSRF refusal code or `invalid_url`
 */
export async function createWebhook(
  services: Services,
  ctx: TenantContext,
  input: WebhookCreateInput,
  source: 'settings' | 'rest_hook' = 'settings',
  paths = { url: 'body.target_url', types: 'body.event_types', filter: 'body.filter' },
): Promise<WebhookView & { secret: string }> {
  const eventTypes = checkEventTypes(input.event_types, paths.types);
  const targetUrl = await checkTarget(services, input.target_url, paths.url);
  const secret = newSigningSecret();
  const row = await withTenant(services.database, ctx, async (scope) => {
    await checkFilter(scope, eventTypes, input.filter, paths.filter);
    const [created] = await scope.tx
      .insert(webhookSubscriptions)
      .values({
        orgId: ctx.orgId,
        targetUrl,
        eventTypes,
        filter: input.filter ?? null,
        description: input.description ?? null,
        source,
        secrets: [sealSecret(services.config.secret, secret)],
        createdBy: ctx.actor.id,
      })
      .returning();
    return created!;
  });
  return { ...webhookViewOf(row), secret };
}

async function loadSubscription(scope: TenantScope, id: string, lock = false): Promise<SubscriptionRow> {
  const query = scope.tx
    .select()
    .from(webhookSubscriptions)
    .where(and(eq(webhookSubscriptions.orgId, scope.ctx.orgId), eq(webhookSubscriptions.id, id)));
  const [row] = lock ? await query.for('update') : await query;
  if (!row) throw notFound('Webhook', id);
  return row;
}

export async function listWebhooks(services: Services, ctx: TenantContext): Promise<WebhookView[]> {
  const rows = await withTenant(
    services.database,
    ctx,
    ({ tx }) =>
      tx
        .select()
        .from(webhookSubscriptions)
        .where(eq(webhookSubscriptions.orgId, ctx.orgId))
        .orderBy(desc(webhookSubscriptions.createdAt), desc(webhookSubscriptions.id)),
    { readOnly: true },
  );
  return rows.map(webhookViewOf);
}

export async function getWebhook(services: Services, ctx: TenantContext, id: string): Promise<WebhookView> {
  return withTenant(
    services.database,
    ctx,
    async (scope) => webhookViewOf(await loadSubscription(scope, id)),
    {
      readOnly: true,
    },
  );
}

/** @throws 404, 400 as `createWebhook` */
export async function updateWebhook(
  services: Services,
  ctx: TenantContext,
  id: string,
  input: WebhookUpdateInput,
): Promise<WebhookView> {
  const targetUrl = input.target_url
    ? await checkTarget(services, input.target_url, 'body.target_url')
    : undefined;
  const eventTypes = input.event_types ? checkEventTypes(input.event_types, 'body.event_types') : undefined;
  return withTenant(services.database, ctx, async (scope) => {
    const current = await loadSubscription(scope, id, true);
    const filter = input.filter === undefined ? current.filter : input.filter;
    await checkFilter(scope, eventTypes ?? current.eventTypes, filter, 'body.filter');
    const [row] = await scope.tx
      .update(webhookSubscriptions)
      .set({
        ...(targetUrl ? { targetUrl } : {}),
        ...(eventTypes ? { eventTypes } : {}),
        ...(input.filter !== undefined ? { filter: input.filter } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(input.status
          ? input.status === 'active'
            ? { status: 'active', disabledReason: null, failingSince: null }
            : { status: 'disabled', disabledReason: 'disabled_by_admin' }
          : {}),
        updatedAt: sql`clock_timestamp()`,
      })
      .where(and(eq(webhookSubscriptions.orgId, ctx.orgId), eq(webhookSubscriptions.id, id)))
      .returning();
    return webhookViewOf(row!);
  });
}

/** Deletes a subscription with its deliveries. @throws 404 */
export async function deleteWebhook(services: Services, ctx: TenantContext, id: string): Promise<void> {
  await withTenant(services.database, ctx, async (scope) => {
    const gone = await scope.tx
      .delete(webhookSubscriptions)
      .where(and(eq(webhookSubscriptions.orgId, ctx.orgId), eq(webhookSubscriptions.id, id)))
      .returning({ id: webhookSubscriptions.id });
    if (gone.length === 0) throw notFound('Webhook', id);
  });
}

/**
 * Rotates the signing secret: the new one (in the answer, this once) signs from now on; the old
 * one keeps signing beside it for ROTATION_OVERLAP_HOURS (both signatures are sent), then stops.
 * @throws 404
 */
export async function rotateSecret(services: Services, ctx: TenantContext, id: string) {
  const secret = newSigningSecret();
  const row = await withTenant(services.database, ctx, async (scope) => {
    const current = await loadSubscription(scope, id, true);
    const now = Date.now();
    const overlapEnd = new Date(now + ROTATION_OVERLAP_HOURS * 3_600_000).toISOString();
    const kept = current.secrets
      .filter((s) => !s.expires_at || new Date(s.expires_at).getTime() > now)
      .map((s) => ({ ...s, expires_at: s.expires_at ?? overlapEnd }));
    const [updated] = await scope.tx
      .update(webhookSubscriptions)
      .set({
        secrets: [sealSecret(services.config.secret, secret), ...kept],
        updatedAt: sql`clock_timestamp()`,
      })
      .where(and(eq(webhookSubscriptions.orgId, ctx.orgId), eq(webhookSubscriptions.id, id)))
      .returning();
    return updated!;
  });
  return { ...webhookViewOf(row), secret };
}

const Cursor = z.object({ at: z.string().max(64), id: z.uuid() });

function decodeCursor(cursor: string) {
  try {
    const parsed = Cursor.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    if (Number.isNaN(Date.parse(parsed.at))) throw new Error('bad time');
    return parsed;
  } catch {
    throw badRequest('The cursor is not one this list gave out', 'querystring.cursor', 'invalid_query');
  }
}

/** A subscription's deliveries, newest first, keyset-paginated. @throws 404, 400 at the cursor */
export async function listDeliveries(
  services: Services,
  ctx: TenantContext,
  subscriptionId: string,
  query: DeliveryListQueryInput,
) {
  const after = query.cursor ? decodeCursor(query.cursor) : undefined;
  const rows = await withTenant(
    services.database,
    ctx,
    async (scope) => {
      await loadSubscription(scope, subscriptionId);
      return scope.tx
        .select()
        .from(webhookDeliveries)
        .where(
          and(
            eq(webhookDeliveries.orgId, ctx.orgId),
            eq(webhookDeliveries.subscriptionId, subscriptionId),
            query.status ? eq(webhookDeliveries.status, query.status) : undefined,
            after
              ? or(
                  lt(webhookDeliveries.createdAt, after.at),
                  and(eq(webhookDeliveries.createdAt, after.at), lt(webhookDeliveries.id, after.id)),
                )
              : undefined,
          ),
        )
        .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
        .limit(query.limit + 1);
    },
    { readOnly: true },
  );
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    data: page.map(deliveryViewOf),
    next_cursor:
      rows.length > query.limit && last
        ? Buffer.from(JSON.stringify({ at: last.createdAt, id: last.id })).toString('base64url')
        : null,
  };
}

async function loadDelivery(scope: TenantScope, subscriptionId: string, id: string, lock = false) {
  const query = scope.tx
    .select()
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.orgId, scope.ctx.orgId),
        eq(webhookDeliveries.subscriptionId, subscriptionId),
        eq(webhookDeliveries.id, id),
      ),
    );
  const [row] = lock ? await query.for('update') : await query;
  if (!row) throw notFound('Delivery', id);
  return row;
}

/** One delivery with every attempt (the delivery log). @throws 404 */
export async function getDelivery(
  services: Services,
  ctx: TenantContext,
  subscriptionId: string,
  id: string,
) {
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      const row = await loadDelivery(scope, subscriptionId, id);
      const attempts = await scope.tx
        .select()
        .from(webhookAttempts)
        .where(and(eq(webhookAttempts.orgId, ctx.orgId), eq(webhookAttempts.deliveryId, id)))
        .orderBy(webhookAttempts.attempt);
      return {
        ...deliveryViewOf(row),
        payload: row.payload,
        attempts_log: attempts.map((a) => ({
          attempt: a.attempt,
          status_code: a.statusCode,
          error: a.error,
          response_ms: a.responseMs,
          response_excerpt: a.responseExcerpt,
          at: a.at,
        })),
      };
    },
    { readOnly: true },
  );
}

/** The queue that delivers one delivery (`{org_id, delivery_id}`). */
export const WEBHOOK_DELIVER_QUEUE = 'webhook.deliver';

/**
 * Sends a dead delivery again (manual redrive): its attempts start over, with the same
 * `webhook-id` and bytes. @throws 404, 409 `not_dead` for one that is not dead, 409
 * `webhook_disabled` while its subscription is disabled
 */
export async function redriveDelivery(
  services: Services,
  ctx: TenantContext,
  subscriptionId: string,
  id: string,
) {
  return withTenant(services.database, ctx, async (scope) => {
    const subscription = await loadSubscription(scope, subscriptionId);
    const row = await loadDelivery(scope, subscriptionId, id, true);
    if (row.status !== 'dead')
      throw new AppError(409, 'not_dead', `Only a dead delivery can be redriven; this one is ${row.status}`);
    if (subscription.status !== 'active')
      throw new AppError(409, 'webhook_disabled', 'The webhook is disabled: enable it before redriving');
    const [updated] = await scope.tx
      .update(webhookDeliveries)
      .set({ status: 'pending', attempts: 0, nextAttemptAt: null, updatedAt: sql`clock_timestamp()` })
      .where(and(eq(webhookDeliveries.orgId, ctx.orgId), eq(webhookDeliveries.id, id)))
      .returning();
    await services.jobs.send(scope.conn, WEBHOOK_DELIVER_QUEUE, { org_id: ctx.orgId, delivery_id: id });
    return deliveryViewOf(updated!);
  });
}

/** Redrives every dead delivery of a subscription. @returns how many. @throws 404, 409 `webhook_disabled` */
export async function redriveAll(services: Services, ctx: TenantContext, subscriptionId: string) {
  return withTenant(services.database, ctx, async (scope) => {
    const subscription = await loadSubscription(scope, subscriptionId);
    if (subscription.status !== 'active')
      throw new AppError(409, 'webhook_disabled', 'The webhook is disabled: enable it before redriving');
    const rows = await scope.tx
      .update(webhookDeliveries)
      .set({ status: 'pending', attempts: 0, nextAttemptAt: null, updatedAt: sql`clock_timestamp()` })
      .where(
        and(
          eq(webhookDeliveries.orgId, ctx.orgId),
          eq(webhookDeliveries.subscriptionId, subscriptionId),
          eq(webhookDeliveries.status, 'dead'),
        ),
      )
      .returning({ id: webhookDeliveries.id });
    for (const r of rows)
      await services.jobs.send(scope.conn, WEBHOOK_DELIVER_QUEUE, { org_id: ctx.orgId, delivery_id: r.id });
    return { redriven: rows.length };
  });
}
