import { and, eq } from 'drizzle-orm';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import { AppError, conflict } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { deleteCompany } from '../companies/company.service.js';
import { deleteContact } from '../contacts/contact.service.js';
import { type DemoRecords, type DemoSize, emptyDemoRecords, fillDemoData } from '../demo/demo.service.js';
import { deleteNote } from '../notes/note.service.js';
import { deleteOpportunity } from '../opportunities/opportunity.service.js';
import { deletePipeline } from '../pipelines/pipeline.service.js';
import { transitionTask } from '../tasks/task.service.js';
import { sampleRecords } from './home.schema.js';

/** A small team's first weeks: enough to see every page at work, quick to make and to remove. */
export const SAMPLE_SIZE: DemoSize = { companies: 12, contacts: 40, opportunities: 24, tasks: 12, notes: 15 };

/**
 * Fills the caller's organization with sample records (the demo generator, the caller as their
 * creator, owner and assignee), noting each so that `removeSampleData` deletes exactly those.
 * What was made before a failure is noted too. @throws 409 `sample_data_loaded` when some is there
 */
export async function loadSampleData(services: Services, ctx: TenantContext): Promise<{ records: number }> {
  const existing = await withTenant(
    services.database,
    ctx,
    ({ tx }) => tx.select().from(sampleRecords).where(eq(sampleRecords.orgId, ctx.orgId)).limit(1),
    { readOnly: true },
  );
  if (existing.length)
    throw conflict('Sample data is already loaded; remove it first', undefined, 'sample_data_loaded');
  const made = emptyDemoRecords();
  try {
    await fillDemoData(services, ctx, {
      seed: Date.now() % 100_000,
      size: SAMPLE_SIZE,
      renewalsName: `Renewals (sample ${Date.now().toString(36)})`,
      into: made,
    });
  } finally {
    await note(services, ctx, made);
  }
  return { records: Object.values(made).reduce((n, ids) => n + ids.length, 0) };
}

async function note(services: Services, ctx: TenantContext, made: DemoRecords): Promise<void> {
  const rows = Object.entries(made).flatMap(([object, ids]) =>
    ids.map((recordId) => ({ orgId: ctx.orgId, object, recordId })),
  );
  if (rows.length)
    await withTenant(services.database, ctx, ({ tx }) =>
      tx.insert(sampleRecords).values(rows).onConflictDoNothing(),
    );
}

/** How each kind of sample record goes, in the order that frees what the next one needs. */
const REMOVE: [keyof DemoRecords, (s: Services, c: TenantContext, id: string) => Promise<unknown>][] = [
  ['note', (s, c, id) => deleteNote(s, c, id, { isAdmin: true })],
  // Tasks have no delete for good: archived, they leave every list.
  ['task', (s, c, id) => transitionTask(s, c, id, 'archive')],
  ['opportunity', deleteOpportunity],
  ['contact', deleteContact],
  ['company', deleteCompany],
  ['pipeline', deletePipeline],
];

/**
 * Removes the sample records of the caller's organization: notes, opportunities, contacts,
 * companies and the sample pipeline deleted for good, tasks archived; one already gone (or, for a
 * pipeline, holding a deal a member made) is skipped. @returns how many records it removed
 */
export async function removeSampleData(services: Services, ctx: TenantContext): Promise<{ records: number }> {
  const rows = await withTenant(
    services.database,
    ctx,
    ({ tx }) => tx.select().from(sampleRecords).where(eq(sampleRecords.orgId, ctx.orgId)),
    { readOnly: true },
  );
  let removed = 0;
  for (const [object, remove] of REMOVE) {
    for (const row of rows.filter((r) => r.object === object)) {
      try {
        await remove(services, ctx, row.recordId);
        removed++;
      } catch (error) {
        if (!(error instanceof AppError) || ![404, 409].includes(error.status)) throw error;
      }
      await withTenant(services.database, ctx, ({ tx }) =>
        tx
          .delete(sampleRecords)
          .where(
            and(
              eq(sampleRecords.orgId, ctx.orgId),
              eq(sampleRecords.object, row.object),
              eq(sampleRecords.recordId, row.recordId),
            ),
          ),
      );
    }
  }
  return { records: removed };
}
