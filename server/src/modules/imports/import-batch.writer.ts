// One batch of an import: its rows written, their outcomes recorded and the checkpoint moved, in
// one tenant transaction (the steps of `runImport` that touch the database for a batch).
import { and, eq, sql } from 'drizzle-orm';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import type { Services } from '../../platform/http/types.js';
import { type importRows, imports, type RowOutcome } from './import.schema.js';
import { loadImport } from './import.service.js';
import {
  type BulkBatch,
  type BulkWriter,
  type PipelinedWriter,
  problemOf,
  type WriteOne,
} from './import-bulk.js';
import type { FileRow } from './import-file.util.js';
import { type RowDraft, storableText } from './import-values.js';
import {
  failedRow,
  matchNote,
  type RowResult,
  type RowWriter,
  type RunContext,
  type RunSettings,
} from './import-writers.js';

/**
 * Another run of the same import committed past this run's batch (pg-boss handed out an expired
 * job again while the first run was still going): this run stops and leaves the import to it.
 */
export class RunOvertakenError extends Error {
  constructor(importId: string) {
    super(`Another run of import ${importId} is ahead of this one`);
  }
}

/** Thrown inside a batch's transaction to roll it back: the import stopped, or the batch before it did. */
class BatchAbandoned extends Error {}
/** Thrown inside a batch's savepoint to roll its inserts back: it is planned again. */
class BatchReplanned extends Error {}

/** What every batch of a run shares: the import, its settings and how its rows are written. */
export type ImportRun = {
  services: Services;
  ctx: TenantContext;
  orgId: string;
  importId: string;
  settings: RunSettings;
  /** The row-by-row writer (updates, and every row of an object without a bulk writer). */
  writer: RowWriter;
  /** The bulk writer of the object, if it has one (`BULK_WRITERS`). */
  bulk: BulkWriter | PipelinedWriter | null;
  /** A row with a problem fails whole (`invalid_cells: fail_row`) instead of losing the cell. */
  failRow: boolean;
};

/** A batch read from the file, with its bulk lookup (and plan) under way. */
export type Next = {
  batch: FileRow[];
  drafts: RowDraft[];
  bulk: { rows: BulkBatch; lookedUp: Promise<void>; planned?: Promise<void> } | null;
};

/** How a batch's write ended: committed, or rolled back (the import was cancelled meanwhile). */
export type BatchEnd = { committed: boolean; replanned: boolean };

/** The writer of a run that plans a batch before writing it, or null. */
export const pipelinedOf = (run: ImportRun): PipelinedWriter | null =>
  run.bulk && 'plan' in run.bulk ? run.bulk : null;

/** Whether a row is written (a row with a problem is not when the import fails such rows). */
const writable = (run: ImportRun, draft: RowDraft) => !(run.failRow && draft.problems.length > 0);

/** Takes the rows read as the next batch; a bulk object's lookup starts at once. */
export function takeBatch(run: ImportRun, batch: FileRow[], drafts: RowDraft[]): Next {
  const { bulk } = run;
  if (!bulk) return { batch, drafts, bulk: null };
  const rows = bulk.prepare(
    run.settings,
    drafts.filter((d) => writable(run, d)),
  );
  // A lookup only reads: on a server its transaction costs fewer round trips (`readOnly`).
  const lookedUp = withTenant(run.services.database, run.ctx, (scope) => bulk.lookup(scope, rows), {
    readOnly: true,
  });
  lookedUp.catch(() => {}); // awaited by writeBatch
  return { batch, drafts, bulk: { rows, lookedUp } };
}

/**
 * Writes one batch in one tenant transaction, after the batch `before` it committed: its records,
 * its rows' outcomes and the checkpoint. Each row runs in a savepoint: a row that fails is
 * recorded as failed and the batch goes on.
 * @returns committed, or not when the import stopped (cancelled) or the batch before did not commit
 * @throws RunOvertakenError when another run got past this batch first
 */
export async function writeBatch(
  run: ImportRun,
  next: Next,
  before: Promise<BatchEnd> | null,
): Promise<BatchEnd> {
  const { batch, bulk: bulkBatch } = next;
  const { importId } = run;
  // Outside the batch's transaction: on PGlite (one connection) the lookup waits for the
  // previous batch's transaction, and this one must not hold the connection meanwhile.
  if (bulkBatch) await (bulkBatch.planned ?? bulkBatch.lookedUp);
  try {
    return await withTenant(run.services.database, run.ctx, async (scope) => {
      const started = await loadImport(scope, importId);
      if (started.status !== 'running') return { committed: false, replanned: false };
      // Another runner (a job handed out twice, the CLI and a worker) got past this batch first.
      if (started.rowsDone >= batch[0]!.number) throw new RunOvertakenError(importId);
      /** Waits for the batch before this one to commit; throws when it was rolled back. */
      const earlierCommitted = async () => {
        if (before && !(await before).committed) throw new BatchAbandoned();
      };
      const { written, replanned } = await writeRows(run, { ...run.settings, scope }, next, earlierCommitted);
      await earlierCommitted();
      const current = await loadImport(scope, importId, true);
      if (current.status !== 'running') throw new BatchAbandoned();
      if (current.rowsDone >= batch[0]!.number) throw new RunOvertakenError(importId);
      await recordOutcomes(run, scope, next, written, current.emptyCells);
      return { committed: true, replanned };
    });
  } catch (error) {
    if (error instanceof BatchAbandoned) return { committed: false, replanned: false };
    throw error;
  }
}

/**
 * Writes the batch's writable rows: a pipelined writer inserts its new records while the batch
 * before may still be writing, then (once that one committed) the rest; a bulk writer writes
 * them together; any other object row by row. @returns the rows' results, in order
 */
