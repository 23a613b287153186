import { and, eq, max, sql } from 'drizzle-orm';
import { z } from 'zod';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError, badRequest, conflict, notFound } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { customFields } from '../../platform/registry/custom-field.schema.js';
import { searchTextSql } from '../../platform/registry/custom-objects.js';
import {
  customFieldDef,
  customObjectDefs,
  forgetRegistry,
} from '../../platform/registry/registry.service.js';
import { FIELD_TYPES, type FieldDef, type ObjectDef } from '../../platform/registry/registry.types.js';
import { CUSTOMIZABLE_OBJECTS, STANDARD_OBJECTS } from '../../platform/registry/standard-objects.js';
import {
  optionsOfStatuses,
  StatusConfig,
  type StatusConfigOut,
} from '../../platform/registry/status-field.js';
import { assertRoleExists } from '../access/role.service.js';

/** Types an admin may give a custom field (`tags` and `uuid` belong to standard fields). */
export const CUSTOM_FIELD_TYPES = FIELD_TYPES.filter((t) => t !== 'tags' && t !== 'uuid');

const Option = z.strictObject({
  value: z.string().trim().min(1).max(100),
  label: z.string().trim().min(1).max(100),
  color: z
    .string()
    .regex(/^#[0-9a-fA-F]{6}$/)
    .optional(),
});

export const CustomFieldCreate = z
  .strictObject({
    label: z.string().trim().min(1).max(100),
    key: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,47}$/, 'lower-case letters, digits and _, starting with a letter')
      .optional()
      .describe('API name; derived from the label when absent'),
    type: z.enum(CUSTOM_FIELD_TYPES as unknown as [string, ...string[]]),
    options: z.array(Option).min(1).max(200).optional().describe('Required for select and multi_select'),
    relation: z
      .strictObject({
        object: z.string(),
        many: z
          .boolean()
          .default(false)
          .describe(
            'Many-to-many (custom objects only): a record links any number of the object’s records, and they show it on their side',
          ),
      })
      .optional(),
    statuses: StatusConfig.optional().describe(
      'Required for a status field (custom objects only): its statuses in order, allowed moves, roles and reasons',
    ),
    required: z.boolean().default(false),
    description: z.string().max(500).optional(),
  })
  .meta({ id: 'CustomFieldCreate' });

export const CustomFieldUpdate = z
  .strictObject({
    label: z.string().trim().min(1).max(100).optional(),
    options: z.array(Option).min(1).max(200).optional(),
    statuses: StatusConfig.optional().describe(
      'A status field’s new definition, whole; a status that records hold cannot be removed (409 `status_in_use`)',
    ),
    required: z.boolean().optional(),
    description: z.string().max(500).nullable().optional(),
    position: z.number().int().min(0).max(10_000).optional(),
  })
  .meta({ id: 'CustomFieldUpdate' });

function keyFromLabel(label: string): string {
  const key = label
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 48);
  return /^[a-z]/.test(key) ? key : `f_${key}`.slice(0, 48);
}

/**
 * A tenant transaction that changes the registry: once it has ended (committed or not), this
 * process's cached registry of the tenant is dropped, so the next list sees the change.
 */
async function changeRegistry<T>(
  services: Services,
  ctx: TenantContext,
  fn: (scope: TenantScope) => Promise<T>,
): Promise<T> {
  try {
    return await withTenant(services.database, ctx, fn);
  } finally {
    forgetRegistry(ctx.orgId);
  }
}

/**
 * The object whose fields change: a standard object with a `custom` column, or one of the
 * tenant's custom objects (issue 21). @throws 404 for any other key
 */
async function customizable(scope: TenantScope, object: string): Promise<ObjectDef> {
  if (CUSTOMIZABLE_OBJECTS.includes(object)) return STANDARD_OBJECTS[object]!;
  const [custom] = STANDARD_OBJECTS[object]
    ? []
    : await customObjectDefs(scope.tx, scope.ctx.orgId, [object]);
  if (!custom) throw notFound('Object', object);
  return custom;
}

