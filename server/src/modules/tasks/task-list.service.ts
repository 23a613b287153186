import { and, eq, getTableColumns, getTableName, gte, isNull, lt, lte, or, type SQL, sql } from 'drizzle-orm';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError, badRequest } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { type CompiledListQuery, compileListQuery, pageOf } from '../../platform/query/query.compiler.js';
import { orderByOf, type SortPart } from '../../platform/query/query.cursor.js';
import { escapeLike } from '../../platform/query/query.filter.js';
import { parseListQueryParams } from '../../platform/query/query.schema.js';
import { STANDARD_OBJECTS } from '../../platform/registry/standard-objects.js';
import { type DueWindows, dueWindows } from './due-window.util.js';
import {
  TASK_GROUPS,
  type TaskGroup,
  type TaskGroupsView,
  type TaskListQueryInput,
  type TaskView,
} from './task.dto.js';
import { tasks } from './task.schema.js';
import { taskView } from './task.service.js';

/** Most tasks one group of `groupTasks` shows. */
export const GROUP_CAP = 100;
const MAX_SEARCH_TERMS = 8;

const TASK = STANDARD_OBJECTS.task!;

/** The order of a to-do group: soonest due first, undated last, then by id. */
const ORDER: SortPart[] = [
  { key: 'due_at', expr: sql`${tasks.dueAt}`, direction: 'asc', kind: 'timestamptz' },
  { key: 'id', expr: sql`${tasks.id}`, direction: 'asc', kind: 'uuid' },
];

/** `me` is the calling user (nobody for a non-user actor); `any` adds no condition. */
function assigneeCondition(ctx: TenantContext, assignee: string): SQL | undefined {
  if (assignee === 'any') return undefined;
  if (assignee === 'me')
    return ctx.actor.type === 'user' && ctx.actor.id ? eq(tasks.assigneeId, ctx.actor.id) : sql`false`;
  return eq(tasks.assigneeId, assignee);
}

/** Every word of `q` occurs (ILIKE, with % _ \ escaped) in the title or the description. */
function searchCondition(q: string | undefined): SQL | undefined {
  const terms = (q ?? '').split(/\s+/).filter(Boolean).slice(0, MAX_SEARCH_TERMS);
  if (terms.length === 0) return undefined;
  return and(
    ...terms.map((term) => {
      const pattern = `%${escapeLike(term)}%`;
      return sql`(${tasks.title} ilike ${pattern} or ${tasks.description} ilike ${pattern})`;
    }),
  );
}

/** Open, not archived, and its reminder time passed at `now` (`isReminderDue` in SQL). */
function reminderDueCondition(now: Date): SQL {
  return and(eq(tasks.status, 'open'), isNull(tasks.archivedAt), lte(tasks.remindAt, now.toISOString()))!;
}

/** `reminder_due=true` keeps the tasks due now, `false` the others, absent adds no condition. */
function reminderFilter(value: 'true' | 'false' | undefined, now: Date): SQL | undefined {
  if (value === undefined) return undefined;
  const due = reminderDueCondition(now);
  // A task without a reminder makes `due` null, not false.
  return value === 'true' ? due : sql`not coalesce(${due}, false)`;
}

const isDay = (value: string) => /^\d{4}-\d{2}-\d{2}$/.test(value);

function dueRange(from: string | undefined, to: string | undefined): SQL[] {
  const conditions: SQL[] = [];
  if (from) conditions.push(gte(tasks.dueAt, isDay(from) ? `${from}T00:00:00Z` : from));
  if (to) {
    if (isDay(to)) {
      const next = new Date(Date.parse(`${to}T00:00:00Z`) + 86_400_000).toISOString();
      conditions.push(lt(tasks.dueAt, next));
    } else conditions.push(lte(tasks.dueAt, to));
  }
  return conditions;
}

