import { and, eq, inArray } from 'drizzle-orm';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import type { Services } from '../../platform/http/types.js';
import { phoneRegionOr } from '../../platform/registry/phone.js';
import { noteBulkWriter, taskBulkWriter } from './bulk-activities.js';
import { companyBulkWriter } from './bulk-companies.js';
import { contactBulkWriter } from './bulk-contacts.js';
import { opportunityBulkWriter } from './bulk-opportunities.js';
import { recordBulkWriter, writeRecord } from './bulk-records.js';
import { imports } from './import.schema.js';
import { IMPORT_QUEUE, type ImportJob, importCtx, loadImport, targetsOf } from './import.service.js';
import {
  type BatchEnd,
  type ImportRun,
  type Next,
  pipelinedOf,
  RunOvertakenError,
  takeBatch,
  writeBatch,
} from './import-batch.writer.js';
import { type BulkWriter, PIPELINE_DEPTH, type PipelinedWriter } from './import-bulk.js';
import { type FileRow, readRows } from './import-file.util.js';
import { contactCap, stopAtLimit } from './import-limits.js';
import { runRevert } from './import-revert.service.js';
import { runSettings } from './import-settings.js';
import { importAnalyzer } from './import-statistics.js';
import { type ImportTarget, isCustomObject } from './import-targets.js';
import { type RowDraft, readRow } from './import-values.js';
import type { RowWriter } from './import-writers.js';
import { writeNote, writeTask } from './writers-activities.js';
import { resolvePendingParents, writeCompany } from './writers-companies.js';
import { writeContact } from './writers-contacts.js';
import { writeOpportunity } from './writers-opportunities.js';
import { writeProduct } from './writers-products.js';

export { RunOvertakenError } from './import-batch.writer.js';

type ImportRow = Awaited<ReturnType<typeof loadImport>>;

/** Rows committed together with their outcomes and the checkpoint. */
export const IMPORT_BATCH_ROWS = 250;
/**
 * The same for objects written in bulk (`BULK_WRITERS`): a statement costs about the same for 1 row
 * or 1,000. Not more: up to three batches are in memory at once (two written, one read), and at
 * 2,000 rows the server peaked at 470-480 MB on a 1,000,000-row import, at 1,500 rows at 440.
 */
export const IMPORT_BULK_BATCH_ROWS = 1500;

/**
 * Rows read between two turns of the event loop (see `readAndWrite`). Reading and checking a row
 * takes about 60 µs, so a reply from the database waits at most about 1 ms for its turn (100 rows:
 * 6 ms, on each of a batch's dozen statements).
 */
const YIELD_EVERY_ROWS = 20;

/** Objects whose new rows are written a batch at a time rather than row by row. */
const BULK_WRITERS: Record<string, () => BulkWriter | PipelinedWriter> = {
  contact: contactBulkWriter,
  company: companyBulkWriter,
  opportunity: opportunityBulkWriter,
  task: taskBulkWriter,
  note: noteBulkWriter,
};

type RunOptions = { maxBatches?: number; batchRows?: number; onBatch?: (rowsDone: number) => void };

/**
 * Runs an import from its checkpoint to the end of its file, `IMPORT_BATCH_ROWS` rows per tenant
 * transaction (`IMPORT_BULK_BATCH_ROWS` for objects written in bulk). Each transaction writes the
 * batch's records and events, its per-row outcomes and the new checkpoint (`rows_done`) together,
 * and batches commit in file order (on a server, contacts have two batches written at once: the
 * later one commits after the earlier), so a run that dies (process killed, worker restart)
 * resumes after the last committed batch without creating anything twice. Each row runs in a
 * savepoint: a row that fails is recorded as failed and the batch goes on. Stops when the import
 * is cancelled. `maxBatches` stops early (tests simulate a crash with it).
 * @returns the status the import ended in
 */
