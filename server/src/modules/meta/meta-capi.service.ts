import { and, desc, eq, lt, sql } from 'drizzle-orm';
import { isId } from '../../db/ids.js';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import type { EventConsumer } from '../../platform/events/dispatcher.js';
import type { EventEnvelope } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { OutboundError, type OutboundResponse, sendOutbound } from '../../platform/net/outbound-http.js';
import { cachedObjectDef } from '../../platform/registry/registry.service.js';
import { outboundPolicyOf } from '../webhooks/webhook.service.js';
import type { LedgerQueryInput, MetaCapiEventView } from './meta.dto.js';
import { metaCapiEvents, metaLeads, metaSettings } from './meta.schema.js';
import { graphErrorOf } from './meta-lead.service.js';
import { ledgerPageOf } from './meta-ledger.js';
import { SEAL, unsealed } from './meta-settings.service.js';
import { hashEmail, hashPhone } from './meta-wire.js';

/** The queue whose jobs POST one Conversions API event. */
export const META_CAPI_QUEUE = 'meta-capi';
type CapiJob = { org_id: string; event_id: string };

/** The events that move a lead's record to a stage or status, and the value they reach. */
const STAGE_EVENTS = [
  'meta.lead_received',
  'record.status_changed',
  'opportunity.created',
  'opportunity.moved',
  'opportunity.closed',
  'opportunity.reopened',
];

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * The lead's record an event is about, and the values it reached: a custom record's status (its
 * key and label), an opportunity's stage name (and `won`/`lost`) for the lead's contact's
 * opportunity, `lead_received` when the lead arrived (Meta asks for events from the first lead
 * stage on).
 */
async function reached(
  scope: TenantScope,
  e: EventEnvelope,
): Promise<{ recordId: string; values: string[] } | null> {
  const d = e.data;
  if (e.type === 'meta.lead_received') return { recordId: e.subject.id, values: ['lead_received'] };
  if (e.type === 'record.status_changed')
    return { recordId: e.subject.id, values: [str(d.to), str(d.to_label)].filter((v): v is string => !!v) };
  if (!isId(e.subject.id)) return null;
  const { rows } = await scope.conn.query<{ contact_id: string | null }>(
    `select contact_id from opportunities where org_id = $1 and id = $2`,
    [scope.ctx.orgId, e.subject.id],
  );
  const contactId = rows[0]?.contact_id;
  if (!contactId) return null;
  return {
    recordId: contactId,
    values: [
      str(d.to_stage),
      str(d.stage),
      e.type === 'opportunity.closed' ? str(d.status) : undefined,
    ].filter((v): v is string => !!v),
  };
}

/** The record's e-mails and phones, hashed as Meta specifies (contacts; a custom object's e-mail and phone fields). */
async function hashedIdentity(scope: TenantScope, object: string, id: string) {
  const emails: string[] = [];
  const phones: string[] = [];
  if (object === 'contact') {
    const { rows } = await scope.conn.query<{
      emails: { value: string }[];
      phones: { number: string; e164?: string | null }[];
    }>(`select emails, phones from contacts where org_id = $1 and id = $2`, [scope.ctx.orgId, id]);
    for (const e of rows[0]?.emails ?? []) emails.push(e.value);
    for (const p of rows[0]?.phones ?? []) phones.push(p.e164 ?? p.number);
  } else {
    const def = await cachedObjectDef(scope.tx, scope.ctx.orgId, object);
    const { rows } = await scope.conn.query<{ custom: Record<string, unknown> }>(
      `select custom from records where org_id = $1 and id = $2`,
      [scope.ctx.orgId, id],
    );
    const custom = rows[0]?.custom ?? {};
    for (const f of def.fields) {
      const v = custom[f.key];
      if (f.type === 'email' && typeof v === 'string') emails.push(v);
      if (f.type === 'phone' && v && typeof v === 'object') {
        const p = v as { e164?: string; raw?: string };
        if (p.e164 ?? p.raw) phones.push((p.e164 ?? p.raw)!);
      }
    }
  }
  const uniq = (a: (string | null)[]) => [...new Set(a.filter((v): v is string => !!v))];
  return { em: uniq(emails.map(hashEmail)), ph: uniq(phones.map(hashPhone)) };
}

