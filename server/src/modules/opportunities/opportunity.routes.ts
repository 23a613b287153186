import type { ApiApp, Services } from '../../platform/http/types.js';

/** Opportunities routes (to be built). */
export function registerOpportunityRoutes(_app: ApiApp, _services: Services): void {}