function linkCondition(query: TaskListQueryInput): SQL | undefined {
  const { linked_object: object, linked_id: id } = query;
  if (!object && !id) return undefined;
  if (!object) throw badRequest('Give linked_object with linked_id', 'querystring.linked_object');
  if (!id) throw badRequest('Give linked_id with linked_object', 'querystring.linked_id');
  return and(eq(tasks.linkedObject, object), eq(tasks.linkedId, id));
}

/**
 * The query language part of a task list (`filter` and `sort` as on every list, the cursor and
 * the page size), compiled against the registry's task. Without a sort: soonest due first,
 * undated last, then by id.
 * @throws AppError 400 `invalid_query` at `filter...` or `sort[i]` as on every list, at
 *   `querystring.cursor` for a cursor of another list or sort
 */
function compileTaskQuery(ctx: TenantContext, query: TaskListQueryInput): CompiledListQuery {
  const { filter, sort } = parseListQueryParams({ filter: query.filter, sort: query.sort });
  try {
    return compileListQuery(
      TASK,
      { filter, sort, limit: query.limit, cursor: query.cursor },
      { table: getTableName(tasks), tenant: ctx },
    );
  } catch (error) {
    if (error instanceof AppError && error.path === 'cursor')
      throw badRequest(error.message, 'querystring.cursor', 'invalid_query');
    throw error;
  }
}

/**
 * A page of the tenant's tasks (archived ones left out), soonest due first, undated last, or in
 * the query language's `sort`; `filter` is the query language's filter tree over the registry's
 * task fields, as on every list. Task parameters narrow it further: assignee (me | any | a member
 * id), status (open | done | all), q (words in the title or description), due_from / due_to (a day
 * counts whole, in UTC), linked_object + linked_id, reminder_due (open tasks whose reminder time
 * has passed, or the others).
 * @returns `{data, next_cursor}`; pass `next_cursor` as `cursor` for the next page
 * @throws AppError 400 at `querystring.<param>` (half a link filter, a foreign cursor)
 */
export async function listTasks(
  services: Services,
  ctx: TenantContext,
  query: TaskListQueryInput,
): Promise<{ data: TaskView[]; next_cursor: string | null }> {
  const compiled = compileTaskQuery(ctx, query);
  const where = and(
    eq(tasks.orgId, ctx.orgId),
    isNull(tasks.archivedAt),
    query.status === 'all' ? undefined : eq(tasks.status, query.status),
    assigneeCondition(ctx, query.assignee),
    searchCondition(query.q),
    ...dueRange(query.due_from, query.due_to),
    linkCondition(query),
    reminderFilter(query.reminder_due, new Date()),
    compiled.where,
  );
  const rows = await withTenant(services.database, ctx, ({ tx }) =>
    tx
      .select({ ...getTableColumns(tasks), _cursor: sql<unknown>`${compiled.cursorValues}` })
      .from(tasks)
      .where(where)
      .orderBy(compiled.orderBy)
      .limit(compiled.limit + 1),
  );
  const { items, nextCursor } = pageOf(compiled, rows);
  return { data: items.map(taskView), next_cursor: nextCursor };
}

/**
 * When each group's tasks are due. Timed tasks compare with instants (one due an hour ago is
 * overdue); all-day tasks with calendar days (their `due_at` is the start of the day in UTC), so
 * a task due today is "today" all day long, in any time zone.
 */
function groupCondition(group: TaskGroup, w: DueWindows): SQL {
  const day = (d: string) => `${d}T00:00:00Z`;
  const between = (timed: [Date | null, Date | null], allDay: [string | null, string | null]) =>
    or(
      and(
        eq(tasks.allDay, false),
        timed[0] ? gte(tasks.dueAt, timed[0].toISOString()) : undefined,
        timed[1] ? lt(tasks.dueAt, timed[1].toISOString()) : undefined,
      ),
      and(
        eq(tasks.allDay, true),
        allDay[0] ? gte(tasks.dueAt, day(allDay[0])) : undefined,
        allDay[1] ? lt(tasks.dueAt, day(allDay[1])) : undefined,
      ),
    )!;
  const { days } = w;
  switch (group) {
    case 'due_now':
      return reminderDueCondition(w.now);
    case 'overdue':
      return between([null, w.now], [null, days.today]);
    case 'today':
      return between([w.now, w.tomorrow], [days.today, days.tomorrow]);
    case 'tomorrow':
      return between([w.tomorrow, w.dayAfter], [days.tomorrow, days.dayAfter]);
    case 'this_week':
      return between([w.dayAfter, w.nextWeek], [days.dayAfter, days.nextWeek]);
    case 'later':
      return between([w.nextWeek, null], [days.nextWeek, null]);
    case 'no_date':
      return isNull(tasks.dueAt);
  }
}

