import type { ApiApp, Services } from '../../platform/http/types.js';

/** Notes routes (to be built). */
export function registerNoteRoutes(_app: ApiApp, _services: Services): void {}
