import { mkdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { and, asc, desc, eq, gt, sql } from 'drizzle-orm';
import type { z } from 'zod';
import { newId } from '../../db/ids.js';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { fieldWritable } from '../../platform/access/access-profile.js';
import { AppError, badRequest, conflict, forbidden, notFound } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { objectDef } from '../../platform/registry/registry.service.js';
import type { ObjectDef } from '../../platform/registry/registry.types.js';
import { STANDARD_OBJECTS } from '../../platform/registry/standard-objects.js';
import { createCustomField } from '../custom-fields/custom-field.service.js';
import { assertWritable, customObjectIn } from '../records/record-engine.service.js';
import type { ImportDetail, ImportUpdateInput, ImportView } from './import.dto.js';

type ImportDetailView = z.infer<typeof ImportDetail>;

import {
  type ColumnMapping,
  importMappings,
  importRows,
  imports,
  MATCHED,
  realProblems,
} from './import.schema.js';
import {
  detectShape,
  type FileShape,
  type FileSummary,
  readRows,
  receiveFile,
  summarizeFile,
} from './import-file.util.js';
import {
  IMPORT_OBJECTS,
  type ImportTarget,
  importTargets,
  isCustomObject,
  suggestMapping,
} from './import-targets.js';
import { xlsxToCsv } from './import-xlsx.util.js';

/** The tenant context an import's writes run in: the import is their actor. */
export const importCtx = (orgId: string, importId: string): TenantContext => ({
  orgId,
  actor: { type: 'import', id: importId },
});

type ImportRow = typeof imports.$inferSelect;

/** Largest file accepted, bytes (413 above it). */
export const IMPORT_MAX_BYTES = 2 * 1024 ** 3;
/** The queue that runs imports and reverts: one job per import (or revert). */
export const IMPORT_QUEUE = 'import.run';
export type ImportJob = { org_id: string; import_id: string; kind: 'run' | 'revert' };

export function importView(r: ImportRow): ImportView {
  const elapsed = r.startedAt
    ? ((r.finishedAt ? Date.parse(r.finishedAt) : Date.now()) - Date.parse(r.startedAt)) / 1000
    : 0;
  const rate = elapsed > 0 && r.rowsDone > 0 ? r.rowsDone / elapsed : null;
  const running = r.status === 'running' || r.status === 'queued';
  return {
    id: r.id,
    object: r.object,
    status: r.status,
    file_name: r.fileName,
    file_size: r.fileSize,
    delimiter: r.delimiter,
    headers: r.headers,
    mapping: r.mapping,
    dedup: r.dedup,
    options: r.options,
    progress: {
      total_rows: r.totalRows,
      rows_done: r.rowsDone,
      created: r.created,
      updated: r.updated,
      skipped: r.skipped,
      failed: r.failed,
      with_problems: r.withProblems,
      rows_per_second: rate === null ? null : Math.round(rate * 10) / 10,
      eta_seconds: running && rate ? Math.ceil((r.totalRows - r.rowsDone) / rate) : null,
      percent: r.totalRows ? Math.round((1000 * r.rowsDone) / r.totalRows) / 10 : 100,
    },
    empty_cells: r.emptyCells,
    ragged_rows: r.raggedRows,
    error: r.error,
    created_by: r.createdBy,
    created_at: r.createdAt,
    started_at: r.startedAt,
    finished_at: r.finishedAt,
    reverted_at: r.revertedAt,
  };
}

const targetView = (t: ImportTarget) => ({
  key: t.key,
  label: t.label,
  kind: t.kind,
  multiple: t.multiple,
  required: t.required,
  max_length: t.maxLength ?? null,
  options: t.options?.map((o) => ({ value: o.value, label: o.label })) ?? null,
  reference: t.reference ?? null,
  description: t.description ?? null,
});

export async function loadImport(scope: TenantScope, id: string, forUpdate = false): Promise<ImportRow> {
  const query = scope.tx
    .select()
    .from(imports)
    .where(and(eq(imports.orgId, scope.ctx.orgId), eq(imports.id, id)));
  const [row] = forUpdate ? await query.for('update') : await query;
  if (!row) throw notFound('Import', id);
  return row;
}

/** An import's status and error, or undefined when the tenant has no such import (a caller driving imports, such as a migration). */
export async function importStateIn(
  scope: TenantScope,
  id: string,
): Promise<{ status: string; error: string | null } | undefined> {
  const [row] = await scope.tx
    .select({ status: imports.status, error: imports.error })
    .from(imports)
    .where(and(eq(imports.orgId, scope.ctx.orgId), eq(imports.id, id)));
  return row;
}

/**
 * Checks that a file can be imported into `object`: a standard object an import writes, or a live
 * custom object of the tenant. @throws 400 `unsupported_object` for another standard object
 * (pipelines, members...), 404 for an unknown object, 409 `object_retired`
 */
export async function assertImportable(scope: TenantScope, object: string, path: string): Promise<void> {
  if (!isCustomObject(object)) return;
  if (STANDARD_OBJECTS[object])
    throw badRequest(
      `A file can be imported into ${IMPORT_OBJECTS.join(', ')} or a custom object`,
      path,
      'unsupported_object',
    );
  assertWritable(await customObjectIn(scope, object));
}

/** The target a custom object's rows are matched on (a field that is not a relation, tags or owner). */
export const matchFieldOf = (targets: ImportTarget[], key: string) =>
  targets.find((t) => t.key === `custom.${key}` && !t.multiple && t.kind !== 'reference');

/** What a target fills besides a field of its own key (a split name, a reference's column). */
const TARGET_FIELDS: Record<string, string[]> = {
  full_name: ['first_name', 'last_name'],
  email: ['email', 'emails'],
  phone: ['phone', 'phones'],
  company: ['company_id', 'companies'],
};

/** The fields of `def` a column mapped to `target` writes (`custom.budget`: `budget`). */
function fieldsWrittenBy(def: ObjectDef, target: string): string[] {
  if (target.startsWith('custom.')) return [target.slice('custom.'.length)];
  const keys = new Set(def.fields.map((f) => f.key));
  // A task's or note's contact, company or opportunity fills its link.
  if (keys.has('linked_id') && ['contact', 'company', 'opportunity'].includes(target))
    return ['linked_object', 'linked_id'];
  return [target, `${target}_id`, ...(TARGET_FIELDS[target] ?? [])].filter((k) => keys.has(k));
}

/** Whether the context may write every field a column mapped to `target` fills. */
function targetWritable(ctx: TenantContext, def: ObjectDef, target: string): boolean {
  return fieldsWrittenBy(def, target).every((key) => fieldWritable(ctx, def.key, key));
}

/**
 * Refuses a mapping with a column mapped to a field the context's role may not write (issue 22):
 * an import writes as its importer may. @throws AppError 403 `field_not_writable` naming the
 * field, at `pathOf(column index)`
 */
export async function assertMappingWritable(
  scope: TenantScope,
  object: string,
  mapping: ColumnMapping[],
  pathOf: (index: number) => string,
): Promise<void> {
  if (!scope.ctx.access) return;
  const def = await objectDef(scope.tx, scope.ctx.orgId, object);
  const labels = new Map(importTargets(def).map((t) => [t.key, t.label]));
  for (const m of mapping) {
    if (!m.target || targetWritable(scope.ctx, def, m.target)) continue;
    throw new AppError(
      403,
      'field_not_writable',
      `Your role (${scope.ctx.access.roleKey}) may not write ${labels.get(m.target) ?? m.target}: unmap column "${m.header}"`,
      { path: pathOf(m.index) },
    );
  }
}

/** The targets of an import's object for its tenant (custom fields included). */
export async function targetsOf(scope: TenantScope, object: string): Promise<ImportTarget[]> {
  return importTargets(await objectDef(scope.tx, scope.ctx.orgId, object));
}

function applySavedColumns(
  mapping: ColumnMapping[],
  columns: Record<string, string | null>,
  keys: Set<string>,
) {
  const byHeader = new Map(Object.entries(columns).map(([h, t]) => [h.trim().toLowerCase(), t]));
  return mapping.map((m) => {
    const target = byHeader.get(m.header.trim().toLowerCase());
    return target !== undefined && (target === null || keys.has(target)) ? { ...m, target } : m;
  });
}

/**
 * Stores an uploaded CSV file and creates a draft import of it: the file is streamed to
 * `<DATA_DIR>/imports/<org>/<id>.csv` (never held in memory) as UTF-8 (a Windows-1252 / Latin-1
 * or UTF-16 file is decoded on the way: `encodingOf`), its delimiter and BOM detected,
 * its rows counted, and a mapping suggested from its headers (a saved mapping applied on top).
 * @throws 413 `payload_too_large` above IMPORT_MAX_BYTES, 400 `empty_file` without a header row,
 * 415 `unsupported_media_type` for a file that is not text (an image, a PDF...), 400
 * `invalid_encoding` for a file that is UTF-8 at first and not later; nothing is kept
 */
export async function createImport(
  services: Services,
  ctx: TenantContext,
  input: {
    object: string;
    fileName: string;
    stream: Readable;
    truncated: () => boolean;
    mappingId?: string | undefined;
    /**
     * The import's id, for a caller that keys its imports (a migration: one import per object, so
     * a run resumed after a crash finds the one it created instead of creating another). Default: new.
     */
    id?: string | undefined;
  },
): Promise<ImportView> {
  try {
    await withTenant(
      services.database,
      ctx,
      (scope) => assertImportable(scope, input.object, 'query.object'),
      {
        readOnly: true,
      },
    );
  } catch (error) {
    input.stream.resume(); // drain the upload, so the answer is read
    throw error;
  }
  const id = input.id ?? newId();
  const dir = path.join(services.config.dataDir, 'imports', ctx.orgId);
  await mkdir(dir, { recursive: true });
  const filePath = path.join(dir, `${id}.csv`);
  // A CSV is summarized while it arrives (row count, ragged rows); a workbook once converted.
  const received = await receiveFile(input.stream, filePath);
  if (input.truncated()) {
    await unlink(filePath).catch(() => {});
    throw new AppError(413, 'payload_too_large', `The file is larger than ${IMPORT_MAX_BYTES} bytes`);
  }
  let shape: FileShape;
  let summary: FileSummary;
  if (received.kind === 'zip') {
    // An .xlsx workbook: its first worksheet becomes the import's CSV file.
    const workbook = path.join(dir, `${id}.xlsx`);
    await rename(filePath, workbook);
    try {
      await xlsxToCsv(workbook, filePath);
    } catch (error) {
      await unlink(filePath).catch(() => {});
      throw badRequest(
        `The file cannot be read as an .xlsx workbook: ${(error as Error).message}`,
        'body.file',
        'invalid_xlsx',
      );
    } finally {
      await unlink(workbook).catch(() => {});
    }
  }
  if (received.kind === 'binary') {
    await unlink(filePath).catch(() => {});
    const message = `The file is ${received.what}: send a CSV file or an .xlsx workbook`;
    throw new AppError(415, 'unsupported_media_type', message, {
      path: 'body.file',
      errors: [{ path: 'body.file', code: 'unsupported_media_type', message }],
    });
  }
  if (received.kind === 'invalid_encoding') {
    await unlink(filePath).catch(() => {});
    throw badRequest(
      `The file is UTF-8 at first but not after byte ${received.offset}: save it in one encoding (UTF-8, UTF-16 or Windows-1252)`,
      'body.file',
      'invalid_encoding',
    );
  }
  const { size } = await stat(filePath);
  try {
    if (received.kind === 'invalid_csv') throw received.error;
    if (received.kind === 'csv') ({ shape, summary } = received);
    else {
      shape = await detectShape(filePath);
      summary = await summarizeFile(filePath, shape, 0);
    }
    // Headers are stored with the import; PostgreSQL cannot store a NUL (a data cell with one is
    // a cell problem of its row instead, see `readCell`).
    const nul = summary.headers.findIndex((h) => h.includes('\u0000'));
    if (nul >= 0) throw new Error(`the header of column ${nul + 1} contains a NUL character (U+0000)`);
  } catch (error) {
    await unlink(filePath).catch(() => {});
    throw badRequest(
      `The file cannot be read as CSV: ${(error as Error).message}`,
      'body.file',
      'invalid_csv',
    );
  }
  if (summary.headers.length === 0) {
    await unlink(filePath).catch(() => {});
    throw badRequest('The file is empty: it needs a header row', 'body.file', 'empty_file');
  }
  return withTenant(services.database, ctx, async (scope) => {
    const def = await objectDef(scope.tx, scope.ctx.orgId, input.object);
    // Nothing is suggested into a field the importer's role may not write.
    const targets = importTargets(def).filter((t) => targetWritable(scope.ctx, def, t.key));
    let mapping = suggestMapping(summary.headers, targets, def.key);
    let dedup: ImportRow['dedup'] = 'skip';
    let options = {};
    if (input.mappingId) {
      const saved = await loadMapping(scope, input.mappingId);
      mapping = applySavedColumns(mapping, saved.columns, new Set(targets.map((t) => t.key)));
      dedup = saved.dedup;
      options = saved.options;
    }
    const [row] = await scope.tx
      .insert(imports)
      .values({
        orgId: ctx.orgId,
        id,
        object: input.object,
        fileName: input.fileName.slice(0, 255),
        filePath,
        fileSize: size,
        delimiter: shape.delimiter,
        headers: summary.headers,
        mapping,
        dedup,
        options,
        totalRows: summary.totalRows,
        raggedRows: summary.raggedCount,
        createdBy: ctx.actor.id,
      })
      .returning();
    return importView(row!);
  });
}

/** An import with its mapping targets and the first rows of its file. @throws 404 */
export async function getImport(
  services: Services,
  ctx: TenantContext,
  id: string,
): Promise<ImportDetailView> {
  const { row, targets } = await withTenant(services.database, ctx, async (scope) => {
    const row = await loadImport(scope, id);
    return { row, targets: await targetsOf(scope, row.object) };
  });
  const sample: string[][] = [];
  try {
    // Small chunks: the page polls this while the import runs, and ten rows need a few KiB.
    const rows = readRows(row.filePath, { delimiter: row.delimiter, hasBom: false }, 0, { chunkBytes: 4096 });
    for await (const r of rows) {
      sample.push(r.cells);
      if (sample.length >= 10) break;
    }
  } catch {
    // A file removed from the data directory: the import's record is still shown.
  }
  return { ...importView(row), targets: targets.map(targetView), sample_rows: sample };
}

/** Imports of the tenant, newest first, keyset-paginated (cursor = created_at|id). */
export async function listImports(
  services: Services,
  ctx: TenantContext,
  query: { limit: number; cursor?: string | undefined },
) {
  return withTenant(services.database, ctx, async (scope) => {
    let after = sql`true`;
    if (query.cursor) {
      const [at, cid] = Buffer.from(query.cursor, 'base64url').toString('utf8').split('|');
      if (!at || !cid || Number.isNaN(Date.parse(at)) || !/^[0-9a-f-]{36}$/.test(cid))
        throw badRequest('Not a cursor of this list', 'querystring.cursor', 'invalid_cursor');
      after = sql`(${imports.createdAt}, ${imports.id}) < (${at}::timestamptz, ${cid}::uuid)`;
    }
    const rows = await scope.tx
      .select()
      .from(imports)
      .where(and(eq(imports.orgId, ctx.orgId), after))
      .orderBy(desc(imports.createdAt), desc(imports.id))
      .limit(query.limit + 1);
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      data: page.map(importView),
      next_cursor:
        rows.length > query.limit && last
          ? Buffer.from(`${last.createdAt}|${last.id}`).toString('base64url')
          : null,
    };
  });
}

