import { type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import { fieldReadable } from '../../platform/access/access-profile.js';
import { AppError, badRequest, notFound } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { compileListQuery } from '../../platform/query/query.compiler.js';
import { FilterNode } from '../../platform/query/query.schema.js';
import { cachedObjectDef } from '../../platform/registry/registry.service.js';
import { clockOf, type ReportSpec, runReport } from './report-engine.js';

/** The standard reports, by key: the sales ones read opportunities (and their stage history). */
export const STANDARD_REPORTS = {
  pipeline_by_stage: 'Pipeline by stage: count, value and weighted value of open deals',
  forecast_by_close_month: 'Forecast by expected close month: open deals, value and weighted value',
  forecast_by_category:
    'Forecast by close month and forecast category (pipeline, best case, commit, closed): deals, value and weighted value',
  win_rate: 'Win rate by month closed: won against won and lost',
  sales_cycle: 'Average sales cycle of won deals (days from creation to close), by owner',
  stage_funnel: 'Stage funnel: deals that reached each stage and the average days spent in it',
  activity_by_member: 'Activity by member: calls, meetings, e-mails and notes logged, tasks completed',
  contacts_by_status: 'Contacts by lead status',
  contacts_by_owner: 'Contacts by owner',
  contacts_by_source: 'Contacts by source',
  opportunities_by_status: 'Opportunities by status',
  records_by_status: 'Records of an object (a case, a contact) by status',
  records_by_owner: 'Records of an object by owner (assignee)',
  time_to_status:
    'Time to a status by month created: records created, how many reached the status, average and median days from creation (e.g. cases from new to qualified)',
  sequence_performance:
    'Sequences: contacts enrolled, active, e-mails sent, replies, bounces and unsubscribes, reply rate',
  inbox_by_channel:
    'Inbox by channel: conversations, messages received and sent, median time to the first reply',
} as const;
export type StandardReportKey = keyof typeof STANDARD_REPORTS;
export const STANDARD_REPORT_KEYS = Object.keys(STANDARD_REPORTS) as [
  StandardReportKey,
  ...StandardReportKey[],
];

export const StandardReport = z
  .object({
    key: z.enum(STANDARD_REPORT_KEYS),
    title: z.string(),
    object: z.string().describe('The object the rows drill down to'),
    columns: z.array(
      z.object({ key: z.string(), label: z.string(), type: z.enum(['text', 'number', 'percent']) }),
    ),
    rows: z.array(
      z.object({
        values: z.record(z.string(), z.union([z.string(), z.number(), z.null()])),
        filter: FilterNode.nullable().describe('The list filter of the records behind the row'),
      }),
    ),
    note: z.string().nullable(),
  })
  .meta({ id: 'StandardReport' });
export type StandardReportView = z.infer<typeof StandardReport>;

export const StandardReportQuery = z.strictObject({
  pipeline_id: z
    .uuid()
    .optional()
    .describe('For pipeline_by_stage and stage_funnel: default, the default pipeline'),
  from: z.iso.date().optional().describe('First day of the period (created or closed, by report)'),
  to: z.iso.date().optional().describe('Last day of the period'),
  object: z
    .string()
    .max(100)
    .optional()
    .describe(
      'For records_by_status, records_by_owner and time_to_status: the object (default contact; `case`...)',
    ),
  field: z
    .string()
    .max(100)
    .optional()
    .describe("For records_by_status and time_to_status: the status field (default the object's first)"),
  to_status: z
    .string()
    .max(200)
    .optional()
    .describe("For time_to_status: the status reached (default the field's second status, e.g. qualified)"),
});
type Options = z.infer<typeof StandardReportQuery>;

const rowsOf = <T>(result: unknown): T[] =>
  (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
const round = (v: number | null, digits = 2) =>
  v === null ? null : Math.round(v * 10 ** digits) / 10 ** digits;
const and = (...nodes: (FilterNode | undefined)[]): FilterNode | null => {
  const all = nodes.filter((n): n is FilterNode => n !== undefined);
  return all.length === 0 ? null : all.length === 1 ? all[0]! : { and: all };
};

/** A generic standard report: a report spec drawn as a table of its groups. */
async function fromSpec(
  services: Services,
  ctx: TenantContext,
  key: StandardReportKey,
  spec: ReportSpec,
): Promise<StandardReportView> {
  const result = await runReport(services, ctx, spec, { path: 'query' });
  const dim = result.dimensions[0]!;
  return {
    key,
    title: STANDARD_REPORTS[key],
    object: spec.object,
    columns: [
      { key: dim.field, label: dim.label, type: 'text' },
      { key: 'count', label: 'Count', type: 'number' },
    ],
    rows: result.cells.map((c) => ({
      values: { [dim.field]: c.keys[0]!.label, count: c.count },
      filter: c.filter,
    })),
    note: result.note,
  };
}

/**
 * A standard report for the caller: the opportunity read right and record scope apply (the
 * list query's rules), and values are left out when the role may not read `amount`.
 * @throws 403 without the read right, 404 for an unknown pipeline
 */
export async function standardReport(
  services: Services,
  ctx: TenantContext,
  key: StandardReportKey,
  options: Options,
): Promise<StandardReportView> {
  if (key === 'contacts_by_status') return fromSpec(services, ctx, key, spec('contact', 'lead_status'));
  if (key === 'contacts_by_owner') return fromSpec(services, ctx, key, spec('contact', 'owner_id'));
  if (key === 'contacts_by_source') return fromSpec(services, ctx, key, spec('contact', 'source'));
  if (key === 'opportunities_by_status') return fromSpec(services, ctx, key, spec('opportunity', 'status'));
  if (key === 'activity_by_member') return activityByMember(services, ctx, options);
  if (key === 'records_by_status' || key === 'records_by_owner') {
    const object = options.object ?? 'contact';
    const field =
      key === 'records_by_owner' ? 'owner_id' : await statusFieldOf(services, ctx, object, options.field);
    return { ...(await fromSpec(services, ctx, key, spec(object, field))), title: STANDARD_REPORTS[key] };
  }
  if (key === 'time_to_status') return timeToStatus(services, ctx, options);
  if (key === 'sequence_performance') return sequencePerformance(services, ctx, options);
  if (key === 'inbox_by_channel') return inboxByChannel(services, ctx, options);
  const clock = await clockOf(services, ctx.orgId);
  const report: StandardReportView = await withTenant(
    services.database,
    ctx,
    async (scope) => {
      const def = await cachedObjectDef(scope.tx, ctx.orgId, 'opportunity');
      // The caller's read right, record scope (as lists apply them); tenancy is RLS and org_id.
      const where = compileListQuery(def, { fields: ['id'] }, { table: 'o', tenant: ctx }).where;
      const values = fieldReadable(ctx, 'opportunity', 'amount');
      const note = values ? null : 'Your role may not read deal amounts: values are left out';
      const exec = async <T>(q: SQL) => rowsOf<T>(await scope.tx.execute(q));
      const base = sql`o.org_id = ${ctx.orgId} and o.archived_at is null and ${where}`;
      const period = (column: string): { sql: SQL; filter?: FilterNode } => {
        const filter: FilterNode | undefined =
          options.from && options.to
            ? { field: column, op: 'between', value: [options.from, options.to] }
            : options.from
              ? { field: column, op: 'gte', value: options.from }
              : options.to
                ? { field: column, op: 'lte', value: options.to }
                : undefined;
        const within = periodSql(sql`o.${sql.identifier(column)}`, clock.timeZone, options);
        return { sql: within, ...(filter ? { filter } : {}) };
      };
      const pipelineOf = async () => {
        const [p] = await exec<{ id: string }>(sql`
          select id from pipelines where org_id = ${ctx.orgId} and archived_at is null
             and ${options.pipeline_id ? sql`id = ${options.pipeline_id}::uuid` : sql`true`}
           order by is_default desc, position, created_at limit 1`);
        if (!p) throw notFound('Pipeline', options.pipeline_id);
        return p.id;
      };
      const money = (label: string, k: string) =>
        values ? [{ key: k, label, type: 'number' as const }] : [];

      if (key === 'pipeline_by_stage') {
        const pipelineId = await pipelineOf();
        const rows = await exec<{
          id: string;
          name: string;
          probability: number;
          n: number;
          v: string | null;
          w: string | null;
        }>(sql`
          select s.id, s.name, s.probability, count(o.id)::int as n, sum(o.amount) as v,
                 sum(o.amount * s.probability / 100.0) as w
            from pipeline_stages s
            left join opportunities o on o.org_id = s.org_id and o.stage_id = s.id and o.status = 'open' and ${base}
           where s.org_id = ${ctx.orgId} and s.pipeline_id = ${pipelineId}::uuid and s.kind = 'open'
           group by s.id, s.name, s.probability, s.position order by s.position`);
        return {
          key,
          title: STANDARD_REPORTS[key],
          object: 'opportunity',
          columns: [
            { key: 'stage', label: 'Stage', type: 'text' },
            { key: 'probability', label: 'Probability', type: 'percent' },
            { key: 'count', label: 'Deals', type: 'number' },
            ...money('Value', 'value'),
            ...money('Weighted value', 'weighted'),
          ],
          rows: rows.map((r) => ({
            values: {
              stage: r.name,
              probability: r.probability,
              count: r.n,
              ...(values ? { value: round(num(r.v)) ?? 0, weighted: round(num(r.w)) ?? 0 } : {}),
            },
            filter: and(
              { field: 'stage_id', op: 'eq', value: r.id },
              { field: 'status', op: 'eq', value: 'open' },
            ),
          })),
          note,
        };
      }

      if (key === 'forecast_by_category') {
        // Salesforce's forecast: every deal not omitted (open ones and won ones), by the month of its
        // expected close and its forecast category, in the categories' order.
        const rows = await exec<{
          m: string | null;
          e: string | null;
          c: string;
          n: number;
          v: string | null;
          w: string | null;
        }>(sql`
          select to_char(date_trunc('month', o.expected_close_date), 'YYYY-MM-DD') as m,
                 to_char(date_trunc('month', o.expected_close_date) + interval '1 month', 'YYYY-MM-DD') as e,
                 o.forecast_category as c, count(*)::int as n, sum(o.amount) as v,
                 sum(o.amount * case when o.status = 'won' then 100 else s.probability end / 100.0) as w
            from opportunities o
            join pipeline_stages s on s.org_id = o.org_id and s.id = o.stage_id
           where ${base} and o.forecast_category in ('pipeline', 'best_case', 'commit', 'closed')
             and ${options.from ? sql`o.expected_close_date >= ${options.from}::date` : sql`true`}
             and ${options.to ? sql`o.expected_close_date <= ${options.to}::date` : sql`true`}
           group by 1, 2, 3
           order by 1 nulls last,
             array_position(array['pipeline', 'best_case', 'commit', 'closed'], o.forecast_category)`);
        const label = { pipeline: 'Pipeline', best_case: 'Best case', commit: 'Commit', closed: 'Closed' };
        return {
          key,
          title: STANDARD_REPORTS[key],
          object: 'opportunity',
          columns: [
            { key: 'month', label: 'Close month', type: 'text' },
            { key: 'category', label: 'Forecast category', type: 'text' },
            { key: 'count', label: 'Deals', type: 'number' },
            ...money('Value', 'value'),
            ...money('Weighted value', 'weighted'),
          ],
          rows: rows.map((r) => ({
            values: {
              month: r.m ? r.m.slice(0, 7) : '(no date)',
              category: label[r.c as keyof typeof label] ?? r.c,
              count: r.n,
              ...(values ? { value: round(num(r.v)) ?? 0, weighted: round(num(r.w)) ?? 0 } : {}),
            },
            filter: and(
              { field: 'forecast_category', op: 'eq', value: r.c },
              r.m
                ? {
                    and: [
                      { field: 'expected_close_date', op: 'gte', value: r.m },
                      { field: 'expected_close_date', op: 'lt', value: r.e },
                    ],
                  }
                : { field: 'expected_close_date', op: 'isEmpty' },
            ),
          })),
          note: note ?? 'Omitted deals (lost, abandoned, or set so by hand) are left out',
        };
      }

      if (key === 'forecast_by_close_month') {
        const rows = await exec<{
          m: string | null;
          e: string | null;
          n: number;
          v: string | null;
          w: string | null;
        }>(sql`
          select to_char(date_trunc('month', o.expected_close_date), 'YYYY-MM-DD') as m,
                 to_char(date_trunc('month', o.expected_close_date) + interval '1 month', 'YYYY-MM-DD') as e,
                 count(*)::int as n, sum(o.amount) as v, sum(o.amount * s.probability / 100.0) as w
            from opportunities o
            join pipeline_stages s on s.org_id = o.org_id and s.id = o.stage_id
           where ${base} and o.status = 'open'
             and ${options.from ? sql`o.expected_close_date >= ${options.from}::date` : sql`true`}
             and ${options.to ? sql`o.expected_close_date <= ${options.to}::date` : sql`true`}
           group by 1, 2 order by 1 nulls last`);
        return {
          key,
          title: STANDARD_REPORTS[key],
          object: 'opportunity',
          columns: [
            { key: 'month', label: 'Close month', type: 'text' },
            { key: 'count', label: 'Deals', type: 'number' },
            ...money('Value', 'value'),
            ...money('Weighted value', 'weighted'),
          ],
          rows: rows.map((r) => ({
            values: {
              month: r.m ? r.m.slice(0, 7) : '(no date)',
              count: r.n,
              ...(values ? { value: round(num(r.v)) ?? 0, weighted: round(num(r.w)) ?? 0 } : {}),
            },
            filter: and(
              { field: 'status', op: 'eq', value: 'open' },
              r.m
                ? {
                    and: [
                      { field: 'expected_close_date', op: 'gte', value: r.m },
                      { field: 'expected_close_date', op: 'lt', value: r.e },
                    ],
                  }
                : { field: 'expected_close_date', op: 'isEmpty' },
            ),
          })),
          note,
        };
      }

      if (key === 'win_rate') {
        const p = period('closed_at');
        const rows = await exec<{ m: string; won: number; lost: number; wv: string | null }>(sql`
          select to_char(date_trunc('month', o.closed_at at time zone ${clock.timeZone}), 'YYYY-MM') as m,
                 count(*) filter (where o.status = 'won')::int as won,
                 count(*) filter (where o.status = 'lost')::int as lost,
                 sum(o.amount) filter (where o.status = 'won') as wv
            from opportunities o
           where ${base} and o.status in ('won', 'lost') and o.closed_at is not null and ${p.sql}
           group by 1 order by 1`);
        const total = rows.reduce((a, r) => ({ won: a.won + r.won, lost: a.lost + r.lost }), {
          won: 0,
          lost: 0,
        });
        const rate = (won: number, lost: number) =>
          won + lost === 0 ? null : round((100 * won) / (won + lost), 1);
        return {
          key,
          title: STANDARD_REPORTS[key],
          object: 'opportunity',
          columns: [
            { key: 'month', label: 'Month closed', type: 'text' },
            { key: 'won', label: 'Won', type: 'number' },
            { key: 'lost', label: 'Lost', type: 'number' },
            { key: 'win_rate', label: 'Win rate', type: 'percent' },
            ...money('Won value', 'won_value'),
          ],
          rows: [
            ...rows.map((r) => ({
              values: {
                month: r.m,
                won: r.won,
                lost: r.lost,
                win_rate: rate(r.won, r.lost),
                ...(values ? { won_value: round(num(r.wv)) ?? 0 } : {}),
              },
              filter: and({ field: 'status', op: 'in', value: ['won', 'lost'] }, p.filter),
            })),
            {
              values: {
                month: 'All',
                won: total.won,
                lost: total.lost,
                win_rate: rate(total.won, total.lost),
              },
              filter: and({ field: 'status', op: 'in', value: ['won', 'lost'] }, p.filter),
            },
          ],
          note: `Months in ${clock.timeZone}`,
        };
      }

      if (key === 'sales_cycle') {
        const p = period('closed_at');
        const rows = await exec<{ owner: string | null; n: number; d: string | null }>(sql`
          select o.owner_id::text as owner, count(*)::int as n,
                 avg(extract(epoch from (o.closed_at - o.created_at)) / 86400.0) as d
            from opportunities o
           where ${base} and o.status = 'won' and o.closed_at is not null and ${p.sql}
           group by 1 order by 3 desc nulls last`);
        const all = rows.reduce((a, r) => ({ n: a.n + r.n, d: a.d + r.n * (num(r.d) ?? 0) }), { n: 0, d: 0 });
        return {
          key,
          title: STANDARD_REPORTS[key],
          object: 'opportunity',
          columns: [
            { key: 'owner', label: 'Owner', type: 'text' },
            { key: 'won', label: 'Won deals', type: 'number' },
            { key: 'days', label: 'Average days to close', type: 'number' },
          ],
          rows: [
            ...rows.map((r) => ({
              values: {
                // Named after the transaction (users are not a tenant table).
                owner: r.owner ?? '(none)',
                won: r.n,
                days: round(num(r.d), 1),
              },
              filter: and(
                { field: 'status', op: 'eq', value: 'won' },
                r.owner
                  ? { field: 'owner_id', op: 'eq', value: r.owner }
                  : { field: 'owner_id', op: 'isEmpty' },
                p.filter,
              ),
            })),
            {
              values: { owner: 'All', won: all.n, days: all.n ? round(all.d / all.n, 1) : null },
              filter: and({ field: 'status', op: 'eq', value: 'won' }, p.filter),
            },
          ],
          note: null,
        };
      }

      // stage_funnel: from the stage history, each stage's deals that entered it and their time in it.
      const pipelineId = await pipelineOf();
      const p = period('created_at');
      const rows = await exec<{ id: string; name: string; reached: number; days: string | null }>(sql`
        with h as (
          select h.opportunity_id, h.to_stage_id, h.moved_at,
                 lead(h.moved_at) over (partition by h.opportunity_id order by h.moved_at, h.id) as left_at
            from opportunity_stage_history h
            join opportunities o on o.org_id = h.org_id and o.id = h.opportunity_id
           where h.org_id = ${ctx.orgId} and o.pipeline_id = ${pipelineId}::uuid and ${base} and ${p.sql})
        select s.id, s.name, count(distinct h.opportunity_id)::int as reached,
               avg(extract(epoch from (coalesce(h.left_at, now()) - h.moved_at)) / 86400.0)
                 filter (where s.kind = 'open') as days
          from pipeline_stages s
          left join h on h.to_stage_id = s.id
         where s.org_id = ${ctx.orgId} and s.pipeline_id = ${pipelineId}::uuid
         group by s.id, s.name, s.position order by s.position`);
      const first = rows[0]?.reached ?? 0;
      return {
        key,
        title: STANDARD_REPORTS[key],
        object: 'opportunity',
        columns: [
          { key: 'stage', label: 'Stage', type: 'text' },
          { key: 'reached', label: 'Deals that reached it', type: 'number' },
          { key: 'conversion', label: 'Of the first stage', type: 'percent' },
          { key: 'days', label: 'Average days in stage', type: 'number' },
        ],
        rows: rows.map((r) => ({
          values: {
            stage: r.name,
            reached: r.reached,
            conversion: first ? round((100 * r.reached) / first, 1) : null,
            days: round(num(r.days), 1),
          },
          filter: and({ field: 'stage_id', op: 'eq', value: r.id }, p.filter),
        })),
        note: 'Time in stage runs until the next move, or until now for the current stage',
      };
    },
    { readOnly: true },
  );
  if (key === 'sales_cycle') {
    const owners = report.rows.map((r) => String(r.values.owner));
    const names = await namesOf(
      services,
      owners.filter((o) => /^[0-9a-f-]{36}$/i.test(o)),
    );
    for (const r of report.rows) {
      const id = String(r.values.owner);
      if (/^[0-9a-f-]{36}$/i.test(id)) r.values.owner = names.get(id) ?? 'A former member';
    }
  }
  return report;
}

const spec = (object: string, field: string): ReportSpec => ({
  object,
  group_by: [{ field }],
  measure: { op: 'count' },
});

/** Members' names by id (users are not a tenant table). */
async function namesOf(services: Services, ids: (string | null)[]): Promise<Map<string, string>> {
  const wanted = [...new Set(ids.filter((i): i is string => !!i))];
  if (wanted.length === 0) return new Map();
  const rows = rowsOf<{ id: string; name: string }>(
    await services.database.db.execute(
      sql`select id::text as id, name from users where id = any(${`{${wanted.join(',')}}`}::uuid[])`,
    ),
  );
  return new Map(rows.map((r) => [r.id, r.name]));
}

/** Notes logged per author and kind, tasks completed per member, in the period (created / completed). */
async function activityByMember(
  services: Services,
  ctx: TenantContext,
  options: Options,
): Promise<StandardReportView> {
  const clock = await clockOf(services, ctx.orgId);
  const rows = await withTenant(
    services.database,
    ctx,
    async (scope) => {
      const noteDef = await cachedObjectDef(scope.tx, ctx.orgId, 'note');
      const taskDef = await cachedObjectDef(scope.tx, ctx.orgId, 'task');
      const notesWhere = compileListQuery(noteDef, { fields: ['id'] }, { table: 'n', tenant: ctx }).where;
      const tasksWhere = compileListQuery(taskDef, { fields: ['id'] }, { table: 't', tenant: ctx }).where;
      const within = (col: SQL) => periodSql(col, clock.timeZone, options);
      return rowsOf<{
        member: string;
        calls: number;
        meetings: number;
        emails: number;
        notes: number;
        tasks: number;
      }>(
        await scope.tx.execute(sql`
          with a as (
            select n.author_id as member, n.kind, 0 as task
              from notes n
             where n.org_id = ${ctx.orgId} and n.author_id is not null and ${notesWhere}
               and ${within(sql`coalesce(n.occurred_at, n.created_at)`)}
            union all
            select t.completed_by, 'task', 1
              from tasks t
             where t.org_id = ${ctx.orgId} and t.completed_by is not null and t.status = 'done' and ${tasksWhere}
               and ${within(sql`t.completed_at`)})
          select member::text as member,
                 count(*) filter (where kind = 'call')::int as calls,
                 count(*) filter (where kind = 'meeting')::int as meetings,
                 count(*) filter (where kind = 'email')::int as emails,
                 count(*) filter (where kind = 'note')::int as notes,
                 sum(task)::int as tasks
            from a group by member order by count(*) desc`),
      );
    },
    { readOnly: true },
  );
  const names = await namesOf(
    services,
    rows.map((r) => r.member),
  );
  return {
    key: 'activity_by_member',
    title: STANDARD_REPORTS.activity_by_member,
    object: 'note',
    columns: [
      { key: 'member', label: 'Member', type: 'text' },
      { key: 'calls', label: 'Calls', type: 'number' },
      { key: 'meetings', label: 'Meetings', type: 'number' },
      { key: 'emails', label: 'E-mails', type: 'number' },
      { key: 'notes', label: 'Notes', type: 'number' },
      { key: 'tasks', label: 'Tasks completed', type: 'number' },
    ],
    rows: rows.map((r) => ({
      values: {
        member: names.get(r.member) ?? 'A former member',
        calls: r.calls,
        meetings: r.meetings,
        emails: r.emails,
        notes: r.notes,
        tasks: r.tasks,
      },
      filter: { field: 'author_id', op: 'eq', value: r.member },
    })),
    note: null,
  };
}

/**
 * The status field a report reads: the one named, else the object's first status field (a
 * contact's lead status).
 * @throws 404 for an unknown object; 400 `not_a_status_field` at `query.field`
 */
async function statusFieldOf(services: Services, ctx: TenantContext, object: string, named?: string) {
  const def = await withTenant(
    services.database,
    ctx,
    (scope) => cachedObjectDef(scope.tx, ctx.orgId, object),
    {
      readOnly: true,
    },
  );
  if (object === 'contact' && !named) return 'lead_status';
  const field = named
    ? def.fields.find((f) => f.key === named && (f.type === 'status' || f.type === 'select'))
    : def.fields.find((f) => f.type === 'status');
  if (!field)
    throw badRequest(
      named
        ? `${named} is not a status field of ${def.labelPlural}`
        : `${def.labelPlural} have no status field`,
      'query.field',
      'not_a_status_field',
    );
  return field.key;
}

/** The period condition on a timestamp column, in the organization's time zone. */
function periodSql(col: SQL, timeZone: string, options: Options): SQL {
  return sql`${options.from ? sql`(${col} at time zone ${timeZone})::date >= ${options.from}::date` : sql`true`}
    and ${options.to ? sql`(${col} at time zone ${timeZone})::date <= ${options.to}::date` : sql`true`}`;
}

/**
 * Time from a record's creation to its first arrival in a status (issue 30's "time from new to
 * qualified" for cases), by month created in the organization's time zone, from the status
 * history. The caller's read right and record scope apply (the list query's rules); a status field
 * the role may not read is refused as a filter on it would be.
 * @throws 403 `field_not_readable` at `query.field`; 400 `unknown_status` at `query.to_status`
 */
async function timeToStatus(
  services: Services,
  ctx: TenantContext,
  options: Options,
): Promise<StandardReportView> {
  const object = options.object ?? 'contact';
  const fieldKey = await statusFieldOf(services, ctx, object, options.field);
  const clock = await clockOf(services, ctx.orgId);
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      const def = await cachedObjectDef(scope.tx, ctx.orgId, object);
      const field = def.fields.find((f) => f.key === fieldKey)!;
      if (!fieldReadable(ctx, object, fieldKey))
        throw new AppError(403, 'field_not_readable', `Your role may not read ${field.label}`, {
          path: 'query.field',
        });
      const values =
        field.statuses?.statuses.map((st) => st.value) ?? field.options?.map((o) => o.value) ?? [];
      const target = options.to_status ?? values[1] ?? values[0];
      if (!target || !values.includes(target))
        throw badRequest(
          `${options.to_status ?? ''} is not a status of ${field.label}`,
          'query.to_status',
          'unknown_status',
        );
      const label =
        (field.statuses?.statuses ?? field.options ?? []).find((o) => o.value === target)?.label ?? target;
      const where = compileListQuery(def, { fields: ['id'] }, { table: 'r', tenant: ctx }).where;
      const table = sql.identifier(def.table ?? 'records');
      const rows = rowsOf<{
        month: string;
        created: number;
        reached: number;
        avg_days: number | null;
        median_days: number | null;
      }>(
        await scope.tx.execute(sql`
          with base as (
            select r.id, r.created_at from ${table} r
             where r.org_id = ${ctx.orgId} and r.archived_at is null and ${where}
               and ${periodSql(sql`r.created_at`, clock.timeZone, options)}),
          reached as (
            select h.record_id, min(h.changed_at) as at from record_status_history h
             where h.org_id = ${ctx.orgId} and h.field = ${fieldKey} and h.to_status = ${target}
               and h.record_id in (select id from base)
             group by h.record_id)
          select to_char(date_trunc('month', b.created_at at time zone ${clock.timeZone}), 'YYYY-MM') as month,
                 count(*)::int as created, count(x.at)::int as reached,
                 avg(extract(epoch from (x.at - b.created_at)) / 86400.0) as avg_days,
                 percentile_cont(0.5) within group (order by extract(epoch from (x.at - b.created_at)) / 86400.0)
                   filter (where x.at is not null) as median_days
            from base b left join reached x on x.record_id = b.id
           group by 1 order by 1`),
      );
      return {
        key: 'time_to_status' as const,
        title: `${def.labelPlural}: time from creation to ${label}`,
        object,
        columns: [
          { key: 'month', label: 'Month created', type: 'text' as const },
          { key: 'created', label: 'Created', type: 'number' as const },
          { key: 'reached', label: `Reached ${label}`, type: 'number' as const },
          { key: 'avg_days', label: 'Average days', type: 'number' as const },
          { key: 'median_days', label: 'Median days', type: 'number' as const },
        ],
        rows: rows.map((r) => ({
          values: {
            month: r.month,
            created: r.created,
            reached: r.reached,
            avg_days: round(num(r.avg_days), 1),
            median_days: round(num(r.median_days), 1),
          },
          filter: { field: 'created_at', op: 'between', value: monthBounds(r.month) } as FilterNode,
        })),
        note: rows.length === 0 ? `No ${def.labelPlural.toLowerCase()} created in the period` : null,
      };
    },
    { readOnly: true },
  );
}

