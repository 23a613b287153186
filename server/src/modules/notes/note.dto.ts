import { z } from 'zod';
import { LINKABLE_OBJECTS, RecordRef } from '../tasks/linked-record.service.js';
import { CALL_OUTCOMES, NOTE_KINDS } from './note.schema.js';

const Body = z
  .string()
  .max(100_000)
  .describe('HTML from the rich-text editor; sanitized (p, br, strong, em, ul, ol, li, a, blockquote, code)');

export const NoteCreate = z
  .strictObject({
    object: z.enum(LINKABLE_OBJECTS).describe('The kind of record the note is on'),
    id: z.uuid().describe("The record's id"),
    body: Body.optional().describe(
      'The text; required for a note, optional for a logged call, meeting or e-mail',
    ),
    kind: z
      .enum(NOTE_KINDS)
      .optional()
      .describe(
        '`note` (default), or an activity logged by hand: `call`, `meeting`, `email` (sent outside Cairn)',
      ),
    occurred_at: z.iso
      .datetime({ offset: true })
      .optional()
      .describe('When it happened (ISO 8601); default: now'),
    outcome: z.enum(CALL_OUTCOMES).optional().describe('How a call went (calls only)'),
    duration_minutes: z
      .number()
      .int()
      .min(0)
      .max(1440)
      .optional()
      .describe('How long a call or a meeting lasted, in minutes'),
    related: z
      .array(RecordRef)
      .max(10)
      .optional()
      .describe("Other records it concerns (the contact's company, a deal): their timelines show it too"),
  })
  .meta({ id: 'NoteCreate' });
export const NoteUpdate = z
  .strictObject({ body: Body.optional().describe('The new body; absent: the note stays as it is') })
  .meta({ id: 'NoteUpdate' });
export type NoteCreateInput = z.infer<typeof NoteCreate>;

export const Note = z
  .object({
    id: z.uuid(),
    record: RecordRef,
    body_html: z.string().describe('The sanitized HTML'),
    body_text: z.string().describe('Its plain text'),
    author_id: z.uuid().nullable(),
    kind: z.enum(NOTE_KINDS),
    occurred_at: z.string().describe('When it happened: for a note, when it was written'),
    outcome: z.enum(CALL_OUTCOMES).nullable(),
    duration_minutes: z.number().int().nullable(),
    related: z.array(RecordRef),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'Note' });
export type NoteView = z.infer<typeof Note>;

export const NoteListQuery = z.strictObject({
  object: z.enum(LINKABLE_OBJECTS),
  id: z.uuid(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(500).optional().describe('next_cursor of the previous page'),
});
export type NoteListQueryInput = z.infer<typeof NoteListQuery>;

export const NotePage = z
  .object({ data: z.array(Note), next_cursor: z.string().nullable() })
  .meta({ id: 'NotePage' });
