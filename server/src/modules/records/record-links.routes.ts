import { z } from 'zod';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import {
  editRecordLinks,
  RecordLinksEdit,
  RecordRelations,
  recordRelations,
} from './record-relations.service.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem };
const Params = z.strictObject({
  object: z.string().min(1).max(64).describe('`contact`, `company`, `opportunity` or a custom object’s key'),
  id: z.uuid(),
});
const tags = ['records'];

/**
 * A record's many-to-many relations, both sides (issue 21): the record page's linked records,
 * for a custom object's record and for a contact, a company or an opportunity alike.
 */
export function registerRecordLinkRoutes(app: ApiApp, services: Services): void {
  app.get(
    '/links/:object/:id',
    {
      config: { access: 'records:read', rights: { object: ':object', right: 'read', id: 'record' } },
      schema: {
        tags,
        operationId: 'getRecordRelations',
        summary:
          'A record’s many-to-many relations, both sides: the records its fields link and the records linking it',
        params: Params,
        response: { 200: RecordRelations, ...errors },
      },
    },
    async (req) => recordRelations(services, req.tenant, req.params.object, req.params.id),
  );
  app.post(
    '/links/:object/:id',
    {
      config: { access: 'records:write', rights: { object: ':object', right: 'update', id: 'record' } },
      schema: {
        tags,
        operationId: 'editRecordLinks',
        summary:
          'Link or unlink records from either side of a many-to-many relation (the linking record’s field changes, with its event)',
        params: Params,
        body: RecordLinksEdit,
        response: { 200: RecordRelations, ...errors },
      },
    },
    async (req) => editRecordLinks(services, req.tenant, req.params.object, req.params.id, req.body),
  );
}
