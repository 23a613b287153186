import { APIError } from 'better-auth/api';
import { z } from 'zod';
import { AppError } from '../../platform/errors/app-error.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';

const tags = ['auth'];

/**
 * E-mail verification (issue 22): a link e-mailed at sign-up (and on request) proves the address;
 * an account whose address is not verified cannot take an invitation, nor is it found by one.
 */
export function registerEmailVerificationRoutes(app: ApiApp, services: Services): void {
  app.post(
    '/email/verify',
    {
      config: { access: 'public' },
      schema: {
        tags,
        operationId: 'verifyEmail',
        summary: "Confirm an e-mail address with the verification link's token (valid 24 hours)",
        body: z.strictObject({ token: z.string().min(1).max(2000) }),
        response: { 204: z.null(), 400: Problem, 404: Problem },
      },
    },
    async (req, reply) => {
      try {
        await services.auth.api.verifyEmail({ query: { token: req.body.token } });
      } catch (error) {
        if (error instanceof APIError)
          throw new AppError(400, 'invalid_token', 'This link is unknown or expired: ask for a new one', {
            path: 'body.token',
          });
        throw error;
      }
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/me/email-verification',
    {
      config: { access: 'authenticated' },
      schema: {
        tags,
        operationId: 'sendEmailVerification',
        summary: "Send the signed-in user's address a new verification link (nothing when already verified)",
        response: { 202: z.object({ message: z.string() }), 400: Problem, 401: Problem, 403: Problem },
      },
    },
    async (req, reply) => {
      await sendVerification(services, req.principal!.email);
      return reply.code(202).send({ message: 'If this address is not verified yet, a link is on its way.' });
    },
  );
}

/** E-mails a verification link to an address whose account is not verified (nothing otherwise). */
export async function sendVerification(services: Services, email: string): Promise<void> {
  await services.auth.api.sendVerificationEmail({ body: { email } });
}
