import { and, eq, sql } from 'drizzle-orm';
import { isId } from '../../db/ids.js';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import { AppError } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { OutboundError, type OutboundResponse, sendOutbound } from '../../platform/net/outbound-http.js';
import { objectDef } from '../../platform/registry/registry.service.js';
import { createRecord, matchingRecord } from '../forms/form-submit.service.js';
import { outboundPolicyOf } from '../webhooks/webhook.service.js';
import { metaLeads, metaPages } from './meta.schema.js';
import { type LeadJob, META_LEAD_QUEUE } from './meta-intake.service.js';
import { LEAD_ATTRIBUTES, SEAL, unsealed } from './meta-settings.service.js';

/** The lead's fields asked of the Graph API (https://developers.facebook.com/docs/marketing-api/guides/lead-ads/retrieving). */
const LEAD_FIELDS =
  'id,created_time,ad_id,ad_name,adset_id,adset_name,campaign_id,campaign_name,form_id,platform,is_organic,field_data,custom_disclaimer_responses';

/** Graph error codes worth another attempt: throttling and temporary errors (https://developers.facebook.com/docs/graph-api/guides/error-handling). */
const TRANSIENT_GRAPH_CODES = new Set([1, 2, 4, 17, 32, 341, 613]);

/** A Graph lead (`GET /{leadgen_id}`), the parts Cairn reads. */
export type GraphLead = {
  id?: string;
  created_time?: string;
  ad_id?: string;
  ad_name?: string;
  adset_id?: string;
  campaign_id?: string;
  campaign_name?: string;
  form_id?: string;
  field_data?: { name: string; values: string[] }[];
};

/** Quotes Graph ids that came as JSON numbers (wider than a double) before parsing. */
const quoteIds = (s: string) =>
  s.replace(/"(id|ad_id|adset_id|campaign_id|form_id)"(\s*):(\s*)(\d+)/g, '"$1"$2:$3"$4"');

/** Graph's error body: `{"error":{"message","type","code","error_subcode","fbtrace_id"}}`. */
export function graphErrorOf(response: OutboundResponse): {
  code: string;
  message: string;
  transient: boolean;
} {
  let error: { code?: number; message?: string } | undefined;
  try {
    error = (JSON.parse(response.body) as { error?: { code?: number; message?: string } }).error;
  } catch {
    error = undefined;
  }
  const transient =
    response.status >= 500 ||
    response.status === 429 ||
    (error?.code !== undefined && TRANSIENT_GRAPH_CODES.has(error.code));
  return {
    code: error?.code !== undefined ? `graph_${error.code}` : `http_${response.status}`,
    message: (error?.message ?? response.body).slice(0, 500),
    transient,
  };
}

/**
 * The values a lead gives a page's object: each answer (`field_data`, trimmed, several values
 * joined by ", ") and each attribute (`source` = META, the ad, ad set, campaign and form ids) whose question
 * the mapping names, under its field key. A `full_name` mapped to `first_name` with no last name
 * is split at its last space. `unmapped` are the lead's questions the mapping does not name;
 * `formChanged` when the mapping names questions and the lead answers none of them.
 */
export function valuesOfLead(lead: GraphLead, mapping: Record<string, string>) {
  const answers: Record<string, string> = {};
  for (const f of lead.field_data ?? [])
    answers[f.name] = (f.values ?? [])
      .map((v) => String(v).trim())
      .filter(Boolean)
      .join(', ');
  const attributes: Record<string, string | undefined> = {
    source: 'META',
    ad_id: lead.ad_id,
    adset_id: lead.adset_id,
    campaign_id: lead.campaign_id,
    form_id: lead.form_id,
    ad_name: lead.ad_name,
    campaign_name: lead.campaign_name,
  };
  const values: Record<string, unknown> = {};
  for (const [question, field] of Object.entries(mapping)) {
    const value =
      answers[question] ?? (LEAD_ATTRIBUTES.includes(question) ? attributes[question] : undefined);
    if (value === undefined || value === '' || values[field] !== undefined) continue;
    values[field] = value;
  }
  const fullName = answers.full_name;
  if (mapping.full_name === 'first_name' && fullName && values.last_name === undefined) {
    const at = fullName.trim().lastIndexOf(' ');
    if (at > 0) {
      values.first_name = fullName.trim().slice(0, at);
      values.last_name = fullName.trim().slice(at + 1);
    }
  }
  const asked = Object.keys(mapping).filter((q) => !LEAD_ATTRIBUTES.includes(q));
  const unmapped = Object.keys(answers).filter((q) => !(q in mapping));
  const formChanged = asked.length > 0 && !asked.some((q) => q in answers);
  return { values, unmapped, formChanged, questions: Object.keys(answers) };
}