/**
 * Changes a draft import's mapping (by column index), dedup mode or options, or applies a saved
 * mapping. @throws 404, 409 `invalid_state` once started, 400 naming `body.mapping[i].target`
 * for an unknown target or a single-valued target mapped twice
 */
export async function updateImport(
  services: Services,
  ctx: TenantContext,
  id: string,
  input: ImportUpdateInput,
): Promise<ImportView> {
  return withTenant(services.database, ctx, async (scope) => {
    const row = await loadImport(scope, id, true);
    if (row.status !== 'draft')
      throw conflict('The import has started; its settings are fixed', undefined, 'invalid_state');
    const targets = await targetsOf(scope, row.object);
    const keys = new Map(targets.map((t) => [t.key, t]));
    let mapping = row.mapping;
    let { dedup, options } = row;
    if (input.mapping_id) {
      const saved = await loadMapping(scope, input.mapping_id);
      if (saved.object !== row.object)
        throw badRequest(`That mapping is for ${saved.object}`, 'body.mapping_id', 'object_mismatch');
      mapping = applySavedColumns(mapping, saved.columns, new Set(keys.keys()));
      dedup = saved.dedup;
      options = saved.options;
    }
    for (const [i, change] of (input.mapping ?? []).entries()) {
      if (change.index >= mapping.length)
        throw badRequest('The file has no column with this index', `body.mapping[${i}].index`);
      if (change.target !== null && !keys.has(change.target))
        throw badRequest(`Unknown target "${change.target}"`, `body.mapping[${i}].target`, 'unknown_target');
      mapping = mapping.map((m) => (m.index === change.index ? { ...m, target: change.target } : m));
    }
    await assertMappingWritable(scope, row.object, mapping, (index) => {
      const i = (input.mapping ?? []).findIndex((c) => c.index === index);
      if (i >= 0) return `body.mapping[${i}].target`;
      return input.mapping_id ? 'body.mapping_id' : `mapping[${index}].target`;
    });
    const seen = new Set<string>();
    for (const m of mapping) {
      if (!m.target) continue;
      if (seen.has(m.target) && !keys.get(m.target)?.multiple)
        throw badRequest(
          `"${keys.get(m.target)?.label ?? m.target}" can be filled by one column only`,
          `body.mapping[${m.index}].target`,
          'duplicate_target',
        );
      seen.add(m.target);
    }
    const matchField = input.options?.match_field;
    if (matchField !== undefined && !matchFieldOf(targets, matchField))
      throw badRequest(
        isCustomObject(row.object)
          ? `"${matchField}" is not a field of this object that rows can be matched on`
          : 'match_field is for custom objects (standard objects match on their own keys)',
        'body.options.match_field',
        'unknown_field',
      );
    const [updated] = await scope.tx
      .update(imports)
      .set({
        mapping,
        dedup: input.dedup ?? dedup,
        options: input.options ?? options,
        updatedAt: new Date().toISOString(),
      })
      .where(and(eq(imports.orgId, ctx.orgId), eq(imports.id, id)))
      .returning();
    return importView(updated!);
  });
}

