import { type SQL, sql } from 'drizzle-orm';
import type { TenantContext } from '../../db/tenant.js';
import type { ObjectDef } from '../registry/registry.types.js';

/**
 * Visibility by owned statuses (issue 21: "optionally a role sees only records in the statuses it
 * owns or records it owned before"). A custom object lists the roles so restricted
 * (`restricted_roles`); a member of one of them reaches a record of the object only when
 *   - one of its status fields is in a status the role owns (a status's `owner_role`), or
 *   - the record was in such a status before (its status history), or
 *   - the member owns the record.
 * Admins, members of other roles and work no member started (workflows, the system) reach every
 * record. The condition is applied where the access profile's record scope is (the query compiler:
 * lists, query, count, search, export, bulk, boards; the access guard and the record engine: a
 * record by id), so a record beyond it is absent, and a 404 by id.
 */
export function statusScopeSql(ctx: TenantContext, def: ObjectDef, table: string): SQL | undefined {
  const role = ctx.role;
  if (!role || role === 'admin' || !def.custom?.restrictedRoles.includes(role)) return undefined;
  const t = sql.identifier(table);
  const me = ctx.actor.type === 'user' ? ctx.actor.id : null;
  const reach: SQL[] = [];
  const past: SQL[] = [];
  for (const field of def.fields) {
    if (field.type !== 'status' || !field.statuses || field.retired) continue;
    const owned = field.statuses.statuses.filter((s) => s.owner_role === role).map((s) => s.value);
    if (owned.length === 0) continue;
    const values = sql`array[${sql.join(
      owned.map((v) => sql`${v}`),
      sql`, `,
    )}]::text[]`;
    const key = sql.raw(`'${field.key.replaceAll("'", "''")}'`);
    reach.push(sql`(${t}.custom->>${key}) = any(${values})`);
    past.push(sql`(h.field = ${key} and h.to_status = any(${values}))`);
  }
  if (me) reach.push(sql`${t}.owner_id = ${me}::uuid`);
  if (past.length > 0)
    reach.push(sql`exists (select 1 from record_status_history h
      where h.org_id = ${t}.org_id and h.record_id = ${t}.id and (${sql.join(past, sql` or `)}))`);
  return reach.length > 0 ? sql`(${sql.join(reach, sql` or `)})` : sql`false`;
}
