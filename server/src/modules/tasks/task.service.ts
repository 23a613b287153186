import { and, eq, inArray, isNull } from 'drizzle-orm';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { assertMember } from '../../platform/access/membership.js';
import { badRequest, conflict, notFound } from '../../platform/errors/app-error.js';
import { changesBetween } from '../../platform/events/changes.js';
import { emitEvent, emitEvents, type NewEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { assertLinkable, type RecordRefValue } from './linked-record.service.js';
import type { TaskCreateInput, TaskUpdateInput, TaskView } from './task.dto.js';
import { tasks } from './task.schema.js';
import { scheduleDue } from './task-due.service.js';
import { scheduleReminder } from './task-reminder.service.js';

export type TaskRow = typeof tasks.$inferSelect;

/** A database timestamp (`2030-05-01 09:30:00.123+00`) as ISO 8601 (`2030-05-01T09:30:00.123Z`). */
const iso = (value: string | null): string | null => (value === null ? null : new Date(value).toISOString());

/** The API shape of a task row. */
export function taskView(r: TaskRow): TaskView {
  const dueAt = iso(r.dueAt);
  return {
    id: r.id,
    title: r.title,
    description: r.description,
    due_at: dueAt,
    due_date: r.allDay && dueAt ? dueAt.slice(0, 10) : null,
    all_day: r.allDay,
    priority: r.priority,
    assignee_id: r.assigneeId,
    status: r.status,
    completed_at: iso(r.completedAt),
    completed_by: r.completedBy,
    link:
      r.linkedObject && r.linkedId ? ({ object: r.linkedObject, id: r.linkedId } as RecordRefValue) : null,
    remind_at: iso(r.remindAt),
    reminder_sent_at: iso(r.reminderSentAt),
    reminder_due: isReminderDue(r),
    created_by: r.createdBy,
    updated_by: r.updatedBy,
    created_at: iso(r.createdAt)!,
    updated_at: iso(r.updatedAt)!,
    archived_at: iso(r.archivedAt),
  };
}

/**
 * Whether a task's reminder is due now: it is open, not archived, and its `remind_at` has passed.
 * Until notifications exist this is where a reminder reaches its assignee (the task list's
 * "Due now"); the `task.reminder_due` event marks the same moment for later consumers.
 */
export function isReminderDue(
  r: Pick<TaskRow, 'status' | 'archivedAt' | 'remindAt'>,
  now: Date = new Date(),
): boolean {
  return (
    r.status === 'open' && !r.archivedAt && r.remindAt !== null && Date.parse(r.remindAt) <= now.getTime()
  );
}

/** The timelines a task's events also appear on: its linked record's. */
const relatedOf = (...links: (RecordRefValue | null)[]) => {
  const seen = new Map(links.filter((l) => l !== null).map((l) => [`${l.object}:${l.id}`, l]));
  return [...seen.values()];
};

/** `due_at` / `due_date` of an input as the stored `{dueAt, allDay}`; undefined when neither is given. */
function dueOf(input: Pick<TaskUpdateInput, 'due_at' | 'due_date'>) {
  if (input.due_at !== undefined && input.due_date !== undefined) {
    throw badRequest('Give due_at or due_date, not both', 'body.due_date');
  }
  if (input.due_at !== undefined) {
    return { dueAt: input.due_at === null ? null : new Date(input.due_at).toISOString(), allDay: false };
  }
  if (input.due_date !== undefined) {
    return { dueAt: input.due_date === null ? null : `${input.due_date}T00:00:00.000Z`, allDay: true };
  }
  return undefined;
}

const remindOf = (value: string | null) => (value === null ? null : new Date(value).toISOString());

async function loadRow(scope: TenantScope, id: string, forUpdate = false): Promise<TaskRow> {
  const query = scope.tx
    .select()
    .from(tasks)
    .where(and(eq(tasks.orgId, scope.ctx.orgId), eq(tasks.id, id)));
  const [row] = forUpdate ? await query.for('update') : await query;
  if (!row) throw notFound('Task', id);
  return row;
}

async function loadActive(scope: TenantScope, id: string): Promise<TaskRow> {
  const row = await loadRow(scope, id, true);
  if (row.archivedAt) throw conflict('This task is archived; restore it first', undefined, 'archived');
  return row;
}

async function save(scope: TenantScope, id: string, set: Partial<typeof tasks.$inferInsert>) {
  const [row] = await scope.tx
    .update(tasks)
    .set({ ...set, updatedBy: scope.ctx.actor.id, updatedAt: new Date().toISOString() })
    .where(and(eq(tasks.orgId, scope.ctx.orgId), eq(tasks.id, id)))
    .returning();
  return row!;
}

/**
 * Creates a task; the assignee defaults to the creating user. Emits `task.created` (on the
 * linked record's timeline too) and schedules the reminder when `remind_at` is set.
 * @throws 400 due_at and due_date both given, 422 `reference_not_found` at `body.assignee_id`
 *   (not a member) or `body.link.id` (no such active record)
 */
export async function createTask(
  services: Services,
  ctx: TenantContext,
  input: TaskCreateInput,
): Promise<TaskView> {
  return withTenant(services.database, ctx, (scope) => createTaskIn(scope, services, input));
}

/** `createTask` inside the caller's tenant transaction (import). */
export async function createTaskIn(
  scope: TenantScope,
  services: Services,
  input: TaskCreateInput,
): Promise<TaskView> {
  const { ctx } = scope;
  const due = dueOf(input);
  const assigneeId =
    input.assignee_id !== undefined ? input.assignee_id : ctx.actor.type === 'user' ? ctx.actor.id : null;
  if (input.assignee_id) await assertMember(scope, input.assignee_id, 'body.assignee_id');
  if (input.link) await assertLinkable(scope, input.link, 'body.link.id');
  const [row] = await scope.tx
    .insert(tasks)
    .values({
      orgId: ctx.orgId,
      title: input.title,
      description: input.description ?? null,
      dueAt: due?.dueAt ?? null,
      allDay: due?.dueAt ? due.allDay : false,
      priority: input.priority ?? 'normal',
      assigneeId,
      linkedObject: input.link?.object ?? null,
      linkedId: input.link?.id ?? null,
      remindAt: remindOf(input.remind_at ?? null),
      createdBy: ctx.actor.id,
      updatedBy: ctx.actor.id,
    })
    .returning();
  const view = taskView(row!);
  if (view.remind_at) await scheduleReminder(scope, services, { id: view.id, remindAt: view.remind_at });
  if (view.due_at)
    await scheduleDue(scope, services, { id: view.id, dueAt: view.due_at, allDay: view.all_day });
  await emitEvent(scope, services.jobs, {
    type: 'task.created',
    subject: { object: 'task', id: view.id },
    data: { name: view.title, assignee_id: view.assignee_id, due_at: view.due_at },
    related: relatedOf(view.link),
  });
  return view;
}

/** A task (archived ones too). @throws 404, also for another tenant's id */
export async function getTask(services: Services, ctx: TenantContext, id: string): Promise<TaskView> {
  return withTenant(services.database, ctx, async (scope) => taskView(await loadRow(scope, id)));
}

const COMPARED = [
  'title',
  'description',
  'due_at',
  'due_date',
  'all_day',
  'priority',
  'assignee_id',
  'link',
  'remind_at',
] as const satisfies readonly (keyof TaskView)[];

/** The `task.updated` event of a change, on the old and the new linked record's timelines; null when nothing compared changed. */
function updatedEvent(before: TaskView, after: TaskView): NewEvent | null {
  const changes = changesBetween(before, after, COMPARED);
  if (Object.keys(changes).length === 0) return null;
  return {
    type: 'task.updated',
    subject: { object: 'task', id: after.id },
    data: { name: after.title, changes },
    related: relatedOf(before.link, after.link),
  };
}

/**
 * Changes the given fields (absent ones stay, null clears). A new `remind_at` re-arms the
 * reminder (a new job; the old one finds `remind_at` changed). One `task.updated` event with
 * `{name, changes: {field: {before, after}}}`, on the old and the new linked record's timelines.
 * @throws 404, 409 `archived`, 400 due_at and due_date both given, 422 as for create
 */
export async function updateTask(
  services: Services,
  ctx: TenantContext,
  id: string,
  input: TaskUpdateInput,
): Promise<TaskView> {
  return withTenant(services.database, ctx, (scope) => updateTaskIn(scope, services, id, input));
}

/** An active task as the API shows it, in the caller's tenant transaction (import). @throws 404 */
export async function activeTaskIn(scope: TenantScope, id: string): Promise<TaskView> {
  return taskView(await loadActive(scope, id));
}

/** `updateTask` inside the caller's tenant transaction (import). */
export async function updateTaskIn(
  scope: TenantScope,
  services: Services,
  id: string,
  input: TaskUpdateInput,
): Promise<TaskView> {
  const row = await loadActive(scope, id);
  const before = taskView(row);
  const due = dueOf(input);
  if (input.assignee_id && input.assignee_id !== row.assigneeId) {
    await assertMember(scope, input.assignee_id, 'body.assignee_id');
  }
  const linkChanged = input.link !== undefined && JSON.stringify(input.link) !== JSON.stringify(before.link);
  if (input.link && linkChanged) await assertLinkable(scope, input.link, 'body.link.id');
  const remindAt = input.remind_at === undefined ? undefined : remindOf(input.remind_at);
  const remindChanged = remindAt !== undefined && remindAt !== before.remind_at;
  const updated = await save(scope, id, {
    ...(input.title !== undefined ? { title: input.title } : {}),
    ...(input.description !== undefined ? { description: input.description } : {}),
    ...(due ? { dueAt: due.dueAt, allDay: due.dueAt ? due.allDay : false } : {}),
    ...(input.priority !== undefined ? { priority: input.priority } : {}),
    ...(input.assignee_id !== undefined ? { assigneeId: input.assignee_id } : {}),
    ...(linkChanged ? { linkedObject: input.link?.object ?? null, linkedId: input.link?.id ?? null } : {}),
    ...(remindChanged ? { remindAt, reminderSentAt: null } : {}),
  });
  const after = taskView(updated);
  if (remindChanged && after.remind_at) {
    await scheduleReminder(scope, services, { id, remindAt: after.remind_at });
  }
  if (after.due_at && (after.due_at !== before.due_at || after.all_day !== before.all_day)) {
    await scheduleDue(scope, services, { id, dueAt: after.due_at, allDay: after.all_day });
  }
  const event = updatedEvent(before, after);
  if (event) await emitEvent(scope, services.jobs, event);
  return after;
}

/**
 * The active tasks among `ids`, locked for update: `activeTaskIn` for a batch (an import's), one
 * select. A task missing or archived is absent from the map.
 */
export async function activeTasksIn(scope: TenantScope, ids: string[]): Promise<Map<string, TaskView>> {
  if (ids.length === 0) return new Map();
  const found = await scope.tx
    .select()
    .from(tasks)
    .where(and(eq(tasks.orgId, scope.ctx.orgId), inArray(tasks.id, ids), isNull(tasks.archivedAt)))
    .for('update');
  return new Map(found.map((r) => [r.id, taskView(r)]));
}

/** The fields an import changes on a task it matches. */
export type TaskImportPatch = Pick<
  TaskUpdateInput,
  'title' | 'description' | 'priority' | 'assignee_id' | 'due_date'
>;

/**
 * `updateTaskIn` for a batch of tasks (an import's): each `current` (from `activeTasksIn`, locked
 * in this transaction) gets its patch, all with one update, and a `task.updated` event each with
 * its changes, as `updateTaskIn` emits it (none for a task the patch leaves as it was). The
 * caller passes members as assignees (the import resolves them from the member list); links and
 * reminders are not part of the patch.
 * @returns the tasks as updated, in the given order
 */
export async function updateTasksIn(
  scope: TenantScope,
  services: Services,
  items: { current: TaskView; patch: TaskImportPatch }[],
): Promise<TaskView[]> {
  if (items.length === 0) return [];
  const now = new Date().toISOString();
  const values = items.map(({ current, patch }) => {
    const due = dueOf(patch);
    return {
      id: current.id,
      title: patch.title ?? current.title,
      description: patch.description !== undefined ? patch.description : current.description,
      priority: patch.priority ?? current.priority,
      assignee_id: patch.assignee_id !== undefined ? patch.assignee_id : current.assignee_id,
      due_at: due ? due.dueAt : current.due_at,
      all_day: due ? Boolean(due.dueAt) && due.allDay : current.all_day,
    };
  });
  await scope.conn.query(
    `update tasks t set title = x.title, description = x.description, priority = x.priority,
        assignee_id = x.assignee_id, due_at = x.due_at, all_day = x.all_day, updated_by = $2, updated_at = $3
       from jsonb_to_recordset($4::jsonb) as x(id uuid, title text, description text, priority text,
        assignee_id uuid, due_at timestamptz, all_day boolean)
      where t.org_id = $1 and t.id = x.id`,
    [scope.ctx.orgId, scope.ctx.actor.id, now, JSON.stringify(values)],
  );
  const rows = await scope.tx
    .select()
    .from(tasks)
    .where(
      and(
        eq(tasks.orgId, scope.ctx.orgId),
        inArray(
          tasks.id,
          items.map((i) => i.current.id),
        ),
      ),
    );
  const byId = new Map(rows.map((r) => [r.id, taskView(r)]));
  const after = items.map(({ current }) => byId.get(current.id)!);
  const events = items.flatMap(({ current }, k) => updatedEvent(current, after[k]!) ?? []);
  if (events.length > 0) await emitEvents(scope, services.jobs, events);
  return after;
}

type Transition = 'complete' | 'reopen' | 'archive' | 'restore';

/**
 * Moves a task through its life: `complete` (open -> done), `reopen` (done -> open), `archive`
 * (soft delete), `restore`. Idempotent: a task already there is returned unchanged, with no
 * event; otherwise emits `task.completed` / `task.reopened` / `task.archived` / `task.restored`.
 * @throws 404, 409 `archived` when completing or reopening an archived task
 */
export async function transitionTask(
  services: Services,
  ctx: TenantContext,
  id: string,
  transition: Transition,
): Promise<TaskView> {
  return withTenant(services.database, ctx, async (scope) => {
    const row =
      transition === 'archive' || transition === 'restore'
        ? await loadRow(scope, id, true)
        : await loadActive(scope, id);
    const now = new Date().toISOString();
    const plan = {
      complete: {
        done: row.status === 'done',
        set: { status: 'done' as const, completedAt: now, completedBy: ctx.actor.id },
        type: 'task.completed' as const,
      },
      reopen: {
        done: row.status === 'open',
        set: { status: 'open' as const, completedAt: null, completedBy: null },
        type: 'task.reopened' as const,
      },
      archive: { done: row.archivedAt !== null, set: { archivedAt: now }, type: 'task.archived' as const },
      restore: { done: row.archivedAt === null, set: { archivedAt: null }, type: 'task.restored' as const },
    }[transition];
    if (plan.done) return taskView(row);
    const view = taskView(await save(scope, id, plan.set));
    await emitEvent(scope, services.jobs, {
      type: plan.type,
      subject: { object: 'task', id },
      data: { name: view.title },
      related: relatedOf(view.link),
    });
    return view;
  });
}

/**
 * Moves the tasks linked to any of `fromIds` (records of `object`) onto `toId`, inside the
 * caller's tenant transaction (a merge, or its undo with `onlyIds`). One `task.relinked` event per
 * task. @returns each moved task with the record it was linked to
 */
export async function relinkTasksIn(
  scope: TenantScope,
  services: Services,
  object: string,
  fromIds: string[],
  toId: string,
  onlyIds?: string[],
): Promise<{ id: string; from: string }[]> {
  if (fromIds.length === 0) return [];
  const { rows } = await scope.conn.query(
    `update tasks t set linked_id = $4, updated_at = now()
       from tasks old
      where t.org_id = $1 and t.linked_object = $2 and t.linked_id = any($3::uuid[])
        and old.org_id = t.org_id and old.id = t.id
        and ($5::uuid[] is null or t.id = any($5::uuid[]))
      returning t.id, t.title, old.linked_id as from_id`,
    [scope.ctx.orgId, object, fromIds, toId, onlyIds ?? null],
  );
  const moved = rows as { id: string; title: string; from_id: string }[];
  for (const task of moved) {
    await emitEvent(scope, services.jobs, {
      type: 'task.relinked',
      subject: { object: 'task', id: task.id },
      data: { name: task.title, from: { object, id: task.from_id }, to: { object, id: toId } },
      related: [{ object, id: toId }],
    });
  }
  return moved.map((t) => ({ id: t.id, from: t.from_id }));
}

/** Every task on a record, oldest first, inside the caller's tenant transaction (a GDPR export). */
export async function tasksOfRecordIn(scope: TenantScope, record: { object: string; id: string }) {
  const rows = await scope.tx
    .select()
    .from(tasks)
    .where(
      and(
        eq(tasks.orgId, scope.ctx.orgId),
        eq(tasks.linkedObject, record.object),
        eq(tasks.linkedId, record.id),
      ),
    )
    .orderBy(tasks.createdAt);
  return rows.map(taskView);
}

/**
 * Deletes every task on a record inside the caller's tenant transaction (a GDPR erasure), with a
 * `task.deleted` each that names nothing (`name: null`: a title may name the person).
 * @returns the ids and titles of the tasks deleted (for the caller to scrub their traces)
 */
export async function deleteTasksOfRecordIn(
  scope: TenantScope,
  services: Services,
  record: { object: string; id: string },
): Promise<{ id: string; title: string }[]> {
  const rows = await scope.tx
    .delete(tasks)
    .where(
      and(
        eq(tasks.orgId, scope.ctx.orgId),
        eq(tasks.linkedObject, record.object),
        eq(tasks.linkedId, record.id),
      ),
    )
    .returning({ id: tasks.id, title: tasks.title });
  if (rows.length)
    await emitEvents(
      scope,
      services.jobs,
      rows.map((r) => ({
        type: 'task.deleted' as const,
        subject: { object: 'task', id: r.id },
        data: { name: null },
        related: [record],
      })),
    );
  return rows;
}
