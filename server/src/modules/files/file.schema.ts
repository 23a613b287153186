import { bigint, index, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { idColumn, isoTimestamp } from '../../db/columns.js';
import { organizations } from '../../platform/auth/auth.schema.js';

/**
 * An attachment on a record of any object (standard or custom), and where it stands in the files
 * pipeline (`platform/files/`): `quarantined` while it is checked, then `stored` (in the safe store
 * under `storage_key`), `rejected` or `infected` (its bytes removed, the reason kept).
 */
export const files = pgTable(
  'files',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    recordObject: text('record_object').notNull(),
    recordId: uuid('record_id').notNull(),
    /** The name it was uploaded with (path parts dropped). */
    name: text('name').notNull(),
    sizeBytes: bigint('size_bytes', { mode: 'number' }).notNull(),
    sha256: text('sha256').notNull(),
    /** The media type the client declared (never trusted). */
    declaredType: text('declared_type'),
    /** The media type its magic bytes show (file-type), or null when none. */
    detectedType: text('detected_type'),
    /** The media type it is served as (from the allowlist), once stored. */
    contentType: text('content_type'),
    status: text('status').$type<'quarantined' | 'stored' | 'rejected' | 'infected'>().notNull(),
    rejectionCode: text('rejection_code'),
    rejectionReason: text('rejection_reason'),
    /** `clean`, `infected` or `not_configured` (no clamd); null before the scan. */
    scan: text('scan'),
    /** Where the safe store keeps it (`local` or `s3`) and under which key. */
    storage: text('storage'),
    storageKey: text('storage_key'),
    uploadedBy: uuid('uploaded_by'),
    createdAt: isoTimestamp('created_at').notNull().defaultNow(),
    updatedAt: isoTimestamp('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    index('files_record_idx').on(t.orgId, t.recordObject, t.recordId, t.createdAt.desc()),
  ],
);
