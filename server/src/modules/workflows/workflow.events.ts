import { z } from 'zod';
import {
  type CatalogueOf,
  defineEvent,
  RecordName,
  registerEvents,
} from '../../platform/events/event-catalogue.js';

/** Which workflow, run and step an event of a run comes from. */
const RunData = {
  /** The record's name when it happened. */
  name: RecordName.optional(),
  workflow_id: z.string(),
  workflow_name: z.string(),
  run_id: z.string(),
};
const StepData = { ...RunData, step_id: z.string() };
const quoted = (name: string) => `workflow “${name}”`;
const Definition = z.object({ name: z.string(), version: z.number().int() });

/**
 * The workflow events (issue 24). A workflow's own changes have the workflow as subject; a run's
 * events have the record it runs on as subject, so they appear on the record's timeline. The
 * actions that change a record (tags, fields, owner, stage, a task) record that record's own
 * events with the workflow as actor; these name what has no event of its own.
 */
export const workflowEvents = registerEvents({
  'workflow.created': defineEvent({
    summary: 'A workflow was created (as a draft)',
    data: Definition,
    describe: ({ actor, data }) => `${actor} created the ${quoted(data.name)}`,
  }),
  'workflow.updated': defineEvent({
    summary: 'A workflow’s definition or name was saved (`version` is the version it is now at)',
    data: Definition,
    describe: ({ actor, data }) => `${actor} edited the ${quoted(data.name)} (version ${data.version})`,
  }),
  'workflow.activated': defineEvent({
    summary: 'A workflow was activated: its triggers start runs from now on',
    data: Definition,
    describe: ({ actor, data }) => `${actor} activated the ${quoted(data.name)} (version ${data.version})`,
  }),
  'workflow.paused': defineEvent({
    summary: 'A workflow was paused: its triggers start no run; open runs go on',
    data: Definition,
    describe: ({ actor, data }) => `${actor} paused the ${quoted(data.name)}`,
  }),
  'workflow.run_started': defineEvent({
    summary: 'A workflow started a run on the record (its trigger matched, or a member started it)',
    data: z.object({ ...RunData, trigger: z.string() }),
    describe: ({ data, what }) => `The ${quoted(data.workflow_name)} started on ${what}`,
  }),
  'workflow.run_finished': defineEvent({
    summary: 'A workflow run on the record ended: `status` is completed, failed or cancelled',
    data: z.object({
      ...RunData,
      status: z.enum(['completed', 'failed', 'cancelled']),
      error: z.string().nullable(),
    }),
    describe: ({ data, what }) =>
      data.status === 'completed'
        ? `The ${quoted(data.workflow_name)} finished on ${what}`
        : data.status === 'failed'
          ? `The ${quoted(data.workflow_name)} failed on ${what}${data.error ? `: ${data.error}` : ''}`
          : `The ${quoted(data.workflow_name)} was cancelled on ${what}`,
  }),
  'workflow.email_sent': defineEvent({
    summary: 'A workflow step e-mailed the record (through the system mail layer)',
    data: z.object({ ...StepData, to: z.string(), subject: z.string() }),
    describe: ({ data, what }) =>
      `The ${quoted(data.workflow_name)} e-mailed “${data.subject}” to ${what} (${data.to})`,
  }),
  'workflow.member_notified': defineEvent({
    summary: 'A workflow step notified a member about the record (an in-app notification)',
    data: z.object({ ...StepData, user_id: z.string(), message: z.string() }),
    describe: ({ data, what }) =>
      `The ${quoted(data.workflow_name)} notified a member about ${what}: ${data.message}`,
  }),
});

declare module '../../platform/events/event-catalogue.js' {
  interface EventCatalogue extends CatalogueOf<typeof workflowEvents> {}
}
