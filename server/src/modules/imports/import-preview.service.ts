import type { TenantContext } from '../../db/tenant.js';
import { withTenant } from '../../db/tenant.js';
import type { Services } from '../../platform/http/types.js';
import { phoneRegionOr } from '../../platform/registry/phone.js';
import type { CellProblem } from './import.schema.js';
import { assertMappingWritable, loadImport, targetsOf } from './import.service.js';
import { checkRows } from './import-check.js';
import { readRows } from './import-file.util.js';
import { runSettings } from './import-settings.js';
import { readRow } from './import-values.js';

/**
 * The first `limit` rows as they would be stored, each with the problems the run will report on
 * it (cells, and what it names that does not exist: owner, company, contact, pipeline, stage...),
 * and `check`: every row of the file (the first CHECK_MAX_ROWS of a larger one) checked the same
 * way, counted by problem, with how many rows will fail or lose a value. Nothing is written.
 * @throws 404
 */
export async function previewImport(services: Services, ctx: TenantContext, id: string, limit: number) {
  const { row, targets } = await withTenant(services.database, ctx, async (scope) => {
    const row = await loadImport(scope, id);
    await assertMappingWritable(scope, row.object, row.mapping, (index) => `mapping[${index}].target`);
    return { row, targets: await targetsOf(scope, row.object) };
  });
  const settings = await runSettings(services, id, row, targets);
  const byKey = new Map(targets.map((t) => [t.key, t]));
  const region = phoneRegionOr(row.options.phone_region);
  const values: Record<string, unknown>[] = [];
  async function* drafts() {
    for await (const r of readRows(row.filePath, { delimiter: row.delimiter, hasBom: false })) {
      const draft = readRow(r.cells, row.mapping, byKey, region, row.options.corrections);
      if (values.length < limit) values.push(draft.values);
      yield { number: r.number, draft };
    }
  }
  const { check, kept } = await checkRows(
    services,
    ctx,
    row.object,
    settings,
    targets,
    drafts(),
    row.totalRows,
    limit,
  );
  const problemCounts: Record<string, number> = {};
  const rows = kept.map((k, i) => {
    for (const p of k.reported) problemCounts[p.code] = (problemCounts[p.code] ?? 0) + 1;
    return { row_number: k.number, values: values[i]!, problems: k.reported as CellProblem[] };
  });
  return { rows, problem_counts: problemCounts, check };
}
