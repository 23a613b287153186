import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import type { Services } from '../../platform/http/types.js';
import { compileListQuery } from '../../platform/query/query.compiler.js';
import type { ListQuery } from '../../platform/query/query.schema.js';
import { objectDef } from '../../platform/registry/registry.service.js';
import { listPage } from './record-list.service.js';

// The query language caps a page at 200; an export reads page after page.
const BATCH = 200;

/**
 * Neutralizes a spreadsheet formula: a cell starting with `=`, `+`, `-`, `@`, tab or CR is
 * prefixed with `'` so Excel and its kin show it as text instead of executing it
 * (OWASP "CSV Injection").
 */
export function neutralizeCell(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

/** An item of a list value as text: an e-mail's address, a phone's E.164 number, a record's name. */
function itemOf(item: unknown): string {
  if (item === null || typeof item !== 'object') return String(item);
  const v = item as { value?: unknown; e164?: unknown; name?: unknown };
  const text = v.value ?? v.e164 ?? v.name;
  return typeof text === 'string' ? text : JSON.stringify(item);
}

/** A value as one CSV cell; lists are joined with `; ` (which Cairn's import splits again). */
function cellOf(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return neutralizeCell(value.map(itemOf).join('; '));
  if (typeof value === 'object') {
    const v = value as { amount?: unknown; currency?: unknown; raw?: unknown; e164?: unknown };
    if (v.amount !== undefined && v.currency !== undefined)
      return neutralizeCell(`${v.amount} ${v.currency}`);
    if (v.e164 !== undefined) return neutralizeCell(String(v.e164 ?? v.raw ?? ''));
    return neutralizeCell(JSON.stringify(value));
  }
  return neutralizeCell(String(value));
}

/**
 * Streams every record matching `query` as CSV (header = field labels) or JSON lines, page by
 * page with the keyset cursor (each page its own short tenant transaction), so memory stays flat
 * whatever the size. The first page is read before the stream is returned, so a malformed
 * filter, sort or cursor is a 400 problem before the first byte is sent, in both formats.
 */
export async function exportRecords(
  services: Services,
  ctx: TenantContext,
  object: string,
  query: ListQuery,
  format: 'csv' | 'jsonl',
): Promise<Readable> {
  const def = await withTenant(services.database, ctx, ({ tx }) => objectDef(tx, ctx.orgId, object));
  // The caller's access profile decides the columns too: a hidden field is no column (issue 22).
  const fields = compileListQuery(def, { ...query, cursor: undefined, limit: 1 }, { tenant: ctx }).fields;
  const pageAt = (cursor: string | undefined) =>
    withTenant(services.database, ctx, (scope) => listPage(scope, def, { ...query, limit: BATCH, cursor }), {
      readOnly: true,
    });
  let page = await pageAt(query.cursor);
  async function* lines() {
    if (format === 'csv') yield `\uFEFF${stringify([fields.map((f) => neutralizeCell(f.label))])}`;
    for (;;) {
      if (format === 'jsonl') {
        if (page.data.length) yield page.data.map((row) => `${JSON.stringify(row)}\n`).join('');
      } else {
        const rows = page.data.map((row) =>
          fields.map((f) =>
            cellOf(
              f.origin === 'custom'
                ? (row.custom as Record<string, unknown> | undefined)?.[f.key]
                : row[f.key],
            ),
          ),
        );
        if (rows.length) yield stringify(rows);
      }
      if (!page.next_cursor) return;
      page = await pageAt(page.next_cursor);
    }
  }
  return Readable.from(lines());
}
