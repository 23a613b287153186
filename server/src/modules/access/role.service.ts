import { and, asc, count, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { roles } from '../../platform/access/access.schema.js';
import { forgetRoles } from '../../platform/access/access-loader.js';
import { registryObjects } from '../../platform/access/access-objects.js';
import { builtInRights } from '../../platform/access/access-profile.js';
import {
  type ObjectAccess,
  RECORD_SCOPES,
  RIGHTS,
  type RoleRights,
} from '../../platform/access/access-profile.types.js';
import { isRole, ROLES } from '../../platform/access/permissions.js';
import { type AuditSource, appendAudit } from '../../platform/audit/audit.js';
import { members } from '../../platform/auth/auth.schema.js';
import { AppError, conflict, notFound } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import type { ObjectDef } from '../../platform/registry/registry.types.js';

/**
 * Roles as data (issue 22): the built-in admin, user and viewer (in code, listed here, never
 * changed or deleted) and the organization's own roles, each with per-object rights, a record
 * scope and narrowed fields. A member holds a role by its key (`members.role`).
 */

/** A custom role's key: snake_case, 2 to 40 characters. */
export const ROLE_KEY = /^[a-z][a-z0-9_]{1,39}$/;

/** A field's access as the API says it: `write` follows the object (stored as no entry). */
const FieldAccessIn = z.enum(['read', 'write', 'hidden']);

export const ObjectAccessSchema = z
  .strictObject({
    rights: z.array(z.enum(RIGHTS)).max(RIGHTS.length).describe('What the role may do with the records'),
    scope: z
      .enum(RECORD_SCOPES)
      .default('all')
      .describe("Which records: the member's own, their teams' members', or all"),
    fields: z
      .record(z.string().max(64), FieldAccessIn)
      .default({})
      .describe(
        'By field key: `hidden` (never shown, filtered, sorted or exported), `read` (shown, never written), ' +
          '`write` (as the object allows). A field only narrows its object',
      ),
  })
  .meta({ id: 'ObjectAccess' });
type ObjectAccessIn = z.infer<typeof ObjectAccessSchema>;

export const RoleCreate = z.strictObject({
  key: z
    .string()
    .regex(ROLE_KEY, 'snake_case, 2 to 40 characters')
    .describe('How members and API calls name the role; never changed'),
  name: z.string().trim().min(1).max(80),
  description: z.string().trim().max(500).nullable().optional(),
  objects: z
    .record(z.string().max(64), ObjectAccessSchema)
    .default({})
    .describe('By object key (standard and custom objects)'),
  default_access: ObjectAccessSchema.optional().describe(
    'For objects not named in `objects` (custom objects made later too); default: read all, nothing else',
  ),
});
export type RoleCreateInput = z.infer<typeof RoleCreate>;
export const RoleUpdate = z.strictObject({
  name: z.string().trim().min(1).max(80).optional(),
  description: z.string().trim().max(500).nullable().optional(),
  objects: z
    .record(z.string().max(64), ObjectAccessSchema)
    .optional()
    .describe('By object key: replaces the role’s objects whole; absent: they stay'),
  default_access: ObjectAccessSchema.optional(),
});
export type RoleUpdateInput = z.infer<typeof RoleUpdate>;

const ObjectAccessOut = z.object({
  rights: z.array(z.enum(RIGHTS)),
  scope: z.enum(RECORD_SCOPES),
  fields: z.record(z.string(), z.enum(['read', 'hidden'])),
});
export const RoleView = z
  .object({
    id: z.uuid().nullable().describe('Null for a built-in role'),
    key: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    built_in: z.boolean().describe('admin, user, viewer: cannot be changed or deleted'),
    objects: z.record(z.string(), ObjectAccessOut),
    default_access: ObjectAccessOut,
    members: z.number().int().describe('Members holding the role'),
    created_at: z.string().nullable(),
    updated_at: z.string().nullable(),
  })
  .meta({ id: 'Role' });
export type RoleViewOut = z.infer<typeof RoleView>;

/** The custom role a member holds, as `GET /me` shows it: its name and rights. */
export const MyCustomRole = RoleView.pick({
  key: true,
  name: true,
  description: true,
  objects: true,
  default_access: true,
}).meta({ id: 'MyCustomRole' });
export type MyCustomRoleOut = z.infer<typeof MyCustomRole>;

/** The organization's custom role of `key` (name and rights), or null when there is none. */
export async function customRoleSummary(
  services: Services,
  ctx: TenantContext,
  key: string,
): Promise<MyCustomRoleOut | null> {
  const [row] = await withTenant(
    services.database,
    ctx,
    (scope) =>
      scope.tx
        .select()
        .from(roles)
        .where(and(eq(roles.orgId, ctx.orgId), eq(roles.key, key))),
    { readOnly: true },
  );
  if (!row) return null;
  const { name, description, objects, default_access } = viewOf(row, 0);
  return { key: row.key, name, description, objects, default_access };
}

const BUILT_IN_WORDS: Record<(typeof ROLES)[number], [string, string]> = {
  admin: ['Admin', 'Manages members, roles and settings, and does everything a user does'],
  user: ['User', 'Creates, edits, imports and exports records'],
  viewer: ['Viewer', 'Reads and exports records'],
};

const READ_ALL: ObjectAccess = { rights: ['read'], scope: 'all', fields: {} };

type Row = typeof roles.$inferSelect;

function viewOf(row: Row, holders: number): RoleViewOut {
  return {
    id: row.id,
    key: row.key,
    name: row.name,
    description: row.description,
    built_in: false,
    objects: row.rights.objects,
    default_access: row.rights.default,
    members: holders,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

/** Members by the role they hold. */
async function holdersByRole(scope: TenantScope): Promise<Map<string, number>> {
  const rows = await scope.tx
    .select({ role: members.role, n: count() })
    .from(members)
    .where(eq(members.organizationId, scope.ctx.orgId))
    .groupBy(members.role);
  return new Map(rows.map((r) => [r.role, Number(r.n)]));
}

/** The built-in roles then the organization's own, by name. */
export async function listRoles(services: Services, ctx: TenantContext): Promise<RoleViewOut[]> {
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      const holders = await holdersByRole(scope);
      const rows = await scope.tx
        .select()
        .from(roles)
        .where(eq(roles.orgId, ctx.orgId))
        .orderBy(asc(roles.name));
      const builtIn = ROLES.map((key): RoleViewOut => {
        const rights = builtInRights(key);
        return {
          id: null,
          key,
          name: BUILT_IN_WORDS[key][0],
          description: BUILT_IN_WORDS[key][1],
          built_in: true,
          objects: rights.objects,
          default_access: rights.default,
          members: holders.get(key) ?? 0,
          created_at: null,
          updated_at: null,
        };
      });
      return [...builtIn, ...rows.map((r) => viewOf(r, holders.get(r.key) ?? 0))];
    },
    { readOnly: true },
  );
}

async function loadRole(scope: TenantScope, id: string, lock = false): Promise<Row> {
  const query = scope.tx
    .select()
    .from(roles)
    .where(and(eq(roles.orgId, scope.ctx.orgId), eq(roles.id, id)));
  const [row] = lock ? await query.for('update') : await query;
  if (!row) throw notFound('Role', id);
  return row;
}

/** One custom role. @throws 404 (a built-in role has no id) */
export async function getRole(services: Services, ctx: TenantContext, id: string): Promise<RoleViewOut> {
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      const row = await loadRole(scope, id);
      return viewOf(row, (await holdersByRole(scope)).get(row.key) ?? 0);
    },
    { readOnly: true },
  );
}

