import { and, eq } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { withTenant } from '../../db/tenant.js';
import { ExpiringCache } from '../cache/expiring-cache.js';
import { roles } from './access.schema.js';
import { builtInRights, narrowRights } from './access-profile.js';
import type { AccessProfile, RoleRights } from './access-profile.types.js';
import type { Principal } from './principal.js';

/** How long this process reuses a custom role's rights, ms (a change made here clears it at once). */
export const ROLE_CACHE_MS = 5_000;
const roleCache = new ExpiringCache<RoleRights | null>(ROLE_CACHE_MS, 10_000);

/** What a role that no longer exists may do: nothing. */
const NOTHING: RoleRights = { objects: {}, default: { rights: [], scope: 'own', fields: {} } };

/** The rights of the organization's custom role `key`, or null when it has none of that key. */
export async function customRoleRights(
  database: Database,
  orgId: string,
  key: string,
): Promise<RoleRights | null> {
  const cacheKey = `${orgId}:${key}`;
  const cached = roleCache.peek(cacheKey);
  if (cached !== undefined) return cached;
  return (
    (await roleCache.get(cacheKey, () =>
      withTenant(
        database,
        { orgId, actor: { type: 'system', id: null } },
        async ({ tx }) => {
          const [row] = await tx
            .select({ rights: roles.rights })
            .from(roles)
            .where(and(eq(roles.orgId, orgId), eq(roles.key, key)));
          return row?.rights ?? null;
        },
        { readOnly: true },
      ),
    )) ?? null
  );
}

/** Drops this process's cached roles of the organization (after one changed and committed). */
export function forgetRoles(orgId: string): void {
  roleCache.deleteWhere((key) => key.startsWith(`${orgId}:`));
}

/**
 * The access profile of a principal in its organization, or undefined when a built-in role's
 * coarse permissions say everything (no custom role, no API key scope): a custom role's rights
 * (nothing, should the role be gone), narrowed for an API key to its objects and rights and, for
 * a read-only key, to reading and exporting.
 */
export async function profileOfPrincipal(
  database: Database,
  principal: Principal,
): Promise<AccessProfile | undefined> {
  if (!principal.orgId || !principal.role) return undefined;
  const key = principal.apiKey;
  if (!principal.customRole && !key?.scopes) return undefined;
  let rights = principal.customRole
    ? ((await customRoleRights(database, principal.orgId, principal.customRole)) ?? NOTHING)
    : builtInRights(principal.role);
  if (key) rights = narrowRights(rights, key.scopes, key.readOnly);
  return { userId: principal.userId, roleKey: principal.customRole ?? principal.role, rights };
}