/**
 * Creates a custom field from an unmapped column and maps the column to it, in one step (admins:
 * it adds a field to the object). A select's options default to the column's distinct values.
 * @throws 404, 409 `invalid_state` once started, 409 `duplicate_key` for a taken key
 */
export async function createFieldFromColumn(
  services: Services,
  ctx: TenantContext,
  id: string,
  index: number,
  input: {
    label?: string | undefined;
    type: string;
    options?: { value: string; label: string }[] | undefined;
  },
): Promise<ImportView> {
  const row = await withTenant(services.database, ctx, (scope) => loadImport(scope, id));
  if (row.status !== 'draft')
    throw conflict('The import has started; its settings are fixed', undefined, 'invalid_state');
  const column = row.mapping.find((m) => m.index === index);
  if (!column) throw notFound('Column', String(index));
  let options = input.options;
  if (!options && (input.type === 'select' || input.type === 'multi_select')) {
    const distinct = new Set<string>();
    for await (const r of readRows(row.filePath, { delimiter: row.delimiter, hasBom: false })) {
      const value = (r.cells[index] ?? '').trim();
      if (value) distinct.add(value.slice(0, 100));
      if (distinct.size > 200)
        throw badRequest(
          'The column has more than 200 distinct values: not a select',
          'body.type',
          'too_many_options',
        );
    }
    options = [...distinct].map((v) => ({ value: v, label: v }));
    if (options.length === 0) throw badRequest('The column is empty', 'body.type', 'empty_column');
  }
  const field = await createCustomField(services, ctx, row.object, {
    label: input.label ?? column.header,
    type: input.type,
    ...(options ? { options } : {}),
    required: false,
  } as Parameters<typeof createCustomField>[3]);
  return updateImport(services, ctx, id, { mapping: [{ index, target: `custom.${field.key}` }] });
}

