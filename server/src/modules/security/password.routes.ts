import { APIError } from 'better-auth/api';
import { z } from 'zod';
import { auditSourceOf, auditUserEvent } from '../../platform/audit/audit.js';
import { passwordProblem } from '../../platform/auth/password-policy.js';
import { AppError, badRequest } from '../../platform/errors/app-error.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';

const errors = { 400: Problem, 404: Problem };
const tags = ['auth'];
const FORGOT_ANSWER =
  'If an account has this e-mail address, a link to choose a new password is on its way (valid one hour).';

/** Password reset by e-mailed link (issue 22): valid one hour, single use, ends every session. */
export function registerPasswordRoutes(app: ApiApp, services: Services): void {
  app.post(
    '/password/forgot',
    {
      config: { access: 'public' },
      schema: {
        tags,
        operationId: 'requestPasswordReset',
        summary: 'Send a password reset link to an address: the same answer whether or not an account has it',
        body: z.strictObject({ email: z.email().max(254) }),
        response: { 202: z.object({ message: z.string() }), ...errors },
      },
    },
    async (req, reply) => {
      await services.auth.api.requestPasswordReset({ body: { email: req.body.email.trim().toLowerCase() } });
      return reply.code(202).send({ message: FORGOT_ANSWER });
    },
  );

  app.post(
    '/password/reset',
    {
      config: { access: 'public' },
      schema: {
        tags,
        operationId: 'resetPassword',
        summary:
          "Choose a new password with a reset link's token (400 `invalid_token` when unknown, used or expired); signs out every session",
        body: z.strictObject({
          token: z.string().min(1).max(200),
          password: z.string().min(8).max(128),
        }),
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      const { token, password } = req.body;
      const weak = passwordProblem(password);
      if (weak) throw badRequest(weak, 'body.password', 'weak_password');
      const { rows } = await services.database.raw.query<{ user_id: string }>(
        'select value as user_id from verifications where identifier = $1',
        [`reset-password:${token}`],
      );
      try {
        await services.auth.api.resetPassword({ body: { newPassword: password, token } });
      } catch (error) {
        if (error instanceof APIError && error.statusCode === 400)
          throw new AppError(
            400,
            'invalid_token',
            'This link is unknown, used or expired: ask for a new one',
            {
              path: 'body.token',
            },
          );
        throw error;
      }
      const { actor: _actor, actorLabel: _label, ...client } = auditSourceOf(req);
      if (rows[0]) {
        await auditUserEvent(services.database, { userId: rows[0].user_id }, client, {
          action: 'auth.password_reset',
        });
      }
      return reply.code(204).send(null);
    },
  );
}
