import { and, eq, inArray, sql } from 'drizzle-orm';
import type { TenantScope } from '../../db/tenant.js';
import { tags } from './tag.schema.js';

/**
 * Registers tag names for the tenant and returns them as stored: a tag is unique
 * case-insensitively, so `VIP` given when `vip` exists becomes `vip`. Order kept, duplicates dropped.
 */
export async function ensureTags(scope: TenantScope, names: readonly string[]): Promise<string[]> {
  const wanted = [...new Map(names.map((n) => [n.trim().toLowerCase(), n.trim()])).values()].filter(Boolean);
  if (wanted.length === 0) return [];
  await scope.tx
    .insert(tags)
    .values(wanted.map((name) => ({ orgId: scope.ctx.orgId, name })))
    .onConflictDoNothing();
  const rows = await scope.tx
    .select({ name: tags.name })
    .from(tags)
    .where(
      and(
        eq(tags.orgId, scope.ctx.orgId),
        inArray(
          sql`lower(${tags.name})`,
          wanted.map((n) => n.toLowerCase()),
        ),
      ),
    );
  const canonical = new Map(rows.map((r) => [r.name.toLowerCase(), r.name]));
  return wanted.map((n) => canonical.get(n.toLowerCase()) ?? n);
}
