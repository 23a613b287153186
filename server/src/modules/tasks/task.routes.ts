import type { ApiApp, Services } from '../../platform/http/types.js';

/** Tasks routes (to be built). */
export function registerTaskRoutes(_app: ApiApp, _services: Services): void {}

/** Defines the task job queues (reminders) before the job queue starts. */
export function defineTaskJobs(_services: Services): void {}
