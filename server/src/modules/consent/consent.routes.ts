import { z } from 'zod';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { consentsOf } from './consent.service.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };

/** The consent ledger, read per record. */
export function registerConsentRoutes(app: ApiApp, services: Services): void {
  app.get(
    '/consents',
    {
      config: { access: 'records:read' },
      schema: {
        tags: ['consents'],
        operationId: 'listConsents',
        summary: "A record's consents (the consent ledger), newest first, each with its proof",
        querystring: z.strictObject({ object: z.string().min(1).max(64), record_id: z.uuid() }),
        response: {
          200: z.object({
            data: z.array(
              z.object({
                id: z.uuid(),
                object: z.string(),
                record_id: z.uuid(),
                channel: z.string(),
                purpose: z.string(),
                status: z.string(),
                source: z.string(),
                proof: z.record(z.string(), z.unknown()),
                at: z.string(),
              }),
            ),
          }),
          ...errors,
        },
      },
    },
    async (req) => ({
      data: await consentsOf(services.database, req.tenant, req.query.object, req.query.record_id),
    }),
  );
}
