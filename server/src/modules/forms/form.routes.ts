import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { auditRequest } from '../../platform/audit/audit.js';
import { AppError } from '../../platform/errors/app-error.js';
import { assertStorable, decodeUtf8 } from '../../platform/http/input.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { FieldChoice, Form, FormCreate, FormSubmission, FormUpdate, IngestResult } from './form.dto.js';
import { archiveForm, createForm, fieldChoices, getForm, listForms, updateForm } from './form.service.js';
import { FORM_CSS, FORM_JS, renderFormPage, renderResultPage } from './form-page.js';
import { fillTimeToken, powChallenge, WindowLimiter } from './form-spam.js';
import { exportSubmissions, listSubmissions } from './form-submissions.service.js';
import { pageForm, submitForm } from './form-submit.service.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };
const tags = ['forms'];
const Id = z.strictObject({ id: z.uuid() });

/** The hosted page's CSP: the app's (no inline script or style), but embeddable in any page. */
const FORM_PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "script-src-attr 'none'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  'frame-ancestors *',
].join('; ');

/** Forms (admins): the builder's field choices, forms and their submissions. */
export function registerFormRoutes(app: ApiApp, services: Services): void {
  app.get(
    '/forms/fields/:object',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'listFormFieldChoices',
        summary: 'The fields of an object a form can ask for (from the registry, custom fields included)',
        params: z.strictObject({ object: z.string().min(1).max(64) }),
        response: { 200: z.object({ data: z.array(FieldChoice) }), ...errors },
      },
    },
    async (req) => ({ data: await fieldChoices(services, req.tenant, req.params.object) }),
  );

  app.post(
    '/forms',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'createForm',
        summary: 'Build a form for an object: its page URL, embed snippet and ingest URL are in the answer',
        body: FormCreate,
        response: { 201: Form, 422: Problem, ...errors },
      },
    },
    async (req, reply) => reply.code(201).send(await createForm(services, req.tenant, req.body)),
  );

  app.get(
    '/forms',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'listForms',
        summary: "The organization's forms, newest first (archived ones included)",
        response: { 200: z.object({ data: z.array(Form) }), ...errors },
      },
    },
    async (req) => ({ data: await listForms(services, req.tenant) }),
  );

  app.get(
    '/forms/:id',
    {
      config: { access: 'settings:manage' },
      schema: { tags, operationId: 'getForm', params: Id, response: { 200: Form, ...errors } },
    },
    async (req) => getForm(services, req.tenant, req.params.id),
  );

  app.patch(
    '/forms/:id',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'updateForm',
        summary: 'Change a form; a change of what visitors see makes a new version',
        params: Id,
        body: FormUpdate,
        response: { 200: Form, 409: Problem, 422: Problem, ...errors },
      },
    },
    async (req) => updateForm(services, req.tenant, req.params.id, req.body),
  );

  app.delete(
    '/forms/:id',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'archiveForm',
        summary: 'Archive a form: its page and ingest endpoint answer 404; its submissions are kept',
        params: Id,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await archiveForm(services, req.tenant, req.params.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/forms/:id/submissions',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'listFormSubmissions',
        summary:
          "A form's submissions, newest first: each value under its field's label (`answers`), the record's name, the consent given, the source",
        description:
          "Keyset paging: pass the answer's `next_cursor` as `cursor` for the next page (null on the last). `total` counts all the form's submissions on the first page (null with a `cursor`).",
        params: Id,
        querystring: z.strictObject({
          limit: z.coerce
            .number()
            .int()
            .min(1)
            .max(200)
            .default(50)
            .describe('Submissions per page, 1 to 200'),
          cursor: z
            .string()
            .max(200)
            .optional()
            .describe("The previous page's `next_cursor` (400 `invalid_query` for any other)"),
        }),
        response: {
          200: z.object({
            data: z.array(FormSubmission),
            next_cursor: z.string().nullable().describe('The cursor of the next page; null on the last'),
            total: z
              .number()
              .int()
              .nullable()
              .describe(
                "All the form's submissions, counted on the first page (null when `cursor` is given)",
              ),
          }),
          ...errors,
        },
      },
    },
    async (req) => listSubmissions(services, req.tenant, req.params.id, req.query),
  );

  app.get(
    '/forms/:id/submissions/export',
    {
      // Leads' personal data leaving: counted against the guard's export budget.
      config: { access: 'settings:manage', guardExport: true },
      schema: {
        tags,
        operationId: 'exportFormSubmissions',
        summary:
          "A form's submissions as CSV, streamed, newest first: time, record, channel, one column per field under its label (choice labels, Yes/No; removed fields last as `<key> (removed)`), source and consent. Formulas are neutralized.",
        params: Id,
        produces: ['text/csv'],
      },
    },
    async (req, reply) => {
      const { form, stream } = await exportSubmissions(services, req.tenant, req.params.id);
      await auditRequest(services.database, req, {
        action: 'records.exported',
        target: { type: 'form', id: form.id },
        details: { format: 'csv', of: 'form_submissions', object: form.object },
      });
      const slug =
        form.name
          .toLowerCase()
          .replace(/[^a-z0-9]+/g, '-')
          .replace(/^-|-$/g, '') || 'form';
      const stamp = new Date().toISOString().slice(0, 10);
      return reply
        .type('text/csv; charset=utf-8')
        .header('cache-control', 'no-store')
        .header('content-disposition', `attachment; filename="${slug}-submissions-${stamp}.csv"`)
        .send(stream);
    },
  );
}

/**
 * `a=1&b=2` as an object; a key given twice is kept as a list (a many-to-many field's picks;
 * refused later as `invalid_value` for any other field).
 */
function parseFormBody(text: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const prev = out[key];
    out[key] = prev === undefined ? value : [...[prev].flat(), value];
  }
  return out;
}

