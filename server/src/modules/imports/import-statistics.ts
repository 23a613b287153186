// Planner statistics for the tables an import fills, gathered while it runs.
//
// PostgreSQL plans each statement from the statistics ANALYZE last gathered. A tenant that grows
// by a million rows in minutes is planned, until the next ANALYZE, as the few rows it had: the
// batch lookups (`email = any($2)` over 2,000 keys) then read every row of the tenant instead of
// probing the index 2,000 times. Measured on 285,000 contacts without statistics: 85 ms for the
// e-mail lookup instead of 2, 240 ms for 1,000 rows of the undo's update instead of 8, so an
// import slowed down as it grew. PostgreSQL's advice after a bulk load is ANALYZE ("Populating a
// Database: Run ANALYZE Afterwards", https://www.postgresql.org/docs/15/populate.html); autovacuum
// does it only once a tenth of a table has changed, and not at all where it is off (the embedded
// database has no autovacuum).
import type { Services } from '../../platform/http/types.js';

/** The tables each object's import writes into, whose statistics its own lookups depend on. */
const TABLES: Record<string, string[]> = {
  contact: ['contacts', 'contact_emails', 'contact_companies', 'external_ids', 'import_rows', 'events'],
  company: ['companies', 'external_ids', 'import_rows', 'events'],
  opportunity: ['opportunities', 'opportunity_stage_history', 'external_ids', 'import_rows', 'events'],
  task: ['tasks', 'external_ids', 'import_rows', 'events'],
  note: ['notes', 'external_ids', 'import_rows', 'events'],
  product: ['products', 'product_prices', 'external_ids', 'import_rows', 'events'],
};

/** Rows after which an import first gathers statistics; below it the tables' old ones serve. */
export const FIRST_ANALYZE_ROWS = 5_000;
/** Each later ANALYZE waits until the rows done have grown this many times: 5,000, 20,000, 80,000... */
const ANALYZE_GROWTH = 4;

/**
 * Runs ANALYZE on the tables `object`'s import writes, as the connecting role (their owner; a
 * role that does not own them gets a warning from PostgreSQL and nothing is gathered). About a
 * quarter of a second per table whatever its size (ANALYZE reads a sample of 30,000 rows).
 * A failure is left unreported: statistics only speed the import up.
 */
export async function analyzeImportTables(services: Services, object: string): Promise<void> {
  // Any other object is a custom object: its records live in the generic records table.
  const tables = TABLES[object] ?? ['records', 'import_rows', 'events'];
  if (!tables) return;
  await services.database.raw.query(`analyze ${tables.join(', ')}`).catch(() => {});
}

/**
 * Statistics for a running import: `after(rowsDone)` after each committed batch starts an
 * ANALYZE (on a connection of its own, while the next batch is written) each time the rows done
 * reach the next step; `settled()` waits for the one under way.
 */
export function importAnalyzer(services: Services, object: string) {
  // A resumed run gathers them after its first batch (done >= FIRST_ANALYZE_ROWS already).
  let next = FIRST_ANALYZE_ROWS;
  let running: Promise<void> = Promise.resolve();
  return {
    after(done: number): void {
      if (done < next) return;
      next = done * ANALYZE_GROWTH;
      running = running.then(() => analyzeImportTables(services, object));
    },
    settled: (): Promise<void> => running,
  };
}
