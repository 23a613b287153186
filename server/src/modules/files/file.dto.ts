import { z } from 'zod';

/** An object key of the registry: a standard object (`contact`) or a custom one (`property`). */
export const ObjectKey = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,62}$/, 'an object key: lower-case letters, digits and _')
  .describe('The object of the record (`contact`, `company`, `opportunity`, or a custom object key)');

export const FileRecordQuery = z.strictObject({
  object: ObjectKey,
  id: z.uuid().describe("The record's id"),
});

export const FileListQuery = FileRecordQuery.extend({
  limit: z.coerce.number().int().min(1).max(200).default(100),
});

export const FileView = z
  .object({
    id: z.uuid(),
    record: z.object({ object: z.string(), id: z.uuid() }),
    name: z.string(),
    size: z.number().int().describe('Bytes as uploaded'),
    sha256: z.string().describe('SHA-256 of the upload, hex'),
    content_type: z.string().nullable().describe('The media type a download carries (once stored)'),
    detected_type: z.string().nullable().describe('The type its content shows (magic bytes)'),
    status: z.enum(['quarantined', 'stored', 'rejected', 'infected']),
    rejection: z
      .object({ code: z.string(), reason: z.string() })
      .nullable()
      .describe('Why it was refused (rejected or infected)'),
    scan: z.enum(['clean', 'infected', 'not_configured']).nullable().describe('What the virus scan said'),
    uploaded_by: z.uuid().nullable(),
    created_at: z.string(),
  })
  .meta({ id: 'File' });
export type FileViewValue = z.infer<typeof FileView>;

export const FilePage = z.object({ data: z.array(FileView) }).meta({ id: 'FilePage' });

export const FileLink = z
  .object({
    url: z.string().describe('GET it (no session needed) to download the file; works until `expires_at`'),
    expires_at: z.string(),
  })
  .meta({ id: 'FileLink' });
