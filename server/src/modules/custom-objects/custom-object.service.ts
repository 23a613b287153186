import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError, badRequest, conflict, notFound } from '../../platform/errors/app-error.js';
import { eventCatalogue } from '../../platform/events/event-catalogue.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { customFields } from '../../platform/registry/custom-field.schema.js';
import { customObjects } from '../../platform/registry/custom-object.schema.js';
import { BASE_FIELD_KEYS, DISPLAY_TYPES, searchTextSql } from '../../platform/registry/custom-objects.js';
import { customObjectDefs, forgetRegistry } from '../../platform/registry/registry.service.js';
import type { ObjectDef } from '../../platform/registry/registry.types.js';
import { STANDARD_OBJECTS } from '../../platform/registry/standard-objects.js';
import { RoleKey } from '../../platform/registry/status-config.js';
import { assertRoleExists } from '../access/role.service.js';

/** An object's or a field's API name: snake_case, starting with a letter. */
const KEY = /^[a-z][a-z0-9_]{1,39}$/;

/**
 * Keys no custom object may take: the standard objects, the API's route segments, and words
 * that name the platform's own things (singular and plural). Event types' objects are added at
 * run time (`isReservedKey`), so a custom object's events never collide with another's.
 */
const RESERVED = new Set(
  [
    ...['contact', 'company', 'companies', 'opportunity', 'opportunities', 'task', 'note', 'deal', 'lead'],
    ...['user', 'member', 'invitation', 'organization', 'org', 'tenant', 'account', 'session', 'me'],
    ...['record', 'object', 'field', 'custom_field', 'custom_object', 'view', 'tag', 'pipeline', 'stage'],
    ...['import', 'import_mapping', 'merge', 'duplicate', 'search', 'export', 'query', 'bulk', 'event'],
    ...['timeline', 'activity', 'activities', 'file', 'attachment', 'webhook', 'api_key', 'workflow'],
    ...['sequence', 'setting', 'admin', 'health', 'signup', 'auth', 'api', 'docs', 'notification'],
    ...['quote', 'order', 'product', 'report', 'role', 'queue', 'status', 'audit', 'system'],
  ].flatMap((w) => [w, `${w}s`]),
);

/** Whether `key` is reserved: a standard object, a platform word or route, an event's object. */
export function isReservedKey(key: string): boolean {
  if (RESERVED.has(key) || STANDARD_OBJECTS[key]) return true;
  return eventCatalogue().some(([type]) => type.split('.')[0] === key || `${type.split('.')[0]}s` === key);
}

const Label = z.string().trim().min(1).max(100);
const Icon = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,47}$/, 'An icon name: lower-case letters, digits and -')
  .describe('An icon name of the web app (`home`, `briefcase`)');

const Numbering = z
  .strictObject({
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_/-]{0,16}$/, 'Up to 16 letters, digits, -, _ or /')
      .describe('Shown before the number: `CASE-` makes `CASE-00042`'),
    digits: z
      .number()
      .int()
      .min(1)
      .max(12)
      .default(5)
      .describe('The number is padded with zeros to this many digits'),
  })
  .describe(
    'Record numbers: each new record gets the next number of its object in this organization, gap-free and never reused',
  );

const RestrictedRoles = z
  .array(RoleKey)
  .max(50)
  .describe(
    'Roles that see only the records in the statuses they own (a status’s `owner_role`), the records that were in one of them before, and the records their members own; admins see every record',
  );

export const CustomObjectCreate = z
  .strictObject({
    key: z
      .string()
      .regex(KEY, 'lower-case letters, digits and _, starting with a letter, 2 to 40 characters')
      .describe('API name, never changed: `/api/v1/records/<key>`'),
    label_singular: Label,
    label_plural: Label,
    icon: Icon.optional(),
    description: z.string().trim().max(500).optional(),
    display_field: z
      .strictObject({
        key: z.string().regex(KEY).default('name'),
        label: Label.default('Name'),
        type: z.enum(DISPLAY_TYPES as unknown as ['text', 'email', 'url']).default('text'),
      })
      .optional()
      .describe('The required field that names a record; `{key: "name", label: "Name"}` when absent'),
    numbering: Numbering.optional(),
    restricted_roles: RestrictedRoles.optional(),
  })
  .meta({ id: 'CustomObjectCreate' });

