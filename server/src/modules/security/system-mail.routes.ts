import { z } from 'zod';
import { notFound } from '../../platform/errors/app-error.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { listSystemMail, systemMailAttachment } from '../../platform/mail/mailer.js';

const SystemMail = z
  .object({
    id: z.uuid(),
    created_at: z.string(),
    kind: z
      .string()
      .describe(
        'password_reset, email_verification, signup_attempt, invitation, quote, workflow (a workflow’s e-mail step), booking or report (a scheduled report or dashboard)',
      ),
    to: z.string(),
    subject: z.string(),
    text: z.string(),
    attachments: z.array(
      z.object({
        filename: z.string(),
        content_type: z.string(),
        size: z.number().int(),
        sha256: z.string(),
      }),
    ),
  })
  .meta({ id: 'SystemMail' });

/** The local outbox of system e-mail, for admins of an install without `SMTP_URL`. */
export function registerSystemMailRoutes(app: ApiApp, services: Services): void {
  app.get(
    '/system-mail',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags: ['system-mail'],
        operationId: 'listSystemMail',
        summary:
          'System e-mail of the organization kept in the local outbox (no SMTP_URL configured), newest first; `transport` says where mail goes',
        response: {
          200: z.object({ transport: z.enum(['smtp', 'outbox']), data: z.array(SystemMail) }),
          400: Problem,
          401: Problem,
          403: Problem,
        },
      },
    },
    async (req) => ({
      transport: services.mailer.transport,
      data: await listSystemMail(services.database, req.tenant),
    }),
  );

  app.get(
    '/system-mail/:id/attachments/:index',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags: ['system-mail'],
        operationId: 'getSystemMailAttachment',
        summary: 'A file sent with a message kept in the outbox (a quote’s or a scheduled report’s PDF)',
        params: z.strictObject({ id: z.uuid(), index: z.coerce.number().int().min(0).max(99) }),
        produces: ['application/octet-stream'],
      },
    },
    async (req, reply) => {
      const file = await systemMailAttachment(services.database, req.tenant, req.params.id, req.params.index);
      if (!file) throw notFound('Attachment');
      const name = file.filename.replace(/[^A-Za-z0-9._-]+/g, '-');
      return reply
        .type(file.contentType)
        .header('content-disposition', `attachment; filename="${name}"`)
        .send(file.content);
    },
  );
}
