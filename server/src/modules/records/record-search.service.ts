import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import type { Services } from '../../platform/http/types.js';
import { compileListQuery } from '../../platform/query/query.compiler.js';
import { indexedSearchIds } from '../../platform/query/query.search.js';
import { customObjectDefs, objectDef } from '../../platform/registry/registry.service.js';
import { STANDARD_OBJECTS } from '../../platform/registry/standard-objects.js';

export const SearchHit = z
  .object({
    object: z.string().describe('contact, company, opportunity...'),
    id: z.uuid(),
    title: z.string(),
  })
  .meta({ id: 'SearchHit' });

/**
 * The global search (the app's Ctrl/Cmd+K): the best few matches of `q` in every object that has
 * searchable fields, newest first within each object, through the same search as the lists
 * (indexed where the object has it). Archived records are left out.
 */
export async function searchEverything(services: Services, ctx: TenantContext, q: string, perObject: number) {
  return withTenant(services.database, ctx, async (scope) => {
    const hits: z.infer<typeof SearchHit>[] = [];
    const standard = Object.keys(STANDARD_OBJECTS).filter((key) => !STANDARD_OBJECTS[key]!.activity);
    const defs = [];
    for (const key of standard) defs.push(await objectDef(scope.tx, ctx.orgId, key));
    defs.push(
      // The tenant's custom objects too (issue 21), the retired ones left out.
      ...(await customObjectDefs(scope.tx, ctx.orgId)).filter((d) => !d.custom?.retired),
    );
    for (const def of defs) {
      const key = def.key;
      if (!def.fields.some((f) => f.searchable)) continue;
      const compiled = compileListQuery(
        def,
        def.indexedSearch ? { limit: perObject } : { q, limit: perObject },
        { table: 'r' },
      );
      const search = def.indexedSearch ? sql`r.id in (${indexedSearchIds(def, q, 1000)})` : sql`true`;
      const result = await scope.tx.execute<{ id: string; title: string }>(sql`
        select r.id, ${sql.raw(def.titleSql?.('r') ?? 'r.id::text')} as title
          from ${sql.identifier(def.table)} r
         where r.org_id = ${ctx.orgId} and r.archived_at is null and ${search} and ${compiled.where}
         order by ${compiled.orderBy}
         limit ${perObject}`);
      const rows = (
        Array.isArray(result) ? result : (result as { rows: { id: string; title: string }[] }).rows
      ) as {
        id: string;
        title: string;
      }[];
      hits.push(...rows.map((r) => ({ object: key, id: r.id, title: r.title })));
    }
    return hits;
  });
}
