import { type SQL, sql } from 'drizzle-orm';
import type { TenantContext } from '../../db/tenant.js';
import { AppError } from '../errors/app-error.js';
import type { FieldDef, ObjectDef } from '../registry/registry.types.js';
import {
  type AccessProfile,
  type ObjectAccess,
  RIGHTS,
  type Right,
  type RoleRights,
} from './access-profile.types.js';
import type { Role } from './permissions.js';
import { statusScopeSql } from './status-scope.js';

/**
 * The one place access profiles are applied (issue 22). Every shared record path calls these with
 * its tenant context: the query compiler (lists, counts, exports, bulk by filter, the board,
 * search: hidden fields unknown, rows outside the record scope absent), the access guard of the
 * routes (object rights, records out of scope answered 404, writes of fields the role may not
 * write refused, hidden fields stripped from every answer) and the timeline (diffs of hidden
 * fields redacted). A context without a profile (built-in roles, workflows, the system) passes
 * every check unchanged.
 */

const all = (rights: readonly Right[]): ObjectAccess => ({ rights: [...rights], scope: 'all', fields: {} });

/** What the built-in roles may do, as profiles (an API key narrows its creator's). */
export function builtInRights(role: Role): RoleRights {
  const rights: readonly Right[] = role === 'viewer' ? ['read', 'export'] : RIGHTS;
  return { objects: {}, default: all(rights) };
}

/** The profile's access to `object`: its own entry, or the role's default. */
export function objectAccessOf(profile: AccessProfile, object: string): ObjectAccess {
  return profile.rights.objects[object] ?? profile.rights.default;
}

/** Whether the context may use `right` on `object` (always, without a profile). */
export function allows(ctx: Pick<TenantContext, 'access'>, object: string, right: Right): boolean {
  return !ctx.access || objectAccessOf(ctx.access, object).rights.includes(right);
}

/** Whether the context may use `right` on at least one object (imports before their object is known). */
export function allowsAny(ctx: Pick<TenantContext, 'access'>, right: Right): boolean {
  const profile = ctx.access;
  if (!profile) return true;
  return (
    profile.rights.default.rights.includes(right) ||
    Object.values(profile.rights.objects).some((o) => o.rights.includes(right))
  );
}

const RIGHT_WORDS: Record<Right, string> = {
  create: 'create',
  read: 'see',
  update: 'change',
  delete: 'archive or delete',
  export: 'export',
  import: 'import',
};

/** @throws AppError 403 `right_denied` when the context may not use `right` on `object` */
export function assertRight(
  ctx: Pick<TenantContext, 'access'>,
  object: string,
  right: Right,
  label = object,
) {
  if (allows(ctx, object, right)) return;
  throw new AppError(
    403,
    'right_denied',
    `Your role (${ctx.access!.roleKey}) may not ${RIGHT_WORDS[right]} ${label}`,
  );
}

/** @throws AppError 403 `right_denied` when no object allows `right` */
export function assertAnyRight(ctx: Pick<TenantContext, 'access'>, right: Right) {
  if (allowsAny(ctx, right)) return;
  throw new AppError(403, 'right_denied', `Your role (${ctx.access!.roleKey}) may not ${RIGHT_WORDS[right]}`);
}

/** Whether a field of `object` may be read (shown, filtered, sorted, searched) in this context. */
export function fieldReadable(ctx: Pick<TenantContext, 'access'>, object: string, key: string): boolean {
  if (!ctx.access) return true;
  const access = objectAccessOf(ctx.access, object);
  return access.rights.includes('read') && access.fields[key] !== 'hidden';
}

/** `fieldReadable` for a registry field, which a computed field passes only with what it is made of. */
function definedFieldReadable(ctx: Pick<TenantContext, 'access'>, object: string, field: FieldDef): boolean {
  return (
    fieldReadable(ctx, object, field.key) && (field.madeOf ?? []).every((k) => fieldReadable(ctx, object, k))
  );
}

/** Whether a field of `object` may be written in this context (beyond the object's own right). */
export function fieldWritable(ctx: Pick<TenantContext, 'access'>, object: string, key: string): boolean {
  return !ctx.access || objectAccessOf(ctx.access, object).fields[key] === undefined;
}

