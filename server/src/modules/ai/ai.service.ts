import { performance } from 'node:perf_hooks';
import { and, eq, gte, sql } from 'drizzle-orm';
import type { TenantContext } from '../../db/tenant.js';
import { withTenant } from '../../db/tenant.js';
import { allows, readableOf, visibleDef } from '../../platform/access/access-profile.js';
import { type AuditSource, recordAudit } from '../../platform/audit/audit.js';
import { seal, unseal } from '../../platform/crypto/sealed.js';
import { AppError, badRequest, notFound } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { checkTargetNow, OutboundError } from '../../platform/net/outbound-http.js';
import { OPS_BY_TYPE } from '../../platform/query/query.fields.js';
import { compileFilter } from '../../platform/query/query.filter.js';
import type { ListQuery } from '../../platform/query/query.schema.js';
import { cachedObjectDef } from '../../platform/registry/registry.service.js';
import type { ObjectDef } from '../../platform/registry/registry.types.js';
import { LINKABLE_OBJECTS } from '../../platform/registry/standard-objects.js';
import { listNotes } from '../notes/note.service.js';
import { recordIntegration } from '../ops/integration-health.service.js';
import { listRecords } from '../records/record-list.service.js';
import { timelineOf } from '../timeline/timeline.service.js';
import { outboundPolicyOf } from '../webhooks/webhook.service.js';
import type { AiFeature, AiSettingsUpdateIn, AiSettingsViewOut } from './ai.dto.js';
import { aiSettings, aiUsage, type ModelPrice } from './ai.schema.js';
import { type ChatAnswer, callProvider, type ProviderKind, type ToolSpec } from './ai-provider.js';
import { ASK_V1, DRAFT_EMAIL_V1, type PromptTemplate, SUMMARIZE_V1 } from './prompts/index.js';

/** The purpose label provider keys are sealed under (`platform/crypto/sealed.ts`). */
const KEY_PURPOSE = 'ai-provider-key';
/** How long a provider has to answer, ms (`AI_TIMEOUT_MS`, read at each call like the workflows' limits). */
export const providerTimeoutMs = () => Number(process.env.AI_TIMEOUT_MS ?? 60_000);
/** Most tokens one answer may use. */
const MAX_ANSWER_TOKENS = 1024;
/** Most characters of record data one prompt carries. */
const MAX_DATA_CHARS = 24_000;

type SettingsRow = typeof aiSettings.$inferSelect;

const DEFAULTS = {
  enabled: false,
  provider: 'openai' as ProviderKind,
  baseUrl: 'https://api.openai.com/v1',
  model: 'gpt-4o-mini',
  features: ['summarize', 'draft_email', 'ask', 'explain'],
  orgMonthlyTokens: null,
  memberMonthlyTokens: null,
  callsPerMinute: 10,
  redactEmails: true,
  redactPhones: true,
  storePrompts: false,
  prices: {},
  currency: 'USD',
};

const monthStart = () => {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString();
};
const secondsToNextMonth = () => {
  const now = new Date();
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
  return Math.max(1, Math.ceil((next - now.getTime()) / 1000));
};

async function loadSettings(services: Services, ctx: TenantContext): Promise<SettingsRow | undefined> {
  return withTenant(
    services.database,
    ctx,
    async ({ tx }) => (await tx.select().from(aiSettings).where(eq(aiSettings.orgId, ctx.orgId)))[0],
    { readOnly: true },
  );
}

async function tokensUsed(services: Services, ctx: TenantContext, userId?: string): Promise<number> {
  return withTenant(
    services.database,
    ctx,
    async ({ tx }) => {
      const [row] = await tx
        .select({ n: sql<string>`coalesce(sum(${aiUsage.tokensIn} + ${aiUsage.tokensOut}), 0)` })
        .from(aiUsage)
        .where(
          and(
            eq(aiUsage.orgId, ctx.orgId),
            gte(aiUsage.at, monthStart()),
            userId ? eq(aiUsage.userId, userId) : undefined,
          ),
        );
      return Number(row?.n ?? 0);
    },
    { readOnly: true },
  );
}

