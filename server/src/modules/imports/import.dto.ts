import { z } from 'zod';
import { QueryBoolean } from '../../platform/query/query.schema.js';
import { DEFAULT_PHONE_REGION, isPhoneRegion } from '../../platform/registry/phone.js';
import { DEDUP_MODES, IMPORT_STATUSES, MATCH_KEYS, ROW_OUTCOMES } from './import.schema.js';
import { IMPORT_OBJECTS } from './import-targets.js';

export const ImportObjectParam = z
  .string()
  .regex(/^[a-z][a-z0-9_]{1,39}$/)
  .describe(`The object the rows become: ${IMPORT_OBJECTS.join(', ')}, or a custom object's key`);

export const ImportOptions = z
  .strictObject({
    pipeline: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .optional()
      .describe(
        'Opportunities: the pipeline (name or id) when no column names one; default: the default pipeline',
      ),
    create_missing_stages: z
      .boolean()
      .optional()
      .describe(
        'Opportunities: create a pipeline or stage named in the file that does not exist (else the row fails)',
      ),
    corrections: z
      .record(z.string().max(200), z.record(z.string().max(500), z.string().max(500)))
      .optional()
      .describe(
        'Values to read otherwise, by column header: {"sector": {"technolgy": "technology"}} (a probable misspelling the preview found)',
      ),
    match_companies_by_domain: z
      .boolean()
      .optional()
      .describe(
        'Companies: a row matches a company of the same domain even when it names another company (listed as conflicting_match); default: only a company of the same name',
      ),
    stage_order: z
      .array(z.string().trim().min(1).max(100))
      .max(50)
      .optional()
      .describe(
        'Opportunities with create_missing_stages: the stages in the order they are created in (a stage not listed goes before the won and lost ones); default: the order they first appear in, won and lost last',
      ),
    invalid_cells: z
      .enum(['skip_cell', 'fail_row'])
      .optional()
      .describe(
        'A cell with a problem: leave that field empty and import the row (default), or fail the row',
      ),
    tags: z.array(z.string().trim().min(1).max(64)).max(20).optional().describe('Tags added to every record'),
    phone_region: z
      .string()
      .trim()
      .toUpperCase()
      .refine(
        (code): boolean => isPhoneRegion(code),
        'An ISO 3166-1 alpha-2 country code with a dialling plan, such as GB',
      )
      .optional()
      .describe(
        `The country of phone numbers written without a +country code (07700 900123 with GB is +447700900123); default ${DEFAULT_PHONE_REGION}`,
      ),
    match_field: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,63}$/)
      .optional()
      .describe(
        'Custom objects: the key of the field whose value matches a row to an existing record (or an earlier row), compared case-insensitively; dedup then skips, fills or overwrites it. Default: none (every row creates a record)',
      ),
  })
  .meta({ id: 'ImportOptions' });

const ColumnTarget = z
  .string()
  .max(120)
  .nullable()
  .describe(
    'A target key from `targets` (e.g. `email`, `company`, `custom.budget`), or null to ignore the column',
  );

export const ColumnMappingView = z.object({
  index: z.number().int(),
  header: z.string(),
  target: ColumnTarget,
});

export const ImportTargetView = z
  .object({
    key: z.string(),
    label: z.string(),
    kind: z
      .string()
      .describe('How cells are read: text, email, phone, number, date, select, tags, reference...'),
    multiple: z.boolean().describe('Several columns may fill it'),
    required: z.boolean(),
    max_length: z.number().int().nullable(),
    options: z.array(z.object({ value: z.string(), label: z.string() })).nullable(),
    reference: z.object({ object: z.string(), by: z.string() }).nullable(),
    description: z.string().nullable(),
  })
  .meta({ id: 'ImportTarget' });

export const CellProblemView = z
  .object({
    column: z.string().nullable().describe('The file column (header), or null for the row as a whole'),
    code: z
      .string()
      .describe(
        'invalid_email, invalid_phone, spreadsheet_mangled, unknown_option, too_long, invalid_number, invalid_amount, ' +
          'invalid_date, required, unknown_owner, unknown_member, unknown_company, unknown_contact, unknown_stage, unknown_pipeline, unknown_parent, ' +
          'duplicate_email, ...',
      ),
    message: z.string(),
    value: z.string().optional().describe('The cell as it was in the file'),
    suggestion: z
      .string()
      .optional()
      .describe('What the value is probably a misspelling of (an option, or a value other rows use)'),
  })
  .meta({ id: 'ImportCellProblem' });

