/**
 * Roles and what they may do. A route declares the one permission it needs; the check runs on
 * the server for every request (`platform/http/route-guard.ts`).
 *
 * - admin: manages members, invitations and settings, and everything a user may do
 * - user: creates and edits records
 * - viewer: reads
 */
export const ROLES = ['admin', 'user', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  'records:read',
  'records:write',
  'records:purge',
  'members:read',
  'members:manage',
  'settings:manage',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/**
 * What a route requires: `public` (no principal), `authenticated` (any signed-in user, with or
 * without an organization), `member` (any member of the active organization), or a permission.
 */
export type RouteAccess = 'public' | 'authenticated' | 'member' | Permission;

const GRANTS: Record<Role, readonly Permission[]> = {
  admin: PERMISSIONS,
  user: ['records:read', 'records:write', 'members:read'],
  viewer: ['records:read', 'members:read'],
};

export function roleAllows(role: Role, permission: Permission): boolean {
  return GRANTS[role].includes(permission);
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}
