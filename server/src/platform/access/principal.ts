import type { TenantContext } from '../../db/tenant.js';
import { AppError, forbidden, unauthenticated } from '../errors/app-error.js';
import { type Permission, type Role, roleAllows } from './permissions.js';

/**
 * Who is calling. The tenant (`orgId`) comes from here and nowhere else (DESIGN invariant 4):
 * the session's active organization, checked against the user's membership on every request.
 */
export type Principal = {
  type: 'user';
  userId: string;
  email: string;
  name: string;
  sessionId: string;
  /** The session's active organization, or null when the user belongs to none. */
  orgId: string | null;
  /** The user's role in `orgId`. */
  role: Role | null;
};

/** The tenant context of a principal acting in its active organization. */
export function tenantContextOf(principal: Principal | null, traceId?: string): TenantContext {
  if (!principal) throw unauthenticated();
  if (!principal.orgId || !principal.role) {
    throw new AppError(403, 'no_organization', 'Join or create an organization first');
  }
  return { orgId: principal.orgId, actor: { type: principal.type, id: principal.userId }, traceId };
}

/** Throws 401 without a principal and 403 without the permission. */
export function requirePermission(principal: Principal | null, permission: Permission): void {
  if (!principal) throw unauthenticated();
  if (!principal.role || !principal.orgId) {
    throw new AppError(403, 'no_organization', 'Join or create an organization first');
  }
  if (!roleAllows(principal.role, permission)) {
    throw forbidden(`Your role (${principal.role}) does not allow ${permission}`);
  }
}