/**
 * Queues the import (its job is sent in the same transaction). A failed or cancelled import is
 * resumed from its checkpoint. @throws 404, 409 `invalid_state` when running or done,
 * 422 `nothing_mapped` when no column is mapped
 */
export async function startImport(
  services: Services,
  ctx: TenantContext,
  id: string,
  options: { enqueue?: boolean } = {},
): Promise<ImportView> {
  return withTenant(services.database, ctx, async (scope) => {
    const row = await loadImport(scope, id, true);
    if (!['draft', 'failed', 'cancelled'].includes(row.status))
      throw conflict(`The import is ${row.status}`, undefined, 'invalid_state');
    if (!row.mapping.some((m) => m.target))
      throw new AppError(422, 'nothing_mapped', 'Map at least one column to a field first', {
        path: 'body.mapping',
      });
    await assertMappingWritable(scope, row.object, row.mapping, (index) => `mapping[${index}].target`);
    const [updated] = await scope.tx
      .update(imports)
      .set({ status: 'queued', error: null, updatedAt: new Date().toISOString() })
      .where(and(eq(imports.orgId, ctx.orgId), eq(imports.id, id)))
      .returning();
    const job: ImportJob = { org_id: ctx.orgId, import_id: id, kind: 'run' };
    // The CLI runs the import itself (enqueue: false); the API leaves it to a worker.
    if (options.enqueue !== false) await services.jobs.send(scope.conn, IMPORT_QUEUE, job);
    return importView(updated!);
  });
}

