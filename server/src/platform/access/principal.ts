import type { TenantContext } from '../../db/tenant.js';
import { AppError, forbidden, unauthenticated } from '../errors/app-error.js';
import type { Right } from './access-profile.types.js';
import { type Permission, type Role, roleAllows } from './permissions.js';

/**
 * Who is calling. The tenant (`orgId`) comes from here and nowhere else (DESIGN invariant 4):
 * the session's active organization, checked against the user's membership on every request.
 */
export type Principal = {
  /** A signed-in user (session cookie) or an API key (`Authorization: Bearer`). */
  type: 'user' | 'api_key';
  /** The user; for an API key, the admin who issued it. */
  userId: string;
  email: string;
  /** The user's name; for an API key, the key's name. */
  name: string;
  /** The session; '' for an API key. */
  sessionId: string;
  /** The API key, when `type` is `api_key`. */
  apiKeyId?: string;
  /** The session's active organization, or null when the user belongs to none. */
  orgId: string | null;
  /**
   * The user's built-in role in `orgId`, the coarse permissions routes check: for a member holding
   * a custom role, `user` (the role's own rights then narrow every record path).
   */
  role: Role | null;
  /** The key of the organization's custom role the member holds (issue 22), if not a built-in one. */
  customRole?: string | undefined;
  /** An API key's narrowing: the objects and rights it was issued for (null: all), read-only. */
  apiKey?: { scopes: Record<string, Right[]> | null; readOnly: boolean } | undefined;
  /**
   * `orgId` requires two-factor sign-in and this user has not set it up: until they do, only the
   * routes that set it up answer (403 `two_factor_required` elsewhere).
   */
  twoFactorSetupRequired?: boolean;
};

/** The tenant context of a principal acting in its active organization. */
export function tenantContextOf(principal: Principal | null, traceId?: string): TenantContext {
  if (!principal) throw unauthenticated();
  if (!principal.orgId || !principal.role) {
    throw new AppError(403, 'no_organization', 'Join or create an organization first');
  }
  const actor =
    principal.type === 'api_key'
      ? { type: 'api_key' as const, id: principal.apiKeyId ?? null }
      : { type: 'user' as const, id: principal.userId };
  // The role key rules read (a status's roles, a queue's owner, a report shared with a role): the
  // custom role's key for a member holding one, as TenantContext.role says.
  return { orgId: principal.orgId, actor, traceId, role: principal.customRole ?? principal.role };
}

/** Throws 401 without a principal and 403 without the permission. */
export function requirePermission(principal: Principal | null, permission: Permission): void {
  if (!principal) throw unauthenticated();
  if (!principal.role || !principal.orgId) {
    throw new AppError(403, 'no_organization', 'Join or create an organization first');
  }
  if (!roleAllows(principal.role, permission)) {
    if (principal.type === 'api_key') {
      throw permission === 'records:write'
        ? new AppError(403, 'api_key_read_only', 'This API key is read-only')
        : new AppError(403, 'api_key_not_allowed', `An API key cannot ${permission}`);
    }
    throw forbidden(`Your role (${principal.role}) does not allow ${permission}`);
  }
}
