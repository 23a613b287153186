import { Decimal } from 'decimal.js';
import { sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { z } from 'zod';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { badRequest, notFound } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { compileListQuery } from '../../platform/query/query.compiler.js';
import type { FilterNode } from '../../platform/query/query.schema.js';
import { contactTitleSql, UNNAMED_CONTACT } from '../../platform/registry/display-name.js';
import { objectDef } from '../../platform/registry/registry.service.js';
import { convertSums, ratesInForceIn } from '../currencies/exchange-rate.service.js';
import { minorUnitOf } from '../currencies/minor-units.js';
import { getOrganizationSettings } from '../organizations/organization-settings.service.js';
import { loadPipeline } from '../pipelines/pipeline.service.js';
import { daysSince } from './opportunity-views.service.js';

export const BoardCard = z
  .object({
    id: z.uuid(),
    title: z.string(),
    amount: z.number().nullable(),
    currency: z.string().nullable(),
    owner_id: z.uuid().nullable(),
    contact: z.object({ id: z.uuid(), name: z.string() }).nullable(),
    company: z.object({ id: z.uuid(), name: z.string() }).nullable(),
    status: z.string(),
    expected_close_date: z.string().nullable(),
    days_in_stage: z.number().int(),
    rank: z.string(),
  })
  .meta({ id: 'BoardCard' });
export const BoardColumn = z
  .object({
    stage: z.object({ id: z.uuid(), name: z.string(), probability: z.number(), kind: z.string() }),
    count: z.number().int(),
    sums: z.record(z.string(), z.number()).describe('Total value per currency'),
    cards: z.array(BoardCard),
    next_cursor: z.string().nullable(),
  })
  .meta({ id: 'BoardColumn' });
export const BoardTotal = z
  .object({
    currency: z.string().describe("The organization's currency (ISO 4217), which the totals are in"),
    value: z.number().describe("Open deals' value on the board, converted with the rates in force"),
    weighted: z.number().describe('The same, each deal weighted by its stage probability'),
    as_of: z.string().describe("YYYY-MM-DD: the day (in the organization's time zone) whose rates apply"),
    rates: z
      .array(z.object({ currency: z.string(), rate: z.string(), valid_on: z.string() }))
      .describe('The rates used: units of the organization currency per unit, and the day each holds from'),
    unconverted: z
      .array(z.object({ currency: z.string(), value: z.number(), weighted: z.number() }))
      .describe('Sums of currencies with no rate yet: left out of the totals, never added as they are'),
  })
  .meta({ id: 'BoardTotal' });

type RawCard = {
  id: string;
  title: string;
  amount: string | number | null;
  currency: string | null;
  owner_id: string | null;
  contact_id: string | null;
  contact_name: string | null;
  company_id: string | null;
  company_name: string | null;
  status: string;
  expected_close_date: string | null;
  stage_entered_at: string;
  rank: string;
};

const rowsOf = <T>(r: unknown) => (Array.isArray(r) ? r : (r as { rows: T[] }).rows) as T[];

function card(r: RawCard) {
  return {
    id: r.id,
    title: r.title,
    amount: r.amount === null ? null : Number(r.amount),
    currency: r.currency,
    owner_id: r.owner_id,
    contact: r.contact_id ? { id: r.contact_id, name: r.contact_name ?? UNNAMED_CONTACT } : null,
    company: r.company_id ? { id: r.company_id, name: r.company_name ?? '' } : null,
    status: r.status,
    expected_close_date: r.expected_close_date,
    days_in_stage: daysSince(r.stage_entered_at),
    rank: r.rank,
  };
}

const encode = (c: { rank: string; id: string }) =>
  Buffer.from(JSON.stringify([c.rank, c.id])).toString('base64url');
function decode(cursor: string): [string, string] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    // A rank is a fractional index: base-62 digits (https://github.com/rocicorp/fractional-indexing).
    if (Array.isArray(v) && /^[0-9A-Za-z]{1,200}$/.test(String(v[0])) && /^[0-9a-f-]{36}$/.test(String(v[1])))
      return [v[0], v[1]];
  } catch {}
  throw badRequest('The cursor is not one this board gave out', 'querystring.cursor', 'invalid_query');
}

export type BoardOptions = {
  filter?: FilterNode | undefined;
  q?: string | undefined;
  includeClosed: boolean;
  perColumn: number;
};

/**
 * The Kanban board in one query: every stage in order with its count, value per currency and
 * first page of cards by rank (cursor per column). Filtered with the query language; closed
 * opportunities hidden unless asked for.
 * @throws 404 unknown pipeline, 400 `invalid_query` naming the filter path
 */