/** Whether a relation field may point to `object`: a standard object or a live custom object of the tenant. */
async function isRelationTarget(scope: TenantScope, object: string): Promise<boolean> {
  if (STANDARD_OBJECTS[object]) return true;
  const [custom] = await customObjectDefs(scope.tx, scope.ctx.orgId, [object]);
  return Boolean(custom && !custom.custom?.retired);
}

/** Rewrites the `search` text of a custom object's records from its current fields. */
async function reindexRecords(scope: TenantScope, object: string) {
  const [def] = await customObjectDefs(scope.tx, scope.ctx.orgId, [object]);
  if (!def?.custom) return;
  await scope.tx.execute(
    sql`update records set search = ${searchTextSql(def, sql`custom`, sql`number`)}
         where org_id = ${scope.ctx.orgId} and object_id = ${def.custom.id}::uuid`,
  );
}

/** @throws 409 `display_field` for the field that names a custom object's records */
function assertNotDisplayField(def: ObjectDef, key: string) {
  if (def.custom?.displayField === key)
    throw conflict(
      `${key} names the ${def.labelPlural}; choose another display field first`,
      'path.key',
      'display_field',
    );
}

/**
 * Adds a custom field to a standard object. Its key must not collide with a standard field or
 * another custom field (409 `duplicate_key`); selects need options (400 naming `body.options`).
 */
export async function createCustomField(
  services: Services,
  ctx: TenantContext,
  object: string,
  input: z.infer<typeof CustomFieldCreate>,
): Promise<FieldDef> {
  return changeRegistry(services, ctx, (scope) => createCustomFieldIn(scope, services, object, input));
}

/** `createCustomField` in the caller's transaction (a template's); forget the registry after it. */
export async function createCustomFieldIn(
  scope: TenantScope,
  services: Services,
  object: string,
  input: z.infer<typeof CustomFieldCreate>,
): Promise<FieldDef> {
  const { ctx } = scope;
  const key = input.key ?? keyFromLabel(input.label);
  if ((input.type === 'select' || input.type === 'multi_select') && !input.options) {
    throw badRequest('A select field needs options', 'body.options');
  }
  if (input.options && new Set(input.options.map((o) => o.value)).size !== input.options.length) {
    throw badRequest('Option values must be unique', 'body.options');
  }
  if (input.type === 'relation' && !input.relation) {
    throw badRequest('A relation field needs relation.object, one of the objects', 'body.relation');
  }
  if (input.type === 'status' && !input.statuses) {
    throw badRequest('A status field needs statuses', 'body.statuses');
  }
  if (input.type !== 'status' && input.statuses) {
    throw badRequest('Only status fields have statuses', 'body.statuses');
  }
  if (input.type === 'status' && input.options) {
    throw badRequest('A status field’s options are its statuses', 'body.options');
  }
  {
    const def = await customizable(scope, object);
    if (input.statuses) await assertOwnerRolesExist(scope, input.statuses);
    if (input.type === 'status' && !def.custom) {
      throw badRequest(
        'Status fields are for custom objects (an opportunity has its pipeline’s stages)',
        'body.type',
        'status_not_supported',
      );
    }
    if (def.fields.some((f) => f.key === key && f.origin === 'standard')) {
      throw conflict(`"${key}" is a standard field of ${object}`, 'body.key', 'duplicate_key');
    }
    if (input.type === 'relation' && !(await isRelationTarget(scope, input.relation!.object))) {
      throw badRequest('A relation field needs relation.object, one of the objects', 'body.relation');
    }
    if (input.relation?.many && !def.custom) {
      throw badRequest(
        'Many-to-many relations are defined on a custom object (its records link the others)',
        'body.relation.many',
        'many_not_supported',
      );
    }
    const [existing] = await scope.tx
      .select({ id: customFields.id })
      .from(customFields)
      .where(
        and(eq(customFields.orgId, ctx.orgId), eq(customFields.object, object), eq(customFields.key, key)),
      );
    if (existing) throw conflict(`The ${object} already has a field "${key}"`, 'body.key', 'duplicate_key');
    const [{ last } = { last: null }] = await scope.tx
      .select({ last: max(customFields.position) })
      .from(customFields)
      .where(and(eq(customFields.orgId, ctx.orgId), eq(customFields.object, object)));
    const [row] = await scope.tx
      .insert(customFields)
      .values({
        orgId: ctx.orgId,
        object,
        key,
        label: input.label,
        type: input.type,
        options: input.statuses ? optionsOfStatuses(input.statuses) : (input.options ?? null),
        statuses: input.statuses ?? null,
        relationObject: input.type === 'relation' ? input.relation!.object : null,
        relationMany: input.type === 'relation' && (input.relation?.many ?? false),
        required: input.required,
        description: input.description ?? null,
        position: (last ?? -1) + 1,
      })
      .returning();
    await emitEvent(scope, services.jobs, {
      type: 'custom_field.created',
      subject: { object: 'custom_field', id: row!.id },
      data: { object, key, label: input.label, type: input.type },
    });
    return customFieldDef(row!);
  }
}

