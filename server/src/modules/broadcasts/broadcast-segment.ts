import { sql } from 'drizzle-orm';
import type { TenantScope } from '../../db/tenant.js';
import { AppError } from '../../platform/errors/app-error.js';
import { compileListQuery } from '../../platform/query/query.compiler.js';
import { cachedObjectDef } from '../../platform/registry/registry.service.js';

/**
 * The segment's SQL over the contacts (alias `r`): the list query's filter and q, live contacts
 * only. In a user's context the query is checked against their rights and row scope (a member
 * who sees only their own contacts segments only those); the run job reads it as the system.
 * @throws 400 `invalid_query` naming the offending path under `body.segment`
 */
export async function segmentWhere(
  scope: TenantScope,
  segment: { filter?: unknown; q?: string | undefined },
) {
  const def = await cachedObjectDef(scope.tx, scope.ctx.orgId, 'contact');
  try {
    const compiled = compileListQuery(
      def,
      {
        ...(segment.filter !== undefined ? { filter: segment.filter as never } : {}),
        ...(segment.q ? { q: segment.q } : {}),
        limit: 1,
      },
      { table: 'r', tenant: scope.ctx },
    );
    return sql`r.org_id = ${scope.ctx.orgId} and r.archived_at is null and ${compiled.where}`;
  } catch (error) {
    if (error instanceof AppError && error.status === 400 && error.path)
      throw new AppError(400, error.code, error.message, { path: `body.segment.${error.path}` });
    throw error;
  }
}