/**
 * What a lead becomes: its form's own object, mapping and owner when the page maps that form on
 * its own, else the page's.
 */
export function targetOf(page: typeof metaPages.$inferSelect, formId: string | null) {
  const form = formId ? page.formMappings.find((f) => f.form_id === formId) : undefined;
  return form
    ? { object: form.object, mapping: form.field_mapping, ownerId: form.owner_id ?? page.ownerId }
    : { object: page.object, mapping: page.fieldMapping, ownerId: page.ownerId };
}

type Outcome =
  | { kind: 'done'; lead: GraphLead }
  | { kind: 'failed'; code: string; detail: string; transient: boolean };

/** `GET {META_GRAPH_URL}/{leadgen_id}?fields=...&access_token=<page token>` through the outbound guard. */
async function fetchLead(services: Services, leadgenId: string, token: string): Promise<Outcome> {
  const url = `${services.config.meta.graphUrl}/${leadgenId}?fields=${encodeURIComponent(LEAD_FIELDS)}&access_token=${encodeURIComponent(token)}`;
  let response: OutboundResponse;
  try {
    response = await sendOutbound(
      url,
      { method: 'GET', timeoutMs: 15_000, maxBodyBytes: 262_144 },
      outboundPolicyOf(services),
    );
  } catch (error) {
    const code = error instanceof OutboundError ? error.code : 'connect_failed';
    return { kind: 'failed', code, detail: 'The Graph API could not be reached', transient: true };
  }
  if (response.status !== 200) {
    const e = graphErrorOf(response);
    return { kind: 'failed', code: e.code, detail: e.message, transient: e.transient };
  }
  try {
    const lead = JSON.parse(quoteIds(response.body)) as GraphLead;
    if (!lead || typeof lead !== 'object' || !Array.isArray(lead.field_data))
      return {
        kind: 'failed',
        code: 'graph_invalid_lead',
        detail: 'The answer has no field_data',
        transient: false,
      };
    return { kind: 'done', lead };
  } catch {
    return {
      kind: 'failed',
      code: 'graph_invalid_json',
      detail: response.body.slice(0, 500),
      transient: true,
    };
  }
}

/**
 * The lead job: fetches the lead from the Graph API with its page's token, maps its answers to the
 * page's object and makes its record, or matches an existing one by e-mail or phone (never a
 * second record for one leadgen id: the ledger row is locked and its state checked). A failure is
 * recorded on the ledger with its code (`graph_190`, `http_500`, `timeout`, `form_changed`,
 * `invalid_value`...); a transient one is retried after `META_RETRY_SCHEDULE_SECONDS`, then fails.
 */
