import { sql } from 'drizzle-orm';
import {
  bigint,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { idColumn, isoTimestamp as ts } from '../../db/columns.js';
import { organizations } from '../../platform/auth/auth.schema.js';

/** What happens to a row that matches an existing record (or an earlier row of the file). */
export const DEDUP_MODES = ['skip', 'update_empty', 'overwrite'] as const;
export type DedupMode = (typeof DEDUP_MODES)[number];

export const IMPORT_STATUSES = [
  'draft',
  'queued',
  'running',
  'completed',
  'failed',
  'cancelled',
  'reverting',
  'reverted',
] as const;
export type ImportStatus = (typeof IMPORT_STATUSES)[number];

export const ROW_OUTCOMES = ['created', 'updated', 'skipped', 'failed'] as const;
export type RowOutcome = (typeof ROW_OUTCOMES)[number];

/** One column of the file and the field it fills (`null`: ignored). */
export type ColumnMapping = { index: number; header: string; target: string | null };

/** Import options (see `ImportOptions` in import.dto.ts for their meaning). */
export type ImportOptionValues = {
  pipeline?: string | undefined;
  create_missing_stages?: boolean | undefined;
  stage_order?: string[] | undefined;
  invalid_cells?: 'skip_cell' | 'fail_row' | undefined;
  tags?: string[] | undefined;
  phone_region?: string | undefined;
  match_companies_by_domain?: boolean | undefined;
  corrections?: Record<string, Record<string, string>> | undefined;
  match_field?: string | undefined;
};

/** One problem with one cell (or the row as a whole when `column` is null). */
export type CellProblem = {
  column: string | null;
  code: string;
  message: string;
  value?: string | undefined;
  /** What the value is probably a misspelling of (an option, a value other rows use). */
  suggestion?: string | undefined;
  /** Only in the `matched` note (`MATCHED`): the key the row matched a record by. */
  by?: MatchKey | undefined;
};

/** What a row matched an existing record (or an earlier row) by. */
/** `field`: a custom object's match field (the `match_field` option). */
export const MATCH_KEYS = ['external_id', 'email', 'phone', 'domain', 'name', 'field'] as const;
export type MatchKey = (typeof MATCH_KEYS)[number];

/**
 * The code of the note a matched row keeps among its problems (the jsonb column holds it): not a
 * problem, so it is left out of the problems shown, counted and reported, and read as `matched_by`.
 */
export const MATCHED = 'matched';

/** A row's problems without its `matched` note. */
export const realProblems = (problems: CellProblem[]): CellProblem[] =>
  problems.some((p) => p.code === MATCHED) ? problems.filter((p) => p.code !== MATCHED) : problems;

/**
 * An import of one CSV file into one object: the uploaded file, its mapping and options, and its
 * progress. `rows_done` is the checkpoint: rows up to it are committed together with their
 * outcomes, so a resumed run starts after it and never creates a record twice.
 */
export const imports = pgTable(
  'imports',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    object: text('object').notNull(),
    status: text('status', { enum: IMPORT_STATUSES }).notNull().default('draft'),
    fileName: text('file_name').notNull(),
    /** Absolute path of the uploaded file under the data directory. */
    filePath: text('file_path').notNull(),
    fileSize: bigint('file_size', { mode: 'number' }).notNull(),
    delimiter: text('delimiter').notNull(),
    headers: jsonb('headers').$type<string[]>().notNull(),
    mapping: jsonb('mapping').$type<ColumnMapping[]>().notNull(),
    dedup: text('dedup', { enum: DEDUP_MODES }).notNull().default('skip'),
    options: jsonb('options').$type<ImportOptionValues>().notNull().default(sql`'{}'::jsonb`),
    /** Data rows in the file (counted at upload). */
    totalRows: integer('total_rows').notNull().default(0),
    rowsDone: integer('rows_done').notNull().default(0),
    created: integer('created').notNull().default(0),
    updated: integer('updated').notNull().default(0),
    skipped: integer('skipped').notNull().default(0),
    failed: integer('failed').notNull().default(0),
    /** Data rows whose field count differs from the header's. */
    raggedRows: integer('ragged_rows').notNull().default(0),
    /** Rows with at least one cell problem (imported or not). */
    withProblems: integer('with_problems').notNull().default(0),
    /** Empty cells per mapped column header: reported, not hidden (e.g. deals without an account). */
    emptyCells: jsonb('empty_cells').$type<Record<string, number>>().notNull().default(sql`'{}'::jsonb`),
    error: text('error'),
    createdBy: uuid('created_by'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    startedAt: ts('started_at'),
    finishedAt: ts('finished_at'),
    revertedAt: ts('reverted_at'),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    index('imports_created_idx').on(t.orgId, t.createdAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
  ],
);

/**
 * What happened to each data row (1-based, the header is row 0): its outcome, the record it
 * created or updated, its problems, the original cells (kept for failed rows and rows with
 * problems: the error report), and for updated rows the values it overwrote (for revert).
 */
export const importRows = pgTable(
  'import_rows',
  {
    orgId: uuid('org_id').notNull(),
    importId: uuid('import_id').notNull(),
    rowNumber: integer('row_number').notNull(),
    outcome: text('outcome', { enum: ROW_OUTCOMES }).notNull(),
    recordId: uuid('record_id'),
    problems: jsonb('problems').$type<CellProblem[]>().notNull().default(sql`'[]'::jsonb`),
    cells: jsonb('cells').$type<string[]>(),
    before: jsonb('before').$type<Record<string, unknown>>(),
    revertedAt: ts('reverted_at'),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.importId, t.rowNumber] }),
    index('import_rows_outcome_idx').on(t.orgId, t.importId, t.outcome, t.rowNumber),
    foreignKey({ columns: [t.orgId, t.importId], foreignColumns: [imports.orgId, imports.id] }).onDelete(
      'cascade',
    ),
  ],
);

/** A saved column mapping, reusable for the next file of the same shape. */
export const importMappings = pgTable(
  'import_mappings',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    name: text('name').notNull(),
    object: text('object').notNull(),
    /** Header (case-insensitive) -> target field. */
    columns: jsonb('columns').$type<Record<string, string | null>>().notNull(),
    dedup: text('dedup', { enum: DEDUP_MODES }).notNull().default('skip'),
    options: jsonb('options').$type<ImportOptionValues>().notNull().default(sql`'{}'::jsonb`),
    createdBy: uuid('created_by'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex('import_mappings_name_key').on(t.orgId, t.object, sql`lower(${t.name})`),
  ],
);

/**
 * A record's identifier in the system it came from (a CSV's `opportunity_id`, a Salesforce Id):
 * relations between files resolve through it, within one import and across imports.
 */
export const externalIds = pgTable(
  'external_ids',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    object: text('object').notNull(),
    externalId: text('external_id').notNull(),
    recordId: uuid('record_id').notNull(),
    importId: uuid('import_id'),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.object, t.externalId] }),
    index('external_ids_record_idx').on(t.orgId, t.object, t.recordId),
  ],
);