/**
 * The query compiler's `readable` for `object` in this context, or undefined when every field is.
 */
export function readableOf(
  ctx: Pick<TenantContext, 'access'> | undefined,
  object: string,
): ((field: FieldDef) => boolean) | undefined {
  if (!ctx?.access) return undefined;
  return (field) => definedFieldReadable(ctx, object, field);
}

/**
 * The keys an answer about `object` may not carry in this context: its hidden fields and the keys
 * derived from them (a board's sums of a hidden amount). Empty without a profile.
 */
export function hiddenKeysOf(ctx: Pick<TenantContext, 'access'>, def: ObjectDef): Set<string> {
  const keys = new Set<string>();
  if (!ctx.access) return keys;
  for (const field of def.fields) {
    if (definedFieldReadable(ctx, def.key, field)) continue;
    keys.add(field.key);
    for (const derived of field.derivedKeys ?? []) keys.add(derived);
  }
  return keys;
}

/**
 * The registry entry as the context sees it: hidden fields left out, fields it may not write (a
 * `read` restriction, or no update right on the object) read-only. Forms, tables and filters built
 * from it offer nothing the API would refuse.
 */
export function visibleDef(ctx: Pick<TenantContext, 'access'>, def: ObjectDef): ObjectDef {
  if (!ctx.access) return def;
  const updatable = allows(ctx, def.key, 'update');
  const readable = (key: string) => fieldReadable(ctx, def.key, key);
  return {
    ...def,
    ...(def.display ? { display: { ...def.display, columns: def.display.columns.filter(readable) } } : {}),
    fields: def.fields
      .filter((f) => definedFieldReadable(ctx, def.key, f))
      .map((f) => (updatable && fieldWritable(ctx, def.key, f.key) ? f : { ...f, readOnly: true })),
  };
}

/**
 * Whether free text may use the object's search index: not when a field the index covers is
 * hidden (the match would reveal its value). Lists then search the readable fields only.
 */
export function indexedSearchAllowed(ctx: Pick<TenantContext, 'access'>, def: ObjectDef): boolean {
  return !ctx.access || def.fields.every((f) => !f.searchable || fieldReadable(ctx, def.key, f.key));
}

/** The field that says who owns a record of `def` (owner, assignee, author), if it has one. */
export function ownerFieldOf(def: ObjectDef): FieldDef | undefined {
  for (const key of ['owner_id', 'assignee_id', 'author_id']) {
    const field = def.fields.find((f) => f.key === key && f.storage.kind === 'column');
    if (field) return field;
  }
  return undefined;
}

/**
 * The condition that keeps the records of `def` (its table named `table`) within the context's
 * record scope, or undefined when it reaches them all. `own`: the owner is the profile's user;
 * `team`: the owner is the user or shares a team with them (team_members). An object without an
 * owner field is reached whole.
 */
export function rowScopeSql(ctx: TenantContext, def: ObjectDef, table: string): SQL | undefined {
  // A role restricted to the statuses it owns (issue 21) is narrowed further, profile or not.
  const statuses = statusScopeSql(ctx, def, table);
  const profile = profileScopeSql(ctx, def, table);
  return statuses && profile ? sql`(${profile} and ${statuses})` : (statuses ?? profile);
}

function profileScopeSql(ctx: TenantContext, def: ObjectDef, table: string): SQL | undefined {
  const profile = ctx.access;
  if (!profile) return undefined;
  const scope = objectAccessOf(profile, def.key).scope;
  const owner = ownerFieldOf(def);
  if (scope === 'all' || !owner || owner.storage.kind !== 'column') return undefined;
  const column = sql`${sql.identifier(table)}.${sql.identifier(owner.storage.column)}`;
  const me = profile.userId;
  if (scope === 'own') return sql`${column} = ${me}::uuid`;
  return sql`(${column} = ${me}::uuid or ${column} in (
    select mate.user_id from team_members mine
      join team_members mate on mate.org_id = mine.org_id and mate.team_id = mine.team_id
     where mine.org_id = ${ctx.orgId}::uuid and mine.user_id = ${me}::uuid))`;
}

const isPlain = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * `value` without the `keys`, at any depth (a record's fields, its `custom` values, a board
 * column's sums, a report stage's totals). It fails closed: a key of another object's answer that
 * happens to share a hidden field's name goes too.
 */