export const Import = z
  .object({
    id: z.uuid(),
    object: z.string(),
    status: z.enum(IMPORT_STATUSES),
    file_name: z.string(),
    file_size: z.number().int().describe('Bytes'),
    delimiter: z.string().describe('Detected: `,` `;` tab or `|`'),
    headers: z.array(z.string()),
    mapping: z.array(ColumnMappingView),
    dedup: z.enum(DEDUP_MODES),
    options: ImportOptions,
    progress: z.object({
      total_rows: z.number().int().describe('Data rows in the file (header excluded)'),
      rows_done: z.number().int().describe('Rows processed and committed (the checkpoint)'),
      created: z.number().int(),
      updated: z.number().int(),
      skipped: z.number().int(),
      failed: z.number().int(),
      with_problems: z.number().int().describe('Rows with at least one cell problem, imported or not'),
      rows_per_second: z.number().nullable().describe('Since the import started'),
      eta_seconds: z.number().nullable().describe('Estimated seconds left while it runs'),
      percent: z.number().describe('0 to 100'),
    }),
    empty_cells: z
      .record(z.string(), z.number().int())
      .describe('Empty cells per mapped column: e.g. deals without an account'),
    ragged_rows: z
      .number()
      .int()
      .describe('Rows whose field count differs from the header (read as far as they go)'),
    error: z.string().nullable(),
    created_by: z.uuid().nullable(),
    created_at: z.string(),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
    reverted_at: z.string().nullable(),
  })
  .meta({ id: 'Import' });
export type ImportView = z.infer<typeof Import>;

export const ImportDetail = Import.extend({
  targets: z.array(ImportTargetView).describe('Every field a column can be mapped to'),
  sample_rows: z.array(z.array(z.string())).describe('The first rows of the file, as parsed'),
}).meta({ id: 'ImportDetail' });

export const ImportPage = z
  .object({ data: z.array(Import), next_cursor: z.string().nullable() })
  .meta({ id: 'ImportPage' });

export const ImportListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});

export const ImportCreateQuery = z.strictObject({
  object: ImportObjectParam,
  mapping_id: z.uuid().optional().describe('A saved mapping to apply'),
});

export const ImportUpdate = z
  .strictObject({
    mapping: z
      .array(z.strictObject({ index: z.number().int().min(0), target: ColumnTarget }))
      .max(500)
      .optional()
      .describe('Columns to (re)map, by index; columns not listed keep their target'),
    mapping_id: z.uuid().optional().describe('Apply a saved mapping (by header name) first'),
    dedup: z
      .enum(DEDUP_MODES)
      .optional()
      .describe("A row matching a record: skip it, fill the record's empty fields, or overwrite them"),
    options: ImportOptions.optional(),
  })
  .meta({ id: 'ImportUpdate' });
export type ImportUpdateInput = z.infer<typeof ImportUpdate>;

const ProblemCode = z.string().regex(/^[a-z_]{1,50}$/, 'A problem code, such as unknown_owner');