async function groupRows(scope: TenantScope, base: SQL | undefined, condition: SQL): Promise<TaskView[]> {
  const rows = await scope.tx
    .select()
    .from(tasks)
    .where(and(base, condition))
    .orderBy(orderByOf(ORDER))
    .limit(GROUP_CAP);
  return rows.map(taskView);
}

/**
 * The open tasks (not archived) as a to-do list sees them, relative to now in `tz` (a valid IANA
 * zone; see `assertTimeZone`): due_now (their reminder time has passed: how a reminder reaches
 * its assignee until notifications exist; such a task is also in the group of its due date),
 * overdue, today, tomorrow, this_week (after tomorrow until Sunday of this ISO week), later,
 * no_date. Each group holds at most 100 tasks, soonest due first.
 */
export async function groupTasks(
  services: Services,
  ctx: TenantContext,
  query: { assignee: string; tz: string },
  now = new Date(),
): Promise<TaskGroupsView> {
  const windows = dueWindows(now, query.tz);
  const base = and(
    eq(tasks.orgId, ctx.orgId),
    eq(tasks.status, 'open'),
    isNull(tasks.archivedAt),
    assigneeCondition(ctx, query.assignee),
    // The access profile's record scope, as on every list (issue 22).
    compileListQuery(TASK, { limit: 1 }, { table: getTableName(tasks), tenant: ctx }).where,
  );
  return withTenant(services.database, ctx, async (scope) => {
    const groups = {} as Record<TaskGroup, TaskView[]>;
    for (const group of TASK_GROUPS)
      groups[group] = await groupRows(scope, base, groupCondition(group, windows));
    return { tz: query.tz, ...groups };
  });
}

/** A group of `myDueTasksIn`: how many tasks it holds and the first of them, soonest due first. */
export type DueGroupView = { count: number; tasks: TaskView[] };

/**
 * The open tasks of `assigneeId` that are overdue and due today, relative to `now` in `tz` (as
 * `groupTasks` counts them), each group's count and its first `limit` tasks: the home page's
 * "my tasks". Runs in the caller's tenant scope.
 */
export async function myDueTasksIn(
  scope: TenantScope,
  assigneeId: string,
  tz: string,
  limit: number,
  now = new Date(),
): Promise<{ overdue: DueGroupView; today: DueGroupView }> {
  const windows = dueWindows(now, tz);
  const base = and(
    eq(tasks.orgId, scope.ctx.orgId),
    eq(tasks.assigneeId, assigneeId),
    eq(tasks.status, 'open'),
    isNull(tasks.archivedAt),
  );
  const group = async (name: 'overdue' | 'today'): Promise<DueGroupView> => {
    const condition = groupCondition(name, windows);
    const rows = await scope.tx
      .select()
      .from(tasks)
      .where(and(base, condition))
      .orderBy(orderByOf(ORDER))
      .limit(limit);
    // Counted only past a full first page: the usual day holds fewer tasks than that.
    const count =
      rows.length < limit
        ? rows.length
        : ((
            await scope.tx.select({ n: sql<number>`count(*)::int` }).from(tasks).where(and(base, condition))
          )[0]?.n ?? rows.length);
    return { count, tasks: rows.map(taskView) };
  };
  return { overdue: await group('overdue'), today: await group('today') };
}