export const CustomObjectUpdate = z
  .strictObject({
    label_singular: Label.optional(),
    label_plural: Label.optional(),
    icon: Icon.nullable().optional(),
    description: z.string().trim().max(500).nullable().optional(),
    display_field: z.string().regex(KEY).optional().describe('Another text, e-mail or URL field'),
    numbering: Numbering.nullable()
      .optional()
      .describe(
        'Turn record numbers on (records without a number get the next ones, oldest first) or change the prefix; null turns them off (numbers are kept)',
      ),
    restricted_roles: RestrictedRoles.optional(),
  })
  .meta({ id: 'CustomObjectUpdate' });

/** A tenant transaction that changes the registry; this process's cache is dropped after it. */
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

/** The tenant's custom object `key`, locked. @throws 404, or 409 `standard_object` for a standard one */
async function lockObject(scope: TenantScope, key: string) {
  if (STANDARD_OBJECTS[key])
    throw conflict(
      `${key} is a standard object; only custom objects change here`,
      'path.object',
      'standard_object',
    );
  const [row] = await scope.tx
    .select()
    .from(customObjects)
    .where(and(eq(customObjects.orgId, scope.ctx.orgId), eq(customObjects.key, key)))
    .for('update');
  if (!row) throw notFound('Object', key);
  return row;
}

/**
 * The restricted roles, each a role of the organization other than admin (admins see every record).
 * @throws 400 at `body.restricted_roles.<i>` for admin, 422 `reference_not_found` for an unknown role
 */
async function checkedRoles(scope: TenantScope, roles: string[] | undefined): Promise<string[]> {
  const unique = [...new Set(roles ?? [])];
  for (const [i, role] of unique.entries()) {
    if (role === 'admin')
      throw badRequest('Admins see every record; they cannot be restricted', `body.restricted_roles.${i}`);
    await assertRoleExists(scope, role, `body.restricted_roles.${i}`);
  }
  return unique;
}

async function defOf(scope: TenantScope, key: string): Promise<ObjectDef> {
  const [def] = await customObjectDefs(scope.tx, scope.ctx.orgId, [key]);
  return def!;
}

/**
 * Defines a custom object with its display field (a required text field, `name` unless said).
 * @throws 400 `reserved_key` at `body.key`, 409 `duplicate_key` when the tenant has the key
 */
export async function createCustomObject(
  services: Services,
  ctx: TenantContext,
  input: z.infer<typeof CustomObjectCreate>,
): Promise<ObjectDef> {
  return changeRegistry(services, ctx, (scope) => createCustomObjectIn(scope, services, input));
}

/** `createCustomObject` in the caller's transaction (a template's); forget the registry after it. */
export async function createCustomObjectIn(
  scope: TenantScope,
  services: Services,
  input: z.infer<typeof CustomObjectCreate>,
): Promise<ObjectDef> {
  const { ctx } = scope;
  if (isReservedKey(input.key)) {
    throw badRequest(`"${input.key}" is reserved; choose another key`, 'body.key', 'reserved_key');
  }
  const display = input.display_field ?? { key: 'name', label: 'Name', type: 'text' as const };
  if ((BASE_FIELD_KEYS as readonly string[]).includes(display.key)) {
    throw badRequest(`"${display.key}" is a field every object has`, 'body.display_field.key');
  }
  {
    const [existing] = await scope.tx
      .select({ id: customObjects.id })
      .from(customObjects)
      .where(and(eq(customObjects.orgId, ctx.orgId), eq(customObjects.key, input.key)));
    if (existing) throw conflict(`An object "${input.key}" exists`, 'body.key', 'duplicate_key');
    const [row] = await scope.tx
      .insert(customObjects)
      .values({
        orgId: ctx.orgId,
        key: input.key,
        labelSingular: input.label_singular,
        labelPlural: input.label_plural,
        icon: input.icon ?? null,
        description: input.description ?? null,
        displayField: display.key,
        ...(input.numbering
          ? { numberPrefix: input.numbering.prefix, numberDigits: input.numbering.digits }
          : {}),
        restrictedRoles: await checkedRoles(scope, input.restricted_roles),
        createdBy: ctx.actor.type === 'user' ? ctx.actor.id : null,
      })
      .returning();
    await scope.tx.insert(customFields).values({
      orgId: ctx.orgId,
      object: input.key,
      key: display.key,
      label: display.label,
      type: display.type,
      required: true,
      position: 0,
    });
    await emitEvent(scope, services.jobs, {
      type: 'custom_object.created',
      subject: { object: 'custom_object', id: row!.id },
      data: { key: input.key, label: input.label_singular, display_field: display.key },
    });
    return defOf(scope, input.key);
  }
}