export const PreviewQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(200).default(20) });
export const ImportPreview = z
  .object({
    rows: z.array(
      z.object({
        row_number: z.number().int().describe('1-based data row (the header is row 0)'),
        values: z.record(z.string(), z.unknown()).describe('By target key, as they would be stored'),
        problems: z.array(CellProblemView),
      }),
    ),
    problem_counts: z.record(z.string(), z.number().int()).describe('Problems in these rows, by code'),
    check: z
      .object({
        rows_checked: z.number().int().describe('Rows read and checked: all of them up to 100,000'),
        total_rows: z.number().int(),
        sampled: z
          .boolean()
          .describe(
            'The file has more rows than were checked: the counts are those of its first rows_checked',
          ),
        rows_failing: z.number().int().describe('Rows the run will not import'),
        rows_losing_values: z
          .number()
          .int()
          .describe(
            'Rows the run will import without a value of theirs (a cell or a reference it cannot keep)',
          ),
        rows_with_problems: z.number().int(),
        problems: z.array(
          z.object({
            code: z.string(),
            column: z.string().nullable(),
            effect: z
              .enum(['fails_row', 'loses_value'])
              .describe('fails_row: rows with it are not imported; loses_value: imported without that value'),
            rows: z.number().int().describe('Rows the run will report it on'),
            values: z
              .array(
                z.object({
                  value: z.string(),
                  rows: z.number().int(),
                  suggestion: z.string().optional().describe('What it is probably a misspelling of'),
                }),
              )
              .describe('Its commonest values (up to 5), with their rows'),
          }),
        ),
        misspellings: z
          .array(
            z.object({
              column: z.string(),
              value: z.string(),
              rows: z.number().int(),
              suggestion: z
                .string()
                .describe('The value more rows use that this one is probably a misspelling of'),
              suggestion_rows: z.number().int(),
            }),
          )
          .describe(
            'Values of a category column (industry, country, a reference, a custom text field) close to a value more rows use; ' +
              'options.corrections maps them',
          ),
      })
      .describe(
        'Every row checked as the run will check it (owners, members, companies, contacts, pipelines, stages, ' +
          'options resolved), before start: how many rows will fail or lose a value, by problem',
      ),
  })
  .meta({ id: 'ImportPreview' });

export const RowsQuery = z.strictObject({
  outcome: z.enum(ROW_OUTCOMES).optional(),
  with_problems: QueryBoolean.optional().describe(
    '`true`: only rows with at least one problem; `false` or absent: every row',
  ),
  problem: ProblemCode.optional().describe(
    'Only rows with this problem code (e.g. `conflicting_match`, `empty_required`, `probable_misspelling`)',
  ),
  after: z.coerce.number().int().min(0).default(0).describe('Row number to continue after (keyset)'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export const ErrorReportQuery = z.strictObject({
  problem: ProblemCode.optional().describe('Only the lines of this problem code'),
});
export const ImportRowView = z
  .object({
    row_number: z.number().int(),
    outcome: z.enum(ROW_OUTCOMES),
    record_id: z.uuid().nullable(),
    matched_by: z
      .enum(MATCH_KEYS)
      .nullable()
      .describe(
        'A skipped or updated row: what it matched its record (or an earlier row of the file) by; null for other rows',
      ),
    problems: z.array(CellProblemView),
    cells: z.array(z.string()).nullable().describe('The original cells (kept for rows with problems)'),
    reverted_at: z.string().nullable(),
  })
  .meta({ id: 'ImportRow' });
export const ImportRowPage = z
  .object({ data: z.array(ImportRowView), next_after: z.number().int().nullable() })
  .meta({ id: 'ImportRowPage' });

export const ColumnFieldCreate = z
  .strictObject({
    label: z.string().trim().min(1).max(100).optional().describe('Default: the column header'),
    type: z
      .enum([
        'text',
        'long_text',
        'number',
        'date',
        'boolean',
        'email',
        'phone',
        'url',
        'select',
        'multi_select',
      ])
      .default('text'),
    options: z
      .array(
        z.strictObject({
          value: z.string().trim().min(1).max(100),
          label: z.string().trim().min(1).max(100),
        }),
      )
      .max(200)
      .optional()
      .describe('For select: default the distinct values of the column (up to 200)'),
  })
  .meta({ id: 'ImportColumnFieldCreate' });

export const ImportMappingCreate = z
  .strictObject({
    name: z.string().trim().min(1).max(100),
    object: ImportObjectParam.optional().describe('Required unless import_id is given'),
    import_id: z.uuid().optional().describe("Save this import's mapping, dedup and options"),
    columns: z
      .record(z.string().max(200), ColumnTarget)
      .optional()
      .describe('Header (case-insensitive) -> target; required unless import_id is given'),
    dedup: z.enum(DEDUP_MODES).optional(),
    options: ImportOptions.optional(),
  })
  .meta({ id: 'ImportMappingCreate' });
export const ImportMapping = z
  .object({
    id: z.uuid(),
    name: z.string(),
    object: z.string(),
    columns: z.record(z.string(), z.string().nullable()),
    dedup: z.enum(DEDUP_MODES),
    options: ImportOptions,
    created_at: z.string(),
  })
  .meta({ id: 'ImportMapping' });
