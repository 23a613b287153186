import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { compileListQuery } from '../../platform/query/query.compiler.js';
import type { FilterNode, ListQuery } from '../../platform/query/query.schema.js';
import { indexedSearchIds } from '../../platform/query/query.search.js';
import { formatRecordNumber } from '../../platform/registry/custom-objects.js';
import type { FieldDef, ObjectDef } from '../../platform/registry/registry.types.js';
import { STATUS_KINDS } from '../../platform/registry/status-field.js';
import { customObjectIn, loadRow } from './record-engine.service.js';
import { listPage } from './record-list.service.js';
import {
  type StatusHistoryEntry,
  statusEnteredAt,
  statusFieldsOf,
  statusHistoryOf,
} from './record-status.service.js';

/**
 * The Kanban board of any custom object (issue 21), grouped by one of its status or single-select
 * fields: a column per status (or option) in the field's order with its count and its first cards,
 * newest first, each column paged on its own with the list's keyset cursor. Moving a card is an
 * update of the field through the record engine (`PATCH /records/<object>/<id>`), so a status
 * field's rules hold on the board as everywhere.
 */

const DAY_MS = 86_400_000;
/** Most records a free-text search considers (as lists: PERFORMANCE.md trap 4). */
const SEARCH_CANDIDATES = 1000;

export const RecordBoardCard = z
  .object({
    id: z.uuid(),
    title: z.string().describe('The display field’s value (the id when it is empty)'),
    number_label: z.string().nullable().describe('`CASE-00042`, when the object numbers its records'),
    owner_id: z.uuid().nullable(),
    value: z.string().nullable().describe('The grouping field’s value'),
    days_in_status: z
      .number()
      .nullable()
      .describe('Days since the card entered its status (status fields; null for a select field)'),
    values: z.record(z.string(), z.unknown()).describe('The values of the object’s first columns, by key'),
  })
  .meta({ id: 'RecordBoardCard' });
export const RecordBoardColumn = z
  .object({
    value: z.string().nullable().describe('The status or option; null: the records without one'),
    label: z.string(),
    kind: z.enum(STATUS_KINDS).nullable().describe('The status’s kind; null for a select field'),
    color: z.string().nullable(),
    count: z.number().int(),
    cards: z.array(RecordBoardCard),
    next_cursor: z.string().nullable().describe('Pass to the column route for its next cards'),
  })
  .meta({ id: 'RecordBoardColumn' });
export const RecordBoard = z
  .object({
    field: z.object({ key: z.string(), label: z.string(), type: z.string() }),
    columns: z.array(RecordBoardColumn),
  })
  .meta({ id: 'RecordBoard' });
export const RecordBoardCards = z.object({
  cards: z.array(RecordBoardCard),
  next_cursor: z.string().nullable(),
});

export type BoardOptions = { query: ListQuery; field: string; perColumn: number };

/** The field a board groups by. @throws 400 naming `query.field` for any other */
function groupingField(def: ObjectDef, key: string): FieldDef {
  const field = def.fields.find((f) => f.key === key && !f.retired && f.origin === 'custom');
  if (!field || (field.type !== 'status' && field.type !== 'select'))
    throw new AppError(
      400,
      'not_a_board_field',
      `A board groups by a status or single-select field of ${def.labelPlural}`,
      {
        path: 'query.field',
        errors: [{ path: 'query.field', code: 'not_a_board_field', message: 'Not a status or select field' }],
      },
    );
  return field;
}

const rowsOf = <T>(r: unknown) => (Array.isArray(r) ? r : (r as { rows: T[] }).rows) as T[];

/** The columns' values in order, with their labels, kinds and colors. */
function columnsOf(field: FieldDef) {
  if (field.type === 'status')
    return field.statuses!.statuses.map((s) => ({
      value: s.value,
      label: s.label,
      kind: s.kind,
      color: s.color ?? null,
    }));
  return (field.options ?? []).map((o) => ({
    value: o.value,
    label: o.label,
    kind: null,
    color: o.color ?? null,
  }));
}

/** The fields a card shows besides its title: the object's first columns. */
const cardFieldsOf = (def: ObjectDef, field: FieldDef) =>
  (def.display?.columns ?? []).filter((k) => k !== field.key && k !== def.custom!.displayField).slice(0, 3);