/** Stops a queued or running import after its current batch; rows done stay (revert undoes them). */
export async function cancelImport(services: Services, ctx: TenantContext, id: string): Promise<ImportView> {
  return withTenant(services.database, ctx, async (scope) => {
    const row = await loadImport(scope, id, true);
    if (!['queued', 'running'].includes(row.status))
      throw conflict(`The import is ${row.status}: nothing to cancel`, undefined, 'invalid_state');
    const [updated] = await scope.tx
      .update(imports)
      .set({ status: 'cancelled', updatedAt: new Date().toISOString(), finishedAt: new Date().toISOString() })
      .where(and(eq(imports.orgId, ctx.orgId), eq(imports.id, id)))
      .returning();
    return importView(updated!);
  });
}

/**
 * Queues the revert of a finished (completed, failed or cancelled) import: what it created is
 * archived, what it updated gets its old values back. Who ran the import or an admin may revert
 * it (`by.isAdmin`: the caller's role is admin).
 * @throws 404, 403 `forbidden` for another member's import, 409 `invalid_state`
 */
export async function revertImport(
  services: Services,
  ctx: TenantContext,
  id: string,
  by: { isAdmin: boolean },
): Promise<ImportView> {
  return withTenant(services.database, ctx, async (scope) => {
    const row = await loadImport(scope, id, true);
    if (row.createdBy !== ctx.actor.id && !by.isAdmin)
      throw forbidden('Only the member who ran an import, or an admin, can revert it');
    if (!['completed', 'failed', 'cancelled'].includes(row.status))
      throw conflict(`The import is ${row.status}: it cannot be reverted now`, undefined, 'invalid_state');
    const [updated] = await scope.tx
      .update(imports)
      .set({ status: 'reverting', updatedAt: new Date().toISOString() })
      .where(and(eq(imports.orgId, ctx.orgId), eq(imports.id, id)))
      .returning();
    const job: ImportJob = { org_id: ctx.orgId, import_id: id, kind: 'revert' };
    await services.jobs.send(scope.conn, IMPORT_QUEUE, job);
    return importView(updated!);
  });
}

