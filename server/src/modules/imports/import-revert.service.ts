// Undo of an import: the values it overwrote written back, the records it created archived
// (deleted, for notes), each row marked as it goes so that an undo that dies resumes.
import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError } from '../../platform/errors/app-error.js';
import { mapDatabaseError } from '../../platform/errors/db-errors.js';
import type { Services } from '../../platform/http/types.js';
import type { CompanyUpdateInput } from '../companies/company.dto.js';
import { archiveCompany } from '../companies/company.service.js';
import { updateCompaniesIn, updateCompany } from '../companies/company-updates.service.js';
import type { ContactUpdateInput } from '../contacts/contact.dto.js';
import { archiveContact, setContactsArchived } from '../contacts/contact.service.js';
import { updateContact, updateContactsIn } from '../contacts/contact-updates.service.js';
import { deleteNote, replaceNoteBodyIn } from '../notes/note.service.js';
import type { OpportunityUpdateInput } from '../opportunities/opportunity.dto.js';
import { archiveOpportunity, setOpportunitiesArchived } from '../opportunities/opportunity.service.js';
import { updateOpportunitiesIn, updateOpportunity } from '../opportunities/opportunity-updates.service.js';
import { archiveProduct, setProductsArchived, updateProduct } from '../products/product.service.js';
import { updateRecordsIn } from '../records/record-batch.service.js';
import type { RecordChangeResult } from '../records/record-changes.js';
import { setRecordsArchived, updateRecord } from '../records/record-engine.service.js';
import { transitionTask, updateTask } from '../tasks/task.service.js';
import { type CellProblem, externalIds, importRows, imports } from './import.schema.js';
import { importCtx, loadImport } from './import.service.js';
import { problemOf } from './import-bulk.js';
import { analyzeImportTables, FIRST_ANALYZE_ROWS } from './import-statistics.js';
import { isCustomObject } from './import-targets.js';

type ImportRowRecord = typeof importRows.$inferSelect;

/** Rows an undo reads at a time, each undone in its own transaction. */
const REVERT_PAGE_ROWS = 200;
/** The same for objects whose updates are undone a page at a time (`BULK_UPDATE`): one transaction. */
const REVERT_BULK_PAGE_ROWS = 1000;

const ARCHIVE: Record<string, (s: Services, c: TenantContext, id: string) => Promise<unknown>> = {
  contact: archiveContact,
  company: archiveCompany,
  opportunity: archiveOpportunity,
  task: (s, c, id) => transitionTask(s, c, id, 'archive'),
  // Notes have no archive: an imported note is deleted.
  note: (s, c, id) => deleteNote(s, c, id, { isAdmin: true }),
  product: archiveProduct,
};
const UPDATE = {
  contact: updateContact,
  company: updateCompany,
  opportunity: updateOpportunity,
  task: updateTask,
  product: updateProduct,
  // The text an import overwrote goes back (notes have no other field an import changes).
  note: (s: Services, c: TenantContext, id: string, before: { body: string }) =>
    withTenant(s.database, c, (scope) => replaceNoteBodyIn(scope, s, id, before.body)),
} as Record<string, (s: Services, c: TenantContext, id: string, input: never) => Promise<unknown>>;

/**
 * Undoes an import, last row first: archives each record it created and writes back the values
 * it overwrote in each record it updated (one event each, the import as actor), marking each row
 * reverted so a revert that dies resumes where it stopped. Contacts, companies and opportunities
 * it updated are put back 1,000 rows a transaction (`BULK_UPDATE`); contacts and opportunities it
 * created are archived 1,000 a transaction (`archiveCreated`) once the updates are undone, the
 * other records one by one. External ids the import recorded go.
 * A record changed since (archived, say) is left as it is and noted on its row.
 */