export async function runImport(
  services: Services,
  orgId: string,
  importId: string,
  options: RunOptions = {},
): Promise<string> {
  const ctx = importCtx(orgId, importId);
  const prepared = await startRun(services, ctx, importId);
  if (!prepared) return 'skipped';
  const { row, targets } = prepared;
  const bulk =
    BULK_WRITERS[row.object]?.() ?? (isCustomObject(row.object) ? recordBulkWriter(row.object) : null);
  const run: ImportRun = {
    services,
    ctx,
    orgId,
    importId,
    settings: await runSettings(services, importId, row, targets),
    writer: WRITERS[row.object] ?? writeRecord,
    bulk,
    failRow: row.options.invalid_cells === 'fail_row',
  };
  const analyzer = importAnalyzer(services, row.object);
  // While a batch is written, the next is read, parsed and looked up: the database and this
  // process work at the same time. A pipelined writer on a server has two batches written at
  // once, on two connections; batches still commit one after the other, in file order.
  const queue = new BatchQueue(
    run,
    pipelinedOf(run) && services.database.pool ? PIPELINE_DEPTH : 1,
    (last) => {
      analyzer.after(last);
      options.onBatch?.(last);
    },
  );
  try {
    return await readAndWrite(run, row, new Map(targets.map((t) => [t.key, t])), queue, options);
  } finally {
    await analyzer.settled();
  }
}

/** Marks a queued (or resumed) import running. @returns the import and its targets, or null when it is not to run */
async function startRun(services: Services, ctx: TenantContext, importId: string) {
  return withTenant(services.database, ctx, async (scope) => {
    const row = await loadImport(scope, importId, true);
    if (row.status !== 'queued' && row.status !== 'running') return null;
    await scope.tx
      .update(imports)
      .set({
        status: 'running',
        startedAt: row.startedAt ?? new Date().toISOString(),
        updatedAt: new Date().toISOString(),
      })
      .where(and(eq(imports.orgId, ctx.orgId), eq(imports.id, importId)));
    return { row, targets: await targetsOf(scope, row.object) };
  });
}

/**
 * The batches being written, oldest first, at most `depth` at once: each begins after the one
 * before it (and commits after it); a pipelined writer plans each after the ones begun before it.
 */
class BatchQueue {
  private readonly inFlight: { written: Promise<BatchEnd>; last: number }[] = [];
  private planning: Promise<void> = Promise.resolve();
  /** Batches begun by this run. */
  begun = 0;

  constructor(
    private readonly run: ImportRun,
    private depth: number,
    private readonly onCommitted: (lastRow: number) => void,
  ) {}

  /** Waits for the oldest batch in flight; false when it did not commit (cancelled). */
  private async settle(): Promise<boolean> {
    const oldest = this.inFlight.shift();
    if (!oldest) return true;
    const end = await oldest.written;
    if (!end.committed) return false;
    // Planned again: the batches planned on it are too. One at a time from now on, so that each
    // is planned on what the one before it wrote.
    if (end.replanned) this.depth = 1;
    this.onCommitted(oldest.last);
    return true;
  }