export function stripKeys(value: unknown, keys: ReadonlySet<string>): unknown {
  if (keys.size === 0) return value;
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (!isPlain(v)) return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (!keys.has(k)) out[k] = strip(x);
    return out;
  };
  return strip(value);
}

/**
 * Refuses a write naming a field the context may not write: its top-level keys that are fields of
 * `def` and the keys of its `custom` values.
 * @throws AppError 403 `field_not_writable` naming the field's path (`body.amount`, `body.custom.budget`)
 */
export function assertWritableInput(ctx: TenantContext, def: ObjectDef, body: unknown, path = 'body'): void {
  if (!ctx.access || !isPlain(body)) return;
  const fieldKeys = new Set(def.fields.map((f) => f.key));
  const refuse = (key: string, at: string) => {
    const hidden = !fieldReadable(ctx, def.key, key);
    throw new AppError(
      403,
      'field_not_writable',
      hidden
        ? `Your role (${ctx.access!.roleKey}) may not write this field`
        : `Your role (${ctx.access!.roleKey}) may read this field but not write it`,
      { path: at },
    );
  };
  for (const [key, value] of Object.entries(body)) {
    if (key === 'custom' && isPlain(value)) {
      for (const customKey of Object.keys(value)) {
        if (!fieldWritable(ctx, def.key, customKey)) refuse(customKey, `${path}.custom.${customKey}`);
      }
    } else if (fieldKeys.has(key) && !fieldWritable(ctx, def.key, key)) refuse(key, `${path}.${key}`);
  }
}

const REDACTED = { redacted: true, before: null, after: null };

/**
 * An event's `data` with the changes of fields the context may not read redacted (`{redacted:
 * true}` in place of before and after; the custom values of a standard object opened key by
 * key), so a timeline tells that a hidden field changed but never from what to what.
 */
export function redactEventData(
  ctx: Pick<TenantContext, 'access'>,
  object: string,
  data: Record<string, unknown>,
): Record<string, unknown> {
  if (!ctx.access) return data;
  const out: Record<string, unknown> = { ...data };
  // Values an event carries beside its changes (an opportunity created with its amount).
  for (const key of Object.keys(out)) {
    if (key !== 'changes' && key !== 'name' && !fieldReadable(ctx, object, key)) out[key] = null;
  }
  if (!isPlain(data.changes)) return out;
  const changes: Record<string, unknown> = {};
  for (const [key, change] of Object.entries(data.changes)) {
    if (key === 'custom' && isPlain(change)) {
      const before = isPlain(change.before) ? { ...change.before } : change.before;
      const after = isPlain(change.after) ? { ...change.after } : change.after;
      for (const side of [before, after]) {
        if (!isPlain(side)) continue;
        for (const k of Object.keys(side)) if (!fieldReadable(ctx, object, k)) side[k] = '(hidden)';
      }
      changes[key] = { ...change, before, after };
    } else changes[key] = fieldReadable(ctx, object, key) ? change : REDACTED;
  }
  return { ...out, changes };
}

/**
 * The profile of a key: its role's rights narrowed to the key's objects and rights (`scopes`;
 * null keeps them all), and to reading and exporting when it is read-only.
 */
export function narrowRights(
  rights: RoleRights,
  scopes: Record<string, Right[]> | null,
  readOnly: boolean,
): RoleRights {
  const narrow = (access: ObjectAccess, allowed: readonly Right[] | undefined): ObjectAccess => ({
    ...access,
    rights: access.rights.filter(
      (r) => (allowed === undefined || allowed.includes(r)) && (!readOnly || r === 'read' || r === 'export'),
    ),
  });
  if (scopes === null) {
    return {
      default: narrow(rights.default, undefined),
      objects: Object.fromEntries(Object.entries(rights.objects).map(([k, a]) => [k, narrow(a, undefined)])),
    };
  }
  const objects: Record<string, ObjectAccess> = {};
  for (const [object, allowed] of Object.entries(scopes)) {
    objects[object] = narrow(rights.objects[object] ?? rights.default, allowed);
  }
  return { objects, default: { ...rights.default, rights: [] } };
}