/**
 * Relabels an object, changes its icon, description or display field (another active text,
 * e-mail or URL field). Labels are names only: no record changes.
 * @throws 400 at `body.display_field` for a field that cannot name records
 */
export async function updateCustomObject(
  services: Services,
  ctx: TenantContext,
  key: string,
  input: z.infer<typeof CustomObjectUpdate>,
): Promise<ObjectDef> {
  return changeRegistry(services, ctx, async (scope) => {
    const row = await lockObject(scope, key);
    if (input.display_field !== undefined) {
      const field = (await defOf(scope, key)).fields.find(
        (f) => f.key === input.display_field && f.origin === 'custom' && !f.retired,
      );
      if (!field || !DISPLAY_TYPES.includes(field.type))
        throw badRequest(
          'The display field must be an active text, e-mail or URL field',
          'body.display_field',
        );
    }
    if (Object.values(input).some((v) => v !== undefined)) {
      await scope.tx
        .update(customObjects)
        .set({
          ...(input.label_singular !== undefined ? { labelSingular: input.label_singular } : {}),
          ...(input.label_plural !== undefined ? { labelPlural: input.label_plural } : {}),
          ...(input.icon !== undefined ? { icon: input.icon } : {}),
          ...(input.description !== undefined ? { description: input.description } : {}),
          ...(input.display_field !== undefined ? { displayField: input.display_field } : {}),
          ...(input.restricted_roles !== undefined
            ? { restrictedRoles: await checkedRoles(scope, input.restricted_roles) }
            : {}),
          ...(input.numbering !== undefined
            ? {
                numberPrefix: input.numbering?.prefix ?? null,
                ...(input.numbering ? { numberDigits: input.numbering.digits } : {}),
              }
            : {}),
          updatedAt: sql`now()`,
        })
        .where(and(eq(customObjects.orgId, ctx.orgId), eq(customObjects.id, row.id)));
      await emitEvent(scope, services.jobs, {
        type: 'custom_object.updated',
        subject: { object: 'custom_object', id: row.id },
        data: { key, label: input.label_singular ?? row.labelSingular, changes: input },
      });
      if (input.numbering) await numberUnnumbered(scope, row.id);
      // The number as shown is searched: a new prefix (or none) is reindexed.
      if (input.numbering !== undefined) await reindexNumbers(scope, key);
    }
    return defOf(scope, key);
  });
}

/**
 * Gives the object's records that have no number (made before numbers were turned on) the next
 * numbers, oldest first, from the same counter new records take theirs from.
 */
async function numberUnnumbered(scope: TenantScope, objectId: string) {
  const { orgId } = scope.ctx;
  const { rows } = await scope.conn.query<{ n: number }>(
    'select count(*)::int as n from records where org_id = $1 and object_id = $2 and number is null',
    [orgId, objectId],
  );
  const count = rows[0]?.n ?? 0;
  if (count === 0) return;
  const taken = await scope.conn.query<{ last: string }>(
    `insert into record_number_counters (org_id, object_id, last_value) values ($1, $2, $3)
     on conflict (org_id, object_id) do update set last_value = record_number_counters.last_value + excluded.last_value
     returning last_value as last`,
    [orgId, objectId, count],
  );
  const first = Number(taken.rows[0]!.last) - count;
  await scope.conn.query(
    `update records r set number = $3::bigint + x.n
       from (select id, row_number() over (order by created_at, id) as n from records
              where org_id = $1 and object_id = $2 and number is null) x
      where r.org_id = $1 and r.id = x.id`,
    [orgId, objectId, first],
  );
}

