import { z } from 'zod';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { describeObject, ObjectDescription } from '../custom-fields/custom-field.routes.js';
import * as objects from './custom-object.service.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem };
const ObjectParams = z.strictObject({ object: z.string().max(64) });
const tags = ['objects'];

/**
 * Custom objects (issue 21): admins define, relabel, retire and purge the tenant's own objects.
 * Reading them is `GET /objects` and `GET /objects/:object`; their fields are
 * `/objects/:object/fields`; their records `/records/:object`.
 */
export function registerCustomObjectRoutes(app: ApiApp, services: Services): void {
  app.post(
    '/objects',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'createCustomObject',
        tags,
        summary: 'Define a custom object with its display field (400 `reserved_key`, 409 `duplicate_key`)',
        body: objects.CustomObjectCreate,
        response: { 201: ObjectDescription, ...errors },
      },
    },
    async (req, reply) =>
      reply.code(201).send(describeObject(await objects.createCustomObject(services, req.tenant, req.body))),
  );
  app.patch(
    '/objects/:object',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'updateCustomObject',
        tags,
        summary: 'Relabel a custom object, change its icon, description or display field',
        params: ObjectParams,
        body: objects.CustomObjectUpdate,
        response: { 200: ObjectDescription, ...errors },
      },
    },
    async (req) =>
      describeObject(await objects.updateCustomObject(services, req.tenant, req.params.object, req.body)),
  );
  for (const [action, retire] of [
    ['retire', true],
    ['unretire', false],
  ] as const) {
    app.post(
      `/objects/:object/${action}`,
      {
        config: { access: 'settings:manage' },
        schema: {
          operationId: retire ? 'retireCustomObject' : 'unretireCustomObject',
          tags,
          summary: retire
            ? 'Retire a custom object (hidden, its records kept and read-only)'
            : 'Bring a retired custom object back',
          params: ObjectParams,
          response: { 200: ObjectDescription, ...errors },
        },
      },
      async (req) =>
        describeObject(await objects.retireCustomObject(services, req.tenant, req.params.object, retire)),
    );
  }
  app.delete(
    '/objects/:object',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'deleteCustomObject',
        tags,
        summary:
          'Purge a retired custom object and every record of it, for good; `confirm` must repeat its key (leaves an audit event)',
        params: ObjectParams,
        querystring: z.strictObject({ confirm: z.string().max(64).optional() }),
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await objects.purgeCustomObject(services, req.tenant, req.params.object, req.query.confirm);
      return reply.code(204).send(null);
    },
  );
}
