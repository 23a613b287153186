import { z } from 'zod';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import { notFound } from '../../platform/errors/app-error.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { recordConsentIn } from '../consent/consent.service.js';
import { suppressIn } from '../conversations/suppression.service.js';
import { endEnrollmentsIn } from './enrollment.service.js';
import { readUnsubscribe } from './unsubscribe-link.js';

const Token = z.strictObject({ token: z.string().min(1).max(200) });
/** A plain page; `title` and `body` are constants of this file. */
const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
  `<title>${title}</title><style>body{font:16px system-ui;max-width:32rem;margin:4rem auto;padding:0 1rem}` +
  `button{font:inherit;padding:.5rem 1rem}</style></head><body><h1>${title}</h1>${body}</body></html>`;

/** The enrollment's contact and e-mail a token names. @throws 404 for a bad token or a gone enrollment */
async function subjectOf(services: Services, token: string) {
  const t = readUnsubscribe(services.config.secret, token);
  if (!t) throw notFound('Unsubscribe link');
  const ctx: TenantContext = { orgId: t.orgId, actor: { type: 'system', id: null } };
  const rows = await withTenant(services.database, ctx, async (scope) => {
    const { rows } = await scope.conn.query<{ contact_id: string; email: string | null }>(
      // The token names a sequence enrollment, or a broadcast recipient (issue 33): one page for both.
      `select e.contact_id, c.email from (
          select org_id, contact_id from sequence_enrollments where org_id = $1 and id = $2
          union all select org_id, contact_id from broadcast_recipients where org_id = $1 and id = $2) e
         left join contacts c on c.org_id = e.org_id and c.id = e.contact_id limit 1`,
      [ctx.orgId, t.enrollmentId],
    );
    return rows;
  });
  if (!rows[0]) throw notFound('Unsubscribe link');
  return { ctx, enrollmentId: t.enrollmentId, ...rows[0] };
}

/**
 * Unsubscribes the contact a token names: its address suppressed, a `withdrawn` e-mail consent
 * in the ledger with the request as proof, every enrollment of the contact ended (unsubscribed).
 * Repeating it changes nothing more.
 */
async function unsubscribe(services: Services, token: string, proof: Record<string, unknown>) {
  const s = await subjectOf(services, token);
  await withTenant(services.database, s.ctx, async (scope) => {
    if (s.email) await suppressIn(scope, 'email', s.email, 'unsubscribed', `unsubscribe:${s.enrollmentId}`);
    await recordConsentIn(scope, {
      object: 'contact',
      recordId: s.contact_id,
      channel: 'email',
      purpose: 'marketing',
      status: 'withdrawn',
      source: `unsubscribe:${s.enrollmentId}`,
      proof: { ...proof, at: new Date().toISOString() },
    });
    await endEnrollmentsIn(scope, services, { contactIds: [s.contact_id] }, 'unsubscribed');
    // A broadcast recipient's link: that recipient reads `unsubscribed`.
    await scope.conn.query(
      `update broadcast_recipients set status = 'unsubscribed', detail = 'unsubscribe link', updated_at = now()
        where org_id = $1 and id = $2`,
      [s.ctx.orgId, s.enrollmentId],
    );
  });
}

/**
 * The public unsubscribe page of sequence e-mails (issue 25): GET shows a confirmation button
 * (a link scanner's GET must not unsubscribe anyone), POST unsubscribes; the same POST with
 * `List-Unsubscribe=One-Click` is RFC 8058's one-click unsubscribe a mail client sends.
 */
export function registerUnsubscribeRoutes(app: ApiApp, services: Services): void {
  app.register(async (scoped) => {
    const api = scoped as unknown as ApiApp;
    api.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 4096 },
      (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
    );
    api.get(
      '/public/unsubscribe/:token',
      {
        config: { access: 'public' },
        schema: {
          tags: ['sequences'],
          operationId: 'showUnsubscribePage',
          summary: 'The unsubscribe page a sequence e-mail links to (a confirmation button)',
          params: Token,
          produces: ['text/html'],
          response: { 200: z.string(), 400: Problem, 404: Problem },
        },
      },
      async (req, reply) => {
        await subjectOf(services, req.params.token);
        return reply
          .type('text/html; charset=utf-8')
          .serializer(String)
          .send(
            page(
              'Unsubscribe',
              `<p>Stop receiving these e-mails?</p><form method="post"><button type="submit">Unsubscribe</button></form>`,
            ),
          );
      },
    );
    api.post(
      '/public/unsubscribe/:token',
      {
        config: { access: 'public' },
        schema: {
          tags: ['sequences'],
          operationId: 'unsubscribe',
          summary:
            'Unsubscribe (the page’s button, or RFC 8058 one-click: body `List-Unsubscribe=One-Click`): the address is suppressed and the consent withdrawn',
          params: Token,
          body: z.record(z.string(), z.string()).optional(),
          produces: ['text/html'],
          response: { 200: z.string(), 400: Problem, 404: Problem },
        },
      },
      async (req, reply) => {
        const body = (req.body ?? {}) as Record<string, string>;
        await unsubscribe(services, req.params.token, {
          one_click: body['List-Unsubscribe'] === 'One-Click',
          ip: req.ip,
          user_agent: String(req.headers['user-agent'] ?? '').slice(0, 300),
        });
        return reply
          .type('text/html; charset=utf-8')
          .serializer(String)
          .send(page('Unsubscribed', '<p>You will not receive these e-mails any more.</p>'));
      },
    );
  });
}