  /** Waits for every batch in flight (none is left running); false when one did not commit. */
  async drain(): Promise<boolean> {
    const ends = await Promise.allSettled(this.inFlight.map((b) => b.written));
    let committed = true;
    while (this.inFlight.length > 0) committed = (await this.settle().catch(() => false)) && committed;
    const failed = ends.find((e) => e.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    return committed;
  }

  /** Settles batches until another may begin; false when one did not commit. */
  async room(): Promise<boolean> {
    try {
      while (this.inFlight.length >= this.depth) if (!(await this.settle())) return false;
    } catch (error) {
      await this.drain().catch(() => {}); // the batches after it roll back: none is left running
      throw error;
    }
    return true;
  }

  /** Starts writing a batch; a pipelined writer plans it first, after the batches begun before it. */
  begin(next: Next): void {
    const { run } = this;
    const pipelined = pipelinedOf(run);
    if (pipelined && next.bulk) {
      const { rows, lookedUp } = next.bulk;
      this.planning = Promise.all([this.planning, lookedUp]).then(() => {
        pipelined.plan(run.settings, rows, false);
        return withTenant(run.services.database, run.ctx, (scope) => pipelined.register(scope, rows));
      });
      next.bulk.planned = this.planning;
      this.planning = this.planning.catch(() => {}); // the batch that planned it reports the failure
    }
    const written = writeBatch(run, next, this.inFlight.at(-1)?.written ?? null);
    written.catch(() => {}); // awaited by settle; this only keeps an early failure from going unhandled
    this.inFlight.push({ written, last: next.batch.at(-1)!.number });
    this.begun += 1;
  }
}

/**
 * Reads the file from the checkpoint, a batch at a time, and hands each batch to the queue; then
 * completes the import. @returns the status the import ended in (`interrupted` by `maxBatches`)
 */
async function readAndWrite(
  run: ImportRun,
  row: ImportRow,
  byKey: Map<string, ImportTarget>,
  queue: BatchQueue,
  options: RunOptions,
): Promise<string> {
  const batchRows = options.batchRows ?? (run.bulk ? IMPORT_BULK_BATCH_ROWS : IMPORT_BATCH_ROWS);
  const region = phoneRegionOr(row.options.phone_region);
  const interrupted = () => options.maxBatches !== undefined && queue.begun >= options.maxBatches;
  const current = await withTenant(run.services.database, run.ctx, (scope) =>
    loadImport(scope, run.importId),
  );
  /** Stops reading: waits for what is in flight (a failure of it is thrown). */
  const stop = async (reason: string, next?: Next) => {
    await next?.bulk?.lookedUp.catch(() => {}); // leaves no transaction behind
    return (await queue.drain()) ? reason : 'cancelled';
  };
  let batch: FileRow[] = [];
  let drafts: RowDraft[] = [];
  for await (const fileRow of readRows(
    row.filePath,
    { delimiter: row.delimiter, hasBom: false },
    current.rowsDone,
  )) {
    batch.push(fileRow);
    drafts.push(readRow(fileRow.cells, row.mapping, byKey, region, row.options.corrections));
    // Rows already parsed come through microtasks, which run before any I/O callback: without a
    // turn of the event loop now and then, the batch being written waits for each statement's
    // reply until a whole chunk of the file is parsed (18% of a 100,000-row import).
    if (batch.length % YIELD_EVERY_ROWS === 0) await new Promise(setImmediate);
    if (batch.length < batchRows) continue;
    const cap = await contactCap(run, row.object, queue, batch.length);
    if (cap === 'cancelled') return 'cancelled';
    if (cap) {
      batch = batch.slice(0, cap.left);
      drafts = drafts.slice(0, cap.left);
    }
    const next = batch.length > 0 ? takeBatch(run, batch, drafts) : undefined;
    batch = [];
    drafts = [];
    if (!(await queue.room())) return stop('cancelled', next);
    if (interrupted()) return stop('interrupted', next);
    if (next) queue.begin(next);
    if (cap) return stopAtLimit(queue, cap);
  }
  if (batch.length > 0) {
    const cap = await contactCap(run, row.object, queue, batch.length);
    if (cap === 'cancelled') return 'cancelled';
    if (cap) {
      batch = batch.slice(0, cap.left);
      drafts = drafts.slice(0, cap.left);
    }
    if (!(await queue.room())) return stop('cancelled');
    if (interrupted()) return stop('interrupted');
    if (batch.length > 0) queue.begin(takeBatch(run, batch, drafts));
    if (cap) return stopAtLimit(queue, cap);
  }
  if (!(await queue.drain())) return 'cancelled';
  return completeRun(run, row.object);
}

/** Marks the import completed once every batch committed (a company import sets its pending parents first). */
async function completeRun(run: ImportRun, object: string): Promise<string> {
  return withTenant(run.services.database, run.ctx, async (scope) => {
    const done = await loadImport(scope, run.importId, true);
    if (done.status !== 'running') return done.status;
    if (object === 'company') await resolvePendingParents({ ...run.settings, scope });
    await scope.tx
      .update(imports)
      .set({
        status: 'completed',
        finishedAt: new Date().toISOString(),
        updatedAt: new Date().toISOString(),
      })
      .where(and(eq(imports.orgId, run.orgId), eq(imports.id, run.importId)));
    return 'completed';
  });
}

/** The row-by-row writer of each object (new rows of the bulk objects are written in batches). */
const WRITERS: Record<string, RowWriter> = {
  contact: writeContact,
  company: writeCompany,
  opportunity: writeOpportunity,
  task: writeTask,
  note: writeNote,
  product: writeProduct,
};

/** Where pg-boss puts an import job whose worker died on each of its tries (`markStalled`). */
export const IMPORT_STALLED_QUEUE = 'import.stalled';

/**
 * An import or undo whose job pg-boss gave up on (its worker died, or it ran past
 * `IMPORT_EXPIRE_SECONDS`, on each of its tries): it becomes `failed` with the reason, and
 * `POST .../start` (or `.../revert`) resumes it from its checkpoint. One still going elsewhere
 * (an import started again meanwhile) is left alone.
 */
async function markStalled(services: Services, data: ImportJob): Promise<void> {
  const undo = data.kind === 'revert';
  await withTenant(services.database, importCtx(data.org_id, data.import_id), (scope) =>
    scope.tx
      .update(imports)
      .set({
        status: 'failed',
        error: `The ${undo ? 'undo' : 'import'} stopped: its worker ended on each of ${IMPORT_RETRIES + 1} tries (a process that died or lost its database). ${undo ? 'Undo it again' : 'Start it again'} to go on from where it stopped.`,
        finishedAt: new Date().toISOString(),
        updatedAt: new Date().toISOString(),
      })
      .where(
        and(
          eq(imports.orgId, data.org_id),
          eq(imports.id, data.import_id),
          inArray(imports.status, [undo ? 'reverting' : 'running', 'queued']),
        ),
      ),
  );
}

/** Tries after the first that pg-boss gives an import job. */
const IMPORT_RETRIES = 2;

/**
 * A running import's job is refreshed every half of this (pg-boss heartbeat); one whose process
 * died is handed out again after it, plus up to a minute of pg-boss's monitor interval.
 */
export const IMPORT_HEARTBEAT_SECONDS = 30;
/** The longest an import or undo may run (pg-boss's limit): 24 hours, over 400 million rows at 5,000 a second. */
export const IMPORT_EXPIRE_SECONDS = 24 * 60 * 60;

/**
 * Defines the import queue. A run that throws (a bug, the database gone) marks the import
 * `failed` with the error; `POST /imports/{id}/start` resumes it from its checkpoint. A process
 * that dies mid-run stops refreshing its job: pg-boss hands it out again about
 * `IMPORT_HEARTBEAT_SECONDS` later (twice at most: `retryLimit`), and the run, or the undo,
 * resumes from its checkpoint.
 */
export function defineImportJobs(services: Services): void {
  // First: a job names its dead letter queue, which must exist when the job is sent.
  services.jobs.define<ImportJob>({ name: IMPORT_STALLED_QUEUE }, ({ data }) => markStalled(services, data));
  const queue = {
    name: IMPORT_QUEUE,
    retryLimit: IMPORT_RETRIES,
    heartbeatSeconds: IMPORT_HEARTBEAT_SECONDS,
    expireInSeconds: IMPORT_EXPIRE_SECONDS,
    deadLetter: IMPORT_STALLED_QUEUE,
  };
  services.jobs.define<ImportJob>(queue, async ({ data }) => {
    if (data.kind === 'revert') await runOrFail(services, data.org_id, data.import_id, runRevert);
    else await runImportOrFail(services, data.org_id, data.import_id);
  });
}

/**
 * Runs (or reverts) an import as its job does: a run that throws marks the import `failed` with
 * the error (resumable with `POST /imports/{id}/start`); one overtaken by another worker is left
 * to it. @returns the status the import ended in (`failed` when it threw, `overtaken`)
 */
async function runOrFail(
  services: Services,
  orgId: string,
  importId: string,
  fn: (services: Services, orgId: string, importId: string) => Promise<unknown>,
): Promise<string> {
  try {
    const status = await fn(services, orgId, importId);
    return typeof status === 'string' ? status : 'done';
  } catch (error) {
    if (error instanceof RunOvertakenError) return 'overtaken';
    await withTenant(services.database, importCtx(orgId, importId), (scope) =>
      scope.tx
        .update(imports)
        .set({
          status: 'failed',
          error: String((error as Error).message ?? error).slice(0, 1000),
          finishedAt: new Date().toISOString(),
        })
        .where(and(eq(imports.orgId, orgId), eq(imports.id, importId))),
    );
    return 'failed';
  }
}

/** `runImport`, an import that throws marked `failed` (as the import job does). */
export const runImportOrFail = (services: Services, orgId: string, importId: string) =>
  runOrFail(services, orgId, importId, (s, o, i) => runImport(s, o, i));
