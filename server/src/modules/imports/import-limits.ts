import { withTenant } from '../../db/tenant.js';
import { planStateOf, roomLeft } from '../../platform/plans/plan-limits.js';
import type { ImportRun } from './import-batch.writer.js';

/** What the limit check needs of the run's batch queue (`import-runner.service.ts`). */
type Drainable = { drain(): Promise<boolean> };

/**
 * A contact import under a plan's contact limit (issue 30): when the organization's plan caps its
 * contacts, the batches in flight are waited for (the count is then exact) and the room left is
 * read. @returns null when the batch fits (or there is no limit), the room left (fewer rows than
 * the batch: the import writes those, then stops) or `cancelled`. Every row of the batch is
 * counted as a new contact (a row that updates one is counted too: the import stops early rather
 * than late).
 */
export async function contactCap(
  run: ImportRun,
  object: string,
  queue: Drainable,
  rows: number,
): Promise<{ left: number; usage: number; limit: number } | null | 'cancelled'> {
  if (object !== 'contact') return null;
  if ((await planStateOf(run.services.database, run.orgId)).limits.contacts === undefined) return null;
  if (!(await queue.drain())) return 'cancelled';
  const room = await withTenant(run.services.database, run.ctx, (scope) => roomLeft(scope, 'contacts'), {
    readOnly: true,
  });
  return room && room.left < rows ? room : null;
}

/**
 * Ends an import at the plan's contact limit once the rows that fit committed: thrown, the run
 * fails with this reason (the job handler records it); the rows written stay, and starting the
 * import again after the limit is raised goes on from where it stopped.
 */
export async function stopAtLimit(
  queue: Drainable,
  cap: { left: number; usage: number; limit: number },
): Promise<string> {
  if (!(await queue.drain())) return 'cancelled';
  throw new Error(
    `Stopped at the plan's contact limit (plan_limit_reached): ${cap.usage + cap.left} of ${cap.limit} contacts. ` +
      `The rows before this point were imported and are kept; when the operator raises the limit, start the import again to go on.`,
  );
}
