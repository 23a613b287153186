import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import { indexedSearchAllowed } from '../../platform/access/access-profile.js';
import type { Services } from '../../platform/http/types.js';
import { compileListQuery } from '../../platform/query/query.compiler.js';
import { type ListQuery, ListQueryParams } from '../../platform/query/query.schema.js';
import { indexedSearchIds } from '../../platform/query/query.search.js';
import { cachedObjectDef } from '../../platform/registry/registry.service.js';

/**
 * Most records a count counts exactly: past it a list says "10,000+". The count stops reading at
 * COUNT_CAP + 1 rows, so counting a tenant with millions of records costs no more than this.
 */
export const COUNT_CAP = 10_000;
const ALIAS = 'r';
/** Most records a free-text search considers: the list's own bound (record-list.service.ts). */
const SEARCH_CANDIDATES = 1000;

/** The query a count takes: the list's selection (filter, q), nothing of its paging. */
export const CountQueryParams = ListQueryParams.pick({ filter: true, q: true }).strict();

export const RecordCount = z
  .object({
    count: z
      .number()
      .int()
      .describe(`How many records the query selects, up to the cap (${COUNT_CAP.toLocaleString('en')})`),
    exact: z.boolean().describe('False when there may be more than `count`: then show "10,000+"'),
    cap: z
      .number()
      .int()
      .describe(
        'The most records counted exactly: 10,000, or 1,000 with `q` (a free-text search considers that many)',
      ),
  })
  .meta({ id: 'RecordCount' });
export type RecordCountView = z.infer<typeof RecordCount>;

/** Whether the filter mentions `archived_at`: then it decides; otherwise archived records are left out (as the list does). */
function mentionsArchived(node: unknown): boolean {
  if (!node || typeof node !== 'object') return false;
  if ((node as { field?: unknown }).field === 'archived_at') return true;
  return Object.values(node).some((v) => (Array.isArray(v) ? v.some(mentionsArchived) : mentionsArchived(v)));
}

/**
 * How many records of `object` the list query selects (its filter and q, the same rules as the
 * list: archived ones left out unless the filter names `archived_at`), exact up to COUNT_CAP.
 * A bounded count in a read-only tenant transaction.
 * @throws AppError 400 `invalid_query` naming the offending path, 404 for an unknown object
 */
export async function countRecords(
  services: Services,
  ctx: TenantContext,
  object: string,
  query: Pick<ListQuery, 'filter' | 'q'>,
): Promise<RecordCountView> {
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      const def = await cachedObjectDef(scope.tx, ctx.orgId, object);
      const { q, filter } = query;
      const indexed =
        def.indexedSearch && q !== undefined && q.trim() !== '' && indexedSearchAllowed(scope.ctx, def);
      const compiled = compileListQuery(
        def,
        { ...(filter !== undefined ? { filter } : {}), ...(q !== undefined && !indexed ? { q } : {}) },
        { table: ALIAS, tenant: scope.ctx },
      );
      const search = indexed
        ? sql`${sql.identifier(ALIAS)}.id in (${indexedSearchIds(def, q, SEARCH_CANDIDATES)})`
        : sql`true`;
      const archived = mentionsArchived(filter)
        ? sql`true`
        : sql`${sql.identifier(ALIAS)}.archived_at is null`;
      const result = await scope.tx.execute<{ n: number }>(sql`
        select count(*)::int as n from (
          select 1
            from ${sql.identifier(def.table)} as ${sql.identifier(ALIAS)}
           where ${sql.identifier(ALIAS)}.org_id = ${ctx.orgId} and ${archived} and ${search} and ${compiled.where}
           limit ${COUNT_CAP + 1}) as selected`);
      const rows = (Array.isArray(result) ? result : (result as { rows: { n: number }[] }).rows) as {
        n: number;
      }[];
      const n = Number(rows[0]?.n ?? 0);
      // Free text considers at most SEARCH_CANDIDATES records, as the list does: reaching that
      // bound means there may be more matches than the list can reach, so the count says "1,000+".
      if (indexed) return { count: n, exact: n < SEARCH_CANDIDATES, cap: SEARCH_CANDIDATES };
      return { count: Math.min(n, COUNT_CAP), exact: n <= COUNT_CAP, cap: COUNT_CAP };
    },
    { readOnly: true },
  );
}