export async function board(
  services: Services,
  ctx: TenantContext,
  pipelineId: string,
  options: BoardOptions,
) {
  const settings = await getOrganizationSettings(services, ctx);
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      const pipeline = await loadPipeline(scope, pipelineId);
      const def = await objectDef(scope.tx, ctx.orgId, 'opportunity');
      const where = compileListQuery(
        def,
        { filter: options.filter, q: options.q, limit: 1 },
        { table: 'o', tenant: ctx },
      ).where;
      const status = options.includeClosed ? sql`true` : sql`o.status = 'open'`;
      const base = sql`o.org_id = ${ctx.orgId} and o.pipeline_id = ${pipelineId} and o.stage_id = s.id and o.archived_at is null and ${status} and ${where}`;
      const rows = rowsOf<{ id: string; n: number; sums: Record<string, number>; items: RawCard[] }>(
        await scope.tx.execute(sql`
        select s.id, coalesce(agg.n, 0)::int as n, coalesce(agg.sums, '{}'::jsonb) as sums, cards.items
          from pipeline_stages s
          left join lateral (
            select sum(g.c)::int as n, jsonb_object_agg(g.cur, g.total) filter (where g.cur is not null) as sums
              from (select o.currency as cur, sum(o.amount) as total, count(*) as c
                      from opportunities o where ${base} group by o.currency) g
          ) agg on true
          left join lateral (
            select coalesce(json_agg(x order by x.rank, x.id), '[]'::json) as items from (
              select o.id, o.title, o.amount, o.currency, o.owner_id, o.status, o.expected_close_date,
                     o.stage_entered_at::text as stage_entered_at, o.rank, o.contact_id, o.company_id,
                     ${sql.raw(contactTitleSql('c'))} as contact_name,
                     co.name as company_name
                from opportunities o
                left join contacts c on c.org_id = o.org_id and c.id = o.contact_id
                left join companies co on co.org_id = o.org_id and co.id = o.company_id
               where ${base}
               order by o.rank, o.id
               limit ${options.perColumn + 1}
            ) x
          ) cards on true
         where s.org_id = ${ctx.orgId} and s.pipeline_id = ${pipelineId}
         order by s.position`),
      );
      const columns = pipeline.stages.map((stage) => {
        const row = rows.find((r) => r.id === stage.id);
        const items = row?.items ?? [];
        const shown = items.slice(0, options.perColumn);
        return {
          stage: { id: stage.id, name: stage.name, probability: stage.probability, kind: stage.kind },
          count: row?.n ?? 0,
          sums: Object.fromEntries(Object.entries(row?.sums ?? {}).map(([k, v]) => [k, Number(v)])),
          cards: shown.map(card),
          next_cursor: items.length > options.perColumn ? encode(shown.at(-1)!) : null,
        };
      });
      return {
        pipeline: { id: pipeline.id, name: pipeline.name },
        columns,
        total: await boardTotalIn(scope, settings, columns),
      };
    },
    { readOnly: true },
  );
}

/**
 * The board's open value in the organization's currency (issue 20): each open column's sums per
 * currency, plain and weighted by the stage's probability, converted with the rates in force
 * today in the organization's time zone (`convertSums`). Won and lost columns are not counted.
 */
async function boardTotalIn(
  scope: TenantScope,
  settings: { default_currency: string; time_zone: string },
  columns: { stage: { probability: number; kind: string }; sums: Record<string, number> }[],
) {
  const value: Record<string, Decimal> = {};
  const weighted: Record<string, Decimal> = {};
  for (const col of columns) {
    if (col.stage.kind !== 'open') continue;
    for (const [cur, sum] of Object.entries(col.sums)) {
      value[cur] = (value[cur] ?? new Decimal(0)).plus(sum);
      weighted[cur] = (weighted[cur] ?? new Decimal(0)).plus(
        new Decimal(sum).times(col.stage.probability).div(100),
      );
    }
  }
  const into = settings.default_currency;
  const day = DateTime.now().setZone(settings.time_zone).toISODate() ?? DateTime.utc().toISODate()!;
  const rates = await ratesInForceIn(
    scope,
    Object.keys(value).filter((c) => c !== into),
    day,
  );
  const decimals = minorUnitOf(into);
  const plain = convertSums(rates, toStrings(value), into, decimals);
  const heavy = convertSums(rates, toStrings(weighted), into, decimals);
  return {
    currency: into,
    value: plain.value,
    weighted: heavy.value,
    as_of: day,
    rates: [...rates.values()],
    unconverted: plain.unconverted.map((u) => ({
      ...u,
      weighted: heavy.unconverted.find((w) => w.currency === u.currency)?.value ?? 0,
    })),
  };
}