export async function runRevert(services: Services, orgId: string, importId: string): Promise<string> {
  const ctx = importCtx(orgId, importId);
  const row = await withTenant(services.database, ctx, (scope) => loadImport(scope, importId));
  if (row.status !== 'reverting') return 'skipped';
  const object = row.object;
  // Its rows are found by id 1,000 at a time: with statistics from before the import, each batch
  // would read every row of the tenant (see import-statistics.ts).
  if (row.created + row.updated >= FIRST_ANALYZE_ROWS) await analyzeImportTables(services, object);
  // Contacts and opportunities it created are archived a batch at a time, after the updates are undone (an update
  // of a contact the import created cannot be undone once that contact is archived).
  const bulkArchive = bulkArchiveOf(object) !== undefined;
  for (;;) {
    const rows = await withTenant(services.database, ctx, (scope) =>
      scope.tx
        .select()
        .from(importRows)
        .where(
          and(
            eq(importRows.orgId, orgId),
            eq(importRows.importId, importId),
            inArray(importRows.outcome, bulkArchive ? ['updated'] : ['created', 'updated']),
            isNull(importRows.revertedAt),
          ),
        )
        .orderBy(sql`${importRows.rowNumber} desc`)
        .limit(bulkUpdateOf(object) ? REVERT_BULK_PAGE_ROWS : REVERT_PAGE_ROWS),
    );
    if (rows.length === 0) break;
    // The page's updates at once (last row first), then its creates: an update of a record this
    // import created comes later in the file, so it is undone before that record is archived.
    const bulk = bulkUpdateOf(object);
    const updated = rows.filter((r) => r.outcome === 'updated');
    let rest = rows;
    if (
      bulk &&
      updated.length > 0 &&
      (await withTenant(services.database, ctx, (scope) => revertUpdates(scope, services, bulk, updated)))
    )
      rest = rows.filter((r) => r.outcome !== 'updated');
    for (const r of rest) {
      let note: CellProblem | null = null;
      try {
        if (r.outcome === 'created') await ARCHIVE[object]!(services, ctx, r.recordId!);
        else if (r.before && UPDATE[object])
          await UPDATE[object](services, ctx, r.recordId!, r.before as never);
        else if (r.before)
          await updateRecord(services, ctx, object, r.recordId!, {
            custom: (r.before as { custom: Record<string, unknown> }).custom,
          });
      } catch (error) {
        const known = error instanceof AppError ? error : mapDatabaseError(error);
        if (!known) throw error;
        note = revertFailed(known);
      }
      await withTenant(services.database, ctx, (scope) => markReverted(scope, importId, [{ row: r, note }]));
    }
  }
  // A cursor down the rows: each batch starts below the last, not past every row already reverted.
  let below: number | null = bulkArchive ? Number.MAX_SAFE_INTEGER : null;
  while (below !== null)
    below = await withTenant(services.database, ctx, (s) =>
      archiveCreated(s, services, importId, object, below!),
    );
  await withTenant(services.database, ctx, async (scope) => {
    await scope.tx
      .delete(externalIds)
      .where(and(eq(externalIds.orgId, orgId), eq(externalIds.importId, importId)));
    await scope.tx
      .update(imports)
      .set({ status: 'reverted', revertedAt: new Date().toISOString(), updatedAt: new Date().toISOString() })
      .where(and(eq(imports.orgId, orgId), eq(imports.id, importId)));
  });
  return 'reverted';
}

/** How `archiveCreated` archives an object's records: the owning module's bulk archive, with its events. */
const BULK_ARCHIVE: Record<
  string,
  (scope: TenantScope, services: Services, ids: string[]) => Promise<{ id: string }[]>
> = {
  contact: (scope, services, ids) => setContactsArchived(scope, services, ids, true),
  opportunity: (scope, services, ids) => setOpportunitiesArchived(scope, services, ids, true),
  product: (scope, services, ids) => setProductsArchived(scope, services, ids, true),
};

/**
 * Archives the next 1,000 records the import created (last row first) in one transaction: the
 * records (a contact's e-mails are no longer reserved), one `<object>.archived` event each with
 * the import as actor, and the rows marked reverted. A record archived since is left as it is.
 * Takes the rows below row number `below`, last first.
 * @returns the row number to continue below, or null when nothing is left
 */
async function archiveCreated(
  scope: TenantScope,
  services: Services,
  importId: string,
  object: string,
  below: number,
): Promise<number | null> {
  const { orgId } = scope.ctx;
  const archive = bulkArchiveOf(object)!;
  const { rows } = await scope.conn.query(
    `select row_number, record_id from import_rows
      where org_id = $1 and import_id = $2 and outcome = 'created' and row_number < $3::bigint and reverted_at is null
      order by row_number desc limit 1000`,
    [orgId, importId, below],
  );
  const batch = rows as { row_number: number; record_id: string }[];
  if (batch.length === 0) return null;
  await archive(
    scope,
    services,
    batch.map((r) => r.record_id),
  );
  await scope.conn.query(
    `update import_rows set reverted_at = now()
      where org_id = $1 and import_id = $2 and row_number = any($3::int[])`,
    [orgId, importId, batch.map((r) => r.row_number)],
  );
  return batch.at(-1)!.row_number;
}

