import { z } from 'zod';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { listTags, renameTag, suggestTags } from './tag.service.js';

const Tag = z.object({ id: z.uuid(), name: z.string(), color: z.string().nullable() }).meta({ id: 'Tag' });
const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };

/** Tags: list, autocomplete, rename and merge (admins). */
export function registerTagRoutes(app: ApiApp, services: Services): void {
  app.get(
    '/tags',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'listTags',
        tags: ['tags'],
        summary: 'All tags, or autocomplete with `q` (prefix matches first)',
        querystring: z.strictObject({
          q: z.string().max(64).optional(),
          limit: z.coerce.number().int().min(1).max(100).default(20),
        }),
        response: { 200: z.object({ data: z.array(Tag) }), ...errors },
      },
    },
    async (req) => {
      const ctx = req.tenant;
      return {
        data: req.query.q
          ? await suggestTags(services, ctx, req.query.q, req.query.limit)
          : await listTags(services, ctx),
      };
    },
  );
  app.patch(
    '/tags/:id',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'updateTag',
        tags: ['tags'],
        summary: 'Rename a tag on every record; renaming to an existing tag merges the two',
        params: z.strictObject({ id: z.uuid() }),
        body: z.strictObject({ name: z.string().trim().min(1).max(64) }),
        response: {
          200: z.object({ id: z.uuid(), name: z.string(), merged: z.boolean(), records: z.number().int() }),
          ...errors,
        },
      },
    },
    async (req) => renameTag(services, req.tenant, req.params.id, req.body.name),
  );
}
