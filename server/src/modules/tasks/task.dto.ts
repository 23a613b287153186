import { z } from 'zod';
import { ListQueryParams } from '../../platform/query/query.schema.js';
import { LINKABLE_OBJECTS, RecordRef } from './linked-record.service.js';
import { TASK_PRIORITIES } from './task.schema.js';

/** Trimmed text PostgreSQL can store (no NUL character). */
const text = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .refine((s) => !s.includes('\u0000'), 'Cannot contain the NUL character');

const instant = z.iso
  .datetime({ offset: true })
  .describe('ISO 8601 date-time with an offset or Z, e.g. 2030-05-01T09:30:00+02:00');

const taskFields = {
  description: text(5000).nullable().optional(),
  due_at: instant.nullable().optional().describe('When it is due (a time of day); clears due_date'),
  due_date: z.iso
    .date()
    .nullable()
    .optional()
    .describe('A due day without a time (YYYY-MM-DD): sets all_day; give due_at or due_date, not both'),
  priority: z.enum(TASK_PRIORITIES).optional(),
  assignee_id: z.uuid().nullable().optional().describe('A member of the organization'),
  link: RecordRef.nullable()
    .optional()
    .describe('The contact, company or opportunity it is about (its timeline shows the task)'),
  remind_at: instant.nullable().optional().describe('When to remind the assignee (once)'),
};

export const TaskCreate = z
  .strictObject({
    title: text(200).min(1),
    ...taskFields,
    assignee_id: taskFields.assignee_id.describe('A member; defaults to the creating user, null: nobody'),
  })
  .meta({ id: 'TaskCreate' });
export const TaskUpdate = z
  .strictObject({ title: text(200).min(1).optional(), ...taskFields })
  .meta({ id: 'TaskUpdate' });
export type TaskCreateInput = z.infer<typeof TaskCreate>;
export type TaskUpdateInput = z.infer<typeof TaskUpdate>;

export const Task = z
  .object({
    id: z.uuid(),
    title: z.string(),
    description: z.string().nullable(),
    due_at: z.string().nullable().describe('ISO 8601; for an all-day task the start of due_date in UTC'),
    due_date: z.string().nullable().describe('YYYY-MM-DD when all_day'),
    all_day: z.boolean(),
    priority: z.enum(TASK_PRIORITIES),
    assignee_id: z.uuid().nullable(),
    status: z.enum(['open', 'done']),
    completed_at: z.string().nullable(),
    completed_by: z.uuid().nullable(),
    link: RecordRef.nullable(),
    remind_at: z.string().nullable(),
    reminder_sent_at: z.string().nullable(),
    reminder_due: z
      .boolean()
      .describe(
        'Its reminder time has passed and it is open (not archived): due now for its assignee, until done or the reminder moves',
      ),
    created_by: z.uuid().nullable(),
    updated_by: z.uuid().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    archived_at: z.string().nullable(),
  })
  .meta({ id: 'Task' });
export type TaskView = z.infer<typeof Task>;

const Assignee = z
  .union([z.enum(['me', 'any']), z.uuid()])
  .default('any')
  .describe('me, any, or a member id');
const DayOrInstant = z.union([z.iso.date(), instant]);

export const TaskListQuery = z.strictObject({
  assignee: Assignee,
  status: z.enum(['open', 'done', 'all']).default('open'),
  q: text(200).optional().describe('Words that must all occur in the title or description'),
  due_from: DayOrInstant.optional().describe('Due at or after (a day: its start in UTC)'),
  due_to: DayOrInstant.optional().describe('Due at or before (a day: up to its end in UTC)'),
  linked_object: z.enum(LINKABLE_OBJECTS).optional(),
  linked_id: z.uuid().optional().describe('With linked_object: tasks about that record'),
  reminder_due: z
    .enum(['true', 'false'])
    .optional()
    .describe('true: only open tasks whose reminder time has passed; false: only the others'),
  filter: ListQueryParams.shape.filter.describe(
    'A FilterNode as JSON over the task fields of GET /objects/task, as on every list (contacts, companies...)',
  ),
  sort: ListQueryParams.shape.sort.describe(
    'As on every list: comma-separated `field:asc`, `field:desc` or `-field`; default soonest due first, undated last',
  ),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(500).optional().describe('next_cursor of the previous page'),
});
export type TaskListQueryInput = z.infer<typeof TaskListQuery>;

export const TaskPage = z
  .object({ data: z.array(Task), next_cursor: z.string().nullable() })
  .meta({ id: 'TaskPage' });

export const TaskGroupsQuery = z.strictObject({
  assignee: Assignee,
  tz: z.string().max(64).default('UTC').describe('IANA time zone the days are counted in'),
});

export const TASK_GROUPS = [
  'due_now',
  'overdue',
  'today',
  'tomorrow',
  'this_week',
  'later',
  'no_date',
] as const;
export type TaskGroup = (typeof TASK_GROUPS)[number];

export const TaskGroups = z
  .object({
    tz: z.string(),
    due_now: z
      .array(Task)
      .describe('Reminder time passed (reminder_due): also listed in the group of their due date'),
    overdue: z.array(Task),
    today: z.array(Task),
    tomorrow: z.array(Task),
    this_week: z.array(Task).describe('After tomorrow, until the end of the ISO week (Monday to Sunday)'),
    later: z.array(Task),
    no_date: z.array(Task),
  })
  .meta({ id: 'TaskGroups' });
export type TaskGroupsView = z.infer<typeof TaskGroups>;