const toStrings = (sums: Record<string, Decimal>) =>
  Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v.toString()]));

/** The next page of one column of the board, after `cursor`. */
export async function boardColumn(
  services: Services,
  ctx: TenantContext,
  pipelineId: string,
  stageId: string,
  options: BoardOptions & { cursor?: string | undefined },
) {
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      const pipeline = await loadPipeline(scope, pipelineId);
      // A stage of another pipeline (or tenant) does not exist at this URL: 404, as any unknown id.
      if (!pipeline.stages.some((s) => s.id === stageId)) throw notFound('Stage', stageId);
      const def = await objectDef(scope.tx, ctx.orgId, 'opportunity');
      const where = compileListQuery(
        def,
        { filter: options.filter, q: options.q, limit: 1 },
        { table: 'o', tenant: ctx },
      ).where;
      const after = options.cursor ? decode(options.cursor) : undefined;
      const items = rowsOf<RawCard>(
        await scope.tx.execute(sql`
        select o.id, o.title, o.amount, o.currency, o.owner_id, o.status, o.expected_close_date,
               o.stage_entered_at::text as stage_entered_at, o.rank, o.contact_id, o.company_id,
               ${sql.raw(contactTitleSql('c'))} as contact_name, co.name as company_name
          from opportunities o
          left join contacts c on c.org_id = o.org_id and c.id = o.contact_id
          left join companies co on co.org_id = o.org_id and co.id = o.company_id
         where o.org_id = ${ctx.orgId} and o.pipeline_id = ${pipelineId} and o.stage_id = ${stageId} and o.archived_at is null
           and ${options.includeClosed ? sql`true` : sql`o.status = 'open'`} and ${where}
           and ${after ? sql`(o.rank, o.id) > (${after[0]} collate "C", ${after[1]}::uuid)` : sql`true`}
         order by o.rank, o.id
         limit ${options.perColumn + 1}`),
      );
      const shown = items.slice(0, options.perColumn);
      return {
        cards: shown.map(card),
        next_cursor: items.length > options.perColumn ? encode(shown.at(-1)!) : null,
      };
    },
    { readOnly: true },
  );
}

/**
 * The pipeline report: per stage the number of opportunities, their value and the weighted value
 * (value x stage probability), per currency; filterable by owner and a date range on
 * `created_at`, `expected_close_date` or `closed_at`.
 */
export async function pipelineReport(
  services: Services,
  ctx: TenantContext,
  pipelineId: string,
  options: {
    ownerId?: string | undefined;
    from?: string | undefined;
    to?: string | undefined;
    dateField: 'created_at' | 'expected_close_date' | 'closed_at';
  },
) {
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      const pipeline = await loadPipeline(scope, pipelineId);
      const field = sql.identifier(options.dateField);
      const rows = rowsOf<{ stage_id: string; currency: string | null; n: number; total: string | null }>(
        await scope.tx.execute(sql`
        select o.stage_id, o.currency, count(*)::int as n, sum(o.amount) as total
          from opportunities o
         where o.org_id = ${ctx.orgId} and o.pipeline_id = ${pipelineId} and o.archived_at is null
           and ${options.ownerId ? sql`o.owner_id = ${options.ownerId}` : sql`true`}
           and ${options.from ? sql`o.${field} >= ${options.from}::date` : sql`true`}
           and ${options.to ? sql`o.${field} < (${options.to}::date + 1)` : sql`true`}
         group by o.stage_id, o.currency`),
      );
      const stages = pipeline.stages.map((stage) => {
        const mine = rows.filter((r) => r.stage_id === stage.id);
        const total: Record<string, number> = {};
        const weighted: Record<string, number> = {};
        for (const r of mine) {
          if (!r.currency || r.total === null) continue;
          total[r.currency] = Number(r.total);
          weighted[r.currency] = Math.round(Number(r.total) * stage.probability) / 100;
        }
        return {
          stage: { id: stage.id, name: stage.name, probability: stage.probability, kind: stage.kind },
          count: mine.reduce((n, r) => n + r.n, 0),
          total,
          weighted,
        };
      });
      return { pipeline: { id: pipeline.id, name: pipeline.name }, stages };
    },
    { readOnly: true },
  );
}
