import { and, eq, sql } from 'drizzle-orm';
import { isId } from '../../db/ids.js';
import { type TenantScope, withTenant } from '../../db/tenant.js';
import type { EventConsumer } from '../../platform/events/dispatcher.js';
import { type EventEnvelope, emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { OutboundError, type OutboundResponse, sendOutbound } from '../../platform/net/outbound-http.js';
import { compileFilter } from '../../platform/query/query.filter.js';
import { cachedObjectDef } from '../../platform/registry/registry.service.js';
import { deliverNotification } from '../notifications/notification-delivery.service.js';
import { recordIntegration } from '../ops/integration-health.service.js';
import { webhookAttempts, webhookDeliveries, webhookSubscriptions } from './webhook.schema.js';
import { outboundPolicyOf, WEBHOOK_DELIVER_QUEUE } from './webhook.service.js';
import { signedHeaders, signingSecrets } from './webhook-secrets.js';
import { wants } from './webhook-types.js';

/** What a delivery job carries. */
export type DeliverJob = { org_id: string; delivery_id: string };

/** The answer's first characters kept in the delivery log. */
const EXCERPT_CHARS = 1000;

/** PostgreSQL's text form of a timestamptz (`2026-12-06 09:30:00.123456+00`) as ISO 8601. */
const isoTime = (pg: string) => pg.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00');

/** Whether the event's subject record matches the subscription's filter (no filter: always). */
async function matches(scope: TenantScope, filter: unknown, e: EventEnvelope): Promise<boolean> {
  if (filter === null || filter === undefined) return true;
  if (!isId(e.subject.id)) return false;
  let where: ReturnType<typeof compileFilter>;
  let table: string;
  try {
    const def = await cachedObjectDef(scope.tx, scope.ctx.orgId, e.subject.object);
    table = def.table;
    where = compileFilter(filter, {
      object: def,
      table: 'r',
      readable: () => true,
      clock: { now: new Date(), timeZone: 'UTC' },
    });
  } catch {
    return false; // an object the registry does not know, or a filter its fields do not fit
  }
  const result = (await scope.tx.execute(
    sql`select 1 from ${sql.identifier(table)} r where r.org_id = ${scope.ctx.orgId} and r.id = ${e.subject.id} and ${where}`,
  )) as unknown as { rows: unknown[] };
  return result.rows.length > 0;
}

/**
 * The webhooks consumer: for each event, each active subscription of its organization that wants
 * its type (and whose filter its subject matches) gets a delivery, with the envelope's exact bytes,
 * and a delivery job, in the dispatcher's transaction. `(subscription, event)` is unique: an event
 * dispatched twice is delivered once.
 */
export function webhookConsumer(services: Services): EventConsumer {
  return {
    name: 'webhooks',
    types: '*',
    activeIn: async (scope) => {
      const { rows } = await scope.conn.query(
        `select 1 from webhook_subscriptions where org_id = $1 and status = 'active' limit 1`,
        [scope.ctx.orgId],
      );
      return rows.length > 0;
    },
    handle: async (batch, scope) => {
      const subscriptions = await scope.tx
        .select({
          id: webhookSubscriptions.id,
          eventTypes: webhookSubscriptions.eventTypes,
          filter: webhookSubscriptions.filter,
        })
        .from(webhookSubscriptions)
        .where(
          and(eq(webhookSubscriptions.orgId, scope.ctx.orgId), eq(webhookSubscriptions.status, 'active')),
        );
      if (subscriptions.length === 0) return;
      const rows: (typeof webhookDeliveries.$inferInsert)[] = [];
      for (const e of batch) {
        for (const s of subscriptions) {
          if (!wants(s.eventTypes, e.type)) continue;
          if (!(await matches(scope, s.filter, e))) continue;
          rows.push({
            orgId: scope.ctx.orgId,
            subscriptionId: s.id,
            eventId: e.id,
            eventType: e.type,
            // The envelope, its time in ISO 8601 (the database's text form is not).
            payload: JSON.stringify({ ...e, occurred_at: isoTime(e.occurred_at) }),
            occurredAt: e.occurred_at,
          });
        }
      }
      if (rows.length === 0) return;
      const created = await scope.tx
        .insert(webhookDeliveries)
        .values(rows)
        .onConflictDoNothing()
        .returning({ id: webhookDeliveries.id });
      for (const d of created)
        await services.jobs.send(scope.conn, WEBHOOK_DELIVER_QUEUE, {
          org_id: scope.ctx.orgId,
          delivery_id: d.id,
        });
    },
  };
}

type Outcome = { response?: OutboundResponse; error?: string };

/**
 * Runs one attempt of a delivery: signs the stored bytes with the subscription's secrets (Standard
 * Webhooks headers, a fresh timestamp), POSTs them through the SSRF guard and records the attempt.
 * A 2xx answer delivers it. Otherwise the next attempt is queued after the configured wait
 * (`WEBHOOK_RETRY_SCHEDULE_SECONDS`); after the last one the delivery is dead (redrive by hand).
 * A subscription failing longer than `WEBHOOK_DISABLE_AFTER_HOURS`, or whose receiver answers 410
 * Gone, is disabled, with a `webhook.disabled` event and an alert to every admin. HTTP failures
 * never throw: the job succeeds and the next attempt is its own job.
 */
export async function deliverOnce(services: Services, job: DeliverJob): Promise<void> {
  if (!isId(job.org_id) || !isId(job.delivery_id)) return;
  const ctx = { orgId: job.org_id, actor: { type: 'system' as const, id: null } };
  const loaded = await withTenant(services.database, ctx, async ({ tx }) => {
    const [row] = await tx
      .select({ delivery: webhookDeliveries, subscription: webhookSubscriptions })
      .from(webhookDeliveries)
      .innerJoin(
        webhookSubscriptions,
        and(
          eq(webhookSubscriptions.orgId, webhookDeliveries.orgId),
          eq(webhookSubscriptions.id, webhookDeliveries.subscriptionId),
        ),
      )
      .where(and(eq(webhookDeliveries.orgId, job.org_id), eq(webhookDeliveries.id, job.delivery_id)));
    return row;
  });
  if (loaded?.delivery.status !== 'pending') return;
  const { delivery, subscription } = loaded;

  let outcome: Outcome;
  if (subscription.status !== 'active') {
    outcome = { error: 'webhook_disabled' };
  } else {
    const secrets = signingSecrets(services.config.secret, subscription.secrets);
    const headers = {
      'content-type': 'application/json',
      ...signedHeaders(secrets, delivery.id, delivery.payload),
    };
    try {
      const response = await sendOutbound(
        subscription.targetUrl,
        { method: 'POST', headers, body: delivery.payload, timeoutMs: services.config.webhookTimeoutMs },
        outboundPolicyOf(services),
      );
      outcome = {
        response,
        ...(response.status >= 200 && response.status < 300 ? {} : { error: `http_${response.status}` }),
      };
    } catch (error) {
      outcome = { error: error instanceof OutboundError ? error.code : 'connect_failed' };
    }
  }
  await recordAttempt(services, ctx, delivery, subscription, outcome);
  if (outcome.error !== 'webhook_disabled')
    await recordIntegration(services, ctx.orgId, {
      kind: 'webhook',
      ref: subscription.id,
      name: subscription.targetUrl,
      ok: !outcome.error,
      error: outcome.error ?? null,
    });
}

async function recordAttempt(
  services: Services,
  ctx: { orgId: string; actor: { type: 'system'; id: null } },
  delivery: typeof webhookDeliveries.$inferSelect,
  subscription: typeof webhookSubscriptions.$inferSelect,
  outcome: Outcome,
): Promise<void> {
  const schedule = services.config.webhookRetryScheduleS;
  await withTenant(services.database, ctx, async (scope) => {
    const attempt = delivery.attempts + 1;
    const { response, error } = outcome;
    await scope.tx.insert(webhookAttempts).values({
      orgId: ctx.orgId,
      deliveryId: delivery.id,
      attempt,
      statusCode: response?.status ?? null,
      error: error ?? null,
      responseMs: response?.durationMs ?? null,
      responseExcerpt: response ? response.body.slice(0, EXCERPT_CHARS) : null,
    });
    const common = {
      attempts: attempt,
      lastStatusCode: response?.status ?? null,
      lastError: error ?? null,
      lastResponseMs: response?.durationMs ?? null,
      updatedAt: sql`clock_timestamp()`,
    };
    const where = and(eq(webhookDeliveries.orgId, ctx.orgId), eq(webhookDeliveries.id, delivery.id));
    if (!error) {
      await scope.tx
        .update(webhookDeliveries)
        .set({ ...common, status: 'succeeded', nextAttemptAt: null, deliveredAt: sql`clock_timestamp()` })
        .where(where);
      if (subscription.failingSince)
        await scope.tx
          .update(webhookSubscriptions)
          .set({ failingSince: null })
          .where(
            and(eq(webhookSubscriptions.orgId, ctx.orgId), eq(webhookSubscriptions.id, subscription.id)),
          );
      return;
    }
    const wait = schedule[attempt - 1];
    if (wait === undefined || error === 'webhook_disabled') {
      await scope.tx
        .update(webhookDeliveries)
        .set({ ...common, status: 'dead', nextAttemptAt: null })
        .where(where);
    } else {
      await scope.tx
        .update(webhookDeliveries)
        .set({ ...common, nextAttemptAt: sql`clock_timestamp() + make_interval(secs => ${wait})` })
        .where(where);
      await services.jobs.send(
        scope.conn,
        WEBHOOK_DELIVER_QUEUE,
        { org_id: ctx.orgId, delivery_id: delivery.id },
        { startAfter: wait },
      );
    }
    if (error !== 'webhook_disabled')
      await noteFailure(services, scope, subscription.id, response?.status === 410);
  });
}

/**
 * Marks the subscription failing (from its first failure on) and disables it when it has failed
 * longer than the configured hours or its receiver said 410 Gone (Zapier's and the REST-hook
 * convention for "unsubscribe me").
 */
async function noteFailure(services: Services, scope: TenantScope, id: string, gone: boolean): Promise<void> {
  const hours = services.config.webhookDisableAfterHours;
  const { rows } = await scope.conn.query<{ target_url: string; failing_since: string; disable: boolean }>(
    `update webhook_subscriptions
        set failing_since = coalesce(failing_since, clock_timestamp())
      where org_id = $1 and id = $2 and status = 'active'
      returning target_url, failing_since::text,
                ($3 or failing_since <= clock_timestamp() - make_interval(secs => $4::double precision)) as disable`,
    [scope.ctx.orgId, id, gone, hours * 3600],
  );
  const row = rows[0];
  if (!row?.disable) return;
  const reason = gone ? 'receiver_gone' : 'failing';
  await scope.conn.query(
    `update webhook_subscriptions set status = 'disabled', disabled_reason = $3, updated_at = clock_timestamp()
      where org_id = $1 and id = $2`,
    [scope.ctx.orgId, id, reason],
  );
  const eventId = await emitEvent(scope, services.jobs, {
    type: 'webhook.disabled',
    subject: { object: 'webhook_subscription', id },
    data: { target_url: row.target_url, reason, failing_since: row.failing_since },
  });
  const { rows: admins } = await scope.conn.query<{ user_id: string }>(
    `select user_id from members where organization_id = $1 and role = 'admin'`,
    [scope.ctx.orgId],
  );
  const detail =
    reason === 'receiver_gone'
      ? `The webhook to ${row.target_url} was disabled: its receiver answered 410 Gone`
      : `The webhook to ${row.target_url} was disabled: its deliveries have failed since ${row.failing_since}`;
  for (const admin of admins)
    await deliverNotification(scope, {
      recipientId: admin.user_id,
      kind: 'ops_alert',
      object: 'webhook_subscription',
      recordId: id,
      recordName: row.target_url,
      actorId: null,
      detail,
      eventId,
    });
}

/** Registers the webhooks consumer and defines the delivery queue (before the job queue starts). */
export function defineWebhookJobs(services: Services): void {
  services.events.register(webhookConsumer(services));
  services.jobs.define<DeliverJob>(
    { name: WEBHOOK_DELIVER_QUEUE, retryLimit: 3, concurrency: 20, parallel: true },
    async ({ data }) => deliverOnce(services, data),
  );
}