/** `2027-03` -> ['2027-03-01', '2027-03-31']. */
function monthBounds(month: string): [string, string] {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return [`${month}-01`, `${month}-${String(last).padStart(2, '0')}`];
}

/**
 * Every sequence's numbers in one table (enrolled in the period when one is given): the same
 * counts as a sequence's own analytics (`sequence-analytics.service.ts`), across sequences.
 */
async function sequencePerformance(
  services: Services,
  ctx: TenantContext,
  options: Options,
): Promise<StandardReportView> {
  const clock = await clockOf(services, ctx.orgId);
  const rows = await withTenant(
    services.database,
    ctx,
    async (scope) =>
      rowsOf<{
        id: string;
        name: string;
        enrolled: number;
        active: number;
        sent: number;
        replied: number;
        bounced: number;
        unsubscribed: number;
      }>(
        await scope.tx.execute(sql`
          with e as (
            select e.sequence_id, e.status, e.exit_reason from sequence_enrollments e
             where e.org_id = ${ctx.orgId} and ${periodSql(sql`e.enrolled_at`, clock.timeZone, options)}),
          m as (
            select r.sequence_id, count(*)::int as sent from sequence_step_runs r
              join messages msg on msg.org_id = r.org_id and msg.id = r.message_id and msg.status = 'sent'
             where r.org_id = ${ctx.orgId} and ${periodSql(sql`r.created_at`, clock.timeZone, options)}
             group by 1)
          select s.id::text as id, s.name,
                 count(e.sequence_id)::int as enrolled,
                 count(*) filter (where e.status = 'active')::int as active,
                 coalesce(max(m.sent), 0)::int as sent,
                 count(*) filter (where e.exit_reason in ('replied', 'company_replied'))::int as replied,
                 count(*) filter (where e.exit_reason = 'bounced')::int as bounced,
                 count(*) filter (where e.exit_reason = 'unsubscribed')::int as unsubscribed
            from sequences s
            left join e on e.sequence_id = s.id
            left join m on m.sequence_id = s.id
           where s.org_id = ${ctx.orgId}
           group by s.id, s.name order by count(e.sequence_id) desc, s.name`),
      ),
    { readOnly: true },
  );
  return {
    key: 'sequence_performance',
    title: STANDARD_REPORTS.sequence_performance,
    object: 'contact',
    columns: [
      { key: 'sequence', label: 'Sequence', type: 'text' },
      { key: 'enrolled', label: 'Enrolled', type: 'number' },
      { key: 'active', label: 'Active', type: 'number' },
      { key: 'sent', label: 'E-mails sent', type: 'number' },
      { key: 'replied', label: 'Replied', type: 'number' },
      { key: 'bounced', label: 'Bounced', type: 'number' },
      { key: 'unsubscribed', label: 'Unsubscribed', type: 'number' },
      { key: 'reply_rate', label: 'Reply rate', type: 'percent' },
    ],
    rows: rows.map((r) => ({
      values: {
        sequence: r.name,
        enrolled: r.enrolled,
        active: r.active,
        sent: r.sent,
        replied: r.replied,
        bounced: r.bounced,
        unsubscribed: r.unsubscribed,
        reply_rate: r.enrolled > 0 ? round((r.replied / r.enrolled) * 100, 1) : 0,
      },
      filter: null,
    })),
    note: rows.length === 0 ? 'No sequences yet' : null,
  };
}

