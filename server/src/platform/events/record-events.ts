import { z } from 'zod';
import {
  catalogued,
  defineEvent,
  eventDefinition,
  FieldChangesSchema,
  RecordName,
} from './event-catalogue.js';
import type { NewEvent } from './events.js';

/** The data of every `<object>.updated` (`standardRecordEvents`). */
export type RecordUpdatedData = z.input<ReturnType<typeof standardRecordEvents>['updated']['data']>;

/** `{name}`: the data of the events that only name their record. */
export const NamedData = z.object({ name: RecordName });

/**
 * The events every record object has, with the same data and words for each object; an object's
 * `*.events.ts` registers them under its own names (`contact.updated`...), next to its own.
 * @param label the object's name in a sentence: `contact`
 */
export function standardRecordEvents(label: string) {
  return {
    updated: defineEvent({
      summary: `Fields of a ${label} changed: \`changes\` holds each field's value before and after`,
      data: z.object({
        name: RecordName.optional(),
        changes: FieldChangesSchema,
        /** Set by a bulk action. */
        bulk: z.boolean().optional(),
        /** Why, when the change was a side effect: `tag_renamed`, `tag_merged`. */
        reason: z.string().optional(),
      }),
      describe: ({ actor, what, data, fields }) =>
        `${actor} changed the ${fields(Object.keys(data.changes))} of ${what}`,
    }),
    archived: defineEvent({
      summary: `A ${label} was archived (soft-deleted)`,
      data: NamedData,
      describe: ({ actor, what }) => `${actor} archived ${what}`,
    }),
    restored: defineEvent({
      summary: `An archived ${label} was restored`,
      data: NamedData,
      describe: ({ actor, what }) => `${actor} restored ${what}`,
    }),
    deleted: defineEvent({
      summary: `A ${label} was deleted for good`,
      data: NamedData,
      describe: ({ actor, what }) => `${actor} deleted ${what} for good`,
    }),
  };
}

/** The events of a record object that duplicates can be merged into (`contact.merged`...). */
export function mergeEvents(label: string) {
  return {
    merged: defineEvent({
      summary: `Duplicate ${label}s were merged into this one (the survivor); the merged ones are archived`,
      data: z.object({
        name: RecordName,
        merge_id: z.string(),
        merged: z.array(z.object({ id: z.string(), name: RecordName })),
        /** How many related records of each kind moved onto the survivor. */
        moved: z.record(z.string(), z.number()),
      }),
      describe: ({ actor, what, data }) =>
        `${actor} merged ${data.merged.map((m) => m.name ?? m.id).join(', ')} into ${what}`,
    }),
    merge_undone: defineEvent({
      summary: `A merge into this ${label} was undone: the merged records are restored`,
      data: z.object({ merge_id: z.string(), restored_ids: z.array(z.string()) }),
      describe: ({ actor, what, data }) =>
        `${actor} undid a merge into ${what} (${data.restored_ids.length} restored)`,
    }),
  };
}

/**
 * The `<object>.updated` event of a record whose object is known only at run time (the record
 * engine's bulk actions, a tag rename), with the data every object's `updated` has.
 * @throws when the object has no `updated` event in the catalogue
 */
export function recordUpdatedEvent(object: string, id: string, data: RecordUpdatedData): NewEvent {
  // The one place the compiler cannot see the type: every `<object>.updated` has this data.
  // A custom object's records share `record.updated` (the object is the subject's, issue 21).
  const own = `${object}.updated`;
  const type = catalogued(eventDefinition(own) ? own : 'record.updated');
  return { type, subject: { object, id }, data } as NewEvent;
}
