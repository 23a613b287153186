import { and, asc, eq, sql } from 'drizzle-orm';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { notFound } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import { recordUpdatedEvent } from '../../platform/events/record-events.js';
import type { Services } from '../../platform/http/types.js';
import { normalizeTag } from '../../platform/registry/field-values.js';
import { STANDARD_OBJECTS } from '../../platform/registry/standard-objects.js';
import { tags } from './tag.schema.js';

/**
 * Tag names as they are kept: trimmed and lower-cased (so a tag filter is the plain `tags && $1`
 * on the GIN index, issue 18), duplicates dropped, none empty, order kept.
 */
export const uniqueTagNames = (names: readonly string[]): string[] =>
  [...new Set(names.map(normalizeTag))].filter(Boolean);

/**
 * Registers tag names for the tenant and returns them as stored (`uniqueTagNames`): `VIP` is
 * kept as `vip`. Order kept, duplicates dropped.
 */
export async function ensureTags(scope: TenantScope, names: readonly string[]): Promise<string[]> {
  const wanted = uniqueTagNames(names);
  if (wanted.length === 0) return [];
  await scope.tx
    .insert(tags)
    .values(wanted.map((name) => ({ orgId: scope.ctx.orgId, name })))
    .onConflictDoNothing();
  return wanted;
}

/** Tags whose name starts with (or contains) `prefix`, for autocomplete; most used first. */
export async function suggestTags(services: Services, ctx: TenantContext, prefix: string, limit: number) {
  return withTenant(services.database, ctx, async ({ tx }) => {
    const pattern = `%${prefix.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const rows = await tx
      .select({ id: tags.id, name: tags.name, color: tags.color })
      .from(tags)
      .where(and(eq(tags.orgId, ctx.orgId), sql`lower(${tags.name}) like ${pattern}`))
      .orderBy(
        sql`lower(${tags.name}) like ${`${prefix.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`} desc`,
        asc(tags.name),
      )
      .limit(limit);
    return rows;
  });
}

/**
 * Renames a tag, or merges it into another when the new name exists already (case-insensitive):
 * every record carrying it is updated, one `<object>.updated` event each.
 * @throws 404 unknown tag
 */
export async function renameTag(services: Services, ctx: TenantContext, id: string, name: string) {
  const newName = uniqueTagNames([name])[0] ?? name.trim();
  return withTenant(services.database, ctx, async (scope) => {
    const [tag] = await scope.tx
      .select()
      .from(tags)
      .where(and(eq(tags.orgId, ctx.orgId), eq(tags.id, id)))
      .for('update');
    if (!tag) throw notFound('Tag', id);
    const [target] = await scope.tx
      .select()
      .from(tags)
      .where(
        and(
          eq(tags.orgId, ctx.orgId),
          sql`lower(${tags.name}) = lower(${newName})`,
          sql`${tags.id} <> ${id}`,
        ),
      );
    const finalName = target ? target.name : newName;
    if (target) await scope.tx.delete(tags).where(and(eq(tags.orgId, ctx.orgId), eq(tags.id, id)));
    else
      await scope.tx
        .update(tags)
        .set({ name: newName })
        .where(and(eq(tags.orgId, ctx.orgId), eq(tags.id, id)));
    let records = 0;
    // Every object whose registry entry has a tags column.
    const tagged = Object.values(STANDARD_OBJECTS).filter((o) => o.fields.some((f) => f.type === 'tags'));
    for (const { key: object, table, titleSql } of tagged) {
      const { rows } = await scope.conn.query<{
        id: string;
        name: string;
        before: string[];
        after: string[];
      }>(
        `with hit as (
           select id, tags as before from ${table} where org_id = $1 and tags @> array[$2]::text[] for update
         ), upd as (
           update ${table} t set tags = (select array_agg(distinct x order by x) from unnest(array_replace(t.tags, $2, $3)) x),
                  updated_at = now(), updated_by = $4
             from hit where t.org_id = $1 and t.id = hit.id returning t.id, t.tags as after, ${titleSql?.('t') ?? 't.id::text'} as name
         ) select upd.id, upd.name, hit.before, upd.after from upd join hit using (id)`,
        [ctx.orgId, tag.name, finalName, ctx.actor.id],
      );
      for (const r of rows) {
        await emitEvent(
          scope,
          services.jobs,
          recordUpdatedEvent(object, r.id, {
            name: r.name,
            changes: { tags: { before: r.before, after: r.after } },
            reason: target ? 'tag_merged' : 'tag_renamed',
          }),
        );
      }
      records += rows.length;
    }
    await emitEvent(scope, services.jobs, {
      type: target ? 'tag.merged' : 'tag.renamed',
      subject: { object: 'tag', id },
      data: { from: tag.name, to: finalName, records },
    });
    return { id: target ? target.id : id, name: finalName, merged: Boolean(target), records };
  });
}

/** Lists the tenant's tags by name. */
export async function listTags(services: Services, ctx: TenantContext) {
  return withTenant(services.database, ctx, ({ tx }) =>
    tx
      .select({ id: tags.id, name: tags.name, color: tags.color })
      .from(tags)
      .where(eq(tags.orgId, ctx.orgId))
      .orderBy(asc(sql`lower(${tags.name})`))
      .limit(1000),
  );
}
