import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TenantContext } from '../../db/tenant.js';
import type { RouteRights } from '../access/access-guard.js';
import type { AccessProfile } from '../access/access-profile.types.js';
import type { RouteAccess } from '../access/permissions.js';
import { type Principal, requirePermission, tenantContextOf } from '../access/principal.js';
import { AppError, unauthenticated } from '../errors/app-error.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the route needs. Required on every `/api/` route: a route without it will not start. */
    access?: RouteAccess;
    /**
     * The route answers a user whose organization requires two-factor sign-in before they set it
     * up (what they need to set it up); every other route answers 403 `two_factor_required`.
     */
    beforeTwoFactorSetup?: true;
  }
  interface FastifyRequest {
    principal: Principal | null;
    /**
     * The tenant the request acts in: its principal's active organization, the principal as
     * actor and the request id as trace id. Attached once, by the access check, on every route
     * that needs an organization; reading it where there is none throws 401 or 403
     * `no_organization`. Routes hand it to services; none rebuilds it.
     */
    readonly tenant: TenantContext;
  }
}

/** One registered route, as the route table (and the tenant-isolation suite) sees it. */
export type RouteEntry = {
  method: string;
  url: string;
  access: RouteAccess;
  rights?: RouteRights | undefined;
};

export type RouteGuardOptions = {
  /** Resolves the caller from the request's API key (`Authorization: Bearer`) or session cookie. */
  resolvePrincipal(req: FastifyRequest): Promise<Principal | null>;
  /** Origins allowed to send cookie-authenticated mutations. */
  trustedOrigins: readonly string[];
  /**
   * Counts the request against its rate limit once its principal is known (null on public
   * routes and when no valid session came), before any refusal, so 401s and CSRF refusals count.
   */
  limit?: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /**
   * The principal's access profile, when narrower than its built-in role (a custom role, a scoped
   * API key: `platform/access/access-loader.ts`), carried by the request's tenant context.
   */
  profileOf?: (principal: Principal) => Promise<AccessProfile | undefined>;
};

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Installs the server-side access check. Every route under `/api/` must declare
 * `config.access`; a route that does not makes start-up fail (closed by default). For each
 * request: the principal is resolved (routes that are not public), the request counted against
 * its rate limit, a cookie-borne mutation must come from a trusted Origin (CSRF), and the route's
 * access is enforced: 401 without a principal, 403 without the permission. Returns the route
 * table, filled as routes register.
 */
export function installRouteGuard(app: FastifyInstance, options: RouteGuardOptions): RouteEntry[] {
  const table: RouteEntry[] = [];
  const tenants = new WeakMap<FastifyRequest, TenantContext>();
  app.decorateRequest('principal', null);
  app.decorateRequest('tenant', {
    getter(this: FastifyRequest): TenantContext {
      return tenants.get(this) ?? tenantContextOf(this.principal, String(this.id));
    },
  });

  app.addHook('onRoute', (route) => {
    const url = route.url;
    if (!url.startsWith('/api/') || url.startsWith('/api/docs') || url.startsWith('/api/auth/')) return;
    const access = route.config?.access;
    if (!access) throw new Error(`Route ${String(route.method)} ${url} declares no config.access`);
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') table.push({ method, url, access, rights: route.config?.rights });
    }
  });

  app.addHook('onRequest', async (req, reply) => {
    const access = req.routeOptions.config?.access;
    const isPublic = !access || access === 'public';
    if (!isPublic) req.principal = await options.resolvePrincipal(req);
    await options.limit?.(req, reply);
    // An API key is not a cookie a browser sends by itself: no CSRF exposure.
    if (req.principal?.type !== 'api_key') checkOrigin(req, options.trustedOrigins);
    if (isPublic) return;
    if (!req.principal) throw unauthenticated();
    if (req.principal.twoFactorSetupRequired && !req.routeOptions.config?.beforeTwoFactorSetup) {
      throw new AppError(
        403,
        'two_factor_required',
        'Your organization requires two-factor sign-in: set it up in your profile first',
      );
    }
    if (access === 'authenticated') {
      // The caller's own user, sessions and organizations: a person's, not a key's.
      if (req.principal.type === 'api_key')
        throw new AppError(403, 'api_key_not_allowed', 'An API key cannot use this route');
      return;
    }
    if (access === 'member') {
      if (!req.principal.orgId || !req.principal.role) {
        throw new AppError(403, 'no_organization', 'Join or create an organization first');
      }
    } else {
      requirePermission(req.principal, access);
    }
    const tenant = tenantContextOf(req.principal, String(req.id));
    const profile = await options.profileOf?.(req.principal);
    if (profile) tenant.access = profile;
    tenants.set(req, tenant);
  });
  return table;
}

/**
 * CSRF defence: a state-changing request that carries cookies must name a trusted Origin
 * (browsers always send Origin on cross-origin and on same-origin POSTs). Requests without
 * cookies (API keys, server-to-server) are not exposed to CSRF and pass. See
 * https://cheatsheetseries.owasp.org/cheatsheets/Cross-Site_Request_Forgery_Prevention_Cheat_Sheet.html
 */
export function checkOrigin(req: FastifyRequest, trustedOrigins: readonly string[]): void {
  if (SAFE_METHODS.has(req.method) || !req.headers.cookie) return;
  const origin = req.headers.origin ?? originOfReferer(req.headers.referer);
  if (!origin || origin === 'null' || !trustedOrigins.includes(origin)) {
    throw new AppError(
      403,
      'csrf_rejected',
      'This request did not come from the Cairn app (Origin check failed)',
    );
  }
}

function originOfReferer(referer: string | undefined): string | undefined {
  if (!referer || !URL.canParse(referer)) return undefined;
  return new URL(referer).origin;
}