/** A batch update as an undo uses it: each item's `before` as its input; per item, why it was refused. */
type BulkUndo = (
  scope: TenantScope,
  services: Services,
  items: { id: string; before: unknown }[],
) => Promise<(AppError | null)[]>;

const undoWith =
  <I>(
    update: (
      scope: TenantScope,
      services: Services,
      changes: { id: string; input: I }[],
    ) => Promise<RecordChangeResult<unknown>[]>,
  ): BulkUndo =>
  async (scope, services, items) =>
    (
      await update(
        scope,
        services,
        items.map((i) => ({ id: i.id, input: i.before as I })),
      )
    ).map((r) => (r.ok ? null : r.error));

/**
 * Objects whose updated records an undo puts back many at a time, in one transaction: the values
 * of each item in order (a record updated by two rows gets the later row's first).
 */
const BULK_UPDATE: Record<string, BulkUndo> = {
  contact: undoWith<ContactUpdateInput>(updateContactsIn),
  company: undoWith<CompanyUpdateInput>(updateCompaniesIn),
  opportunity: undoWith<OpportunityUpdateInput>(updateOpportunitiesIn),
};

/** A custom object's records (`bulk-records.ts`): archived and put back through the record engine's batch writes. */
const bulkArchiveOf = (object: string) =>
  BULK_ARCHIVE[object] ??
  (isCustomObject(object)
    ? (scope: TenantScope, services: Services, ids: string[]) =>
        setRecordsArchived(scope, services, object, ids, true)
    : undefined);

const bulkUpdateOf = (object: string): BulkUndo | undefined =>
  BULK_UPDATE[object] ??
  (isCustomObject(object)
    ? async (scope, services, items) =>
        (
          await updateRecordsIn(
            scope,
            services,
            object,
            items.map((i) => ({
              id: i.id,
              custom: (i.before as { custom: Record<string, unknown> }).custom,
            })),
          )
        ).map((r) => (r.ok ? null : r.error))
    : undefined);

const revertFailed = (error: AppError): CellProblem => ({
  column: null,
  code: 'revert_failed',
  message: error.message,
});

/**
 * Undoes a page of updated rows (last row first) with one `BULK_UPDATE` in a savepoint and marks
 * them reverted, a refused row with the reason. A constraint refusing the whole (a record changed
 * meanwhile) rolls it back: the caller goes row by row.
 * @returns false when it rolled back
 */
async function revertUpdates(
  scope: TenantScope,
  services: Services,
  bulk: BulkUndo,
  rows: ImportRowRecord[],
): Promise<boolean> {
  const undone = rows.filter((r) => r.before);
  let errors: (AppError | null)[];
  try {
    errors = await scope.tx.transaction((sp) =>
      bulk(
        { ...scope, tx: sp },
        services,
        undone.map((r) => ({ id: r.recordId!, before: r.before })),
      ),
    );
  } catch (error) {
    if (!problemOf(error)) throw error;
    return false;
  }
  const notes = new Map(undone.map((r, i) => [r.rowNumber, errors[i] ? revertFailed(errors[i]!) : null]));
  await markReverted(
    scope,
    rows[0]!.importId,
    rows.map((row) => ({ row, note: notes.get(row.rowNumber) ?? null })),
  );
  return true;
}

/** Marks rows of an undo reverted, with the reason on a row that could not be undone. */
async function markReverted(
  scope: TenantScope,
  importId: string,
  rows: { row: ImportRowRecord; note: CellProblem | null }[],
): Promise<void> {
  await scope.conn.query(
    `update import_rows r set reverted_at = now(), problems = coalesce(x.problems, r.problems)
       from jsonb_to_recordset($3::jsonb) as x(row_number int, problems jsonb)
      where r.org_id = $1 and r.import_id = $2 and r.row_number = x.row_number`,
    [
      scope.ctx.orgId,
      importId,
      JSON.stringify(
        rows.map(({ row, note }) => ({
          row_number: row.rowNumber,
          problems: note ? [...row.problems, note] : null,
        })),
      ),
    ],
  );
}
