import { z } from 'zod';
import { checkedJsonText } from '../../platform/http/input.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import {
  LedgerQuery,
  ledgerPage,
  MetaCapiEvent,
  MetaDelivery,
  MetaLead,
  MetaPage,
  MetaPageCreate,
  MetaPageUpdate,
  MetaSettings,
  MetaSettingsUpdate,
} from './meta.dto.js';
import { listMetaCapiEvents } from './meta-capi.service.js';
import {
  getMetaLead,
  listMetaDeliveries,
  listMetaLeads,
  receiveMetaWebhook,
  replayMetaDelivery,
  replayMetaLead,
  verifyMetaSubscription,
} from './meta-intake.service.js';
import {
  createMetaPage,
  deleteMetaPage,
  getMetaPage,
  getMetaSettings,
  listMetaPages,
  updateMetaPage,
  updateMetaSettings,
} from './meta-settings.service.js';
import { checkPageTokens } from './meta-token-check.service.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };
const tags = ['meta'];
const IdParams = z.strictObject({ id: z.uuid() });
const TokenParams = z.strictObject({ token: z.string().min(1).max(200) });
const admin = { access: 'settings:manage' as const };

/**
 * Meta Lead Ads and the Conversions API for CRM (issue 31): the organization's Meta app and CAPI
 * settings, the pages it listens to, the intake ledger (deliveries and leads, with replay), the
 * CAPI event log, and the public webhook Meta calls (handshake and signed deliveries).
 */