/**
 * An object's access as stored: rights without repeats in their canonical order, and only the
 * fields that narrow it (`write` is no entry). @throws 422 naming the unknown field or `id`
 */
function objectAccessOf(input: ObjectAccessIn, def: ObjectDef | undefined, path: string): ObjectAccess {
  const fields: ObjectAccess['fields'] = {};
  for (const [key, access] of Object.entries(input.fields)) {
    if (def && !def.fields.some((f) => f.key === key))
      throw new AppError(422, 'unknown_field', `${def.labelPlural} have no field "${key}"`, {
        path: `${path}.fields.${key}`,
      });
    if (key === 'id' && access === 'hidden')
      throw new AppError(422, 'invalid_field_access', 'A record’s id cannot be hidden', {
        path: `${path}.fields.${key}`,
      });
    if (access !== 'write') fields[key] = access;
  }
  return { rights: RIGHTS.filter((r) => input.rights.includes(r)), scope: input.scope, fields };
}

/** The stored rights of a role's input, checked against the registry. @throws 422 naming the path */
async function rightsOf(
  scope: TenantScope,
  input: {
    objects?: Record<string, ObjectAccessIn> | undefined;
    default_access?: ObjectAccessIn | undefined;
  },
  current: RoleRights | undefined,
): Promise<RoleRights> {
  const defs = new Map((await registryObjects(scope.tx, scope.ctx.orgId)).map((d) => [d.key, d]));
  const objects: RoleRights['objects'] = {};
  for (const [key, access] of Object.entries(input.objects ?? current?.objects ?? {})) {
    const def = defs.get(key);
    if (!def)
      throw new AppError(422, 'unknown_object', `No object has the key "${key}"`, {
        path: `body.objects.${key}`,
      });
    objects[key] =
      input.objects === undefined
        ? (access as ObjectAccess)
        : objectAccessOf(access as ObjectAccessIn, def, `body.objects.${key}`);
  }
  const fallback = input.default_access
    ? objectAccessOf(input.default_access, undefined, 'body.default_access')
    : (current?.default ?? READ_ALL);
  return { objects, default: fallback };
}

