import { sql } from 'drizzle-orm';
import type { TenantScope } from '../../db/tenant.js';
import { notFound } from '../errors/app-error.js';
import { RECORDS_TABLE } from './custom-objects.js';
import { customObjectDefs } from './registry.service.js';
import { STANDARD_OBJECTS } from './standard-objects.js';

/**
 * `findRecordIn` for a record of any object that has records of its own: a standard object that
 * is not an activity (contact, company, opportunity) or one of the tenant's custom objects (in the
 * generic records table).
 * @throws 404 for an object the tenant does not have, or an activity (a task, a note)
 */
export async function findAnyRecordIn(
  scope: TenantScope,
  object: string,
  id: string,
): Promise<{ archived: boolean } | undefined> {
  const standard = STANDARD_OBJECTS[object];
  if (standard) {
    if (standard.activity) throw notFound('Object', object);
    return findRecordIn(scope, object, id);
  }
  const [def] = await customObjectDefs(scope.tx, scope.ctx.orgId, [object]);
  if (!def?.custom) throw notFound('Object', object);
  const { rows } = await scope.conn.query<{ archived: boolean }>(
    `select archived_at is not null as archived from ${RECORDS_TABLE}
      where org_id = $1 and object_id = $2 and id = $3`,
    [scope.ctx.orgId, def.custom.id, id],
  );
  return rows[0] ? { archived: rows[0].archived } : undefined;
}

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

function titledObject(object: string) {
  const def = STANDARD_OBJECTS[object];
  if (!def?.titleSql) throw notFound('Object', object);
  return { table: def.table, title: def.titleSql('titled') };
}

/**
 * SQL naming the `object` record whose id is the SQL `idSql` in the tenant `orgIdSql` (the
 * registry's `titleSql`), as a scalar subquery: null when there is none. For modules that show
 * the names of records they do not own, in the statement that reads their own rows.
 * @throws 404 for an object the registry does not know or cannot name
 */
export function recordTitleSql(object: string, orgIdSql: string, idSql: string): string {
  const { table, title } = titledObject(object);
  return `(select ${title} from ${table} titled where titled.org_id = ${orgIdSql} and titled.id = ${idSql})`;
}

/**
 * The names (the registry's `titleSql`; a custom object's records: their display field) of the
 * records `ids` of `object` in the scope's tenant, by id, in one query; only active ones when
 * `active` (an unknown id is absent, and so is a record of another object).
 * @throws 404 for an object the registry does not know or cannot name
 */
export async function recordTitlesIn(
  scope: TenantScope,
  object: string,
  ids: readonly string[],
  options: { active?: boolean } = {},
): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const active = options.active ? ' and titled.archived_at is null' : '';
  if (!STANDARD_OBJECTS[object]) {
    const [def] = await customObjectDefs(scope.tx, scope.ctx.orgId, [object]);
    if (!def?.custom) throw notFound('Object', object);
    const { rows } = await scope.conn.query<{ id: string; title: string }>(
      `select titled.id, coalesce(titled.custom->>$4, '') as title from ${RECORDS_TABLE} titled
        where titled.org_id = $1 and titled.id = any($2::uuid[]) and titled.object_id = $3${active}`,
      [scope.ctx.orgId, [...new Set(ids)], def.custom.id, def.custom.displayField],
    );
    return new Map(rows.map((r) => [r.id, r.title]));
  }
  const { table, title } = titledObject(object);
  const { rows } = await scope.conn.query<{ id: string; title: string }>(
    `select titled.id, ${title} as title from ${table} titled
      where titled.org_id = $1 and titled.id = any($2::uuid[])${active}`,
    [scope.ctx.orgId, [...new Set(ids)]],
  );
  return new Map(rows.map((r) => [r.id, r.title]));
}
