import { and, eq, inArray, sql } from 'drizzle-orm';
import { type TenantScope, withTenant } from '../../db/tenant.js';
import type { Services } from '../../platform/http/types.js';
import { listMembers } from '../organizations/organization.service.js';
import { noteBulkWriter, taskBulkWriter } from './bulk-activities.js';
import { companyBulkWriter } from './bulk-companies.js';
import { contactBulkWriter } from './bulk-contacts.js';
import { opportunityBulkWriter } from './bulk-opportunities.js';
import { importRows, imports, type RowOutcome } from './import.schema.js';
import { IMPORT_QUEUE, type ImportJob, importCtx, loadImport, targetsOf } from './import.service.js';
import {
  type BulkBatch,
  type BulkWriter,
  PIPELINE_DEPTH,
  type PipelinedWriter,
  problemOf,
  type WriteOne,
} from './import-bulk.js';
import { type FileRow, readRows } from './import-file.util.js';
import { runRevert } from './import-revert.service.js';
import { importAnalyzer } from './import-statistics.js';
import { type RowDraft, readRow, storableText } from './import-values.js';
import {
  failedRow,
  type RowResult,
  type RowWriter,
  type RunContext,
  type RunSettings,
} from './import-writers.js';
import { writeNote, writeTask } from './writers-activities.js';
import { setCompanyParent, writeCompany } from './writers-companies.js';
import { writeContact } from './writers-contacts.js';
import { writeOpportunity } from './writers-opportunities.js';

/**
 * Another run of the same import committed past this run's batch (pg-boss handed out an expired
 * job again while the first run was still going): this run stops and leaves the import to it.
 */
export class RunOvertakenError extends Error {
  constructor(importId: string) {
    super(`Another run of import ${importId} is ahead of this one`);
  }
}

/** Rows committed together with their outcomes and the checkpoint. */
export const IMPORT_BATCH_ROWS = 250;
/**
 * The same for objects written in bulk (`BULK_WRITERS`): a statement costs about the same for 1 row
 * or 1,000. Not more: up to three batches are in memory at once (two written, one read), and at
 * 2,000 rows the server peaked at 470-480 MB on a 1,000,000-row import, at 1,500 rows at 440.
 */
export const IMPORT_BULK_BATCH_ROWS = 1500;

