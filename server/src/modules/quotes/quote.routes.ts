import { z } from 'zod';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { OpportunityLines, OpportunityLinesInput } from './opportunity-lines.dto.js';
import { getOpportunityLines, setOpportunityLines } from './opportunity-lines.service.js';
import {
  Quote,
  QuoteCreate,
  QuoteListQuery,
  QuoteSend,
  QuoteSendResult,
  QuoteSummary,
  QuoteTotals,
  QuoteTotalsInput,
  QuoteUpdate,
  SalesSettings,
  SalesSettingsUpdate,
} from './quote.dto.js';
import * as quotes from './quote.service.js';
import { approveQuote, getQuotePdf, sendQuote } from './quote-send.service.js';
import { computeQuoteMoney } from './quote-totals.js';
import { approvalRequired, getSalesSettings, updateSalesSettings } from './sales-settings.service.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem };
const IdParams = z.strictObject({ id: z.uuid() });
const tags = ['quotes'];

/** Quotes (issue 29): made from a deal, edited (versions), approved, sent, their PDF. */
export function registerQuoteRoutes(app: ApiApp, services: Services): void {
  app.get(
    '/sales-settings',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'getSalesSettings',
        summary:
          "The organization's sales settings: locale, currency, discount approval threshold, quote defaults",
        response: { 200: SalesSettings, ...errors },
      },
    },
    async (req) => getSalesSettings(services, req.tenant),
  );
  app.patch(
    '/sales-settings',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'updateSalesSettings',
        summary: 'Change the sales settings (admins)',
        body: SalesSettingsUpdate,
        response: { 200: SalesSettings, ...errors },
      },
    },
    async (req) => updateSalesSettings(services, req.tenant, req.body),
  );
  app.get(
    '/opportunities/:id/lines',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'getOpportunityLines',
        summary: "A deal's line items, their totals, and whether the deal's amount follows them",
        params: IdParams,
        response: { 200: OpportunityLines, ...errors },
      },
    },
    async (req) => getOpportunityLines(services, req.tenant, req.params.id),
  );
  app.put(
    '/opportunities/:id/lines',
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: 'setOpportunityLines',
        summary:
          "Replace a deal's line items (products priced from its price list, or free text); with `amount_from_lines` its amount follows their net total",
        params: IdParams,
        body: OpportunityLinesInput,
        response: { 200: OpportunityLines, ...errors },
      },
    },
    async (req) => setOpportunityLines(services, req.tenant, req.params.id, req.body),
  );
  app.post(
    '/quotes/totals',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'computeQuoteTotals',
        summary:
          "A quote's totals for these lines (the editor's live totals): exact decimals, each line's amounts rounded half-even to the currency's minor unit, tax per rate",
        body: QuoteTotalsInput,
        response: { 200: QuoteTotals, ...errors },
      },
    },
    async (req) => {
      const lines = req.body.lines.map((l) => ({
        quantity: l.quantity,
        unit_price: l.unit_price,
        discount: l.discount ?? null,
        tax_rate: l.tax_rate ?? null,
      }));
      const money = computeQuoteMoney(req.body.currency, lines);
      const settings = await getSalesSettings(services, req.tenant);
      return {
        currency: req.body.currency,
        ...money,
        approval_required: approvalRequired(money.max_discount_percent, settings.approval_discount_percent),
      };
    },
  );
  app.get(
    '/quotes',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'listQuotes',
        summary: 'Quote versions, newest first (of a deal, of a status)',
        querystring: QuoteListQuery,
        response: { 200: z.object({ data: z.array(QuoteSummary) }), ...errors },
      },
    },
    async (req) => ({ data: await quotes.listQuotes(services, req.tenant, req.query) }),
  );
  app.post(
    '/quotes',
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: 'createQuote',
        summary:
          'Create a draft quote from an opportunity (its contact, company, owner and currency copied; product lines priced from the price list); numbered Q-<year>-<0001>, gap-free',
        body: QuoteCreate,
        response: { 201: Quote, ...errors },
      },
    },
    async (req, reply) => reply.code(201).send(await quotes.createQuote(services, req.tenant, req.body)),
  );
  app.get(
    '/quotes/:id',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'getQuote',
        summary: 'A quote version',
        params: IdParams,
        response: { 200: Quote, ...errors },
      },
    },
    async (req) => quotes.getQuote(services, req.tenant, req.params.id),
  );
  app.patch(
    '/quotes/:id',
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: 'updateQuote',
        summary:
          'Change a quote: a draft changes in place; a sent, declined or expired one gets a new draft version (the old one stays read-only). 409 `quote_accepted` / `quote_superseded`',
        params: IdParams,
        body: QuoteUpdate,
        response: { 200: Quote, ...errors },
      },
    },
    async (req) => quotes.updateQuote(services, req.tenant, req.params.id, req.body),
  );
  app.post(
    '/quotes/:id/approve',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'approveQuote',
        summary:
          "Approve a draft whose discount is above the organization's threshold (admins): who and when are noted",
        params: IdParams,
        response: { 200: Quote, ...errors },
      },
    },
    async (req) => approveQuote(services, req.tenant, req.params.id),
  );
  app.post(
    '/quotes/:id/send',
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: 'sendQuote',
        summary:
          'Send a quote by e-mail with its PDF and a signed link to accept it online (SMTP, or the local outbox); 409 `approval_required` when its discount needs an approval',
        params: IdParams,
        body: QuoteSend,
        response: { 200: QuoteSendResult, ...errors },
      },
    },
    async (req) => sendQuote(services, req.tenant, req.params.id, req.body),
  );
  app.get(
    '/quotes/:id/pdf',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'getQuotePdf',
        summary: "A quote's PDF: the one sent, byte for byte, once sent; rendered now for a draft",
        params: IdParams,
        produces: ['application/pdf'],
      },
    },
    async (req, reply) => {
      const pdf = await getQuotePdf(services, req.tenant, req.params.id);
      return reply
        .type('application/pdf')
        .header('content-disposition', `attachment; filename="${pdf.filename}"`)
        .send(pdf.content);
    },
  );
}