/** This month's cost (priced calls) and the calls no price covered. */
async function monthCost(
  services: Services,
  ctx: TenantContext,
): Promise<{ cost: number; unpriced: number }> {
  return withTenant(
    services.database,
    ctx,
    async ({ tx }) => {
      const [row] = await tx
        .select({
          cost: sql<string>`coalesce(sum(${aiUsage.cost}), 0)`,
          unpriced: sql<string>`count(*) filter (where ${aiUsage.cost} is null and ${aiUsage.model} is not null)`,
        })
        .from(aiUsage)
        .where(and(eq(aiUsage.orgId, ctx.orgId), gte(aiUsage.at, monthStart())));
      return { cost: Number(row?.cost ?? 0), unpriced: Number(row?.unpriced ?? 0) };
    },
    { readOnly: true },
  );
}

/**
 * What a call cost with the organization's price for its model, rounded to 8 decimals; null when
 * no price is set for the model.
 */
export function costOf(
  prices: Record<string, ModelPrice>,
  model: string,
  tokensIn: number,
  tokensOut: number,
): number | null {
  const price = prices[model];
  if (!price) return null;
  const cost = (tokensIn * price.input_per_million + tokensOut * price.output_per_million) / 1_000_000;
  return Math.round(cost * 1e8) / 1e8;
}

const mask = (last4: string | null) => (last4 === null ? null : `••••${last4}`);

function viewOf(
  row: SettingsRow | undefined,
  used: number,
  spent: { cost: number; unpriced: number },
): AiSettingsViewOut {
  const r = row ?? { ...DEFAULTS, keyLast4: null };
  return {
    enabled: r.enabled,
    provider: r.provider as ProviderKind,
    base_url: r.baseUrl,
    model: r.model,
    key: mask(r.keyLast4),
    features: r.features as AiFeature[],
    org_monthly_tokens: r.orgMonthlyTokens,
    member_monthly_tokens: r.memberMonthlyTokens,
    calls_per_minute: r.callsPerMinute,
    redact_emails: r.redactEmails,
    redact_phones: r.redactPhones,
    store_prompts: r.storePrompts,
    tokens_this_month: used,
    prices: r.prices,
    currency: r.currency,
    cost_this_month: Math.round(spent.cost * 1e6) / 1e6,
    unpriced_calls_this_month: spent.unpriced,
  };
}

export async function getAiSettings(services: Services, ctx: TenantContext): Promise<AiSettingsViewOut> {
  return viewOf(
    await loadSettings(services, ctx),
    await tokensUsed(services, ctx),
    await monthCost(services, ctx),
  );
}

/** Whether the assistant is on for this organization, and which features (any member reads it). */
export async function getAiStatus(services: Services, ctx: TenantContext) {
  const row = await loadSettings(services, ctx);
  const on = Boolean(row?.enabled && row.keySealed !== null);
  return { enabled: on, features: on ? (row!.features as AiFeature[]) : [] };
}

/**
 * Changes the settings: given fields change, absent ones stay; `key` is sealed and never
 * answered back. Enabling needs a key (a local server without keys takes any placeholder).
 * @throws 400 `invalid_url` / an SSRF refusal code at `body.base_url`; 422 `ai_key_required`
 */