/**
 * The Conversions API for CRM body of one event
 * (https://developers.facebook.com/docs/marketing-api/conversions-api/conversion-leads-integration):
 * `action_source: system_generated`, `custom_data.event_source: crm` and `lead_event_source`,
 * `user_data.lead_id` (Meta's lead id, written as the JSON number it is, whatever its width) and
 * the hashed e-mails and phones, and an `event_id` Meta deduplicates on.
 */
export function capiBody(input: {
  eventName: string;
  eventId: string;
  eventTime: number;
  leadgenId: string;
  leadEventSource: string;
  em: string[];
  ph: string[];
}): string {
  const body = JSON.stringify({
    data: [
      {
        event_name: input.eventName,
        event_time: input.eventTime,
        action_source: 'system_generated',
        event_id: input.eventId,
        user_data: {
          lead_id: '__LEAD_ID__',
          ...(input.em.length ? { em: input.em } : {}),
          ...(input.ph.length ? { ph: input.ph } : {}),
        },
        custom_data: { event_source: 'crm', lead_event_source: input.leadEventSource },
      },
    ],
  });
  return body.replace(
    '"__LEAD_ID__"',
    /^\d{1,32}$/.test(input.leadgenId) ? input.leadgenId : JSON.stringify(input.leadgenId),
  );
}

/**
 * The Conversions API consumer: when a lead's record reaches a stage or status the admin mapped,
 * one CAPI event is stored (its `event_id` `<leadgen id>.<event name>` is unique: a stage reached
 * again sends nothing more) and a job sends it.
 */
export function capiConsumer(services: Services): EventConsumer {
  return {
    name: 'meta-capi',
    types: STAGE_EVENTS,
    activeIn: async (scope) => {
      const { rows } = await scope.conn.query(
        `select 1 from meta_settings where org_id = $1 and capi_dataset_id is not null
            and jsonb_array_length(stage_mapping) > 0`,
        [scope.ctx.orgId],
      );
      return rows.length > 0;
    },
    handle: async (batch, scope) => {
      const [settings] = await scope.tx
        .select()
        .from(metaSettings)
        .where(eq(metaSettings.orgId, scope.ctx.orgId));
      if (!settings?.capiDatasetId || settings.stageMapping.length === 0) return;
      for (const e of batch) {
        const hit = await reached(scope, e);
        if (!hit || !isId(hit.recordId)) continue;
        const mapped = settings.stageMapping.filter((m) =>
          hit.values.some((v) => v.toLowerCase() === m.value.toLowerCase()),
        );
        if (mapped.length === 0) continue;
        const [lead] = await scope.tx
          .select()
          .from(metaLeads)
          .where(and(eq(metaLeads.orgId, scope.ctx.orgId), eq(metaLeads.recordId, hit.recordId)))
          .limit(1);
        if (!lead?.recordObject) continue;
        const identity = await hashedIdentity(scope, lead.recordObject, hit.recordId);
        for (const m of mapped) {
          const eventId = `${lead.leadgenId}.${m.event_name}`;
          const payload = capiBody({
            eventName: m.event_name,
            eventId,
            eventTime:
              Math.floor(Date.parse(e.occurred_at.replace(' ', 'T')) / 1000) || Math.floor(Date.now() / 1000),
            leadgenId: lead.leadgenId,
            leadEventSource: settings.leadEventSource,
            ...identity,
          });
          const [row] = await scope.tx
            .insert(metaCapiEvents)
            .values({ orgId: scope.ctx.orgId, leadId: lead.id, eventName: m.event_name, eventId, payload })
            .onConflictDoNothing()
            .returning({ id: metaCapiEvents.id });
          if (row)
            await services.jobs.send(scope.conn, META_CAPI_QUEUE, {
              org_id: scope.ctx.orgId,
              event_id: row.id,
            });
        }
      }
    },
  };
}

