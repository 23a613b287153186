import { boolean, index, integer, jsonb, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { idColumn, isoTimestamp as ts } from '../../db/columns.js';
import { organizations } from '../../platform/auth/auth.schema.js';

/** Where reading one GoHighLevel object stands: its paging cursor, and whether it is read whole. */
export type GhlCursor = {
  done: boolean;
  startAfterId?: string | undefined;
  startAfter?: number | undefined;
  /** Notes and tasks are read per contact: the last contact (GoHighLevel id) whose were read. */
  afterContact?: string | undefined;
  pages: number;
  /** Records read so far. */
  read: number;
};

/**
 * A migration from GoHighLevel (issue 33), run by a background job: the location, the API token
 * sealed at rest (AES-256-GCM under the server's secret, `platform/crypto/sealed.ts`; write-only,
 * only its last 4 characters shown), its status, per object the paging cursor reached (so a
 * crashed, killed, quota-stopped or token-refused run resumes where it stopped), the error that
 * stopped it, the report and the imports it created.
 */
export const ghlMigrations = pgTable(
  'ghl_migrations',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    locationId: text('location_id').notNull(),
    baseUrl: text('base_url').notNull(),
    tokenSealed: text('token_sealed').notNull(),
    tokenLast4: text('token_last4').notNull(),
    dryRun: boolean('dry_run').notNull(),
    notesAndTasks: boolean('notes_and_tasks').notNull().default(true),
    /** queued, reading, importing, stopped (an error: resume), completed, failed. */
    status: text('status').notNull(),
    cursors: jsonb('cursors').$type<Record<string, GhlCursor>>().notNull().default({}),
    requests: integer('requests').notNull().default(0),
    retried429: integer('retried_429').notNull().default(0),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    report: jsonb('report'),
    importIds: jsonb('import_ids').$type<Record<string, string>>().notNull().default({}),
    createdBy: uuid('created_by'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    finishedAt: ts('finished_at'),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    index('ghl_migrations_created_idx').on(t.orgId, t.createdAt),
  ],
);

/**
 * The records a GoHighLevel migration has read so far, as GoHighLevel answered them: a page is
 * stored with its cursor in one transaction, so a resumed run neither reads it again nor loses it.
 */
export const ghlMigrationRecords = pgTable(
  'ghl_migration_records',
  {
    orgId: uuid('org_id').notNull(),
    migrationId: uuid('migration_id').notNull(),
    object: text('object').notNull(),
    sourceId: text('source_id').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.migrationId, t.object, t.sourceId] })],
);
