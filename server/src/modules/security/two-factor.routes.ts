import { z } from 'zod';
import { auditRequest } from '../../platform/audit/audit.js';
import { setTwoFactorRequired, twoFactorStatus } from '../../platform/auth/two-factor.js';
import { AppError } from '../../platform/errors/app-error.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 409: Problem };
const tags = ['two-factor'];
const TwoFactorStatus = z
  .object({
    enabled: z.boolean().describe('Two-factor sign-in (TOTP) is on for me'),
    required: z.boolean().describe('My active organization requires it of every member'),
  })
  .meta({ id: 'TwoFactorStatus' });

/**
 * Two-factor sign-in (issue 22). Setting it up, confirming, signing in with a code and turning it
 * off are better-auth's endpoints under `/api/auth/two-factor/*` (README "Two-factor sign-in");
 * these routes read the state and let an admin require it of everyone.
 */
export function registerTwoFactorRoutes(app: ApiApp, services: Services): void {
  app.get(
    '/me/two-factor',
    {
      config: { access: 'authenticated', beforeTwoFactorSetup: true },
      schema: {
        tags,
        operationId: 'getMyTwoFactor',
        summary: 'Whether two-factor sign-in is on for me, and whether my organization requires it',
        response: { 200: TwoFactorStatus, ...errors },
      },
    },
    async (req) => twoFactorStatus(services.database, req.principal!.userId, req.principal!.orgId),
  );

  app.put(
    '/security/two-factor-requirement',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'setTwoFactorRequirement',
        summary:
          'Require two-factor sign-in of every member (admins; 409 `two_factor_not_enabled` until the admin uses it); audited',
        body: z.strictObject({ required: z.boolean() }),
        response: { 200: TwoFactorStatus, ...errors },
      },
    },
    async (req) => {
      const mine = await twoFactorStatus(services.database, req.principal!.userId, req.tenant.orgId);
      if (req.body.required && !mine.enabled) {
        throw new AppError(
          409,
          'two_factor_not_enabled',
          'Turn on two-factor sign-in for yourself before requiring it of everyone',
          { path: 'body.required' },
        );
      }
      await setTwoFactorRequired(services.database, req.tenant.orgId, req.body.required);
      if (mine.required !== req.body.required) {
        await auditRequest(services.database, req, {
          action: 'auth.two_factor_policy_changed',
          details: { required: req.body.required },
        });
      }
      return { enabled: mine.enabled, required: req.body.required };
    },
  );
}
