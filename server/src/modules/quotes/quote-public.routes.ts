import { z } from 'zod';
import { AppError } from '../../platform/errors/app-error.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { QUOTE_STATUSES, Quote } from './quote.dto.js';
import { errorPage, newNonce, pageHeaders, quotePage } from './quote-page.js';
import {
  type Answer,
  acceptPublicQuote,
  openPublicQuote,
  type PublicQuote,
  publicPaymentUrl,
  publicQuotePdf,
  rejectPublicQuote,
} from './quote-public.service.js';

const TokenParams = z.strictObject({ token: z.string().min(1).max(400) });
const tags = ['public-quotes'];

const AcceptBody = z.strictObject({
  name: z.string().trim().min(2).max(200).describe('The customer’s full name, typed'),
});
const RejectBody = z.strictObject({ reason: z.string().trim().max(2000).optional() });

/** Whether the request is the page's own form (HTML answers) rather than an API call (JSON). */
const isForm = (contentType: string | undefined) =>
  (contentType ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
/** Whether a browser asks for the page (HTML answers, refusals too); an API client gets problem+json. */
const wantsHtml = (accept: string | undefined) => (accept ?? '').toLowerCase().includes('text/html');

const PublicAnswer = z
  .object({ status: z.enum(QUOTE_STATUSES), quote: Quote })
  .meta({ id: 'PublicQuoteAnswer' });
const refusals = { 403: Problem, 409: Problem, 410: Problem };

/**
 * The customer's side of a sent quote (issue 29), with no sign-in: the signed link is the
 * credential. A page (server-rendered, no script), its PDF, and accept / decline, which answer
 * the page when posted by its forms and JSON when called as an API.
 */
export function registerPublicQuoteRoutes(app: ApiApp, services: Services): void {
  app.register(async (scoped) => {
    const api = scoped as unknown as ApiApp;
    // The page's forms post urlencoded bodies: read here only, as strings, NULs refused.
    api.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 16_384 },
      (_req, body, done) => {
        const text = String(body);
        if (text.includes('%00') || text.includes('\0'))
          return done(
            new AppError(400, 'invalid_character', 'The form holds a NUL character', { path: 'body' }),
            undefined,
          );
        const params = new URLSearchParams(text);
        const out: Record<string, string> = {};
        for (const [k, v] of params) if (k === 'name' || k === 'reason') out[k] = v;
        done(null, out);
      },
    );

    const answerOf = (
      req: { ip: string; headers: Record<string, unknown> },
      body: { name?: string | undefined; reason?: string | undefined },
    ): Answer => ({
      ...body,
      ip: req.ip ?? null,
      userAgent: typeof req.headers['user-agent'] === 'string' ? (req.headers['user-agent'] as string) : null,
    });

    /**
     * Runs `fn` and answers the page (`html`) or the quote as JSON; a refusal is a page with its
     * code (`errorsAsHtml`), else problem+json.
     */
    const page = async (
      reply: import('fastify').FastifyReply,
      as: 'html' | 'json',
      errorsAsHtml: boolean,
      token: string,
      fn: () => Promise<PublicQuote>,
      notice?: string,
      paidNotice = false,
    ) => {
      const nonce = newNonce();
      try {
        const view = await fn();
        if (as === 'json') return reply.send({ status: view.quote.status, quote: view.quote });
        // The page is sent as it is: no JSON serializer applies to it.
        return reply
          .serializer(String)
          .headers(pageHeaders(nonce))
          .send(quotePage(nonce, token, view, notice, paidNotice));
      } catch (error) {
        if (!(error instanceof AppError) || !errorsAsHtml) throw error;
        return reply
          .code(error.status)
          .serializer(String)
          .headers(pageHeaders(nonce))
          .send(errorPage(nonce, error.status, error.code, error.message));
      }
    };

    api.get(
      '/public/quotes/:token',
      {
        config: { access: 'public' },
        schema: {
          tags,
          operationId: 'viewPublicQuote',
          summary:
            "The customer's page of a sent quote (no sign-in: the signed link): lines, totals, accept and decline forms. Refusals are pages with their code: 403 `link_invalid`, 410 `link_expired`, `quote_expired`, `quote_superseded`",
          params: TokenParams,
          querystring: z.object({
            paid: z
              .literal('1')
              .optional()
              .describe('Set by the payment provider on the way back: says thank you'),
          }),
          produces: ['text/html'],
          response: { 403: Problem, 410: Problem },
        },
      },
      async (req, reply) =>
        page(
          reply,
          'html',
          wantsHtml(req.headers.accept),
          req.params.token,
          () => openPublicQuote(services, req.params.token),
          undefined,
          req.query.paid === '1',
        ),
    );
    api.get(
      '/public/quotes/:token/pay',
      {
        config: { access: 'public' },
        schema: {
          tags,
          operationId: 'payPublicQuote',
          summary:
            "The customer pays an accepted quote: 303 to its payment page (Stripe Checkout, made once per quote), or back to the quote's page once paid. Refusals are pages (a browser) or problem+json: 403 `link_invalid`, 409 `quote_not_accepted` or `payments_not_configured`, 410, 424 `payment_provider_failed`",
          params: TokenParams,
          response: {
            303: z.null().describe('Location: where to pay'),
            403: Problem,
            409: Problem,
            410: Problem,
            424: Problem,
          },
        },
      },
      async (req, reply) => {
        try {
          return reply.redirect(await publicPaymentUrl(services, req.params.token), 303);
        } catch (error) {
          if (!(error instanceof AppError) || !wantsHtml(req.headers.accept)) throw error;
          const nonce = newNonce();
          // A refusal for a browser is a page (its code in words), not a schema's JSON.
          return (reply as unknown as import('fastify').FastifyReply)
            .code(error.status)
            .serializer(String)
            .headers(pageHeaders(nonce))
            .send(errorPage(nonce, error.status, error.code, error.message));
        }
      },
    );
    api.get(
      '/public/quotes/:token/pdf',
      {
        config: { access: 'public' },
        schema: {
          tags,
          operationId: 'getPublicQuotePdf',
          summary: 'The PDF of the quote behind a signed link, as sent',
          params: TokenParams,
          produces: ['application/pdf'],
          response: { 403: Problem, 410: Problem },
        },
      },
      async (req, reply) => {
        const pdf = await publicQuotePdf(services, req.params.token);
        return reply
          .type('application/pdf')
          .header('content-disposition', `inline; filename="${pdf.filename}"`)
          .send(pdf.content as never); // the 200 is the PDF's bytes (`produces`), not a schema's JSON
      },
    );
    api.post(
      '/public/quotes/:token/accept',
      {
        config: { access: 'public' },
        schema: {
          tags,
          operationId: 'acceptPublicQuote',
          summary:
            'The customer accepts by typing their name: name, time, IP, user agent and the SHA-256 of the version and its PDF are recorded; a second acceptance answers the first (idempotent). JSON, or the page’s form (answers the page)',
          params: TokenParams,
          body: AcceptBody,
          consumes: ['application/json', 'application/x-www-form-urlencoded'],
          response: { 200: PublicAnswer, ...refusals },
        },
      },
      async (req, reply) =>
        page(
          reply,
          isForm(req.headers['content-type']) ? 'html' : 'json',
          isForm(req.headers['content-type']),
          req.params.token,
          () => acceptPublicQuote(services, req.params.token, answerOf(req, req.body)),
          'Thank you: the quote is accepted.',
        ),
    );
    api.post(
      '/public/quotes/:token/reject',
      {
        config: { access: 'public' },
        schema: {
          tags,
          operationId: 'rejectPublicQuote',
          summary: 'The customer declines, with an optional reason (idempotent). JSON, or the page’s form',
          params: TokenParams,
          body: RejectBody,
          consumes: ['application/json', 'application/x-www-form-urlencoded'],
          response: { 200: PublicAnswer, ...refusals },
        },
      },
      async (req, reply) =>
        page(
          reply,
          isForm(req.headers['content-type']) ? 'html' : 'json',
          isForm(req.headers['content-type']),
          req.params.token,
          () => rejectPublicQuote(services, req.params.token, answerOf(req, req.body)),
          'The quote is declined. Thank you for letting us know.',
        ),
    );
  });
}
