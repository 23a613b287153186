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
    if (!checkedInDatabase(field) || typeof value !== 'string') continue;
    let found = true;
    if (field.type === 'relation' && field.relation) {
      const table = STANDARD_OBJECTS[field.relation.object]?.table;
      // A custom object's records (issue 21): a live record of that object, in this tenant.
      const [text, values] = table
        ? [
            `select 1 from ${table} where org_id = $1 and id = $2 and archived_at is null`,
            [scope.ctx.orgId, value],
          ]
        : [
            `select 1 from records r join custom_objects o on o.org_id = r.org_id and o.id = r.object_id
              where r.org_id = $1 and r.id = $2 and o.key = $3 and r.archived_at is null`,
            [scope.ctx.orgId, value, field.relation.object],
          ];
      found = (await scope.conn.query(text, values)).rows.length > 0;
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