const clientOf = (req: FastifyRequest) => ({
  ip: req.ip ?? null,
  userAgent: typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'] : null,
  referer: typeof req.headers.referer === 'string' ? req.headers.referer : null,
  traceId: String(req.id),
});

function sendPage(reply: FastifyReply, status: number, html: string, embeddable = true) {
  if (embeddable) {
    reply.raw.removeHeader('x-frame-options');
    reply.raw.setHeader('content-security-policy', FORM_PAGE_CSP);
  }
  reply.header('cache-control', 'no-store');
  return reply.code(status).type('text/html; charset=utf-8').send(html);
}

/**
 * The public side of forms: the hosted page `/f/<token>` (server-rendered, embeddable), its
 * challenge and assets, its POST, and the ingest endpoint `/ingest/form/<token>` for tools that
 * post their own forms (JSON or form-encoded, with the form's field mapping).
 */
export async function registerFormPublicRoutes(app: ApiApp, services: Services): Promise<void> {
  const limiter = new WindowLimiter(services.config.formPostsPerIpPerMinute);
  await app.register(async (scoped) => {
    const pub = scoped.withTypeProvider<ZodTypeProvider>() as ApiApp;
    pub.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'buffer' },
      (_req, body, done) => {
        try {
          const parsed = parseFormBody(decodeUtf8(body as Buffer));
          assertStorable(parsed, 'body');
          done(null, parsed);
        } catch (error) {
          done(error as Error, undefined);
        }
      },
    );

    pub.get(
      '/f/assets/form.js',
      { schema: { hide: true }, config: { access: 'public' } },
      async (_req, reply) =>
        reply
          .header('cache-control', 'public, max-age=3600')
          .type('text/javascript; charset=utf-8')
          .send(FORM_JS),
    );
    pub.get(
      '/f/assets/form.css',
      { schema: { hide: true }, config: { access: 'public' } },
      async (_req, reply) =>
        reply.header('cache-control', 'public, max-age=3600').type('text/css; charset=utf-8').send(FORM_CSS),
    );

    pub.get(
      '/f/:token',
      {
        schema: { hide: true, params: z.strictObject({ token: z.string().max(200) }) },
        config: { access: 'public' },
      },
      async (req, reply) => {
        try {
          const { form, def, titles } = await pageForm(services, req.params.token);
          const html = renderFormPage(
            form,
            def,
            req.query as Record<string, unknown>,
            fillTimeToken(services.config.secret, form.id),
            undefined,
            titles,
          );
          return sendPage(reply, 200, html);
        } catch (error) {
          if (error instanceof AppError && error.status === 404)
            return sendPage(
              reply,
              404,
              renderResultPage('Form not found', 'This form does not exist or is closed.'),
            );
          throw error;
        }
      },
    );

    pub.get(
      '/f/:token/challenge',
      {
        schema: {
          tags,
          operationId: 'getFormChallenge',
          summary: "The hosted page's proof-of-work challenge (ALTCHA): public",
          params: z.strictObject({ token: z.string().max(200) }),
          response: {
            200: z.object({
              algorithm: z.string(),
              challenge: z.string(),
              maxnumber: z.number().optional(),
              salt: z.string(),
              signature: z.string(),
            }),
            404: Problem,
          },
        },
        config: { access: 'public' },
      },
      async (req) => {
        await pageForm(services, req.params.token);
        return powChallenge(services.config.secret);
      },
    );

    pub.post(
      '/f/:token',
      {
        schema: { hide: true, params: z.strictObject({ token: z.string().max(200) }) },
        config: { access: 'public' },
      },
      async (req, reply) => {
        const back = `/f/${encodeURIComponent(req.params.token)}`;
        try {
          const result = await submitForm(services, limiter, req.params.token, req.body, {
            channel: 'page',
            ...clientOf(req),
          });
          return sendPage(reply, 200, renderResultPage(result.form.name, result.form.successMessage));
        } catch (error) {
          if (!(error instanceof AppError) || error.status >= 500) throw error;
          if (error.retryAfterS) reply.header('retry-after', String(error.retryAfterS));
          const title = error.status === 404 ? 'Form not found' : 'The form was not sent';
          return sendPage(
            reply,
            error.status,
            renderResultPage(title, error.message, error.status === 404 ? undefined : back),
          );
        }
      },
    );

    pub.post(
      '/ingest/form/:token',
      {
        schema: {
          tags,
          operationId: 'ingestFormSubmission',
          summary:
            "Post a form from another tool (JSON or application/x-www-form-urlencoded) to the form whose ingest token this is: fields by the form's keys or its ingest mapping, plus `utm_*`, `referrer`, `landing_page` and `consent`. Public (the token is the credential); rate-limited per IP. An existing record with the same e-mail or phone is matched, never duplicated.",
          consumes: ['application/json', 'application/x-www-form-urlencoded'],
          params: z.strictObject({ token: z.string().max(200) }),
          body: z.record(
            z.string().max(200),
            z.union([
              z.string().max(100_000),
              z.number(),
              z.boolean(),
              z.null(),
              // A many-to-many relation field's picks (record ids among the form's choices).
              z.array(z.string().max(200)).max(100),
            ]),
          ),
          response: { 201: IngestResult, 400: Problem, 404: Problem, 413: Problem, 429: Problem },
        },
        config: { access: 'public' },
      },
      async (req, reply) => {
        const result = await submitForm(services, limiter, req.params.token, req.body, {
          channel: 'ingest',
          ...clientOf(req),
        });
        if (result.ignored) throw new AppError(400, 'rejected', 'The submission was rejected');
        return reply
          .code(201)
          .send({ submission_id: result.submissionId, record: result.record, created: result.created });
      },
    );
  });
}