export async function updateAiSettings(
  services: Services,
  ctx: TenantContext,
  source: AuditSource,
  input: AiSettingsUpdateIn,
): Promise<AiSettingsViewOut> {
  if (input.base_url !== undefined) {
    try {
      await checkTargetNow(input.base_url, outboundPolicyOf(services));
    } catch (error) {
      if (error instanceof OutboundError) throw badRequest(error.message, 'body.base_url', error.code);
      throw error;
    }
  }
  const current = await loadSettings(services, ctx);
  const base = current ?? { ...DEFAULTS, keySealed: null, keyLast4: null };
  const key = input.key === undefined ? undefined : input.key === null ? null : input.key.trim();
  const next = {
    enabled: input.enabled ?? base.enabled,
    provider: input.provider ?? base.provider,
    baseUrl: input.base_url ?? base.baseUrl,
    model: input.model ?? base.model,
    keySealed:
      key === undefined
        ? base.keySealed
        : key === null || key === ''
          ? null
          : seal(services.config.secret, KEY_PURPOSE, key),
    keyLast4: key === undefined ? base.keyLast4 : key === null || key === '' ? null : key.slice(-4),
    features: input.features ? [...new Set(input.features)] : base.features,
    orgMonthlyTokens:
      input.org_monthly_tokens === undefined ? base.orgMonthlyTokens : input.org_monthly_tokens,
    memberMonthlyTokens:
      input.member_monthly_tokens === undefined ? base.memberMonthlyTokens : input.member_monthly_tokens,
    callsPerMinute: input.calls_per_minute ?? base.callsPerMinute,
    redactEmails: input.redact_emails ?? base.redactEmails,
    redactPhones: input.redact_phones ?? base.redactPhones,
    storePrompts: input.store_prompts ?? base.storePrompts,
    prices: input.prices ?? base.prices,
    currency: input.currency ?? base.currency,
    updatedAt: new Date().toISOString(),
  };
  if (next.enabled && next.keySealed === null)
    throw new AppError(422, 'ai_key_required', 'Set the provider key before turning the assistant on', {
      path: 'body.key',
    });
  await withTenant(services.database, ctx, async ({ tx }) => {
    await tx
      .insert(aiSettings)
      .values({ orgId: ctx.orgId, ...next })
      .onConflictDoUpdate({ target: aiSettings.orgId, set: next });
  });
  const changed = Object.keys(input).filter((k) => k !== 'key');
  await recordAudit(services.database, ctx.orgId, source, {
    action: 'ai.settings_changed',
    details: {
      changed,
      ...(input.key !== undefined ? { key: input.key === null ? 'removed' : 'replaced' } : {}),
    },
  });
  return getAiSettings(services, ctx);
}

