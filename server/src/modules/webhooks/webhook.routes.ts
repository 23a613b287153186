import { z } from 'zod';
import { withTenant } from '../../db/tenant.js';
import { notFound } from '../../platform/errors/app-error.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import {
  DeliveryListQuery,
  RestHookCreate,
  Trigger,
  Webhook,
  WebhookAttempt,
  WebhookCreate,
  WebhookDelivery,
  WebhookUpdate,
  WebhookWithSecret,
} from './webhook.dto.js';
import {
  createWebhook,
  deleteWebhook,
  getDelivery,
  getWebhook,
  listDeliveries,
  listWebhooks,
  redriveAll,
  redriveDelivery,
  rotateSecret,
  updateWebhook,
} from './webhook.service.js';
import { triggerCatalogue } from './webhook-triggers.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };
const tags = ['webhooks'];
const Id = z.strictObject({ id: z.uuid() });
const DeliveryParams = z.strictObject({ id: z.uuid(), delivery_id: z.uuid() });

/**
 * Webhooks out (issue 31): the organization's subscriptions (admins, in the settings), their
 * delivery log and redrive; and the REST-hook endpoints automation tools (n8n, Zapier, Make)
 * subscribe and unsubscribe with, using an API key, with the trigger catalogue they list.
 */
export function registerWebhookRoutes(app: ApiApp, services: Services): void {
  app.post(
    '/webhooks',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'createWebhook',
        summary:
          'Subscribe a URL to event types: the answer holds the signing secret (`whsec_...`), shown this once',
        body: WebhookCreate,
        response: { 201: WebhookWithSecret, ...errors },
      },
    },
    async (req, reply) => reply.code(201).send(await createWebhook(services, req.tenant, req.body)),
  );

  app.get(
    '/webhooks',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'listWebhooks',
        summary: "The organization's webhook subscriptions, newest first (never their secrets)",
        response: { 200: z.object({ data: z.array(Webhook) }), ...errors },
      },
    },
    async (req) => ({ data: await listWebhooks(services, req.tenant) }),
  );

  app.get(
    '/webhooks/:id',
    {
      config: { access: 'settings:manage' },
      schema: { tags, operationId: 'getWebhook', params: Id, response: { 200: Webhook, ...errors } },
    },
    async (req) => getWebhook(services, req.tenant, req.params.id),
  );

  app.patch(
    '/webhooks/:id',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'updateWebhook',
        summary: 'Change a subscription, or disable / enable it (`status`)',
        params: Id,
        body: WebhookUpdate,
        response: { 200: Webhook, ...errors },
      },
    },
    async (req) => updateWebhook(services, req.tenant, req.params.id, req.body),
  );

  app.delete(
    '/webhooks/:id',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'deleteWebhook',
        summary: 'Delete a subscription with its delivery log',
        params: Id,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await deleteWebhook(services, req.tenant, req.params.id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/webhooks/:id/rotate-secret',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'rotateWebhookSecret',
        summary:
          'A new signing secret (shown this once); the old one keeps signing beside it for 24 hours, so both signatures are sent meanwhile',
        params: Id,
        response: { 200: WebhookWithSecret, ...errors },
      },
    },
    async (req) => rotateSecret(services, req.tenant, req.params.id),
  );

  app.get(
    '/webhooks/:id/deliveries',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'listWebhookDeliveries',
        summary: "A subscription's delivery log, newest first: status, attempts, last answer and its time",
        params: Id,
        querystring: DeliveryListQuery,
        response: {
          200: z.object({ data: z.array(WebhookDelivery), next_cursor: z.string().nullable() }),
          ...errors,
        },
      },
    },
    async (req) => listDeliveries(services, req.tenant, req.params.id, req.query),
  );

  app.get(
    '/webhooks/:id/deliveries/:delivery_id',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'getWebhookDelivery',
        summary: 'One delivery: the bytes sent and every attempt (status, response time, body excerpt)',
        params: DeliveryParams,
        response: {
          200: WebhookDelivery.extend({ payload: z.string(), attempts_log: z.array(WebhookAttempt) }),
          ...errors,
        },
      },
    },
    async (req) => getDelivery(services, req.tenant, req.params.id, req.params.delivery_id),
  );

  app.post(
    '/webhooks/:id/deliveries/:delivery_id/redrive',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'redriveWebhookDelivery',
        summary: 'Send a dead delivery again (same `webhook-id`, same bytes); its attempts start over',
        params: DeliveryParams,
        response: { 200: WebhookDelivery, 409: Problem, ...errors },
      },
    },
    async (req) => redriveDelivery(services, req.tenant, req.params.id, req.params.delivery_id),
  );

  app.post(
    '/webhooks/:id/redrive',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'redriveWebhookDeadLetters',
        summary: 'Send every dead delivery of a subscription again',
        params: Id,
        response: { 200: z.object({ redriven: z.number().int() }), 409: Problem, ...errors },
      },
    },
    async (req) => redriveAll(services, req.tenant, req.params.id),
  );

  // REST hooks (https://resthooks.org): what n8n, Zapier and Make call with an API key.
  app.get(
    '/hooks/triggers',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'listHookTriggers',
        summary:
          'The trigger catalogue: every event type a hook can subscribe to, with an example delivery body (the event envelope). Actions are the operations of this document.',
        response: { 200: z.object({ data: z.array(Trigger) }), ...errors },
      },
    },
    async () => ({ data: triggerCatalogue() }),
  );

  app.post(
    '/hooks',
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: 'subscribeHook',
        summary:
          'REST-hook subscribe (n8n, Zapier, Make): deliveries of `event` are POSTed to `target_url`, signed per Standard Webhooks with the secret in the answer',
        body: RestHookCreate,
        response: {
          201: z.object({ id: z.uuid(), target_url: z.string(), event: z.string(), secret: z.string() }),
          ...errors,
        },
      },
    },
    async (req, reply) => {
      const created = await createWebhook(
        services,
        req.tenant,
        { target_url: req.body.target_url, event_types: [req.body.event], filter: req.body.filter ?? null },
        'rest_hook',
        { url: 'body.target_url', types: 'body.event', filter: 'body.filter' },
      );
      return reply.code(201).send({
        id: created.id,
        target_url: created.target_url,
        event: req.body.event,
        secret: created.secret,
      });
    },
  );

  app.delete(
    '/hooks/:id',
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: 'unsubscribeHook',
        summary: 'REST-hook unsubscribe: only a subscription made through `POST /hooks`',
        params: Id,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      const { id } = req.params;
      const isHook = await withTenant(
        services.database,
        req.tenant,
        async ({ conn }) =>
          (
            await conn.query(
              `select 1 from webhook_subscriptions where org_id = $1 and id = $2 and source = 'rest_hook'`,
              [req.tenant.orgId, id],
            )
          ).rows.length > 0,
        { readOnly: true },
      );
      if (!isHook) throw notFound('Hook', id);
      await deleteWebhook(services, req.tenant, id);
      return reply.code(204).send(null);
    },
  );
}