/**
 * Per inbox channel, in the period: conversations with a message, messages received and sent,
 * and the median time from a conversation's first received message to the first reply sent after
 * it, in hours.
 */
async function inboxByChannel(
  services: Services,
  ctx: TenantContext,
  options: Options,
): Promise<StandardReportView> {
  const clock = await clockOf(services, ctx.orgId);
  const rows = await withTenant(
    services.database,
    ctx,
    async (scope) =>
      rowsOf<{
        name: string;
        kind: string;
        conversations: number;
        received: number;
        sent: number;
        median_hours: number | null;
      }>(
        await scope.tx.execute(sql`
          with m as (
            select msg.channel_id, msg.conversation_id, msg.direction, msg.status, msg.created_at from messages msg
             where msg.org_id = ${ctx.orgId} and ${periodSql(sql`msg.created_at`, clock.timeZone, options)}),
          firsts as (
            select conversation_id, channel_id, min(created_at) filter (where direction = 'inbound') as asked
              from m group by 1, 2),
          replies as (
            select f.channel_id, extract(epoch from (min(m.created_at) - f.asked)) / 3600.0 as hours
              from firsts f join m on m.conversation_id = f.conversation_id
                and m.direction = 'outbound' and m.status = 'sent' and m.created_at > f.asked
             where f.asked is not null group by f.conversation_id, f.channel_id, f.asked)
          select c.name, c.kind,
                 (select count(distinct conversation_id) from m where m.channel_id = c.id)::int as conversations,
                 (select count(*) from m where m.channel_id = c.id and m.direction = 'inbound')::int as received,
                 (select count(*) from m where m.channel_id = c.id and m.direction = 'outbound' and m.status = 'sent')::int as sent,
                 (select percentile_cont(0.5) within group (order by hours) from replies r where r.channel_id = c.id) as median_hours
            from channels c where c.org_id = ${ctx.orgId}
           order by c.name`),
      ),
    { readOnly: true },
  );
  return {
    key: 'inbox_by_channel',
    title: STANDARD_REPORTS.inbox_by_channel,
    object: 'contact',
    columns: [
      { key: 'channel', label: 'Channel', type: 'text' },
      { key: 'kind', label: 'Kind', type: 'text' },
      { key: 'conversations', label: 'Conversations', type: 'number' },
      { key: 'received', label: 'Received', type: 'number' },
      { key: 'sent', label: 'Sent', type: 'number' },
      { key: 'median_hours', label: 'Median hours to first reply', type: 'number' },
    ],
    rows: rows.map((r) => ({
      values: {
        channel: r.name,
        kind: r.kind,
        conversations: r.conversations,
        received: r.received,
        sent: r.sent,
        median_hours: round(num(r.median_hours), 1),
      },
      filter: null,
    })),
    note: rows.length === 0 ? 'No channels yet' : null,
  };
}