/**
 * Sends one stored CAPI event: `POST {META_GRAPH_URL}/{dataset id}/events?access_token=...` with
 * the stored body, through the outbound guard. Each call's outcome is logged on the row; a failure
 * is retried after `META_RETRY_SCHEDULE_SECONDS` (Graph's permanent 4xx errors are not), then the
 * event is `failed` with its code.
 */
export async function sendCapiEvent(services: Services, job: CapiJob): Promise<void> {
  if (!isId(job.org_id) || !isId(job.event_id)) return;
  const ctx: TenantContext = { orgId: job.org_id, actor: { type: 'system', id: null } };
  const where = and(eq(metaCapiEvents.orgId, job.org_id), eq(metaCapiEvents.id, job.event_id));
  const loaded = await withTenant(services.database, ctx, async ({ tx }) => {
    const [event] = await tx.select().from(metaCapiEvents).where(where);
    const [settings] = await tx.select().from(metaSettings).where(eq(metaSettings.orgId, job.org_id));
    return event && settings ? { event, settings } : undefined;
  });
  if (loaded?.event.status !== 'pending') return;
  const { event, settings } = loaded;
  const token = unsealed(services, SEAL.capiToken, settings.capiTokenSealed);
  let code: string | null = null;
  let transient = false;
  let response: OutboundResponse | undefined;
  if (!settings.capiDatasetId || !token) code = 'capi_not_configured';
  else {
    try {
      response = await sendOutbound(
        `${services.config.meta.graphUrl}/${settings.capiDatasetId}/events?access_token=${encodeURIComponent(token)}`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: event.payload,
          timeoutMs: 15_000,
        },
        outboundPolicyOf(services),
      );
      if (response.status !== 200) ({ code, transient } = graphErrorOf(response));
    } catch (error) {
      code = error instanceof OutboundError ? error.code : 'connect_failed';
      transient = true;
    }
  }
  await withTenant(services.database, ctx, async (scope) => {
    const attempts = event.attempts + 1;
    const wait = code && transient ? services.config.meta.retryScheduleS[attempts - 1] : undefined;
    await scope.tx
      .update(metaCapiEvents)
      .set({
        attempts,
        status: code === null ? 'sent' : wait === undefined ? 'failed' : 'pending',
        lastStatusCode: response?.status ?? null,
        lastError: code,
        responseExcerpt: response?.body.slice(0, 1000) ?? null,
        updatedAt: sql`clock_timestamp()`,
      })
      .where(where);
    if (wait !== undefined) await services.jobs.send(scope.conn, META_CAPI_QUEUE, job, { startAfter: wait });
  });
}

export const capiViewOf = (r: typeof metaCapiEvents.$inferSelect): MetaCapiEventView => ({
  id: r.id,
  lead_id: r.leadId,
  event_name: r.eventName,
  event_id: r.eventId,
  payload: r.payload,
  status: r.status as MetaCapiEventView['status'],
  attempts: r.attempts,
  last_status_code: r.lastStatusCode,
  last_error: r.lastError,
  response_excerpt: r.responseExcerpt,
  created_at: r.createdAt,
  updated_at: r.updatedAt,
});

/** Registers the CAPI consumer and its queue (before the job queue starts). */
export function defineMetaCapiJobs(services: Services): void {
  services.events.register(capiConsumer(services));
  services.jobs.define<CapiJob>({ name: META_CAPI_QUEUE, retryLimit: 3, concurrency: 5 }, async ({ data }) =>
    sendCapiEvent(services, data),
  );
}

/** Every Conversions API event, newest first, of one status when asked. @throws 400 at `query.cursor` */
export async function listMetaCapiEvents(services: Services, ctx: TenantContext, q: LedgerQueryInput) {
  return withTenant(services.database, ctx, async ({ tx }) =>
    ledgerPageOf(q, async (after, limit) =>
      (
        await tx
          .select()
          .from(metaCapiEvents)
          .where(
            and(
              eq(metaCapiEvents.orgId, ctx.orgId),
              q.status ? eq(metaCapiEvents.status, q.status) : undefined,
              after ? lt(metaCapiEvents.id, after) : undefined,
            ),
          )
          .orderBy(desc(metaCapiEvents.id))
          .limit(limit)
      ).map(capiViewOf),
    ),
  );
}
