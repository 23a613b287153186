import { AppError } from '../../platform/errors/app-error.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { registry, tokenMatches } from '../../platform/metrics/metrics.js';

/**
 * `GET /metrics`: the Prometheus exposition, for a scraper holding `METRICS_TOKEN`
 * (`Authorization: Bearer <token>`). Without a configured token the route is not there (404).
 */
export function registerMetricsRoutes(app: ApiApp, services: Services): void {
  app.get(
    '/metrics',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'getMetrics',
        tags: ['ops'],
        summary: 'Prometheus metrics: requests by route template, latency, jobs, event dispatch lag',
        description: 'Needs `Authorization: Bearer <METRICS_TOKEN>`; 404 when the install sets no token.',
        produces: ['text/plain'],
        response: { 401: Problem, 404: Problem },
      },
    },
    async (req, reply) => {
      const expected = services.config.metricsToken;
      if (!expected) throw new AppError(404, 'route_not_found', 'This install publishes no metrics');
      const header = req.headers.authorization;
      const given = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
      if (!tokenMatches(given, expected))
        throw new AppError(401, 'unauthenticated', 'Send the metrics token as a bearer token');
      return reply.type(registry.contentType).send((await registry.metrics()) as never);
    },
  );
}
