import { z } from 'zod';
import {
  type CatalogueOf,
  defineEvent,
  RecordName,
  registerEvents,
} from '../../platform/events/event-catalogue.js';

const HandoffData = {
  name: RecordName,
  handoff_id: z.uuid(),
  field: z.string().describe('The status field’s key'),
  status: z.string().describe('The owned status'),
  status_label: z.string(),
  role: z.string().describe('The owning role’s key: the queue'),
  role_label: z.string(),
};

/**
 * Hand-offs between roles (issue 21): a record entering a status another role owns waits in that
 * role's queue until one of its members accepts it (and becomes its owner) or denies it with a
 * reason (and it returns to a chosen status). `subject` is the record.
 */
export const handoffEvents = registerEvents({
  'record.handoff_requested': defineEvent({
    summary:
      'A record entered a status another role owns and waits in that role’s queue (`assigned_to`: the member the queue’s assignment rule chose, or null for anyone of the role)',
    data: z.object({ ...HandoffData, assigned_to: z.uuid().nullable() }),
    describe: ({ actor, what, data }) =>
      `${actor} handed ${what} to ${data.role_label} (${data.status_label}); it waits in their queue`,
  }),
  'record.handoff_accepted': defineEvent({
    summary: 'A member of the owning role accepted a waiting hand-off and became the record’s owner',
    data: z.object({
      ...HandoffData,
      previous_owner: z.uuid().nullable(),
      requested_by: z.uuid().nullable(),
    }),
    describe: ({ actor, what, data }) =>
      `${actor} accepted ${what} for ${data.role_label} (${data.status_label}) and now owns it`,
  }),
  'record.handoff_denied': defineEvent({
    summary:
      'A member of the owning role denied a waiting hand-off with a reason; the record went back to `returned_to`',
    data: z.object({
      ...HandoffData,
      reason: z.string(),
      returned_to: z.string(),
      returned_to_label: z.string(),
      previous_owner: z.uuid().nullable(),
      requested_by: z.uuid().nullable(),
    }),
    describe: ({ actor, what, data }) =>
      `${actor} denied ${what} for ${data.role_label} and sent it back to ${data.returned_to_label} (${data.reason})`,
  }),
});

declare module '../../platform/events/event-catalogue.js' {
  interface EventCatalogue extends CatalogueOf<typeof handoffEvents> {}
}