/** Per-row outcomes in row order, optionally one outcome or rows with problems only. @throws 404 */
export async function listImportRows(
  services: Services,
  ctx: TenantContext,
  id: string,
  query: {
    outcome?: string | undefined;
    with_problems?: boolean | undefined;
    problem?: string | undefined;
    after: number;
    limit: number;
  },
) {
  return withTenant(services.database, ctx, async (scope) => {
    await loadImport(scope, id);
    const rows = await scope.tx
      .select()
      .from(importRows)
      .where(
        and(
          eq(importRows.orgId, ctx.orgId),
          eq(importRows.importId, id),
          gt(importRows.rowNumber, query.after),
          query.outcome ? eq(importRows.outcome, query.outcome as 'failed') : undefined,
          query.with_problems ? hasProblems : undefined,
          query.problem
            ? sql`${importRows.problems} @> ${JSON.stringify([{ code: query.problem }])}::jsonb`
            : undefined,
        ),
      )
      .orderBy(asc(importRows.rowNumber))
      .limit(query.limit + 1);
    const page = rows.slice(0, query.limit);
    return {
      data: page.map((r) => ({
        row_number: r.rowNumber,
        outcome: r.outcome,
        record_id: r.recordId,
        matched_by: r.problems.find((p) => p.code === MATCHED)?.by ?? null,
        problems: realProblems(r.problems),
        cells: r.cells,
        reverted_at: r.revertedAt,
      })),
      next_after: rows.length > query.limit ? page.at(-1)!.rowNumber : null,
    };
  });
}

