import { z } from 'zod';
import {
  type CatalogueOf,
  defineEvent,
  RecordName,
  RecordRef,
  registerEvents,
} from '../../platform/events/event-catalogue.js';
import { NamedData, standardRecordEvents } from '../../platform/events/record-events.js';

const standard = standardRecordEvents('task');

/** A due task: its title, assignee and the due time the job was armed for. */
const DueData = z.object({ name: RecordName, assignee_id: z.string().nullable(), due_at: z.string() });

/** The task events (the `task` object's catalogue); on the linked record's timeline too. */
export const taskEvents = registerEvents({
  'task.created': defineEvent({
    summary: 'A task was created (by hand, the API or an import)',
    data: z.object({
      name: RecordName,
      assignee_id: z.string().nullable().optional(),
      due_at: z.string().nullable().optional(),
    }),
    describe: ({ actor, what }) => `${actor} created ${what}`,
  }),
  'task.updated': standard.updated,
  'task.completed': defineEvent({
    summary: 'A task was marked done',
    data: NamedData,
    describe: ({ actor, what }) => `${actor} completed ${what}`,
  }),
  'task.reopened': defineEvent({
    summary: 'A done task was reopened',
    data: NamedData,
    describe: ({ actor, what }) => `${actor} reopened ${what}`,
  }),
  'task.archived': standard.archived,
  'task.restored': standard.restored,
  'task.deleted': standard.deleted,
  'task.relinked': defineEvent({
    summary: 'A task moved to another record (a merge, or its undo)',
    data: z.object({ name: RecordName, from: RecordRef, to: RecordRef }),
    describe: ({ actor, what, data }) => `${actor} moved ${what} to another ${data.to.object}`,
  }),
  'task.reminder_due': defineEvent({
    summary: 'A task’s reminder time came (its assignee is notified)',
    data: z.object({ name: RecordName, assignee_id: z.string().nullable() }),
    describe: ({ what }) => `Reminder: ${what} is due`,
  }),
  'task.due_today': defineEvent({
    summary: 'An open task’s due day began (UTC); its assignee is notified',
    data: DueData,
    describe: ({ what }) => `${what} is due today`,
  }),
  'task.overdue': defineEvent({
    summary: 'An open task’s due time passed (an all-day task: its day ended, UTC); its assignee is notified',
    data: DueData,
    describe: ({ what }) => `${what} is overdue`,
  }),
});

declare module '../../platform/events/event-catalogue.js' {
  interface EventCatalogue extends CatalogueOf<typeof taskEvents> {}
}