export function registerMetaRoutes(app: ApiApp, services: Services): void {
  app.get(
    '/meta/settings',
    {
      config: admin,
      schema: {
        tags,
        operationId: 'getMetaSettings',
        summary:
          "The Meta app's webhook URL and verify token, and the Conversions API settings (secrets never shown)",
        response: { 200: MetaSettings, ...errors },
      },
    },
    async (req) => getMetaSettings(services, req.tenant),
  );
  app.patch(
    '/meta/settings',
    {
      config: admin,
      schema: {
        tags,
        operationId: 'updateMetaSettings',
        summary:
          'Set the app id and secret (write-only), the CAPI dataset, its token (write-only), the CRM name and the stage mapping',
        body: MetaSettingsUpdate,
        response: { 200: MetaSettings, ...errors },
      },
    },
    async (req) => updateMetaSettings(services, req.tenant, req.body),
  );
  app.get(
    '/meta/pages',
    {
      config: admin,
      schema: {
        tags,
        operationId: 'listMetaPages',
        summary: 'The Facebook pages whose leads arrive here (tokens masked)',
        response: { 200: z.object({ data: z.array(MetaPage) }), ...errors },
      },
    },
    async (req) => ({ data: await listMetaPages(services, req.tenant) }),
  );
  app.post(
    '/meta/pages',
    {
      config: admin,
      schema: {
        tags,
        operationId: 'createMetaPage',
        summary:
          'Listen to a page: its token (sealed, write-only), the object its leads become and the question mapping; 409 `page_exists`',
        body: MetaPageCreate,
        response: { 201: MetaPage, ...errors, 409: Problem },
      },
    },
    async (req, reply) => reply.code(201).send(await createMetaPage(services, req.tenant, req.body)),
  );
  app.get(
    '/meta/pages/:id',
    {
      config: admin,
      schema: {
        tags,
        operationId: 'getMetaPage',
        summary: 'A page',
        params: IdParams,
        response: { 200: MetaPage, ...errors },
      },
    },
    async (req) => getMetaPage(services, req.tenant, req.params.id),
  );
  app.patch(
    '/meta/pages/:id',
    {
      config: admin,
      schema: {
        tags,
        operationId: 'updateMetaPage',
        summary: "Change a page's name, token, object, mapping or owner",
        params: IdParams,
        body: MetaPageUpdate,
        response: { 200: MetaPage, ...errors },
      },
    },
    async (req) => updateMetaPage(services, req.tenant, req.params.id, req.body),
  );
  app.delete(
    '/meta/pages/:id',
    {
      config: admin,
      schema: {
        tags,
        operationId: 'deleteMetaPage',
        summary: 'Stop listening to a page (its ledger is kept)',
        params: IdParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await deleteMetaPage(services, req.tenant, req.params.id);
      return reply.code(204).send(null);
    },
  );
  app.post(
    '/meta/pages/check-tokens',
    {
      config: admin,
      schema: {
        tags,
        operationId: 'checkMetaPageTokens',
        summary:
          "Run the daily page token check now (Graph's debug_token): expiring, expired or invalid tokens alert the admins",
        response: { 200: z.object({ data: z.array(MetaPage) }), ...errors },
      },
    },
    async (req) => {
      await checkPageTokens(services, req.tenant);
      return { data: await listMetaPages(services, req.tenant) };
    },
  );
  app.get(
    '/meta/deliveries',
    {
      config: admin,
      schema: {
        tags,
        operationId: 'listMetaDeliveries',
        summary:
          "The intake ledger's deliveries, newest first: raw body, signature result (`status` filters it)",
        querystring: LedgerQuery,
        response: { 200: ledgerPage(MetaDelivery), ...errors },
      },
    },
    async (req) => listMetaDeliveries(services, req.tenant, req.query),
  );
  app.post(
    '/meta/deliveries/:id/replay',
    {
      config: admin,
      schema: {
        tags,
        operationId: 'replayMetaDelivery',
        summary:
          'Run a signed delivery through the intake again (failed and ignored leads queued afresh; seen ones untouched); 409 `unsigned_delivery`',
        params: IdParams,
        response: {
          200: z.object({ leads_queued: z.number().int(), leads_seen: z.number().int() }),
          ...errors,
          409: Problem,
        },
      },
    },
    async (req) => replayMetaDelivery(services, req.tenant, req.params.id),
  );
  app.get(
    '/meta/leads',
    {
      config: admin,
      schema: {
        tags,
        operationId: 'listMetaLeads',
        summary:
          "The intake ledger's leads, newest first, with their outcome and error code (`status` filters it)",
        querystring: LedgerQuery,
        response: { 200: ledgerPage(MetaLead), ...errors },
      },
    },
    async (req) => listMetaLeads(services, req.tenant, req.query),
  );
  app.get(
    '/meta/leads/:id',
    {
      config: admin,
      schema: {
        tags,
        operationId: 'getMetaLead',
        summary: 'A lead of the ledger',
        params: IdParams,
        response: { 200: MetaLead, ...errors },
      },
    },
    async (req) => getMetaLead(services, req.tenant, req.params.id),
  );
  app.post(
    '/meta/leads/:id/replay',
    {
      config: admin,
      schema: {
        tags,
        operationId: 'replayMetaLead',
        summary:
          'Fetch a failed or ignored lead again; 409 `already_created` when it has its record (never a duplicate)',
        params: IdParams,
        response: { 200: MetaLead, ...errors, 409: Problem },
      },
    },
    async (req) => replayMetaLead(services, req.tenant, req.params.id),
  );
  app.get(
    '/meta/capi-events',
    {
      config: admin,
      schema: {
        tags,
        operationId: 'listMetaCapiEvents',
        summary:
          'Every Conversions API event, newest first: the body sent, its event id and the last call’s outcome',
        querystring: LedgerQuery,
        response: { 200: ledgerPage(MetaCapiEvent), ...errors },
      },
    },
    async (req) => listMetaCapiEvents(services, req.tenant, req.query),
  );

  app.get(
    '/public/meta/webhook/:token',
    {
      config: { access: 'public' },
      schema: {
        tags,
        operationId: 'verifyMetaWebhook',
        summary:
          "Meta's verification handshake: `hub.mode=subscribe` with the settings' verify token is answered with `hub.challenge` as text; 403 `verify_token_mismatch`",
        params: TokenParams,
        querystring: z.object({
          'hub.mode': z.string().max(100).optional(),
          'hub.verify_token': z.string().max(200).optional(),
          'hub.challenge': z.string().max(200).optional(),
        }),
        response: { 200: z.string(), 400: Problem, 403: Problem, 404: Problem },
      },
    },
    async (req, reply) =>
      reply
        .type('text/plain; charset=utf-8')
        .send(await verifyMetaSubscription(services, req.params.token, req.query)),
  );
  // Meta signs the raw bytes: this route reads its JSON body as text, checked after the signature.
  app.register(async (scoped) => {
    const api = scoped as unknown as ApiApp;
    api.removeContentTypeParser('application/json');
    api.addContentTypeParser(
      'application/json',
      { parseAs: 'buffer', bodyLimit: 1_048_576 },
      (_req, body, done) => {
        try {
          // The same rules as every JSON body (UTF-8, depth, JSON, no NUL), on the exact text signed.
          done(null, checkedJsonText(body as Buffer));
        } catch (error) {
          done(error as Error, undefined);
        }
      },
    );
    api.post(
      '/public/meta/webhook/:token',
      {
        config: { access: 'public' },
        schema: {
          tags,
          operationId: 'receiveMetaWebhook',
          summary:
            "Meta's page and Instagram webhook, signed with X-Hub-Signature-256 (HMAC-SHA256 of the body under the app secret): each leadgen change is queued once by its leadgen id; Messenger and Instagram messages go to the inbox once by their message id; every delivery is kept in the intake ledger. 403 `invalid_signature` (counted) when the signature is missing or wrong",
          params: TokenParams,
          body: z.string(),
          headers: z.object({ 'x-hub-signature-256': z.string().max(200).optional() }),
          response: {
            200: z.object({
              received: z.literal(true),
              leads_queued: z.number().int(),
              leads_seen: z.number().int(),
              messages_stored: z
                .number()
                .int()
                .describe('Messenger / Instagram messages stored in the inbox (issue 23)'),
              messages_seen: z
                .number()
                .int()
                .describe('Messages already stored (a redelivery, an echo of a reply)'),
              messages_ignored: z
                .number()
                .int()
                .describe('Messages for a page or account no active channel of the organization listens to'),
            }),
            400: Problem,
            403: Problem,
            404: Problem,
          },
        },
      },
      async (req) =>
        receiveMetaWebhook(services, req.params.token, req.body, req.headers['x-hub-signature-256']),
    );
  });
}