/** A row with a problem (its `matched` note is not one). */
export const hasProblems = sql`jsonb_path_exists(${importRows.problems}, '$[*] ? (@.code != "matched")')`;

// ---------------------------------------------------------------- saved mappings

async function loadMapping(scope: TenantScope, id: string) {
  const [row] = await scope.tx
    .select()
    .from(importMappings)
    .where(and(eq(importMappings.orgId, scope.ctx.orgId), eq(importMappings.id, id)));
  if (!row) throw notFound('Import mapping', id);
  return row;
}

const mappingView = (r: typeof importMappings.$inferSelect) => ({
  id: r.id,
  name: r.name,
  object: r.object,
  columns: r.columns,
  dedup: r.dedup,
  options: r.options,
  created_at: r.createdAt,
});

/**
 * Saves a mapping by header name, given directly or taken from an import.
 * @throws 400 without object/columns or import_id, 404 unknown import, 409 `duplicate_name`
 */
export async function createImportMapping(
  services: Services,
  ctx: TenantContext,
  input: {
    name: string;
    object?: string | undefined;
    import_id?: string | undefined;
    columns?: Record<string, string | null> | undefined;
    dedup?: 'skip' | 'update_empty' | 'overwrite' | undefined;
    options?: Record<string, unknown> | undefined;
  },
) {
  return withTenant(services.database, ctx, async (scope) => {
    let { object, columns, dedup, options } = input;
    if (input.import_id) {
      const source = await loadImport(scope, input.import_id);
      object = source.object;
      columns = Object.fromEntries(source.mapping.map((m) => [m.header, m.target]));
      dedup ??= source.dedup;
      options ??= source.options;
    }
    if (!object) throw badRequest('Give the object (or an import_id)', 'body.object', 'required');
    if (!input.import_id) await assertImportable(scope, object, 'body.object');
    if (!columns) throw badRequest('Give the columns (or an import_id)', 'body.columns', 'required');
    const keys = new Set((await targetsOf(scope, object)).map((t) => t.key));
    const bad = Object.entries(columns).find(([, t]) => t !== null && !keys.has(t));
    if (bad) throw badRequest(`Unknown target "${bad[1]}"`, `body.columns.${bad[0]}`, 'unknown_target');
    const [taken] = await scope.tx
      .select({ id: importMappings.id })
      .from(importMappings)
      .where(
        and(
          eq(importMappings.orgId, ctx.orgId),
          eq(importMappings.object, object),
          sql`lower(${importMappings.name}) = lower(${input.name})`,
        ),
      );
    if (taken) throw conflict(`A mapping named "${input.name}" exists`, 'body.name', 'duplicate_name');
    const [row] = await scope.tx
      .insert(importMappings)
      .values({
        orgId: ctx.orgId,
        name: input.name,
        object,
        columns,
        dedup: dedup ?? 'skip',
        options: options ?? {},
        createdBy: ctx.actor.id,
      })
      .returning();
    return mappingView(row!);
  });
}

export async function listImportMappings(services: Services, ctx: TenantContext, object?: string) {
  return withTenant(services.database, ctx, async (scope) => {
    const rows = await scope.tx
      .select()
      .from(importMappings)
      .where(and(eq(importMappings.orgId, ctx.orgId), object ? eq(importMappings.object, object) : undefined))
      .orderBy(asc(importMappings.name))
      .limit(500);
    return { data: rows.map(mappingView) };
  });
}

export async function getImportMapping(services: Services, ctx: TenantContext, id: string) {
  return withTenant(services.database, ctx, async (scope) => mappingView(await loadMapping(scope, id)));
}

export async function deleteImportMapping(services: Services, ctx: TenantContext, id: string): Promise<void> {
  await withTenant(services.database, ctx, async (scope) => {
    await loadMapping(scope, id);
    await scope.tx
      .delete(importMappings)
      .where(and(eq(importMappings.orgId, ctx.orgId), eq(importMappings.id, id)));
  });
}
