import { type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import {
  allows,
  fieldReadable,
  indexedSearchAllowed,
  readableOf,
  rowScopeSql,
} from '../../platform/access/access-profile.js';
import type { Services } from '../../platform/http/types.js';
import { compileListQuery } from '../../platform/query/query.compiler.js';
import { indexedSearchIds, RELEVANCE, relevanceOf } from '../../platform/query/query.search.js';
import { customObjectDefs, objectDef } from '../../platform/registry/registry.service.js';
import type { FieldDef } from '../../platform/registry/registry.types.js';
import { STANDARD_OBJECTS } from '../../platform/registry/standard-objects.js';

type Row = { id: string; title: string; subtitle: string | null; relevance: number };

export const SearchHit = z
  .object({
    object: z.string().describe('contact, company, opportunity...'),
    id: z.uuid(),
    title: z.string(),
    subtitle: z
      .string()
      .nullable()
      .describe(
        "What tells same-named records apart: a contact's e-mail and company, a company's domain, a deal's company",
      ),
  })
  .meta({ id: 'SearchHit' });

/**
 * SQL of a hit's subtitle, per standard object (`r` is the record): a contact's primary e-mail
 * and its primary company, a company's domain, an opportunity's company. Others have none. Only
 * what the context may read goes in (issue 22): a hidden e-mail or domain is left out, and a
 * company's name only when the role reads companies' names and the company is within its scope.
 */
function subtitleSql(ctx: TenantContext, key: string): SQL {
  const readable = (field: string) => fieldReadable(ctx, key, field);
  const companyName = (from: SQL, order: SQL = sql``) => {
    if (!allows(ctx, 'company', 'read') || !fieldReadable(ctx, 'company', 'name')) return undefined;
    const scope = rowScopeSql(ctx, STANDARD_OBJECTS.company!, 'co');
    return sql`(${from}${scope ? sql` and ${scope}` : sql``}${order} limit 1)`;
  };
  const parts: (SQL | undefined)[] = [];
  if (key === 'contact') {
    if (readable('email')) parts.push(sql`r.email::text`);
    if (readable('companies'))
      parts.push(
        companyName(
          sql`select co.name from contact_companies cc
          join companies co on co.org_id = cc.org_id and co.id = cc.company_id
         where cc.org_id = r.org_id and cc.contact_id = r.id`,
          sql` order by cc.is_primary desc, co.name`,
        ),
      );
  } else if (key === 'company') {
    if (readable('domain')) parts.push(sql`r.domain::text`);
  } else if (key === 'opportunity' && readable('company_id')) {
    parts.push(
      companyName(sql`select co.name from companies co where co.org_id = r.org_id and co.id = r.company_id`),
    );
  }
  const shown = parts.filter((p): p is SQL => p !== undefined);
  if (shown.length === 0) return sql`null`;
  return sql`nullif(concat_ws(' · ', ${sql.join(shown, sql`, `)}), '')`;
}

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
      // An object the caller's role may not read is not searched; hidden fields are not matched
      // (the index is left aside when it covers one) and records beyond its scope not found.
      if (!allows(ctx, key, 'read')) continue;
      const indexed = Boolean(def.indexedSearch) && indexedSearchAllowed(ctx, def);
      const compiled = compileListQuery(
        def,
        { q, limit: perObject },
        { table: 'r', searchIndexed: indexed, tenant: ctx },
      );
      const readable = readableOf(ctx, key) ?? (() => true);
      const relevance =
        relevanceOf({ object: def, table: 'r', readable }, q) ?? sql.raw(String(RELEVANCE.fuzzy));
      const search = indexed ? sql`r.id in (${indexedSearchIds(def, q, 1000)})` : sql`true`;
      // A record named by a field the role may not read is named by its id.
      const naming = def.display ? [...def.display.fields, ...def.display.fallback] : [];
      const titleSql = naming.every((k) => readable({ key: k } as FieldDef)) ? def.titleSql : undefined;
      const result = await scope.tx.execute<Row>(sql`
        select r.id, ${sql.raw(titleSql?.('r') ?? 'r.id::text')} as title,
               ${def.custom ? sql`null` : subtitleSql(ctx, key)}::text as subtitle,
               ${relevance} as relevance
          from ${sql.identifier(def.table)} r
         where r.org_id = ${ctx.orgId} and r.archived_at is null and ${search} and ${compiled.where}
         order by ${compiled.orderBy}
         limit ${perObject}`);
      const rows = (Array.isArray(result) ? result : (result as { rows: Row[] }).rows) as Row[];
      hits.push(
        ...rows.map((r) => ({
          object: key,
          id: r.id,
          title: r.title,
          subtitle: r.subtitle ?? null,
          relevance: Number(r.relevance),
        })),
      );
    }
    // Array.prototype.sort is stable: within a tier, objects keep their order.
    return hits.sort((a, b) => a.relevance - b.relevance).map(({ relevance: _, ...hit }) => hit);
  });
}
