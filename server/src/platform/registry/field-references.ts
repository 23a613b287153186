import type { TenantScope } from '../../db/tenant.js';
import { AppError, type FieldError } from '../errors/app-error.js';
import { parseCustomValues } from './field-values.js';
import type { FieldDef, ObjectDef } from './registry.types.js';
import { STANDARD_OBJECTS } from './standard-objects.js';

/** Whether a field's values are checked against the database on write: custom relation and user fields. */
export const checkedInDatabase = (field: FieldDef): boolean =>
  field.origin === 'custom' && (field.type === 'relation' || field.type === 'user');

/**
 * `parseCustomValues`, then the checks that need the database: a relation value must be a
 * record of its object in this tenant, a user value a member of it.
 * @throws AppError 400 for bad values, 422 `reference_not_found` naming `<path>.<key>`
 */
export async function parseCustomValuesIn(
  scope: TenantScope,
  object: ObjectDef,
  input: Record<string, unknown> | undefined,
  options: { path: string; creating: boolean },
): Promise<Record<string, unknown>> {
  const values = parseCustomValues(object, input, options);
  const errors: FieldError[] = [];
  for (const field of object.fields) {
    const value = values[field.key];
    if (!checkedInDatabase(field)) continue;
    if (field.relation?.many && Array.isArray(value)) {
      // Every linked id a live record of the relation's object in this tenant (another tenant's: 422).
      const found = await liveIdsIn(scope, field.relation.object, value as string[]);
      (value as string[]).forEach((id, i) => {
        if (!found.has(id))
          errors.push({
            path: `${options.path}.${field.key}.${i}`,
            code: 'reference_not_found',
            message: `No ${field.relation!.object} with this id`,
          });
      });
      continue;
    }
    if (typeof value !== 'string') continue;
    let found = true;
    if (field.type === 'relation' && field.relation) {
      found = (await liveIdsIn(scope, field.relation.object, [value])).has(value);
    } else if (field.type === 'user') {
      found =
        (
          await scope.conn.query('select 1 from members where organization_id = $1 and user_id = $2', [
            scope.ctx.orgId,
            value,
          ])
        ).rows.length > 0;
    }
    if (!found)
      errors.push({
        path: `${options.path}.${field.key}`,
        code: 'reference_not_found',
        message: `No ${field.relation?.object ?? 'member'} with this id`,
      });
  }
  if (errors.length > 0)
    throw new AppError(422, 'reference_not_found', 'A custom field points to a record that does not exist', {
      errors,
    });
  return values;
}

/**
 * Those of `ids` that are live records of `object` in the scope's tenant (archived ones too with
 * `archived`): a standard object's table, or a custom object's records (issue 21).
 */
export async function liveIdsIn(
  scope: TenantScope,
  object: string,
  ids: readonly string[],
  options: { archived?: boolean } = {},
): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const table = STANDARD_OBJECTS[object]?.table;
  const live = options.archived ? '' : ' and archived_at is null';
  const [text, values] = table
    ? [
        `select id from ${table} where org_id = $1 and id = any($2::uuid[])${live}`,
        [scope.ctx.orgId, [...ids]],
      ]
    : [
        `select r.id from records r join custom_objects o on o.org_id = r.org_id and o.id = r.object_id
          where r.org_id = $1 and r.id = any($2::uuid[]) and o.key = $3${live.replace('archived_at', 'r.archived_at')}`,
        [scope.ctx.orgId, [...ids], object],
      ];
  const { rows } = await scope.conn.query<{ id: string }>(text, values);
  return new Set(rows.map((r) => r.id));
}