/** Rewrites the search text of the object's records (their number as shown is part of it). */
async function reindexNumbers(scope: TenantScope, key: string) {
  const def = await defOf(scope, key);
  await scope.tx.execute(
    sql`update records set search = ${searchTextSql(def, sql`custom`, sql`number`)}
         where org_id = ${scope.ctx.orgId} and object_id = ${def.custom!.id}::uuid`,
  );
}

/** Retires (hidden, writes refused, records kept) or brings back an object. */
export async function retireCustomObject(
  services: Services,
  ctx: TenantContext,
  key: string,
  retire: boolean,
): Promise<ObjectDef> {
  return changeRegistry(services, ctx, async (scope) => {
    const row = await lockObject(scope, key);
    if ((row.retiredAt !== null) !== retire) {
      await scope.tx
        .update(customObjects)
        .set({ retiredAt: retire ? sql`now()` : null, updatedAt: sql`now()` })
        .where(and(eq(customObjects.orgId, ctx.orgId), eq(customObjects.id, row.id)));
      await emitEvent(scope, services.jobs, {
        type: retire ? 'custom_object.retired' : 'custom_object.unretired',
        subject: { object: 'custom_object', id: row.id },
        data: { key, label: row.labelSingular },
      });
    }
    return defOf(scope, key);
  });
}

/**
 * Purges a retired object: deletes its records and fields and the object, leaving a
 * `custom_object.purged` event (the audit of who purged what, with the counts).
 * @throws 400 `confirmation_required` unless `confirm` repeats the key; 409 `not_retired` unless
 *   retired first; 409 `object_in_use` while another object's relation field points to it
 */
export async function purgeCustomObject(
  services: Services,
  ctx: TenantContext,
  key: string,
  confirm: string | undefined,
): Promise<void> {
  await changeRegistry(services, ctx, async (scope) => {
    const row = await lockObject(scope, key);
    if (confirm !== key) {
      throw badRequest(
        `Purging deletes every ${row.labelSingular} for good: repeat its key in confirm`,
        'query.confirm',
        'confirmation_required',
      );
    }
    if (!row.retiredAt) throw new AppError(409, 'not_retired', 'Retire the object before purging it');
    const pointing = await scope.tx
      .select({ object: customFields.object, key: customFields.key })
      .from(customFields)
      .where(
        and(
          eq(customFields.orgId, ctx.orgId),
          eq(customFields.relationObject, key),
          sql`${customFields.object} <> ${key}`,
        ),
      );
    if (pointing.length > 0) {
      throw new AppError(
        409,
        'object_in_use',
        'Fields of other objects point to this object; purge them first',
        {
          errors: pointing.map((f) => ({
            path: `${f.object}.${f.key}`,
            code: 'object_in_use',
            message: `The field ${f.key} of ${f.object} is a relation to ${key}`,
          })),
        },
      );
    }
    const counted = await scope.conn.query<{ n: number }>(
      'with gone as (delete from records where org_id = $1 and object_id = $2 returning 1) select count(*)::int as n from gone',
      [ctx.orgId, row.id],
    );
    const fields = await scope.tx
      .delete(customFields)
      .where(and(eq(customFields.orgId, ctx.orgId), eq(customFields.object, key)))
      .returning({ id: customFields.id });
    await scope.tx
      .delete(customObjects)
      .where(and(eq(customObjects.orgId, ctx.orgId), eq(customObjects.id, row.id)));
    await emitEvent(scope, services.jobs, {
      type: 'custom_object.purged',
      subject: { object: 'custom_object', id: row.id },
      data: { key, label: row.labelSingular, records: counted.rows[0]?.n ?? 0, fields: fields.length },
    });
  });
}