// ---------------------------------------------------------------------------------------------
// Calls: the gate (on, feature, key, rate limit, budgets), the call, its usage and audit entry.

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
// Digits with the separators phone numbers are written with (not `.`: amounts like 737373.00).
const PHONE = /(?<![\w.-])\+?\(?\d[\d\s()-]{5,}\d(?![\w.])/g;

/** Whether a run of digits reads as a phone number: 7 to 15 digits, with a `+` or a separator, or 10+ digits. */
function looksLikePhone(match: string): boolean {
  const digits = match.replace(/\D/g, '').length;
  if (digits < 7 || digits > 15 || /^\d{4}-\d{2}-\d{2}$/.test(match.trim())) return false;
  return match.startsWith('+') || /[\s()-]/.test(match.trim()) || digits >= 10;
}

/** The text with e-mail addresses and phone numbers replaced by placeholders, as configured. */
export function redact(text: string, options: { emails: boolean; phones: boolean }): string {
  let out = text;
  if (options.emails) out = out.replace(EMAIL, '[e-mail]');
  if (options.phones) out = out.replace(PHONE, (m) => (looksLikePhone(m) ? '[phone]' : m));
  return out;
}

/**
 * A call let through: its settings, key, member, and the tokens its answer may use (`maxTokens`):
 * the budget's remainder when a budget is nearer than the usual cap (`budgetLimited`).
 */
export type Gate = {
  row: SettingsRow;
  apiKey: string;
  userId: string | null;
  maxTokens: number;
  remaining: number;
  budgetLimited: boolean;
};

/**
 * The tokens left this month under the organization's and the member's budgets (the smaller;
 * infinite without budgets). @throws 429 `ai_budget_exhausted` when either is spent
 */
export async function budgetLeft(
  services: Services,
  ctx: TenantContext,
  row: SettingsRow,
  userId: string | null,
): Promise<number> {
  let remaining = Number.POSITIVE_INFINITY;
  if (row.orgMonthlyTokens !== null) {
    const used = await tokensUsed(services, ctx);
    if (used >= row.orgMonthlyTokens)
      throw new AppError(
        429,
        'ai_budget_exhausted',
        "The organization's AI token budget for this month is spent; an admin can raise it",
        { retryAfterS: secondsToNextMonth() },
      );
    remaining = row.orgMonthlyTokens - used;
  }
  if (row.memberMonthlyTokens !== null && userId) {
    const used = await tokensUsed(services, ctx, userId);
    if (used >= row.memberMonthlyTokens)
      throw new AppError(429, 'ai_budget_exhausted', 'Your AI token budget for this month is spent', {
        retryAfterS: secondsToNextMonth(),
      });
    remaining = Math.min(remaining, row.memberMonthlyTokens - used);
  }
  return remaining;
}

async function gate(services: Services, ctx: TenantContext, feature: AiFeature): Promise<Gate> {
  const row = await loadSettings(services, ctx);
  if (!row?.enabled || row.keySealed === null)
    throw new AppError(409, 'ai_disabled', 'The AI assistant is not turned on for this organization');
  if (!row.features.includes(feature))
    throw new AppError(
      409,
      'ai_feature_disabled',
      `The assistant's ${feature.replace('_', ' ')} is turned off`,
    );
  const userId = ctx.actor.type === 'user' || ctx.actor.type === 'api_key' ? ctx.actor.id : null;
  const recent = await withTenant(
    services.database,
    ctx,
    async ({ tx }) => {
      const [r] = await tx
        .select({ n: sql<string>`count(*)` })
        .from(aiUsage)
        .where(
          and(
            eq(aiUsage.orgId, ctx.orgId),
            userId ? eq(aiUsage.userId, userId) : sql`${aiUsage.userId} is null`,
            sql`${aiUsage.at} > now() - interval '1 minute'`,
          ),
        );
      return Number(r?.n ?? 0);
    },
    { readOnly: true },
  );
  if (recent >= row.callsPerMinute)
    throw new AppError(429, 'ai_rate_limited', `At most ${row.callsPerMinute} assistant calls a minute`, {
      retryAfterS: 60,
    });
  const remaining = await budgetLeft(services, ctx, row, userId);
  let apiKey: string;
  try {
    apiKey = unseal(services.config.secret, KEY_PURPOSE, row.keySealed);
  } catch {
    throw new AppError(
      409,
      'ai_key_unreadable',
      'The stored provider key cannot be read; an admin must set it again',
    );
  }
  return {
    row,
    apiKey,
    userId,
    maxTokens: Math.max(1, Math.min(MAX_ANSWER_TOKENS, remaining)),
    remaining,
    budgetLimited: remaining <= MAX_ANSWER_TOKENS,
  };
}

export type CallInput = {
  feature: AiFeature;
  template: PromptTemplate;
  user: string;
  tool?: ToolSpec;
  target?: { type: string; id: string };
};

/**
 * One assistant call: the gate, the data redacted, the provider called, the usage counted and the
 * call audited whatever its outcome (feature, template version, model, tokens, latency, member;
 * the prompt and answer only when the organization keeps them).
 */
/** The gate, with a refusal by a budget or the rate limit audited. */
export async function open(
  services: Services,
  ctx: TenantContext,
  source: AuditSource,
  input: Pick<CallInput, 'feature' | 'template' | 'target'>,
): Promise<Gate> {
  try {
    return await gate(services, ctx, input.feature);
  } catch (error) {
    if (error instanceof AppError && (error.status === 429 || error.code === 'ai_key_unreadable'))
      await recordAudit(services.database, ctx.orgId, source, {
        action: 'ai.called',
        ...(input.target ? { target: input.target } : {}),
        details: { feature: input.feature, template: input.template.version, outcome: error.code },
      });
    throw error;
  }
}

export async function run(
  services: Services,
  ctx: TenantContext,
  source: AuditSource,
  g: Gate,
  input: CallInput,
): Promise<{ answer: ChatAnswer; model: string }> {
  const { row } = g;
  const prompt = redact(input.user, { emails: row.redactEmails, phones: row.redactPhones });
  const started = performance.now();
  let answer: ChatAnswer | undefined;
  let outcome = 'ok';
  try {
    answer = await callProvider(
      {
        provider: row.provider as ProviderKind,
        baseUrl: row.baseUrl,
        model: row.model,
        apiKey: g.apiKey,
        timeoutMs: providerTimeoutMs(),
      },
      {
        system: input.template.system,
        user: prompt,
        maxTokens: g.maxTokens,
        ...(input.tool ? { tool: input.tool } : {}),
      },
      outboundPolicyOf(services),
    );
    // The budget ran out while the model was answering: it stopped at the budget's remainder (or
    // went past it regardless). The unfinished answer is discarded, the tokens it used are counted.
    if ((answer.atLimit && g.budgetLimited) || answer.tokensOut > g.remaining)
      throw new AppError(
        429,
        'ai_budget_exhausted',
        'The AI token budget ran out while the assistant was answering, so its answer was stopped and discarded; an admin can raise the budget',
        { retryAfterS: secondsToNextMonth() },
      );
    return { answer, model: row.model };
  } catch (error) {
    outcome = error instanceof AppError ? error.code : 'ai_provider_error';
    throw error;
  } finally {
    await recordCall(services, ctx, source, g, {
      feature: input.feature,
      template: input.template,
      ...(input.target ? { target: input.target } : {}),
      prompt,
      answer: answer?.text ?? null,
      tokensIn: answer?.tokensIn ?? 0,
      tokensOut: answer?.tokensOut ?? 0,
      latencyMs: Math.round(performance.now() - started),
      outcome,
    });
  }
}

/** What one call used and how it ended, for `recordCall`. */
export type CallRecord = {
  feature: AiFeature;
  template: PromptTemplate;
  target?: { type: string; id: string };
  prompt: string;
  answer: string | null;
  tokensIn: number;
  tokensOut: number;
  latencyMs: number;
  /** `ok`, `cancelled` (the member closed it) or the problem code it ended with. */
  outcome: string;
  /** Whether the token counts are an estimate (a stream cut before the provider's usage came). */
  estimated?: boolean;
};

/**
 * Counts a call against the budgets (its usage row, with its cost at the model's price), marks the
 * integration's health, and audits it: feature, template version, model, tokens, cost, latency,
 * member; the prompt and answer only when the organization keeps them.
 */
export async function recordCall(
  services: Services,
  ctx: TenantContext,
  source: AuditSource,
  g: Gate,
  call: CallRecord,
): Promise<void> {
  const { row } = g;
  const { tokensIn, tokensOut, outcome } = call;
  const cost = costOf(row.prices, row.model, tokensIn, tokensOut);
  await withTenant(services.database, ctx, ({ tx }) =>
    tx.insert(aiUsage).values({
      orgId: ctx.orgId,
      userId: g.userId,
      feature: call.feature,
      tokensIn,
      tokensOut,
      model: row.model,
      cost,
      outcome,
    }),
  );
  // A refusal of the gate's own (a rate limit of ours) or a member's cancel is not the provider failing.
  if (outcome !== 'cancelled')
    await recordIntegration(services, ctx.orgId, {
      kind: 'ai',
      name: `${row.provider} (${row.model})`,
      ok: outcome === 'ok',
      error: outcome,
      ...(outcome === 'ai_provider_rejected_key'
        ? { configState: 'missing_credentials' as const, configDetail: 'The provider refused the API key' }
        : outcome === 'ok'
          ? { configState: 'ok' as const }
          : {}),
    });
  await recordAudit(services.database, ctx.orgId, source, {
    action: 'ai.called',
    ...(call.target ? { target: call.target } : {}),
    details: {
      feature: call.feature,
      template: call.template.version,
      provider: row.provider,
      model: row.model,
      tokens_in: tokensIn,
      tokens_out: tokensOut,
      ...(call.estimated ? { tokens_estimated: true } : {}),
      cost,
      currency: row.currency,
      latency_ms: call.latencyMs,
      outcome,
      ...(row.storePrompts
        ? { prompt: { system: call.template.system, user: call.prompt }, answer: call.answer }
        : {}),
    },
  });
}

// ---------------------------------------------------------------------------------------------
// What a member may see of a record, gathered with their own rights (the query compiler applies
// their field rights and record scope), before any prompt is built.

const WEB_PATHS: Record<string, string> = {
  contact: '/contacts',
  company: '/companies',
  opportunity: '/opportunities',
  product: '/products',
};
const urlOf = (object: string, id: string) =>
  WEB_PATHS[object] ? `${WEB_PATHS[object]}/${id}` : `/records/${object}/${id}`;

type Item = Record<string, unknown> & { id: string };
type Source = { object: string; id: string; label: string; url: string };

async function listAs(
  services: Services,
  ctx: TenantContext,
  object: string,
  query: ListQuery,
): Promise<Item[]> {
  if (!allows(ctx, object, 'read')) return [];
  try {
    return (await listRecords(services, ctx, object, query)).data;
  } catch (error) {
    // An object this organization does not have, or a field its role cannot filter on: nothing.
    if (error instanceof AppError && error.status < 500) return [];
    throw error;
  }
}

/** Without empty values and ids: what the model needs to read. */
function compact(item: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) {
    if (v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    if (k === 'custom' && typeof v === 'object' && Object.keys(v as object).length === 0) continue;
    out[k] = v;
  }
  return out;
}

const labelOf = (def: ObjectDef, item: Item) => {
  for (const key of ['name', 'title', 'first_name', 'sku']) {
    if (typeof item[key] === 'string' && item[key]) {
      return key === 'first_name' && typeof item.last_name === 'string'
        ? `${item.first_name} ${item.last_name}`
        : (item[key] as string);
    }
  }
  return `${def.labelSingular} ${item.id.slice(0, 8)}`;
};

/**
 * The record, as the member reaches it, must exist before anything else is said about the call:
 * another organization's id or one beyond the member's scope answers 404 like an unknown one.
 */
async function assertReachable(services: Services, ctx: TenantContext, object: string, id: string) {
  let def: ObjectDef;
  try {
    def = await withTenant(services.database, ctx, ({ tx }) => cachedObjectDef(tx, ctx.orgId, object), {
      readOnly: true,
    });
  } catch {
    throw notFound('Object', object);
  }
  const [found] = await listAs(services, ctx, def.key, {
    filter: { field: 'id', op: 'eq', value: id },
    fields: ['id'],
    limit: 1,
  });
  if (!found) throw notFound(def.labelSingular, id);
}

type RecordContext = { def: ObjectDef; record: Item; data: string; sources: Source[] };

/** @throws 404 when the record does not exist or is beyond the member's reach; 403 without the read right */
export async function recordContext(
  services: Services,
  ctx: TenantContext,
  object: string,
  id: string,
  full: boolean,
): Promise<RecordContext> {
  let def: ObjectDef;
  try {
    def = await withTenant(services.database, ctx, ({ tx }) => cachedObjectDef(tx, ctx.orgId, object), {
      readOnly: true,
    });
  } catch {
    throw notFound('Object', object);
  }
  const [record] = await listAs(services, ctx, def.key, {
    filter: { field: 'id', op: 'eq', value: id },
    limit: 1,
  });
  if (!record) throw notFound(def.labelSingular, id);
  const sources: Source[] = [{ object: def.key, id, label: labelOf(def, record), url: urlOf(def.key, id) }];
  const parts: Record<string, unknown> = { object: def.labelSingular, record: compact(record) };
  if (full) {
    const linked = {
      and: [
        { field: 'linked_object', op: 'eq', value: def.key },
        { field: 'linked_id', op: 'eq', value: id },
      ],
    };
    const notes =
      allows(ctx, 'note', 'read') && (LINKABLE_OBJECTS as readonly string[]).includes(def.key)
        ? (
            await listNotes(services, ctx, {
              object: def.key as (typeof LINKABLE_OBJECTS)[number],
              id,
              limit: 10,
            })
          ).data
        : [];
    const tasks = await listAs(services, ctx, 'task', { filter: linked, limit: 10 });
    const dealKey = def.key === 'contact' ? 'contact_id' : def.key === 'company' ? 'company_id' : undefined;
    const deals = dealKey
      ? await listAs(services, ctx, 'opportunity', {
          filter: { field: dealKey, op: 'eq', value: id },
          limit: 10,
        })
      : [];
    const timeline = await timelineOf(services, ctx, { object: def.key, id }, { limit: 15 });
    parts.notes = notes.map((n) => ({
      at: n.occurred_at,
      kind: n.kind,
      text: String(n.body_text ?? '').slice(0, 2000),
    }));
    parts.tasks = tasks.map(compact);
    parts.deals = deals.map(compact);
    parts.recent_activity = timeline.data.map((e) => ({ at: e.occurred_at, what: e.description }));
    for (const d of deals)
      sources.push({
        object: 'opportunity',
        id: d.id,
        label: String(d.title ?? 'Deal'),
        url: urlOf('opportunity', d.id),
      });
    for (const t of tasks)
      sources.push({
        object: 'task',
        id: t.id,
        label: String(t.title ?? 'Task'),
        url: `/tasks?task=${t.id}`,
      });
  }
  let data = JSON.stringify(parts, null, 1);
  if (data.length > MAX_DATA_CHARS) data = `${data.slice(0, MAX_DATA_CHARS)}\n(truncated)`;
  return { def, record, data, sources };
}

/** The model's JSON answer, or its text as the one field when it did not answer JSON. */
export function jsonOf(text: string): Record<string, unknown> | undefined {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start) return undefined;
  try {
    const value = JSON.parse(text.slice(start, end + 1));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

const str = (v: unknown, max: number) => (typeof v === 'string' ? v.slice(0, max) : '');

export async function summarizeRecord(
  services: Services,
  ctx: TenantContext,
  source: AuditSource,
  input: { object: string; id: string },
) {
  await assertReachable(services, ctx, input.object, input.id);
  const target = { type: input.object, id: input.id };
  const g = await open(services, ctx, source, { feature: 'summarize', template: SUMMARIZE_V1, target });
  const rc = await recordContext(services, ctx, input.object, input.id, true);
  const { answer, model } = await run(services, ctx, source, g, {
    feature: 'summarize',
    template: SUMMARIZE_V1,
    user: `<data>\n${rc.data}\n</data>`,
    target: { type: rc.def.key, id: input.id },
  });
  const json = jsonOf(answer.text);
  const steps = Array.isArray(json?.next_steps) ? json.next_steps : [];
  return {
    summary: json ? str(json.summary, 4000) : answer.text.slice(0, 4000),
    next_steps: steps
      .filter((s): s is string => typeof s === 'string')
      .slice(0, 5)
      .map((s) => s.slice(0, 500)),
    sources: rc.sources,
    model,
  };
}

export async function draftEmail(
  services: Services,
  ctx: TenantContext,
  source: AuditSource,
  input: { object: string; id: string; instructions?: string | undefined },
) {
  await assertReachable(services, ctx, input.object, input.id);
  const target = { type: input.object, id: input.id };
  const g = await open(services, ctx, source, { feature: 'draft_email', template: DRAFT_EMAIL_V1, target });
  const rc = await recordContext(services, ctx, input.object, input.id, false);
  const instructions = input.instructions?.trim() || 'A friendly follow-up.';
  const { answer, model } = await run(services, ctx, source, g, {
    feature: 'draft_email',
    template: DRAFT_EMAIL_V1,
    user: `Instructions from the member: ${instructions}\n<data>\n${rc.data}\n</data>`,
    target: { type: rc.def.key, id: input.id },
  });
  const json = jsonOf(answer.text);
  return {
    subject: json ? str(json.subject, 300) : '',
    body: json ? str(json.body, 10_000) : answer.text.slice(0, 10_000),
    model,
  };
}

// ---------------------------------------------------------------------------------------------
// Ask: a question becomes a filter, checked exactly as a member's filter is, never run here.

type Condition = { field: string; op: string; value?: unknown };

export async function askFilter(
  services: Services,
  ctx: TenantContext,
  source: AuditSource,
  input: { object: string; question: string },
) {
  const g = await open(services, ctx, source, { feature: 'ask', template: ASK_V1 });
  let def: ObjectDef;
  try {
    def = await withTenant(services.database, ctx, ({ tx }) => cachedObjectDef(tx, ctx.orgId, input.object), {
      readOnly: true,
    });
  } catch {
    throw notFound('Object', input.object);
  }
  // Only the fields the member may read (and filter on) are described to the model.
  const fields = visibleDef(ctx, def).fields.filter((f) => f.filterable && !f.retired);
  const catalogue = fields.map((f) => ({
    key: f.key,
    label: f.label,
    type: f.type,
    ops: OPS_BY_TYPE[f.type],
    ...(f.options ? { options: f.options.map((o) => o.value) } : {}),
  }));
  const tool: ToolSpec = {
    name: 'set_filter',
    description: `Set the filter of the ${def.labelPlural} list`,
    parameters: {
      type: 'object',
      properties: {
        filter: {
          type: 'object',
          description:
            'A filter tree: a condition {field, op, value} or a group {and: [...]}, {or: [...]}, {not: ...}',
          properties: {
            and: { type: 'array', items: { $ref: '#/$defs/condition' } },
          },
        },
        note: { type: 'string', description: 'Anything the filter could not express' },
      },
      required: ['filter'],
      $defs: {
        condition: {
          type: 'object',
          properties: {
            field: { type: 'string', enum: fields.map((f) => f.key) },
            op: { type: 'string' },
            value: {},
          },
          required: ['field', 'op'],
        },
      },
    },
  };
  const today = new Date().toISOString().slice(0, 10);
  const { answer, model } = await run(services, ctx, source, g, {
    feature: 'ask',
    template: ASK_V1,
    tool,
    user:
      `Today is ${today}. The list is ${def.labelPlural}.\n<data>\n${JSON.stringify({ fields: catalogue })}\n</data>\n` +
      `Question: ${input.question}`,
  });
  const args = (answer.toolArguments ?? jsonOf(answer.text)) as
    | { filter?: unknown; note?: unknown }
    | undefined;
  const filter = args?.filter;
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter))
    throw new AppError(
      422,
      'ai_no_filter',
      'The assistant did not answer with a filter; try rephrasing the question',
    );
  // The same check a member's own filter gets: unknown and hidden fields are refused alike.
  const readable = readableOf(ctx, def.key) ?? (() => true);
  try {
    compileFilter(
      filter,
      { object: def, table: 'r', readable, clock: { now: new Date(), timeZone: 'UTC' } },
      'filter',
    );
  } catch (error) {
    if (error instanceof AppError)
      throw new AppError(
        422,
        'ai_filter_invalid',
        `The assistant proposed a filter that cannot be used: ${error.message}`,
        {
          path: error.path,
        },
      );
    throw error;
  }
  const labels = new Map(fields.map((f) => [f.key, f.label]));
  const conditions: Condition[] | undefined =
    'field' in filter
      ? [filter as Condition]
      : 'and' in filter &&
          Array.isArray((filter as { and: unknown[] }).and) &&
          (filter as { and: unknown[] }).and.every((c) => typeof c === 'object' && c !== null && 'field' in c)
        ? (filter as { and: Condition[] }).and
        : undefined;
  return {
    filter: filter as Record<string, unknown>,
    chips: conditions
      ? conditions.map((c) => ({
          field: c.field,
          label: labels.get(c.field) ?? c.field,
          op: c.op,
          ...(c.value !== undefined ? { value: c.value } : {}),
        }))
      : null,
    note: typeof args?.note === 'string' && args.note ? args.note.slice(0, 500) : null,
    model,
  };
}