async function writeRows(
  run: ImportRun,
  context: RunContext,
  next: Next,
  earlierCommitted: () => Promise<void>,
): Promise<{ written: RowResult[]; replanned: boolean }> {
  const { scope } = context;
  const writeOne: WriteOne = async (draft) => {
    try {
      return await scope.tx.transaction((sp) =>
        run.writer({ ...context, scope: { ...scope, tx: sp } }, draft),
      );
    } catch (error) {
      const p = problemOf(error);
      if (!p) throw error;
      return failedRow([p]);
    }
  };
  // Rows with a problem fail whole when the import says so; the others are written.
  const rowsToWrite = next.drafts.filter((d) => writable(run, d));
  const pipelined = pipelinedOf(run);
  const bulkBatch = next.bulk;
  if (pipelined && bulkBatch && rowsToWrite.length > 0) {
    const rows = bulkBatch.rows;
    // A plan that relied on keys the batch before no longer has (its rows ended otherwise) is
    // rolled back and made again on the database.
    const asPlanned = await scope.tx
      .transaction(async (sp) => {
        await pipelined.insert({ ...context, scope: { ...scope, tx: sp } }, rows);
        await earlierCommitted();
        if (pipelined.stale(rows)) throw new BatchReplanned();
      })
      .then(
        () => true,
        (error) => {
          if (error instanceof BatchReplanned) return false;
          throw error;
        },
      );
    if (!asPlanned) {
      await pipelined.lookup(scope, rows);
      pipelined.plan(run.settings, rows, true);
      await pipelined.register(scope, rows);
      await pipelined.insert(context, rows);
    }
    return { written: await pipelined.finish(context, rows, writeOne), replanned: !asPlanned };
  }
  await earlierCommitted();
  const batchWriter = run.bulk && !('plan' in run.bulk) ? run.bulk : null;
  if (batchWriter && bulkBatch && rowsToWrite.length > 0)
    return { written: await batchWriter.write(context, bulkBatch.rows, writeOne), replanned: false };
  const written: RowResult[] = [];
  for (const draft of rowsToWrite) written.push(await writeOne(draft));
  return { written, replanned: false };
}

type RowRecord = typeof importRows.$inferInsert;

/** Records each row's outcome and moves the import's counts, empty cells and checkpoint past the batch. */
async function recordOutcomes(
  run: ImportRun,
  scope: TenantScope,
  next: Next,
  written: RowResult[],
  emptyCells: Record<string, number>,
): Promise<void> {
  const { orgId, importId } = run;
  const { batch, drafts } = next;
  const records: RowRecord[] = [];
  const counts: Record<RowOutcome, number> = { created: 0, updated: 0, skipped: 0, failed: 0 };
  const empty: Record<string, number> = { ...emptyCells };
  let withProblems = 0;
  let nextWritten = 0;
  for (const [i, fileRow] of batch.entries()) {
    const draft = drafts[i]!;
    for (const header of draft.empty) empty[header] = (empty[header] ?? 0) + 1;
    const result: RowResult = writable(run, draft) ? written[nextWritten++]! : failedRow([]);
    const { outcome, recordId, before: previous, match } = result;
    // A failed row renamed nothing.
    const all = draft.problems.length === 0 ? result.problems : [...draft.problems, ...result.problems];
    const problems = outcome === 'failed' ? all.filter((p) => p.code !== 'renamed') : all;
    counts[outcome] += 1;
    if (problems.length > 0) withProblems += 1;
    records.push({
      orgId,
      importId,
      rowNumber: fileRow.number,
      outcome,
      recordId,
      // A matched row keeps why among its problems (a note, not counted as a problem).
      problems:
        match && outcome !== 'created' && outcome !== 'failed' ? [...problems, matchNote(match)] : problems,
      cells: problems.length > 0 || outcome === 'failed' ? fileRow.cells.map(storableText) : null,
      before: previous ?? null,
    });
  }
  // On a server the outcomes and the checkpoint leave together (pipeline mode).
  const outcomes = records.length > 0 ? insertRowOutcomes(scope, records) : Promise.resolve();
  outcomes.catch(() => {}); // awaited below, its failure first
  if (!scope.pipeline) await outcomes;
  const checkpoint = scope.tx
    .update(imports)
    .set({
      rowsDone: batch.at(-1)!.number,
      created: sql`${imports.created} + ${counts.created}`,
      updated: sql`${imports.updated} + ${counts.updated}`,
      skipped: sql`${imports.skipped} + ${counts.skipped}`,
      failed: sql`${imports.failed} + ${counts.failed}`,
      withProblems: sql`${imports.withProblems} + ${withProblems}`,
      emptyCells: empty,
      updatedAt: new Date().toISOString(),
    })
    .where(and(eq(imports.orgId, orgId), eq(imports.id, importId)));
  try {
    await checkpoint;
  } catch (error) {
    await outcomes;
    throw error;
  }
  await outcomes;
}

/** The batch's per-row outcomes: one insert whatever the batch size. */
async function insertRowOutcomes(scope: TenantScope, records: RowRecord[]): Promise<void> {
  await scope.conn.query(
    `insert into import_rows (org_id, import_id, row_number, outcome, record_id, problems, cells, before)
     select $1, $2, x.row_number, x.outcome, x.record_id, x.problems, x.cells, x.before
       from jsonb_to_recordset($3::jsonb) as x(row_number int, outcome text, record_id uuid,
        problems jsonb, cells jsonb, before jsonb)`,
    [
      scope.ctx.orgId,
      records[0]!.importId,
      JSON.stringify(
        records.map((r) => ({
          row_number: r.rowNumber,
          outcome: r.outcome,
          record_id: r.recordId,
          problems: r.problems,
          cells: r.cells,
          before: r.before,
        })),
      ),
    ],
  );
}