export async function processLead(services: Services, job: LeadJob): Promise<void> {
  if (!isId(job.org_id) || !isId(job.lead_id)) return;
  const ctx: TenantContext = { orgId: job.org_id, actor: { type: 'system', id: null } };
  const where = and(eq(metaLeads.orgId, job.org_id), eq(metaLeads.id, job.lead_id));
  const loaded = await withTenant(services.database, ctx, async ({ tx }) => {
    const [lead] = await tx.select().from(metaLeads).where(where);
    if (!lead) return undefined;
    const [page] = await tx
      .select()
      .from(metaPages)
      .where(and(eq(metaPages.orgId, job.org_id), eq(metaPages.pageId, lead.pageId)));
    return { lead, page };
  });
  if (!loaded || (loaded.lead.status !== 'queued' && loaded.lead.status !== 'retrying')) return;
  const { lead, page } = loaded;
  const outcome: Outcome = page
    ? await fetchLead(services, lead.leadgenId, unsealed(services, SEAL.pageToken, page.tokenSealed)!)
    : {
        kind: 'failed',
        code: 'page_not_listened',
        detail: `Page ${lead.pageId} is not listened to`,
        transient: false,
      };

  await withTenant(services.database, ctx, async (scope) => {
    const [current] = await scope.tx.select().from(metaLeads).where(where).for('update');
    if (!current || (current.status !== 'queued' && current.status !== 'retrying')) return;
    const attempts = current.attempts + 1;
    const fail = async (code: string, detail: string, transient: boolean) => {
      const wait = transient ? services.config.meta.retryScheduleS[attempts - 1] : undefined;
      await scope.tx
        .update(metaLeads)
        .set({
          attempts,
          status: wait === undefined ? 'failed' : 'retrying',
          error: code,
          errorDetail: detail,
          nextAttemptAt: wait === undefined ? null : sql`clock_timestamp() + make_interval(secs => ${wait})`,
          updatedAt: sql`clock_timestamp()`,
        })
        .where(where);
      if (wait !== undefined)
        await services.jobs.send(scope.conn, META_LEAD_QUEUE, job, { startAfter: wait });
    };
    if (outcome.kind === 'failed') return fail(outcome.code, outcome.detail, outcome.transient);
    const graphLead = outcome.lead;
    const target = targetOf(page!, graphLead.form_id ?? current.formId);
    const def = await objectDef(scope.tx, job.org_id, target.object);
    const { values, unmapped, formChanged, questions } = valuesOfLead(graphLead, target.mapping);
    const ids = {
      formId: graphLead.form_id ?? current.formId,
      adId: graphLead.ad_id ?? current.adId,
      adsetId: graphLead.adset_id ?? current.adsetId,
      campaignId: graphLead.campaign_id ?? null,
    };
    await scope.tx
      .update(metaLeads)
      .set({ lead: graphLead, ...ids })
      .where(where);
    if (formChanged)
      return fail(
        'form_changed',
        `The lead answers ${questions.join(', ')}: none of the mapped questions`,
        false,
      );
    let record: { id: string; name: string | null };
    let created = true;
    const existing = await matchingRecord(scope, def, values);
    if (existing) {
      record = { id: existing, name: null };
      created = false;
    } else {
      try {
        // A savepoint: a value the record engine refuses fails this lead, not the transaction.
        record = await scope.tx.transaction(async () =>
          createRecord(scope, services, def, { ownerId: target.ownerId }, values, 'meta'),
        );
      } catch (error) {
        if (error instanceof AppError && error.status < 500)
          return fail('invalid_value', `${error.message}${error.path ? ` (${error.path})` : ''}`, false);
        throw error;
      }
    }
    await scope.tx
      .update(metaLeads)
      .set({
        attempts,
        status: created ? 'created' : 'matched',
        error: unmapped.length ? 'unmapped_questions' : null,
        errorDetail: unmapped.length ? `Not mapped: ${unmapped.join(', ')}` : null,
        nextAttemptAt: null,
        recordObject: def.key,
        recordId: record.id,
        updatedAt: sql`clock_timestamp()`,
      })
      .where(where);
    await emitEvent(scope, services.jobs, {
      type: 'meta.lead_received',
      subject: { object: def.key, id: record.id },
      data: {
        name: record.name,
        leadgen_id: current.leadgenId,
        page_id: current.pageId,
        form_id: ids.formId,
        ad_id: ids.adId,
        adset_id: ids.adsetId,
        campaign_id: ids.campaignId,
        campaign_name: graphLead.campaign_name ?? null,
        created,
      },
    });
  });
}

/** Registers the lead queue (before the job queue starts). */
export function defineMetaLeadJobs(services: Services): void {
  services.jobs.define<LeadJob>({ name: META_LEAD_QUEUE, retryLimit: 3, concurrency: 5 }, async ({ data }) =>
    processLead(services, data),
  );
}
