import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import { and, asc, eq, gt, sql } from 'drizzle-orm';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import type { Services } from '../../platform/http/types.js';
import { neutralizeCell } from '../records/record-export.service.js';
import { importRows, realProblems } from './import.schema.js';
import { hasProblems, loadImport } from './import.service.js';

const PAGE = 1000;

/**
 * The error report of an import as CSV: one line per problem of each failed row and each row
 * imported with a problem: `row` (1-based data row), `outcome`, `column`, `code`, `reason`,
 * then the row's original cells under the file's headers. Every cell is formula-neutralized
 * (OWASP "CSV Injection"): a value starting with `=`, `+`, `-`, `@` gets a leading `'`.
 * Streams page by page. @throws 404 before the first byte
 */
export async function importErrorReport(
  services: Services,
  ctx: TenantContext,
  id: string,
  code?: string | undefined,
): Promise<Readable> {
  const row = await withTenant(services.database, ctx, (scope) => loadImport(scope, id));
  const header = ['row', 'outcome', 'column', 'code', 'reason', ...row.headers];
  async function* lines() {
    yield stringify([header.map(neutralizeCell)]);
    let after = 0;
    for (;;) {
      const page = await withTenant(services.database, ctx, (scope) =>
        scope.tx
          .select()
          .from(importRows)
          .where(
            and(
              eq(importRows.orgId, ctx.orgId),
              eq(importRows.importId, id),
              gt(importRows.rowNumber, after),
              code
                ? sql`${importRows.problems} @> ${JSON.stringify([{ code }])}::jsonb`
                : sql`(${importRows.outcome} = 'failed' or ${hasProblems})`,
            ),
          )
          .orderBy(asc(importRows.rowNumber))
          .limit(PAGE),
      );
      if (page.length === 0) return;
      const out: string[][] = [];
      for (const r of page) {
        const cells = row.headers.map((_, i) => r.cells?.[i] ?? '');
        const real = realProblems(r.problems);
        const problems = real.length ? real : [{ column: null, code: 'failed', message: 'Failed' }];
        for (const p of problems.filter((x) => !code || x.code === code))
          out.push(
            [String(r.rowNumber), r.outcome, p.column ?? '', p.code, p.message, ...cells].map(neutralizeCell),
          );
      }
      yield stringify(out);
      after = page.at(-1)!.rowNumber;
    }
  }
  return Readable.from(lines());
}
