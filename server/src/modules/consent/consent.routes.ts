import { z } from 'zod';
import { withTenant } from '../../db/tenant.js';
import { badRequest } from '../../platform/errors/app-error.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { consentsOf, recordConsentIn } from './consent.service.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };

const ConsentCreate = z.strictObject({
  contact_id: z.uuid(),
  channel: z.enum(['email', 'sms', 'phone', 'any']),
  purpose: z.string().trim().min(1).max(100).describe('marketing, newsletter, ...'),
  status: z.enum(['granted', 'withdrawn']),
  source: z.string().trim().min(1).max(200).describe('Where it was given: a call, an event, a paper form'),
  proof: z
    .record(z.string().max(64), z.union([z.string().max(2000), z.number(), z.boolean(), z.null()]))
    .optional()
    .describe('What shows it: the text agreed to, a document, the IP'),
});

/** The consent ledger (issue 25): read per record; a member records a consent given or withdrawn. */
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
  app.post(
    '/consents',
    {
      config: { access: 'records:write' },
      schema: {
        tags: ['consents'],
        operationId: 'recordConsent',
        summary:
          "Record a contact's consent given or withdrawn for a channel and purpose, with its source and proof (append-only: a withdrawal is a new entry)",
        body: ConsentCreate,
        response: { 201: z.object({ id: z.uuid() }), ...errors },
      },
    },
    async (req, reply) => {
      const ctx = req.tenant;
      const id = await withTenant(services.database, ctx, async (scope) => {
        const { rows } = await scope.conn.query(
          'select 1 from contacts where org_id = $1 and id = $2 and archived_at is null',
          [ctx.orgId, req.body.contact_id],
        );
        if (!rows[0])
          throw badRequest(
            `Contact ${req.body.contact_id} was not found`,
            'body.contact_id',
            'reference_not_found',
          );
        return recordConsentIn(scope, {
          object: 'contact',
          recordId: req.body.contact_id,
          channel: req.body.channel,
          purpose: req.body.purpose,
          status: req.body.status,
          source: req.body.source,
          proof: { ...(req.body.proof ?? {}), recorded_by: ctx.actor.id },
        });
      });
      return reply.code(201).send({ id });
    },
  );
}
