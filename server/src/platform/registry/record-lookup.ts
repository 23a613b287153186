import { sql } from 'drizzle-orm';
import type { TenantScope } from '../../db/tenant.js';
import { notFound } from '../errors/app-error.js';
import { STANDARD_OBJECTS } from './standard-objects.js';

/**
 * The record `id` of `object` in the scope's tenant, read through the registry (the object's
 * table), or undefined when there is none (another tenant's id included). Archived records are
 * found, with `archived: true`. For modules that refer to records of objects they do not own.
 * @throws 404 for an object the registry does not know
 */
export async function findRecordIn(
  scope: TenantScope,
  object: string,
  id: string,
): Promise<{ archived: boolean } | undefined> {
  const def = STANDARD_OBJECTS[object];
  if (!def) throw notFound('Object', object);
  const result = await scope.tx.execute<{ archived: boolean }>(sql`
    select archived_at is not null as archived from ${sql.identifier(def.table)}
     where org_id = ${scope.ctx.orgId} and id = ${id}`);
  const rows = (Array.isArray(result) ? result : (result as { rows: { archived: boolean }[] }).rows) as {
    archived: boolean;
  }[];
  return rows[0] ? { archived: rows[0].archived } : undefined;
}
