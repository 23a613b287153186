import { z } from 'zod';
import { LINKABLE_OBJECTS, RecordRef } from '../tasks/linked-record.service.js';

const Body = z
  .string()
  .max(100_000)
  .describe('HTML from the rich-text editor; sanitized (p, br, strong, em, ul, ol, li, a, blockquote, code)');

export const NoteCreate = z
  .strictObject({
    object: z.enum(LINKABLE_OBJECTS).describe('The kind of record the note is on'),
    id: z.uuid().describe("The record's id"),
    body: Body,
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
