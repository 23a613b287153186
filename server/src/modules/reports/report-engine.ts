import { eq, inArray, type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { readableOf } from '../../platform/access/access-profile.js';
import { organizations, users } from '../../platform/auth/auth.schema.js';
import type { Services } from '../../platform/http/types.js';
import { compileListQuery } from '../../platform/query/query.compiler.js';
import { invalidQuery } from '../../platform/query/query.errors.js';
import {
  type FieldScope,
  hasSql,
  LIST_TYPES,
  resolveField,
  valueExpr,
} from '../../platform/query/query.fields.js';
import { FilterNode } from '../../platform/query/query.schema.js';
import { cachedObjectDef } from '../../platform/registry/registry.service.js';
import type { FieldDef, ObjectDef } from '../../platform/registry/registry.types.js';

/** Date buckets a date or date-time dimension groups by (in the organization's time zone). */
export const DATE_BUCKETS = ['day', 'week', 'month', 'quarter', 'year'] as const;
export type DateBucket = (typeof DATE_BUCKETS)[number];
export const MEASURE_OPS = ['count', 'sum', 'avg', 'min', 'max', 'distinct_count'] as const;
export type MeasureOp = (typeof MEASURE_OPS)[number];

/** Groups a report returns at most by default, and the most a caller may ask for. */
export const DEFAULT_GROUPS = 50;
export const MAX_GROUPS = 500;

export const ReportDimension = z
  .strictObject({
    field: z
      .string()
      .min(1)
      .max(100)
      .describe('Field key from the object registry (owner_id, stage_id, ...)'),
    bucket: z
      .enum(DATE_BUCKETS)
      .optional()
      .describe(
        'For date and date-time fields: the period, in the time zone and fiscal year of the organization',
      ),
  })
  .meta({ id: 'ReportDimension' });

export const ReportMeasure = z
  .strictObject({
    op: z.enum(MEASURE_OPS),
    field: z.string().min(1).max(100).optional().describe('The measured field; none for count'),
  })
  .meta({ id: 'ReportMeasure' });

/** A report definition: the object, its filter, up to two dimensions and one measure. */
export const ReportSpec = z
  .strictObject({
    object: z.string().min(1).max(64),
    filter: FilterNode.optional(),
    group_by: z.array(ReportDimension).max(2).default([]),
    measure: ReportMeasure.default({ op: 'count' }),
    limit: z
      .number()
      .int()
      .min(1)
      .max(MAX_GROUPS)
      .optional()
      .describe(`Most groups returned (default ${DEFAULT_GROUPS}); the rest are summed up as "other"`),
  })
  .meta({ id: 'ReportSpec' });
export type ReportSpec = z.infer<typeof ReportSpec>;

const GroupKey = z.object({
  value: z.union([z.string(), z.number(), z.boolean(), z.null()]),
  label: z.string(),
});

export const ReportCell = z
  .object({
    keys: z.array(GroupKey).describe('One per dimension, in order'),
    value: z.number().nullable().describe('The measure'),
    count: z.number().int().describe('Records in the group'),
    other: z.boolean().describe('The "other" bucket: every group past the limit'),
    filter: FilterNode.nullable().describe(
      'The list filter selecting the records behind the cell (null for "other")',
    ),
  })
  .meta({ id: 'ReportCell' });
export type ReportCellView = z.infer<typeof ReportCell>;

export const ReportResult = z
  .object({
    object: z.string(),
    dimensions: z.array(
      z.object({
        field: z.string(),
        label: z.string(),
        bucket: z.enum(DATE_BUCKETS).nullable(),
        user: z.boolean().describe("Keys are members' ids, labelled with their names"),
      }),
    ),
    measure: z.object({ op: z.enum(MEASURE_OPS), field: z.string().nullable(), label: z.string() }),
    cells: z.array(ReportCell),
    total: z.object({ value: z.number().nullable(), count: z.number().int() }),
    groups: z.number().int().describe('Groups there are in all, before the limit'),
    truncated: z.boolean(),
    note: z.string().nullable().describe('Why the result is partial, when it is'),
    time_zone: z.string(),
  })
  .meta({ id: 'ReportResult' });
export type ReportResultView = z.infer<typeof ReportResult>;

const ALIAS = 'r';
const GROUPABLE = new Set([
  'text',
  'email',
  'phone',
  'url',
  'number',
  'currency',
  'date',
  'datetime',
  'boolean',
  'select',
  'status',
  'relation',
  'user',
  'uuid',
]);
const NUMERIC = new Set(['number', 'currency']);
const ORDERED = new Set(['number', 'currency', 'date', 'datetime']);

/** Whether the filter mentions `archived_at`: then it decides; otherwise archived records are left out. */
function mentionsArchived(node: unknown): boolean {
  if (!node || typeof node !== 'object') return false;
  if ((node as { field?: unknown }).field === 'archived_at') return true;
  return Object.values(node).some((v) => (Array.isArray(v) ? v.some(mentionsArchived) : mentionsArchived(v)));
}

type Dimension = { field: FieldDef; bucket: DateBucket | null; key: SQL };
type Clock = { timeZone: string; fiscalStart: number };

const rowsOf = <T>(result: unknown): T[] =>
  (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];

/** The local start of the period holding `local` (a timestamp without time zone). */
function bucketStart(local: SQL, bucket: DateBucket, clock: Clock): SQL {
  const shift = clock.fiscalStart - 1;
  if ((bucket === 'quarter' || bucket === 'year') && shift > 0) {
    const months = sql.raw(`interval '${shift} months'`);
    return sql`(date_trunc(${bucket}, ${local} - ${months}) + ${months})`;
  }
  return sql`date_trunc(${bucket}, ${local})`;
}

const STEP: Record<DateBucket, string> = {
  day: "interval '1 day'",
  week: "interval '7 days'",
  month: "interval '1 month'",
  quarter: "interval '3 months'",
  year: "interval '1 year'",
};

/** Resolves a dimension: a readable, groupable field; dates get a bucket (month by default). */
function dimensionOf(
  scope: FieldScope,
  spec: z.infer<typeof ReportDimension>,
  path: string,
  clock: Clock,
): Dimension {
  const field = resolveField(scope, spec.field, 'read', `${path}.field`);
  if (!hasSql(field) || !GROUPABLE.has(field.type) || LIST_TYPES.includes(field.type))
    throw invalidQuery(`${field.label} cannot be grouped by`, `${path}.field`);
  const isDate = field.type === 'date' || field.type === 'datetime';
  if (!isDate && spec.bucket) throw invalidQuery(`${field.label} is not a date`, `${path}.bucket`);
  const value = valueExpr(scope, field);
  if (!isDate) return { field, bucket: null, key: sql`(${value})::text` };
  const bucket = spec.bucket ?? 'month';
  const local =
    field.type === 'datetime' ? sql`(${value} at time zone ${clock.timeZone})` : sql`(${value})::timestamp`;
  return { field, bucket, key: bucketStart(local, bucket, clock) };
}

/** The measure's SQL over the grouped rows (`v` is the measured value). */
function measureOf(scope: FieldScope, spec: z.infer<typeof ReportMeasure>, path: string) {
  if (spec.op === 'count') {
    if (spec.field !== undefined) throw invalidQuery('count takes no field', `${path}.field`);
    return { field: null, value: sql`null`, agg: (_v: SQL) => sql`count(*)`, label: 'Count' };
  }
  if (spec.field === undefined) throw invalidQuery(`${spec.op} needs a field`, `${path}.field`);
  const field = resolveField(scope, spec.field, 'read', `${path}.field`);
  if (!hasSql(field)) throw invalidQuery(`${field.label} cannot be measured`, `${path}.field`);
  if ((spec.op === 'sum' || spec.op === 'avg') && !NUMERIC.has(field.type))
    throw invalidQuery(`${field.label} is not a number: ${spec.op} needs one`, `${path}.field`);
  if ((spec.op === 'min' || spec.op === 'max') && !ORDERED.has(field.type))
    throw invalidQuery(`${field.label} has no order: ${spec.op} needs a number or a date`, `${path}.field`);
  if (spec.op === 'distinct_count' && LIST_TYPES.includes(field.type))
    throw invalidQuery(`${field.label} holds lists: distinct count needs single values`, `${path}.field`);
  const raw = valueExpr(scope, field);
  // Dates are measured as epoch seconds (min/max), then shown as dates by the client.
  const value =
    field.type === 'date' || field.type === 'datetime'
      ? sql`extract(epoch from (${raw}))::numeric`
      : NUMERIC.has(field.type)
        ? sql`(${raw})::numeric`
        : sql`(${raw})::text`;
  const words: Record<MeasureOp, string> = {
    count: 'Count',
    sum: 'Sum',
    avg: 'Average',
    min: 'Minimum',
    max: 'Maximum',
    distinct_count: 'Distinct',
  };
  const agg = (v: SQL): SQL => {
    if (spec.op === 'distinct_count') return sql`count(distinct ${v})`;
    return sql`${sql.raw(spec.op)}(${v})`;
  };
  return { field, value, agg, label: `${words[spec.op]} of ${field.label}` };
}

/** The organization's time zone and fiscal year start. */
export async function clockOf(services: Services, orgId: string): Promise<Clock> {
  const [org] = await services.database.db
    .select({ tz: organizations.timeZone, fiscal: organizations.fiscalYearStartMonth })
    .from(organizations)
    .where(eq(organizations.id, orgId));
  return { timeZone: org?.tz ?? 'UTC', fiscalStart: org?.fiscal ?? 1 };
}

/** Labels of the keys of one dimension (members' names, stage names, related records' names). */
async function labelsOf(scope: TenantScope, dim: Dimension, values: string[]): Promise<Map<string, string>> {
  const labels = new Map<string, string>();
  if (values.length === 0) return labels;
  const { field } = dim;
  const q = async (text: string) =>
    rowsOf<{ id: string; name: string }>(await scope.conn.query(text, [scope.ctx.orgId, values]));
  const ids = values.filter((v) => /^[0-9a-f-]{36}$/i.test(v));
  // Members' names are read after the tenant transaction (users are not a tenant table): userLabels.
  if (field.type === 'user') {
    return labels;
  } else if (field.key === 'stage_id' || field.key === 'to_stage_id') {
    for (const r of await q(
      'select id::text as id, name from pipeline_stages where org_id = $1 and id = any($2::uuid[])',
    ))
      labels.set(r.id, r.name);
  } else if (field.type === 'relation' && field.relation) {
    const target = await cachedObjectDef(scope.tx, scope.ctx.orgId, field.relation.object).catch(
      () => undefined,
    );
    if (target?.titleSql) {
      for (const r of rowsOf<{ id: string; name: string }>(
        await scope.conn.query(
          `select r.id::text as id, ${target.titleSql('r')} as name from ${target.table} r
            where r.org_id = $1 and r.id = any($2::uuid[])`,
          [scope.ctx.orgId, ids],
        ),
      ))
        labels.set(r.id, r.name);
    }
  } else if (field.options) {
    for (const o of field.options) labels.set(o.value, o.label);
  }
  return labels;
}

/** The value a key has in a list filter, typed as the field is. */
function typedValue(field: FieldDef, text: string): string | number | boolean {
  if (field.type === 'boolean') return text === 'true';
  if (NUMERIC.has(field.type)) return Number(text);
  return text;
}

const isoDay = (d: string) => d.slice(0, 10);

/** The condition selecting the records of one key of one dimension. */
function keyFilter(dim: Dimension, key: { raw: string | null; start?: string; end?: string }): FilterNode {
  const field = dim.field.key;
  if (key.raw === null) return { field, op: 'isEmpty' };
  if (dim.bucket)
    return {
      and: [
        { field, op: 'gte', value: key.start },
        { field, op: 'lt', value: key.end },
      ],
    };
  return { field, op: 'eq', value: typedValue(dim.field, key.raw) };
}

/**
 * Runs a report for the tenant context: the list query's filter and access rules (object right,
 * record scope, hidden fields unknown), grouped by up to two dimensions, measured, capped at
 * `limit` groups (largest first) with the rest summed up in an "other" cell.
 * @throws AppError 400 `invalid_query` at `<path>.group_by[i].field`, `<path>.measure.field`,
 *   `<path>.filter...`; 403 without the object's read right; 404 for an unknown object
 */
export async function runReport(
  services: Services,
  ctx: TenantContext,
  input: ReportSpec,
  options: { path?: string; extraFilter?: FilterNode | undefined } = {},
): Promise<ReportResultView> {
  const path = options.path ?? 'body';
  const clock = await clockOf(services, ctx.orgId);
  const result = await withTenant(
    services.database,
    ctx,
    async (scope) => {
      const def: ObjectDef = await cachedObjectDef(scope.tx, ctx.orgId, input.object);
      const filter: FilterNode | undefined =
        input.filter && options.extraFilter
          ? { and: [input.filter, options.extraFilter] }
          : (input.filter ?? options.extraFilter);
      let compiled: ReturnType<typeof compileListQuery>;
      try {
        compiled = compileListQuery(
          def,
          { ...(filter ? { filter } : {}), fields: ['id'] },
          { table: ALIAS, tenant: ctx, timeZone: clock.timeZone },
        );
      } catch (error) {
        const e = error as { path?: string; errors?: { path: string }[] };
        if (e.path && !e.path.startsWith(path)) {
          e.path = `${path}.${e.path}`;
          for (const fe of e.errors ?? []) fe.path = `${path}.${fe.path}`;
        }
        throw error;
      }
      const fieldScope: FieldScope = {
        object: def,
        table: ALIAS,
        readable: readableOf(ctx, def.key) ?? (() => true),
      };
      const dims = input.group_by.map((d, i) => dimensionOf(fieldScope, d, `${path}.group_by[${i}]`, clock));
      const measure = measureOf(fieldScope, input.measure, `${path}.measure`);
      const limit = input.limit ?? DEFAULT_GROUPS;
      const archived = mentionsArchived(filter)
        ? sql`true`
        : sql`${sql.identifier(ALIAS)}.archived_at is null`;
      const keyCols = [0, 1].map((i) => sql.identifier(`k${i}`));
      const keysSelect = [0, 1].map((i) => (dims[i] ? sql`${dims[i]!.key}` : sql`null::text`));
      const base = sql`select ${keysSelect[0]} as k0, ${keysSelect[1]} as k1, ${measure.value} as v
          from ${sql.identifier(def.table)} as ${sql.identifier(ALIAS)}
         where ${sql.identifier(ALIAS)}.org_id = ${ctx.orgId} and ${archived} and ${compiled.where}`;
      const agg = measure.agg(sql`v`);
      const out = (i: number): SQL => {
        const d = dims[i];
        const col = keyCols[i]!;
        if (!d?.bucket) return sql`${col}::text`;
        return sql`to_char(${col}, 'YYYY-MM-DD')`;
      };
      const bound = (i: number, end: boolean): SQL => {
        const d = dims[i];
        const col = keyCols[i]!;
        if (!d?.bucket) return sql`null::text`;
        const at = end ? sql`(${col} + ${sql.raw(STEP[d.bucket])})` : col;
        if (d.field.type === 'date') return sql`to_char(${at}, 'YYYY-MM-DD')`;
        return sql`to_char((${at} at time zone ${clock.timeZone}) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`;
      };
      // The record's group is the same as the ranked group's: "is not distinct from" as equalities
      // PostgreSQL can hash (a nested loop over every record and every group took seconds).
      const same = sql.join(
        [0, 1].map((i) => {
          const [t, b] = [sql`t.${keyCols[i]!}`, sql`b.${keyCols[i]!}`];
          return sql`coalesce(${t}::text, '') = coalesce(${b}::text, '') and (${t} is null) = (${b} is null)`;
        }),
        sql` and `,
      );
      // The total: rolled up from the groups where the measure allows it (count, sum, min, max),
      // rather than a third pass over every record; average and distinct count need the records.
      const rollup = { count: 'sum', sum: 'sum', min: 'min', max: 'max' }[input.measure.op as string];
      const total = rollup
        ? sql`select null, null, null, null, null, null,
                 ${input.measure.op === 'count' ? sql`coalesce(sum(m), 0)` : sql`${sql.raw(rollup)}(m)`}::float8,
                 coalesce(sum(n), 0)::int, null, 0 from g`
        : sql`select null, null, null, null, null, null, ${agg}::float8, count(*)::int, null, 0 from b`;
      // The planner guesses groups of bucketed dates and owners by the thousand and, under the
      // default work_mem (4 MB), sorts 50,000 rows on disk to group them; with room it hashes them
      // in memory (issue 30's bench: 403 ms to 177 ms for "won value by owner per month").
      await scope.tx.execute(sql`set local work_mem = '32MB'`);
      const result = await scope.tx.execute(sql`
        with b as (${base}),
        g as (select k0, k1, ${agg} as m, count(*) as n from b group by k0, k1),
        t as (select k0, k1, m, n, row_number() over (order by m desc nulls last, k0, k1) as rn,
                     count(*) over () as groups from g)
        select ${out(0)} as k0, ${out(1)} as k1, ${bound(0, false)} as s0, ${bound(0, true)} as e0,
               ${bound(1, false)} as s1, ${bound(1, true)} as e1,
               m::float8 as m, n::int as n, false as other, groups::int as groups
          from t where rn <= ${limit}
        union all
        select null, null, null, null, null, null, ${agg}::float8, count(*)::int, true, 0
          from b join t on ${same} and t.rn > ${limit}
        having count(*) > 0
        union all
        ${total}`);
      type Row = {
        k0: string | null;
        k1: string | null;
        s0: string | null;
        e0: string | null;
        s1: string | null;
        e1: string | null;
        m: number | null;
        n: number;
        other: boolean | null;
        groups: number;
      };
      const rows = rowsOf<Row>(result);
      const totalRow = rows.find((r) => r.other === null);
      const grouped = rows.filter((r) => r.other === false);
      const otherRow = rows.find((r) => r.other === true);
      const labels = await Promise.all(
        dims.map((d, i) =>
          d.bucket
            ? Promise.resolve(new Map<string, string>())
            : labelsOf(scope, d, [
                ...new Set(
                  grouped.map((r) => (i === 0 ? r.k0 : r.k1)).filter((v): v is string => v !== null),
                ),
              ]),
        ),
      );
      const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
      const cells: ReportCellView[] = grouped.map((r) => {
        const keys = dims.map((d, i) => {
          const raw = i === 0 ? r.k0 : r.k1;
          const label = raw === null ? '(none)' : d.bucket ? isoDay(raw) : (labels[i]!.get(raw) ?? raw);
          return { value: raw === null ? null : d.bucket ? raw : typedValue(d.field, raw), label };
        });
        const conditions = dims.map((d, i) =>
          keyFilter(d, {
            raw: i === 0 ? r.k0 : r.k1,
            ...(d.bucket ? { start: (i === 0 ? r.s0 : r.s1)!, end: (i === 0 ? r.e0 : r.e1)! } : {}),
          }),
        );
        const all = [...(filter ? [filter] : []), ...conditions];
        return {
          keys,
          value: num(r.m),
          count: Number(r.n),
          other: false,
          filter: all.length === 0 ? null : all.length === 1 ? all[0]! : { and: all },
        };
      });
      // Dates read in time order; other groups largest first (as the query ranked them).
      if (dims[0]?.bucket)
        cells.sort((a, b) => String(a.keys[0]!.value ?? '~').localeCompare(String(b.keys[0]!.value ?? '~')));
      const groups = Number(grouped[0]?.groups ?? 0);
      if (otherRow)
        cells.push({
          keys: dims.map(() => ({ value: null, label: 'Other' })),
          value: num(otherRow.m),
          count: Number(otherRow.n),
          other: true,
          filter: null,
        });
      const truncated = groups > limit;
      return {
        object: def.key,
        dimensions: dims.map((d) => ({
          field: d.field.key,
          label: d.field.label,
          bucket: d.bucket,
          user: d.field.type === 'user',
        })),
        measure: { op: input.measure.op, field: measure.field?.key ?? null, label: measure.label },
        cells,
        total: { value: num(totalRow?.m), count: Number(totalRow?.n ?? 0) },
        groups,
        truncated,
        note: truncated
          ? `${groups.toLocaleString('en')} groups: the ${limit} largest are shown, the rest are summed up as "Other"`
          : null,
        time_zone: clock.timeZone,
      };
    },
    { readOnly: true },
  );
  await userLabels(services, result, dimFieldTypes(result, input.object));
  return result;
}

/** The dimensions holding members' ids (`user` fields), by index. */
function dimFieldTypes(result: ReportResultView, _object: string): number[] {
  return result.dimensions.flatMap((d, i) => (d.user ? [i] : []));
}

/**
 * Names the members keyed in `user` dimensions, read outside any tenant transaction (the embedded
 * database has one connection: a read beside an open transaction would wait for it forever).
 */
async function userLabels(services: Services, result: ReportResultView, dims: number[]): Promise<void> {
  if (dims.length === 0) return;
  const ids = [
    ...new Set(
      result.cells.flatMap((c) =>
        dims
          .map((i) => c.keys[i]?.value)
          .filter((v): v is string => typeof v === 'string' && /^[0-9a-f-]{36}$/i.test(v)),
      ),
    ),
  ];
  if (ids.length === 0) return;
  const names = new Map(
    (
      await services.database.db
        .select({ id: users.id, name: users.name })
        .from(users)
        .where(inArray(users.id, ids))
    ).map((u) => [u.id, u.name]),
  );
  for (const c of result.cells)
    for (const i of dims) {
      const key = c.keys[i];
      if (key && typeof key.value === 'string') key.label = names.get(key.value) ?? 'A former member';
    }
}

/** The report as CSV: one row per cell, its keys then the count and the measure. */
export function reportCsv(result: ReportResultView): string {
  const esc = (v: unknown) => {
    const s = v === null || v === undefined ? '' : String(v);
    // Formula injection: a cell starting with = + - @ is read as text by spreadsheets.
    const safe = /^[=+\-@\t\r]/.test(s) && Number.isNaN(Number(s)) ? `'${s}` : s;
    return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
  };
  const header = [
    ...result.dimensions.map((d) => d.label),
    'Count',
    ...(result.measure.op === 'count' ? [] : [result.measure.label]),
  ];
  const lines = [header.map(esc).join(',')];
  for (const c of result.cells)
    lines.push(
      [...c.keys.map((k) => k.label), c.count, ...(result.measure.op === 'count' ? [] : [c.value])]
        .map(esc)
        .join(','),
    );
  return `${lines.join('\r\n')}\r\n`;
}
