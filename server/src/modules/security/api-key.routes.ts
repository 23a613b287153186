import { z } from 'zod';
import { assertKnownObjects } from '../../platform/access/access-objects.js';
import { RIGHTS } from '../../platform/access/access-profile.types.js';
import { auditSourceOf } from '../../platform/audit/audit.js';
import { issueApiKey, listApiKeys, revokeApiKey } from '../../platform/auth/api-keys.js';
import { badRequest } from '../../platform/errors/app-error.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };
const tags = ['api-keys'];

const ApiKey = z
  .object({
    id: z.uuid(),
    name: z.string(),
    prefix: z.string().describe("The key's first and last characters, to tell keys apart"),
    read_only: z.boolean(),
    scopes: z
      .record(z.string(), z.array(z.enum(RIGHTS)))
      .nullable()
      .describe(
        "The objects the key reaches and its rights on each; null: every object its creator's role reaches",
      ),
    created_by: z.uuid(),
    created_at: z.string(),
    expires_at: z.string().nullable(),
    last_used_at: z.string().nullable(),
    revoked_at: z.string().nullable(),
    status: z.enum(['active', 'expired', 'revoked']),
  })
  .meta({ id: 'ApiKey' });

/** API keys of the organization (admins): issue (shown once), list, revoke. */
export function registerApiKeyRoutes(app: ApiApp, services: Services): void {
  app.post(
    '/api-keys',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'createApiKey',
        summary:
          'Issue an API key: the answer holds the key, shown this once (send it as `Authorization: Bearer <key>`)',
        body: z.strictObject({
          name: z.string().trim().min(1).max(120),
          read_only: z.boolean().default(false).describe('Reads only: writes answer 403 `api_key_read_only`'),
          scopes: z
            .record(z.string().max(64), z.array(z.enum(RIGHTS)).max(RIGHTS.length))
            .nullable()
            .optional()
            .describe(
              'The objects the key may reach and its rights on each (`{"contact": ["read", "update"]}`); ' +
                "absent or null: every object. Never more than its creator's role allows",
            ),
          expires_at: z.iso
            .datetime({ offset: true })
            .optional()
            .describe('When the key stops working (ISO 8601, in the future); never when absent'),
        }),
        response: {
          201: ApiKey.extend({
            key: z.string().describe('The key itself: store it now, it is not shown again'),
          }),
          ...errors,
          // A scope naming an object the registry does not hold, or rights beyond the creator's.
          422: Problem,
        },
      },
    },
    async (req, reply) => {
      const { expires_at } = req.body;
      if (expires_at && new Date(expires_at).getTime() <= Date.now())
        throw badRequest('An expiry must be in the future', 'body.expires_at');
      if (req.body.scopes)
        await assertKnownObjects(services.database, req.tenant, Object.keys(req.body.scopes), 'body.scopes');
      const created = await issueApiKey(services.database, req.tenant, auditSourceOf(req), req.body);
      return reply.code(201).send(created);
    },
  );

  app.get(
    '/api-keys',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'listApiKeys',
        summary: "The organization's API keys, newest first, with their status and last use (never the key)",
        response: { 200: z.object({ data: z.array(ApiKey) }), ...errors },
      },
    },
    async (req) => ({ data: await listApiKeys(services.database, req.tenant) }),
  );

  app.delete(
    '/api-keys/:id',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'revokeApiKey',
        summary: 'Revoke an API key: its next request answers 401',
        params: z.strictObject({ id: z.uuid() }),
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await revokeApiKey(services.database, req.tenant, auditSourceOf(req), req.params.id);
      return reply.code(204).send(null);
    },
  );
}