/**
 * Rows read between two turns of the event loop (see `runImport`). Reading and checking a row takes
 * about 60 µs, so a reply from the database waits at most about 1 ms for its turn (100 rows: 6 ms,
 * on each of a batch's dozen statements).
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

type RowRecord = typeof importRows.$inferInsert;

/** Thrown inside a batch's transaction to roll it back: the import stopped, or the batch before it did. */
class BatchAbandoned extends Error {}
/** Thrown inside a batch's savepoint to roll its inserts back: it is planned again. */
class BatchReplanned extends Error {}

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
  options: { maxBatches?: number; batchRows?: number; onBatch?: (rowsDone: number) => void } = {},
): Promise<string> {
  const ctx = importCtx(orgId, importId);
  const prepared = await withTenant(services.database, ctx, async (scope) => {
    const row = await loadImport(scope, importId, true);
    if (row.status !== 'queued' && row.status !== 'running') return null;
    await scope.tx
      .update(imports)
      .set({
        status: 'running',
        startedAt: row.startedAt ?? new Date().toISOString(),
        updatedAt: new Date().toISOString(),
      })
      .where(and(eq(imports.orgId, orgId), eq(imports.id, importId)));
    return { row, targets: await targetsOf(scope, row.object) };
  });
  if (!prepared) return 'skipped';
  const { row, targets } = prepared;
  const members = row.createdBy
    ? (await listMembers(services, { orgId, actor: { type: 'system', id: null } })).map((m) => ({
        id: m.user_id,
        name: m.name,
        email: m.email,
      }))
    : [];
  const byKey = new Map(targets.map((t) => [t.key, t]));
  const headerOf = (target: string) => row.mapping.find((m) => m.target === target)?.header ?? null;
  const writer = WRITERS[row.object]!;
  const failRow = row.options.invalid_cells === 'fail_row';
  const pipelines = new Map();
  const bulk = BULK_WRITERS[row.object]?.();
  const pipelined = bulk && 'plan' in bulk ? bulk : null;
  const batchWriter = bulk && !('plan' in bulk) ? bulk : null;
  const batchRows = options.batchRows ?? (bulk ? IMPORT_BULK_BATCH_ROWS : IMPORT_BATCH_ROWS);

  const settings: RunSettings = {
    services,
    importId,
    importerId: row.createdBy,
    dedup: row.dedup,
    options: row.options,
    members,
    customKinds: new Map(
      targets.flatMap((t) => (t.key.startsWith('custom.') ? [[t.key.slice(7), t.kind] as const] : [])),
    ),
    headerOf,
    pipelines,
  };
  /** A batch read from the file, with its bulk lookup (and plan) under way. */
  type Next = {
    batch: FileRow[];
    drafts: RowDraft[];
    bulk: { rows: BulkBatch; lookedUp: Promise<void>; planned?: Promise<void> } | null;
  };
  /** How a batch's write ended: committed, or rolled back (the import was cancelled meanwhile). */
  type BatchEnd = { committed: boolean; replanned: boolean };

  const runBatch = async (next: Next, before: Promise<BatchEnd> | null): Promise<BatchEnd> => {
    const { batch, drafts, bulk: bulkBatch } = next;
    // Outside the batch's transaction: on PGlite (one connection) the lookup waits for the
    // previous batch's transaction, and this one must not hold the connection meanwhile.
    if (bulkBatch) await (bulkBatch.planned ?? bulkBatch.lookedUp);
    try {
      return await withTenant(services.database, ctx, async (scope) => {
        const started = await loadImport(scope, importId);
        if (started.status !== 'running') return { committed: false, replanned: false };
        // Another runner (a job handed out twice, the CLI and a worker) got past this batch first.
        if (started.rowsDone >= batch[0]!.number) throw new RunOvertakenError(importId);
        const run: RunContext = { ...settings, scope };
        /** Waits for the batch before this one to commit; throws when it was rolled back. */
        const earlierCommitted = async () => {
          if (before && !(await before).committed) throw new BatchAbandoned();
        };
        const writeOne: WriteOne = async (draft) => {
          try {
            return await scope.tx.transaction((sp) => writer({ ...run, scope: { ...scope, tx: sp } }, draft));
          } catch (error) {
            const p = problemOf(error);
            if (!p) throw error;
            return failedRow([p]);
          }
        };
        // Rows with a problem fail whole when the import says so; the others are written.
        const writable = drafts.filter((d) => !(failRow && d.problems.length > 0));
        let written: RowResult[] = [];
        let replanned = false;
        if (pipelined && bulkBatch && writable.length > 0) {
          const rows = bulkBatch.rows;
          // The new records first, while the batch before may still be writing; then, once it has
          // committed, the rest. A plan that relied on keys the batch before no longer has (its
          // rows ended otherwise) is rolled back and made again on the database.
          const asPlanned = await scope.tx
            .transaction(async (sp) => {
              await pipelined.insert({ ...run, scope: { ...scope, tx: sp } }, rows);
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
            pipelined.plan(settings, rows, true);
            await pipelined.register(scope, rows);
            await pipelined.insert(run, rows);
            replanned = true;
          }
          written = await pipelined.finish(run, rows, writeOne);
        } else {
          await earlierCommitted();
          if (batchWriter && bulkBatch && writable.length > 0)
            written = await batchWriter.write(run, bulkBatch.rows, writeOne);
          else for (const draft of writable) written.push(await writeOne(draft));
        }
        await earlierCommitted();
        const current = await loadImport(scope, importId, true);
        if (current.status !== 'running') throw new BatchAbandoned();
        if (current.rowsDone >= batch[0]!.number) throw new RunOvertakenError(importId);
        const records: RowRecord[] = [];
        const counts: Record<RowOutcome, number> = { created: 0, updated: 0, skipped: 0, failed: 0 };
        const empty: Record<string, number> = { ...current.emptyCells };
        let withProblems = 0;
        let nextWritten = 0;
        for (const [i, fileRow] of batch.entries()) {
          const draft = drafts[i]!;
          for (const header of draft.empty) empty[header] = (empty[header] ?? 0) + 1;
          const result: RowResult =
            failRow && draft.problems.length > 0 ? failedRow([]) : written[nextWritten++]!;
          const { outcome, recordId, before: previous } = result;
          const problems = [...draft.problems, ...result.problems];
          counts[outcome] += 1;
          if (problems.length > 0) withProblems += 1;
          records.push({
            orgId,
            importId,
            rowNumber: fileRow.number,
            outcome,
            recordId,
            problems,
            cells: problems.length > 0 || outcome === 'failed' ? fileRow.cells.map(storableText) : null,
            before: previous ?? null,
          });
        }
        if (records.length > 0) await insertRowOutcomes(scope, records);
        await scope.tx
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
        return { committed: true, replanned };
      });
    } catch (error) {
      if (error instanceof BatchAbandoned) return { committed: false, replanned: false };
      throw error;
    }
  };

  // While a batch is written, the next is read, parsed and looked up: the database and this
  // process work at the same time. A pipelined writer on a server has two batches written at
  // once, on two connections; batches still commit one after the other, in file order.
  let depth = pipelined && services.database.pool ? PIPELINE_DEPTH : 1;
  let batch: FileRow[] = [];
  let drafts: RowDraft[] = [];
  const inFlight: { written: Promise<BatchEnd>; last: number }[] = [];
  let begun = 0;
  let planning: Promise<void> = Promise.resolve();
  /** Waits for the oldest batch in flight; false when it did not commit (cancelled). */
  const settle = async (): Promise<boolean> => {
    const oldest = inFlight.shift();
    if (!oldest) return true;
    const end = await oldest.written;
    if (!end.committed) return false;
    // Planned again: the batches planned on it are too. One at a time from now on, so that each
    // is planned on what the one before it wrote.
    if (end.replanned) depth = 1;
    analyzer.after(oldest.last);
    options.onBatch?.(oldest.last);
    return true;
  };
  /** Waits for every batch in flight (none is left running); false when one did not commit. */
  const drain = async (): Promise<boolean> => {
    const ends = await Promise.allSettled(inFlight.map((b) => b.written));
    let committed = true;
    while (inFlight.length > 0) committed = (await settle().catch(() => false)) && committed;
    const failed = ends.find((e) => e.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    return committed;
  };
  /** Takes the rows read so far as the next batch; a bulk object's lookup starts at once. */
  const take = (): Next => {
    let bulkBatch: Next['bulk'] = null;
    if (bulk) {
      const rows = bulk.prepare(
        settings,
        drafts.filter((d) => !(failRow && d.problems.length > 0)),
      );
      const lookedUp = withTenant(services.database, ctx, (scope) => bulk.lookup(scope, rows));
      lookedUp.catch(() => {}); // awaited by runBatch
      bulkBatch = { rows, lookedUp };
    }
    const next = { batch, drafts, bulk: bulkBatch };
    batch = [];
    drafts = [];
    return next;
  };
  /** Starts writing a batch; a pipelined writer plans it first, after the batches begun before it. */
  const begin = (next: Next) => {
    if (pipelined && next.bulk) {
      const { rows, lookedUp } = next.bulk;
      planning = Promise.all([planning, lookedUp]).then(() => {
        pipelined.plan(settings, rows, false);
        return withTenant(services.database, ctx, (scope) => pipelined.register(scope, rows));
      });
      next.bulk.planned = planning;
      planning = planning.catch(() => {}); // the batch that planned it reports the failure
    }
    const written = runBatch(next, inFlight.at(-1)?.written ?? null);
    written.catch(() => {}); // awaited by settle; this only keeps an early failure from going unhandled
    inFlight.push({ written, last: next.batch.at(-1)!.number });
    begun += 1;
  };
  /** Settles batches until another may begin; false when one did not commit. */
  const room = async (): Promise<boolean> => {
    try {
      while (inFlight.length >= depth) if (!(await settle())) return false;
    } catch (error) {
      await drain().catch(() => {}); // the batches after it roll back: none is left running
      throw error;
    }
    return true;
  };
  const interrupted = () => options.maxBatches !== undefined && begun >= options.maxBatches;
  const analyzer = importAnalyzer(services, row.object);
  try {
    return await readAndWrite();
  } finally {
    await analyzer.settled();
  }

  async function readAndWrite(): Promise<string> {
    const current = await withTenant(services.database, ctx, (scope) => loadImport(scope, importId));
    /** Stops reading: waits for what is in flight (a failure of it is thrown). */
    const stop = async (reason: string, next?: Next) => {
      await next?.bulk?.lookedUp.catch(() => {}); // leaves no transaction behind
      return (await drain()) ? reason : 'cancelled';
    };
    for await (const fileRow of readRows(
      row.filePath,
      { delimiter: row.delimiter, hasBom: false },
      current.rowsDone,
    )) {
      batch.push(fileRow);
      drafts.push(readRow(fileRow.cells, row.mapping, byKey));
      // Rows already parsed come through microtasks, which run before any I/O callback: without a
      // turn of the event loop now and then, the batch being written waits for each statement's
      // reply until a whole chunk of the file is parsed (18% of a 100,000-row import).
      if (batch.length % YIELD_EVERY_ROWS === 0) await new Promise(setImmediate);
      if (batch.length < batchRows) continue;
      const next = take();
      if (!(await room())) return stop('cancelled', next);
      if (interrupted()) return stop('interrupted', next);
      begin(next);
    }
    if (batch.length > 0) {
      if (!(await room())) return stop('cancelled');
      if (interrupted()) return stop('interrupted');
      begin(take());
    }
    if (!(await drain())) return 'cancelled';
    return withTenant(services.database, ctx, async (scope) => {
      const done = await loadImport(scope, importId, true);
      if (done.status !== 'running') return done.status;
      if (row.object === 'company') await resolvePendingParents({ ...settings, scope });
      await scope.tx
        .update(imports)
        .set({
          status: 'completed',
          finishedAt: new Date().toISOString(),
          updatedAt: new Date().toISOString(),
        })
        .where(and(eq(imports.orgId, orgId), eq(imports.id, importId)));
      return 'completed';
    });
  }
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

/**
 * After the last row: sets the parent of each company whose parent was not found when its row
 * ran (it came later in the file). A parent still unknown becomes an `unknown_parent` problem.
 */
async function resolvePendingParents(run: RunContext): Promise<void> {
  const { scope } = run;
  const pending = await scope.tx
    .select()
    .from(importRows)
    .where(
      and(
        eq(importRows.orgId, scope.ctx.orgId),
        eq(importRows.importId, run.importId),
        sql`${importRows.problems} @> '[{"code":"parent_pending"}]'::jsonb`,
      ),
    );
  for (const r of pending) {
    const ref = r.problems.find((p) => p.code === 'parent_pending')?.value ?? '';
    const set = r.recordId && r.outcome !== 'failed' ? await setCompanyParent(run, r.recordId, ref) : null;
    const problems = r.problems
      .filter((p) => p.code !== 'parent_pending' || !set)
      .map((p) =>
        p.code === 'parent_pending'
          ? {
              ...p,
              code: 'unknown_parent',
              message: 'No company with this name or external id: no parent set',
            }
          : p,
      );
    await scope.tx
      .update(importRows)
      .set({ problems, ...(problems.length === 0 ? { cells: null } : {}) })
      .where(
        and(
          eq(importRows.orgId, r.orgId),
          eq(importRows.importId, r.importId),
          eq(importRows.rowNumber, r.rowNumber),
        ),
      );
    if (problems.length === 0)
      await scope.tx
        .update(imports)
        .set({ withProblems: sql`${imports.withProblems} - 1` })
        .where(and(eq(imports.orgId, r.orgId), eq(imports.id, r.importId)));
  }
}

/** The row-by-row writer of each object (new rows of the bulk objects are written in batches). */
const WRITERS: Record<string, RowWriter> = {
  contact: writeContact,
  company: writeCompany,
  opportunity: writeOpportunity,
  task: writeTask,
  note: writeNote,
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
    try {
      if (data.kind === 'revert') await runRevert(services, data.org_id, data.import_id);
      else await runImport(services, data.org_id, data.import_id);
    } catch (error) {
      if (error instanceof RunOvertakenError) return;
      await withTenant(services.database, importCtx(data.org_id, data.import_id), (scope) =>
        scope.tx
          .update(imports)
          .set({
            status: 'failed',
            error: String((error as Error).message ?? error).slice(0, 1000),
            finishedAt: new Date().toISOString(),
          })
          .where(and(eq(imports.orgId, data.org_id), eq(imports.id, data.import_id))),
      );
    }
  });
}
