import type { ApiApp, Services } from '../../platform/http/types.js';

/** Pipelines routes (to be built). */
export function registerPipelineRoutes(_app: ApiApp, _services: Services): void {}
