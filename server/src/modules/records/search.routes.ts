import { z } from 'zod';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { SearchHit, searchEverything } from './record-search.service.js';

/** `GET /search`: matches across contacts, companies and opportunities at once. */
export function registerSearchRoutes(app: ApiApp, services: Services): void {
  app.get(
    '/search',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'searchRecords',
        tags: ['search'],
        summary: 'Search every object at once (name, e-mail, phone digits, title): a few matches of each',
        querystring: z.strictObject({
          q: z.string().trim().min(1).max(200),
          limit: z.coerce.number().int().min(1).max(20).default(5).describe('Matches per object'),
        }),
        response: { 200: z.object({ data: z.array(SearchHit) }), 400: Problem, 401: Problem, 403: Problem },
      },
    },
    async (req) => ({
      data: await searchEverything(services, req.tenant, req.query.q, req.query.limit),
    }),
  );
}