/** One column's page of cards: the list query of the object with the column's condition added. */
async function columnPage(
  scope: TenantScope,
  def: ObjectDef,
  field: FieldDef,
  value: string | null,
  options: BoardOptions & { cursor?: string | undefined },
) {
  const condition = (
    value === null ? { field: field.key, op: 'isEmpty' } : { field: field.key, op: 'eq', value }
  ) as FilterNode;
  const extra = cardFieldsOf(def, field);
  const page = await listPage(scope, def, {
    ...options.query,
    filter: options.query.filter ? ({ and: [options.query.filter, condition] } as FilterNode) : condition,
    fields: [
      'id',
      'owner_id',
      'created_at',
      field.key,
      def.custom!.displayField,
      ...(def.custom!.numbering ? ['number'] : []),
      ...extra,
    ],
    limit: options.perColumn,
    ...(options.cursor ? { cursor: options.cursor } : {}),
  });
  const ids = page.data.map((r) => r.id);
  const entered = field.type === 'status' ? await statusEnteredAt(scope, field.key, ids) : new Map();
  const now = Date.now();
  const cards = page.data.map((r) => {
    const custom = (r.custom ?? {}) as Record<string, unknown>;
    const title = custom[def.custom!.displayField];
    const since = entered.get(r.id) ?? new Date(r.created_at as string).toISOString();
    return {
      id: r.id,
      title: typeof title === 'string' && title !== '' ? title : r.id,
      number_label:
        def.custom!.numbering && typeof r.number === 'number'
          ? formatRecordNumber(def.custom!.numbering, r.number)
          : def.custom!.numbering && typeof r.number === 'string'
            ? formatRecordNumber(def.custom!.numbering, Number(r.number))
            : null,
      owner_id: (r.owner_id as string | null) ?? null,
      value: typeof custom[field.key] === 'string' ? (custom[field.key] as string) : null,
      days_in_status:
        field.type === 'status' ? Math.round(((now - Date.parse(since)) / DAY_MS) * 10) / 10 : null,
      values: Object.fromEntries(extra.filter((k) => custom[k] !== undefined).map((k) => [k, custom[k]])),
    };
  });
  return { cards, next_cursor: page.next_cursor };
}

/**
 * The board: every column of the field in order with its count (one grouped count) and first
 * page of cards; records without a value, or with a value the field no longer offers, get columns
 * of their own after the others when there are any.
 * @throws 404 unknown object, 400 `not_a_board_field` at `query.field`, 400 `invalid_query`
 */
export async function recordBoard(
  services: Services,
  ctx: TenantContext,
  object: string,
  options: BoardOptions,
) {
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      const def = await customObjectIn(scope, object);
      const field = groupingField(def, options.field);
      const q = options.query.q;
      const indexed = q !== undefined && q.trim() !== '';
      const compiled = compileListQuery(
        def,
        {
          ...(options.query.filter ? { filter: options.query.filter } : {}),
          ...(q !== undefined ? { q } : {}),
          limit: 1,
        },
        { table: 'r', searchIndexed: indexed },
      );
      const search = indexed ? sql`r.id in (${indexedSearchIds(def, q!, SEARCH_CANDIDATES)})` : sql`true`;
      const counts = rowsOf<{ v: string | null; n: number }>(
        await scope.tx.execute(sql`
          select r.custom->>${field.key}::text as v, count(*)::int as n from records r
           where r.org_id = ${ctx.orgId} and r.archived_at is null and ${search} and ${compiled.where}
           group by 1`),
      );
      const countOf = new Map(counts.map((c) => [c.v, c.n]));
      const known = columnsOf(field);
      const columns = [
        ...known,
        ...counts
          .filter((c) => c.v !== null && c.v !== '' && !known.some((k) => k.value === c.v))
          .map((c) => ({ value: c.v, label: c.v!, kind: null, color: null })),
        ...(countOf.get(null) || countOf.get('')
          ? [{ value: null, label: `No ${field.label.toLowerCase()}`, kind: null, color: null }]
          : []),
      ];
      const out = [];
      for (const column of columns) {
        const count =
          column.value === null
            ? (countOf.get(null) ?? 0) + (countOf.get('') ?? 0)
            : (countOf.get(column.value) ?? 0);
        const page =
          count > 0
            ? await columnPage(scope, def, field, column.value, options)
            : { cards: [], next_cursor: null };
        out.push({ ...column, count, ...page });
      }
      return { field: { key: field.key, label: field.label, type: field.type }, columns: out };
    },
    { readOnly: true },
  );
}

/** More cards of one column, after its cursor; `value` absent: the records without a value. */
export async function recordBoardColumn(
  services: Services,
  ctx: TenantContext,
  object: string,
  options: BoardOptions & { value?: string | undefined; cursor?: string | undefined },
) {
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      const def = await customObjectIn(scope, object);
      const field = groupingField(def, options.field);
      return columnPage(scope, def, field, options.value ?? null, options);
    },
    { readOnly: true },
  );
}

/** A record's status history (all its status fields, or `field`'s), oldest first. @throws 404 */
export async function recordStatusHistory(
  services: Services,
  ctx: TenantContext,
  object: string,
  id: string,
  fieldKey?: string,
): Promise<{ data: z.infer<typeof StatusHistoryEntry>[] }> {
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      const def = await customObjectIn(scope, object);
      await loadRow(scope, def, id);
      if (fieldKey !== undefined && !statusFieldsOf(def).some((s) => s.field.key === fieldKey))
        throw new AppError(
          400,
          'validation_failed',
          `${def.labelSingular} has no status field "${fieldKey}"`,
          {
            path: 'query.field',
            errors: [
              { path: 'query.field', code: 'unknown_field', message: 'Not a status field of this object' },
            ],
          },
        );
      return { data: await statusHistoryOf(scope, def, id, fieldKey) };
    },
    { readOnly: true },
  );
}
