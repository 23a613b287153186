import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import type { Services } from '../../platform/http/types.js';
import { compileListQuery } from '../../platform/query/query.compiler.js';
import { indexedSearchIds, RELEVANCE, relevanceOf } from '../../platform/query/query.search.js';
import { customObjectDefs, objectDef } from '../../platform/registry/registry.service.js';
import { STANDARD_OBJECTS } from '../../platform/registry/standard-objects.js';

type Row = { id: string; title: string; relevance: number };

export const SearchHit = z
  .object({
    object: z.string().describe('contact, company, opportunity...'),
    id: z.uuid(),
    title: z.string(),
  })
  .meta({ id: 'SearchHit' });

/**
 * The global search (the app's Ctrl/Cmd+K): the best few matches of `q` in every object that has
 * searchable fields, through the same search and relevance order as the lists (indexed where the
 * object has it; query.search.ts relevanceOf), then all hits by relevance, objects in registry
 * order within a tier: an exact e-mail or phone first, then names starting with q, then the rest.
 * Archived records are left out.
 */
export async function searchEverything(services: Services, ctx: TenantContext, q: string, perObject: number) {
  return withTenant(services.database, ctx, async (scope) => {
    const hits: (z.infer<typeof SearchHit> & { relevance: number })[] = [];
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
        { q, limit: perObject },
        { table: 'r', searchIndexed: Boolean(def.indexedSearch) },
      );
      const relevance =
        relevanceOf({ object: def, table: 'r', readable: () => true }, q) ?? sql.raw(String(RELEVANCE.fuzzy));
      const search = def.indexedSearch ? sql`r.id in (${indexedSearchIds(def, q, 1000)})` : sql`true`;
      const result = await scope.tx.execute<Row>(sql`
        select r.id, ${sql.raw(def.titleSql?.('r') ?? 'r.id::text')} as title, ${relevance} as relevance
          from ${sql.identifier(def.table)} r
         where r.org_id = ${ctx.orgId} and r.archived_at is null and ${search} and ${compiled.where}
         order by ${compiled.orderBy}
         limit ${perObject}`);
      const rows = (Array.isArray(result) ? result : (result as { rows: Row[] }).rows) as Row[];
      hits.push(
        ...rows.map((r) => ({ object: key, id: r.id, title: r.title, relevance: Number(r.relevance) })),
      );
    }
    // Array.prototype.sort is stable: within a tier, objects keep their order.
    return hits.sort((a, b) => a.relevance - b.relevance).map(({ relevance: _, ...hit }) => hit);
  });
}
