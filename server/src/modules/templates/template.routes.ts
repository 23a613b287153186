import { z } from 'zod';
import { auditSourceOf } from '../../platform/audit/audit.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { applyTemplate, getTemplate, listTemplates } from './template.service.js';
import { TemplateApplied, TemplateSummary } from './template.types.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem };
const tags = ['templates'];
const KeyParams = z.strictObject({ key: z.string().min(1).max(64).describe('The template’s key') });

/** Templates (issue 21) under `/templates`: the gallery and applying one (admins). */
export function registerTemplateRoutes(app: ApiApp, services: Services): void {
  app.get(
    '/templates',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'listTemplates',
        summary:
          'The templates Cairn ships (Surrogacy agency, Recruiting, Product catalog), each with what it creates',
        response: { 200: z.object({ data: z.array(TemplateSummary) }), ...errors },
      },
    },
    async (req) => ({ data: await listTemplates(services, req.tenant) }),
  );
  app.get(
    '/templates/:key',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'getTemplate',
        summary: 'One template',
        params: KeyParams,
        response: { 200: TemplateSummary, ...errors },
      },
    },
    async (req) => getTemplate(services, req.tenant, req.params.key),
  );
  app.post(
    '/templates/:key/apply',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'applyTemplate',
        summary:
          'Apply a template in one transaction: roles, objects, fields, statuses, queues and views, all or nothing; 409 `template_applied` when applied already, 409 `duplicate_key` when a key is taken',
        params: KeyParams,
        response: { 201: TemplateApplied, ...errors },
      },
    },
    async (req, reply) =>
      reply.code(201).send(await applyTemplate(services, req.tenant, auditSourceOf(req), req.params.key)),
  );
}
