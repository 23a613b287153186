import { z } from 'zod';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import {
  createSuppression,
  deleteSuppression,
  listSuppressions,
  SuppressionCreate,
} from './suppression.service.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem };
const tags = ['suppressions'];

const Suppression = z.object({
  id: z.uuid(),
  channel_kind: z.string(),
  address: z.string(),
  reason: z.string(),
  source: z.string().nullable(),
  created_at: z.string(),
});

/** The suppression list under `/suppressions` (issue 25): read by members, written by admins. */
export function registerSuppressionRoutes(app: ApiApp, services: Services): void {
  app.get(
    '/suppressions',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'listSuppressions',
        summary: 'The suppression list, newest first (`q`: a part of the address)',
        querystring: z.strictObject({
          q: z.string().max(320).optional(),
          cursor: z.string().max(100).optional().describe("The previous page's next_cursor"),
          limit: z.coerce.number().int().min(1).max(200).optional(),
        }),
        response: {
          200: z.object({ data: z.array(Suppression), next_cursor: z.string().nullable() }),
          ...errors,
        },
      },
    },
    async (req) => listSuppressions(services.database, req.tenant, req.query),
  );
  app.post(
    '/suppressions',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'createSuppression',
        summary: 'Suppress an e-mail address, a whole domain or a number: nothing is sent to it any more',
        body: SuppressionCreate,
        response: { 201: Suppression, ...errors },
      },
    },
    async (req, reply) =>
      reply.code(201).send(await createSuppression(services.database, req.tenant, req.body)),
  );
  app.delete(
    '/suppressions/:id',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'deleteSuppression',
        summary: 'Take an address off the suppression list',
        params: z.strictObject({ id: z.uuid() }),
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await deleteSuppression(services.database, req.tenant, req.params.id);
      return reply.code(204).send(null);
    },
  );
}
