import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { withTenant } from '../../db/tenant.js';
import { auditRequest } from '../../platform/audit/audit.js';
import { members } from '../../platform/auth/auth.schema.js';
import { passwordProblem } from '../../platform/auth/password-policy.js';
import {
  changePassword,
  listSessions,
  revokeAllSessions,
  revokeSession,
} from '../../platform/auth/sessions.js';
import { AppError, badRequest, notFound } from '../../platform/errors/app-error.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };
const tags = ['sessions'];
const Session = z
  .object({
    id: z.uuid(),
    created_at: z.string(),
    last_active_at: z.string(),
    expires_at: z.string(),
    ip: z.string().nullable(),
    user_agent: z.string().nullable(),
    current: z.boolean().describe('The session this request came with'),
  })
  .meta({ id: 'Session' });

/** Session management (issue 22): my sessions, ending one, an admin ending a member's, password change. */
export function registerSessionRoutes(app: ApiApp, services: Services): void {
  app.get(
    '/me/sessions',
    {
      config: { access: 'authenticated' },
      schema: {
        tags,
        operationId: 'listMySessions',
        summary: "The signed-in user's live sessions (devices), newest first",
        response: { 200: z.object({ data: z.array(Session) }), ...errors },
      },
    },
    async (req) => ({
      data: await listSessions(services.database, req.principal!.userId, req.principal!.sessionId),
    }),
  );

  app.delete(
    '/me/sessions/:id',
    {
      config: { access: 'authenticated' },
      schema: {
        tags,
        operationId: 'revokeMySession',
        summary: 'End one of my sessions (sign a device out)',
        params: z.strictObject({ id: z.uuid() }),
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await revokeSession(services.database, req.principal!.userId, req.params.id);
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/members/:userId/sessions',
    {
      config: { access: 'members:manage' },
      schema: {
        tags,
        operationId: 'revokeMemberSessions',
        summary: 'End every session of a member of the organization (admins); audited',
        params: z.strictObject({ userId: z.uuid() }),
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      const member = await withTenant(services.database, req.tenant, ({ tx }) =>
        tx
          .select({ userId: members.userId })
          .from(members)
          .where(and(eq(members.organizationId, req.tenant.orgId), eq(members.userId, req.params.userId))),
      );
      if (member.length === 0) throw notFound('Member', req.params.userId);
      const count = await revokeAllSessions(services.database, req.params.userId);
      await auditRequest(services.database, req, {
        action: 'auth.sessions_revoked',
        target: { type: 'user', id: req.params.userId },
        details: { sessions: count },
      });
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/me/password',
    {
      config: { access: 'authenticated' },
      schema: {
        tags,
        operationId: 'changeMyPassword',
        summary:
          'Change my password (the current one is required); my other sessions end unless told otherwise',
        body: z.strictObject({
          current_password: z.string().min(1).max(128),
          new_password: z.string().min(8).max(128),
          sign_out_other_sessions: z.boolean().default(true),
        }),
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      const weak = passwordProblem(req.body.new_password);
      if (weak) throw badRequest(weak, 'body.new_password', 'weak_password');
      const changed = await changePassword(services.auth, services.database, req.principal!, {
        current: req.body.current_password,
        next: req.body.new_password,
        signOutOthers: req.body.sign_out_other_sessions,
      });
      if (!changed)
        throw new AppError(400, 'invalid_password', 'The current password is not right', {
          path: 'body.current_password',
        });
      return reply.code(204).send(null);
    },
  );
}
