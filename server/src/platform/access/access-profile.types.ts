/**
 * Access profiles (issue 22): what a role may do with each object of the registry. Plain data, no
 * imports, so the tenant context (`db/tenant.ts`) can carry a profile without depending on the
 * platform above it.
 */

/** What a role may do with an object's records. */
export const RIGHTS = ['create', 'read', 'update', 'delete', 'export', 'import'] as const;
export type Right = (typeof RIGHTS)[number];

/**
 * Which records of an object a role reaches: those it owns (`own`), those owned by a member of
 * one of its teams (`team`, its own included), or all of the organization's.
 */
export const RECORD_SCOPES = ['own', 'team', 'all'] as const;
export type RecordScope = (typeof RECORD_SCOPES)[number];

/**
 * How a field narrows its object's rights: `read` (shown, never written), `hidden` (neither shown
 * nor queried). A field with no entry follows its object (readable, and writable where the object
 * may be updated). Only narrowing values exist, so a stored row can never widen access.
 */
export const FIELD_RESTRICTIONS = ['read', 'hidden'] as const;
export type FieldRestriction = (typeof FIELD_RESTRICTIONS)[number];

/** A role's access to one object. */
export type ObjectAccess = {
  rights: Right[];
  scope: RecordScope;
  /** By field key: only the fields narrowed below their object's rights. */
  fields: Record<string, FieldRestriction>;
};

/** A role's access to every object: by object key, and for objects it does not name. */
export type RoleRights = {
  objects: Record<string, ObjectAccess>;
  default: ObjectAccess;
};

/**
 * What the principal of a unit of work may do, when it is narrower than a built-in role: a custom
 * role, or an API key scoped to some objects and rights. Absent from a tenant context: the
 * built-in roles' coarse permissions decide alone (checked per route), and everything is visible.
 */
export type AccessProfile = {
  /** The user the profile is of (for an API key, its creator): "own" records are theirs. */
  userId: string;
  /** The role's key (`support`), or the built-in role an API key narrows. */
  roleKey: string;
  rights: RoleRights;
};
