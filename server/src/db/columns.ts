import { timestamp, uuid } from 'drizzle-orm/pg-core';
import { newId } from './ids.js';

/** A timestamptz column read and written as an ISO string (the API's shape). */
export const isoTimestamp = (name: string) => timestamp(name, { withTimezone: true, mode: 'string' });

/** Who created and last changed a record and when, and when it was archived (soft delete). */
export const auditColumns = () => ({
  createdBy: uuid('created_by'),
  updatedBy: uuid('updated_by'),
  createdAt: isoTimestamp('created_at').notNull().defaultNow(),
  updatedAt: isoTimestamp('updated_at').notNull().defaultNow(),
  archivedAt: isoTimestamp('archived_at'),
});

/** The audit columns of a row as the API shows them. */
export const auditView = (r: {
  createdAt: string;
  updatedAt: string;
  createdBy: string | null;
  updatedBy: string | null;
  archivedAt: string | null;
}) => ({
  created_at: r.createdAt,
  updated_at: r.updatedAt,
  created_by: r.createdBy,
  updated_by: r.updatedBy,
  archived_at: r.archivedAt,
});

/**
 * A table's `id`: a time-ordered UUIDv7 from `newId` when the application inserts the row (see
 * db/ids.ts for why); `gen_random_uuid()` stays the database's default for SQL that names no id.
 */
export const idColumn = () => uuid('id').notNull().defaultRandom().$defaultFn(newId);