async function loadField(scope: TenantScope, object: string, key: string) {
  const [row] = await scope.tx
    .select()
    .from(customFields)
    .where(
      and(
        eq(customFields.orgId, scope.ctx.orgId),
        eq(customFields.object, object),
        eq(customFields.key, key),
      ),
    )
    .for('update');
  if (!row) throw notFound('Custom field', key);
  return row;
}

/**
 * Renames, reorders, edits options or the required flag. Removing an option in use is allowed;
 * values stay. Nothing to change (`{}`): the field as it is.
 */
export async function updateCustomField(
  services: Services,
  ctx: TenantContext,
  object: string,
  key: string,
  input: z.infer<typeof CustomFieldUpdate>,
): Promise<FieldDef> {
  return changeRegistry(services, ctx, async (scope) => {
    await customizable(scope, object);
    const row = await loadField(scope, object, key);
    if (input.options && !['select', 'multi_select'].includes(row.type)) {
      throw badRequest('Only select fields have options', 'body.options');
    }
    if (input.statuses && row.type !== 'status') {
      throw badRequest('Only status fields have statuses', 'body.statuses');
    }
    if (input.statuses) await assertOwnerRolesExist(scope, input.statuses);
    if (input.statuses && row.statuses)
      await assertStatusesKept(scope, object, key, row.statuses, input.statuses);
    if (Object.values(input).every((v) => v === undefined)) return customFieldDef(row);
    const [updated] = await scope.tx
      .update(customFields)
      .set({
        ...(input.label !== undefined ? { label: input.label } : {}),
        ...(input.options !== undefined ? { options: input.options } : {}),
        ...(input.statuses !== undefined
          ? { statuses: input.statuses, options: optionsOfStatuses(input.statuses) }
          : {}),
        ...(input.required !== undefined ? { required: input.required } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(input.position !== undefined ? { position: input.position } : {}),
      })
      .where(and(eq(customFields.orgId, ctx.orgId), eq(customFields.id, row.id)))
      .returning();
    await emitEvent(scope, services.jobs, {
      type: 'custom_field.updated',
      subject: { object: 'custom_field', id: row.id },
      data: { object, key, changes: input },
    });
    return customFieldDef(updated!);
  });
}

/**
 * A status field's new definition keeps every status a record holds: removing one would leave
 * records in a status nobody can see or move them out of.
 * @throws 409 `status_in_use` naming `body.statuses.statuses`, with the records per status
 */
async function assertStatusesKept(
  scope: TenantScope,
  object: string,
  key: string,
  before: StatusConfigOut,
  after: StatusConfigOut,
) {
  const removed = before.statuses
    .map((s) => s.value)
    .filter((v) => !after.statuses.some((s) => s.value === v));
  if (removed.length === 0) return;
  const [def] = await customObjectDefs(scope.tx, scope.ctx.orgId, [object]);
  if (!def?.custom) return;
  const { rows } = await scope.conn.query<{ v: string; n: number }>(
    `select custom->>$3 as v, count(*)::int as n from records
      where org_id = $1 and object_id = $2 and custom->>$3 = any($4::text[]) group by 1`,
    [scope.ctx.orgId, def.custom.id, key, removed],
  );
  if (rows.length > 0)
    throw new AppError(
      409,
      'status_in_use',
      'Records are in a status this definition removes; move them first',
      {
        path: 'body.statuses.statuses',
        errors: rows.map((r) => ({
          path: 'body.statuses.statuses',
          code: 'status_in_use',
          message: `${r.n} record(s) are in "${r.v}"`,
        })),
      },
    );
}

/** Retires a field: hidden from forms and refused on write, its values kept until purged. */
export async function retireCustomField(
  services: Services,
  ctx: TenantContext,
  object: string,
  key: string,
  retire: boolean,
) {
  return changeRegistry(services, ctx, async (scope) => {
    const def = await customizable(scope, object);
    if (retire) assertNotDisplayField(def, key);
    const row = await loadField(scope, object, key);
    const [updated] = await scope.tx
      .update(customFields)
      .set({ retiredAt: retire ? new Date().toISOString() : null })
      .where(and(eq(customFields.orgId, ctx.orgId), eq(customFields.id, row.id)))
      .returning();
    if (def.custom) await reindexRecords(scope, object); // a retired field's values are not searched
    await emitEvent(scope, services.jobs, {
      type: retire ? 'custom_field.retired' : 'custom_field.unretired',
      subject: { object: 'custom_field', id: row.id },
      data: { object, key },
    });
    return customFieldDef(updated!);
  });
}

/**
 * Purges a retired field: removes its values from every record and the field itself.
 * @throws 409 `not_retired` unless it was retired first (a two-step guard against accidents)
 */
export async function purgeCustomField(services: Services, ctx: TenantContext, object: string, key: string) {
  await changeRegistry(services, ctx, async (scope) => {
    const def = await customizable(scope, object);
    const row = await loadField(scope, object, key);
    if (!row.retiredAt) throw new AppError(409, 'not_retired', 'Retire the field before purging it');
    // A custom object's records share `records`: only its own (issue 21).
    const purged = await scope.conn.query<{ n: number }>(
      `with changed as (update ${def.table} set custom = custom - $2
         where org_id = $1 and custom ? $2 ${def.custom ? 'and object_id = $3' : ''} returning 1)
       select count(*)::int as n from changed`,
      def.custom ? [ctx.orgId, key, def.custom.id] : [ctx.orgId, key],
    );
    await scope.tx
      .delete(customFields)
      .where(and(eq(customFields.orgId, ctx.orgId), eq(customFields.id, row.id)));
    // A custom object's records: their search text without the purged values (issue 21).
    if (def.custom) await reindexRecords(scope, object);
    await emitEvent(scope, services.jobs, {
      type: 'custom_field.purged',
      subject: { object: 'custom_field', id: row.id },
      data: { object, key, records: purged.rows[0]?.n ?? 0 },
    });
  });
}

/**
 * The roles owning statuses (hand-off queues, issue 21) are roles of the organization.
 * @throws 422 `reference_not_found` at `body.statuses.statuses[i].owner_role`
 */
async function assertOwnerRolesExist(scope: TenantScope, config: StatusConfigOut): Promise<void> {
  for (const [i, s] of config.statuses.entries())
    if (s.owner_role) await assertRoleExists(scope, s.owner_role, `body.statuses.statuses[${i}].owner_role`);
}