/** Creates a role. @throws 409 `role_exists` for a key taken (built-in keys included), 422 naming the path */
export async function createRole(
  services: Services,
  ctx: TenantContext,
  source: AuditSource,
  input: RoleCreateInput,
): Promise<RoleViewOut> {
  const view = await withTenant(services.database, ctx, (scope) =>
    createRoleIn(scope, services, source, input),
  );
  forgetRoles(ctx.orgId);
  return view;
}

/** `createRole` in the caller's transaction (a template's); call `forgetRoles` after it commits. */
export async function createRoleIn(
  scope: TenantScope,
  services: Services,
  source: AuditSource,
  input: RoleCreateInput,
): Promise<RoleViewOut> {
  const { ctx } = scope;
  if (isRole(input.key)) throw conflict(`"${input.key}" is a built-in role`, 'body.key', 'role_exists');
  {
    const [taken] = await scope.tx
      .select({ id: roles.id })
      .from(roles)
      .where(and(eq(roles.orgId, ctx.orgId), eq(roles.key, input.key)));
    if (taken) throw conflict(`A role with the key "${input.key}" exists`, 'body.key', 'role_exists');
    const rights = await rightsOf(scope, input, undefined);
    const [row] = await scope.tx
      .insert(roles)
      .values({
        orgId: ctx.orgId,
        key: input.key,
        name: input.name,
        description: input.description ?? null,
        rights,
        createdBy: ctx.actor.id,
      })
      .returning();
    await emitEvent(scope, services.jobs, {
      type: 'role.created',
      subject: { object: 'role', id: row!.id },
      data: { name: row!.name, key: row!.key },
    });
    await appendAudit(scope, source, {
      action: 'role.created',
      target: { type: 'role', id: row!.id },
      details: { key: row!.key, name: row!.name, rights },
    });
    return viewOf(row!, 0);
  }
}

/** Changes a role's name, description or rights (given parts replace the old ones). */
export async function updateRole(
  services: Services,
  ctx: TenantContext,
  source: AuditSource,
  id: string,
  input: RoleUpdateInput,
): Promise<RoleViewOut> {
  const view = await withTenant(services.database, ctx, async (scope) => {
    const current = await loadRole(scope, id, true);
    const rights = await rightsOf(scope, input, current.rights);
    const [row] = await scope.tx
      .update(roles)
      .set({
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
        rights,
        updatedAt: sql`now()`,
      })
      .where(and(eq(roles.orgId, ctx.orgId), eq(roles.id, id)))
      .returning();
    await emitEvent(scope, services.jobs, {
      type: 'role.updated',
      subject: { object: 'role', id },
      data: { name: row!.name, key: row!.key },
    });
    await appendAudit(scope, source, {
      action: 'role.updated',
      target: { type: 'role', id },
      details: { key: row!.key, before: current.rights, after: rights },
    });
    return viewOf(row!, (await holdersByRole(scope)).get(row!.key) ?? 0);
  });
  forgetRoles(ctx.orgId);
  return view;
}

/** Deletes a role no member holds. @throws 404, 409 `role_in_use` */
export async function deleteRole(services: Services, ctx: TenantContext, source: AuditSource, id: string) {
  await withTenant(services.database, ctx, async (scope) => {
    const row = await loadRole(scope, id, true);
    const holders = (await holdersByRole(scope)).get(row.key) ?? 0;
    if (holders > 0)
      throw conflict(
        `${holders} member(s) hold this role: give them another one first`,
        'path.id',
        'role_in_use',
      );
    await scope.tx.delete(roles).where(and(eq(roles.orgId, ctx.orgId), eq(roles.id, id)));
    await emitEvent(scope, services.jobs, {
      type: 'role.deleted',
      subject: { object: 'role', id },
      data: { name: row.name, key: row.key },
    });
    await appendAudit(scope, source, {
      action: 'role.deleted',
      target: { type: 'role', id },
      details: { key: row.key, name: row.name },
    });
  });
  forgetRoles(ctx.orgId);
}

/**
 * Whether `key` names a role of the organization (built-in or its own), for assigning it.
 * @throws AppError 422 `reference_not_found` at `path` otherwise
 */
export async function assertRoleExists(scope: TenantScope, key: string, path: string): Promise<void> {
  if (isRole(key)) return;
  const [row] = await scope.tx
    .select({ id: roles.id })
    .from(roles)
    .where(and(eq(roles.orgId, scope.ctx.orgId), eq(roles.key, key)));
  if (!row) throw new AppError(422, 'reference_not_found', `No role has the key "${key}"`, { path });
}
