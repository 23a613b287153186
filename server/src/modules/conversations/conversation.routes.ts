import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import { AppError, notFound } from '../../platform/errors/app-error.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { notificationHubOf, serveEventStream } from '../notifications/notification-stream.js';
import {
  createChannel,
  deleteChannel,
  getChannel,
  listChannels,
  loadChannel,
  secretsOf,
  testChannel,
  updateChannel,
} from './channel.service.js';
import {
  Channel,
  ChannelCreate,
  ChannelUpdate,
  Compose,
  ConnectionTest,
  Conversation,
  ConversationContact,
  ConversationListQuery,
  ConversationUpdate,
  Message,
  Reply,
} from './conversation.dto.js';
import { CHANNEL_KINDS, channels } from './conversation.schema.js';
import {
  compose,
  getThread,
  linkContact,
  listConversations,
  markRead,
  receiveSms,
  reply,
  unreadCount,
  updateConversation,
} from './conversation.service.js';
import { syncMailbox } from './email-sync.service.js';
import './email-workflow.action.js';
import { announceInbox, inboxTopic } from './inbox-stream.js';
import { existingWatchersOf } from './mailbox-watch.js';
import { registerProviderWebhooks } from './provider.routes.js';
import { retryMessage } from './send.service.js';
import './sms-workflow.action.js';
import { isTwilioSignature } from './twilio.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };
const Id = z.strictObject({ id: z.uuid() });

/**
 * Conversations (issue 23): the organization's channels (admins, in the settings), the inbox
 * across channels (threads, open / close, assignment, read state), replies and new messages sent
 * through the job queue, and Twilio's inbound SMS webhook.
 */
export function registerConversationRoutes(app: ApiApp, services: Services): void {
  const tags = ['channels'];
  app.post(
    '/channels',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'createChannel',
        summary:
          'Connect a channel: an e-mail mailbox (SMTP to send, IMAP to receive), a Twilio number (SMS) or the built-in local mailbox. Passwords and tokens are write-only',
        body: ChannelCreate,
        response: { 201: Channel, ...errors },
      },
    },
    async (req, res) => res.code(201).send(await createChannel(services, req.tenant, req.body)),
  );
  app.get(
    '/channels',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'listChannels',
        summary: "The organization's channels, newest first (secrets masked)",
        response: { 200: z.object({ data: z.array(Channel) }), ...errors },
      },
    },
    async (req) => ({ data: await listChannels(services, req.tenant) }),
  );
  app.get(
    '/channels/:id',
    {
      config: { access: 'settings:manage' },
      schema: { tags, operationId: 'getChannel', params: Id, response: { 200: Channel, ...errors } },
    },
    async (req) => getChannel(services, req.tenant, req.params.id),
  );
  app.patch(
    '/channels/:id',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'updateChannel',
        summary:
          'Change a channel; a password or token left out is kept. `status: paused` stops sync and sends',
        params: Id,
        body: ChannelUpdate,
        response: { 200: Channel, ...errors },
      },
    },
    async (req) => {
      const updated = await updateChannel(services, req.tenant, req.params.id, req.body);
      // This process's IDLE connection ends (another worker's at its next renewal, or when it sees
      // the new settings) and, in a worker, an active mailbox is listened to again at once.
      const watchers = existingWatchersOf(services);
      await watchers?.stop(req.params.id);
      if (updated.status === 'active' && updated.imap && !updated.provider)
        watchers?.ensure(req.tenant.orgId, req.params.id);
      return updated;
    },
  );
  app.delete(
    '/channels/:id',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'deleteChannel',
        summary: 'Disconnect a channel, with its conversations and messages',
        params: Id,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, res) => {
      await deleteChannel(services, req.tenant, req.params.id);
      await existingWatchersOf(services)?.stop(req.params.id);
      return res.code(204).send(null);
    },
  );
  app.post(
    '/channels/:id/test',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'testChannel',
        summary: "Test the connection: logs in to the channel's SMTP and IMAP servers, or its Twilio account",
        params: Id,
        response: { 200: ConnectionTest, ...errors },
      },
    },
    async (req) => testChannel(services, req.tenant, req.params.id),
  );
  app.post(
    '/channels/:id/sync',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'syncChannel',
        summary:
          'Sync the mailbox now (the worker polls it every minute): fetches what arrived since the last UID synced',
        params: Id,
        response: {
          200: z.object({
            fetched: z.number().int(),
            stored: z.number().int(),
            rejected: z
              .number()
              .int()
              .describe('Messages that could not be read (no sender, unreadable MIME)'),
            last_uid: z.number().int(),
          }),
          409: Problem,
          502: Problem,
          ...errors,
        },
      },
    },
    async (req) => {
      const row = await loadChannel(services, req.tenant, req.params.id);
      if (!row.settings.imap)
        throw new AppError(409, 'invalid_state', 'The channel has no IMAP mailbox to sync');
      try {
        return await syncMailbox(services, req.tenant, row.id);
      } catch (error) {
        throw new AppError(
          502,
          'mailbox_unreachable',
          `The mailbox could not be synced: ${(error as Error).message}`,
        );
      }
    },
  );

  const inbox = ['conversations'];
  app.get(
    '/conversations/channels',
    {
      config: { access: 'records:read' },
      schema: {
        tags: inbox,
        operationId: 'listSendingChannels',
        summary: 'The active channels a member can send from (no settings)',
        response: {
          200: z.object({
            data: z.array(
              z.object({
                id: z.uuid(),
                kind: z.enum(CHANNEL_KINDS),
                name: z.string(),
                address: z.string(),
              }),
            ),
          }),
          ...errors,
        },
      },
    },
    async (req) => ({
      data: (await listChannels(services, req.tenant))
        .filter((c) => c.status === 'active')
        .map(({ id, kind, name, address }) => ({ id, kind, name, address })),
    }),
  );
  app.get(
    '/conversations',
    {
      config: { access: 'records:read' },
      schema: {
        tags: inbox,
        operationId: 'listConversations',
        summary:
          'The inbox: conversations across channels, the latest first. `filter`: `mine`, `unassigned`; `status`: `open` (default), `closed`, `any`',
        querystring: ConversationListQuery,
        response: {
          200: z.object({ data: z.array(Conversation), next_cursor: z.string().nullable() }),
          ...errors,
        },
      },
    },
    async (req) => listConversations(services, req.tenant, req.query),
  );
  app.get(
    '/conversations/unread-count',
    {
      config: { access: 'records:read' },
      schema: {
        tags: inbox,
        operationId: 'countUnreadMessages',
        summary: 'Unread messages of open conversations, and how many conversations hold them (the badge)',
        response: {
          200: z.object({ messages: z.number().int(), conversations: z.number().int() }),
          ...errors,
        },
      },
    },
    async (req) => unreadCount(services, req.tenant),
  );
  const hub = notificationHubOf(services.database, (error) =>
    app.log.warn({ err: error }, 'inbox stream listener'),
  );
  const open = new Set<() => void>();
  app.addHook('onClose', async () => {
    for (const end of [...open]) end();
  });
  app.get(
    '/conversations/stream',
    {
      config: { access: 'records:read' },
      schema: {
        tags: inbox,
        operationId: 'streamInbox',
        summary:
          'Server-sent events (`Accept: text/event-stream`): an `inbox` event with the unread counts (`{"messages": n, "conversations": n}`) at once, and again whenever a message arrives, is queued or sent, or a message or conversation changes status; the server ends the stream after 15 minutes (EventSource reconnects)',
        produces: ['text/event-stream'],
        response: { 406: Problem, ...errors },
      },
    },
    async (req, reply) =>
      serveEventStream(req, reply, {
        event: 'inbox',
        read: () => unreadCount(services, req.tenant),
        subscribe: (listener) => hub.subscribeTopic(inboxTopic(req.tenant.orgId), listener),
        statementTimeoutMs: services.config.statementTimeoutMs,
        open,
        always: true,
      }),
  );
  app.get(
    '/conversations/:id',
    {
      config: { access: 'records:read' },
      schema: {
        tags: inbox,
        operationId: 'getConversation',
        summary: 'A conversation with its full history, oldest message first',
        params: Id,
        response: { 200: Conversation.extend({ messages: z.array(Message) }), ...errors },
      },
    },
    async (req) => getThread(services, req.tenant, req.params.id),
  );
  app.patch(
    '/conversations/:id',
    {
      config: { access: 'records:write' },
      schema: {
        tags: inbox,
        operationId: 'updateConversation',
        summary: 'Open or close a conversation, or assign it to a member (`assignee_id`, null for no one)',
        params: Id,
        body: ConversationUpdate,
        response: { 200: Conversation, ...errors },
      },
    },
    async (req) => updateConversation(services, req.tenant, req.params.id, req.body),
  );
  app.post(
    '/conversations/:id/contact',
    {
      config: { access: 'records:write' },
      schema: {
        tags: inbox,
        operationId: 'linkConversationContact',
        summary:
          "Put the conversation's sender on a contact: `contact_id` links an existing one; without it, the contact with the sender's e-mail or number, or a new contact made from the sender (for Messenger / Instagram, with the name Meta shares). Every conversation with that person on the channel is linked",
        params: Id,
        body: ConversationContact,
        response: { 200: Conversation, ...errors },
      },
    },
    async (req) => linkContact(services, req.tenant, req.params.id, req.body),
  );
  app.post(
    '/conversations/:id/read',
    {
      config: { access: 'records:write' },
      schema: {
        tags: inbox,
        operationId: 'markConversationRead',
        summary: 'Mark every message of the conversation read',
        params: Id,
        response: { 200: Conversation, ...errors },
      },
    },
    async (req) => markRead(services, req.tenant, req.params.id),
  );
  app.post(
    '/conversations/:id/messages',
    {
      config: { access: 'records:write' },
      schema: {
        tags: inbox,
        operationId: 'replyToConversation',
        summary:
          'Reply: the message is queued (`status: queued`) and sent once by the job queue; a failure shows on it with the provider’s reason. 422 `recipient_suppressed` for a suppressed address',
        params: Id,
        body: Reply,
        response: { 202: Message, 409: Problem, 422: Problem, ...errors },
      },
    },
    async (req, res) => res.code(202).send(await reply(services, req.tenant, req.params.id, req.body)),
  );
  app.post(
    '/messages',
    {
      config: { access: 'records:write' },
      schema: {
        tags: inbox,
        operationId: 'composeMessage',
        summary:
          'A new message to an e-mail address or number on a channel, queued for sending (a new conversation; SMS joins the thread with that number)',
        body: Compose,
        response: { 202: Message, 409: Problem, 422: Problem, ...errors },
      },
    },
    async (req, res) => res.code(202).send(await compose(services, req.tenant, req.body)),
  );
  app.post(
    '/messages/:id/retry',
    {
      config: { access: 'records:write' },
      schema: {
        tags: inbox,
        operationId: 'retryMessage',
        summary: 'Send a failed message again (the same Message-ID and idempotency key)',
        params: Id,
        response: { 202: z.object({ id: z.uuid(), status: z.literal('queued') }), 409: Problem, ...errors },
      },
    },
    async (req, res) => {
      await retryMessage(services, req.tenant, req.params.id);
      return res.code(202).send({ id: req.params.id, status: 'queued' as const });
    },
  );

  registerTwilioWebhook(app, services);
  registerProviderWebhooks(app, services);
}

const TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';

/**
 * Twilio's messaging webhook for one SMS channel: inbound messages and delivery status callbacks,
 * verified with X-Twilio-Signature under the channel's auth token; an unverified request is
 * refused (403) and counted on the channel.
 */
function registerTwilioWebhook(app: ApiApp, services: Services): void {
  app.register(async (scoped) => {
    const api = scoped as unknown as ApiApp;
    api.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 65_536 },
      (_req, body, done) => {
        const params: Record<string, string | string[]> = {};
        for (const [k, v] of new URLSearchParams(String(body))) {
          const prev = params[k];
          params[k] = prev === undefined ? v : [prev, v].flat();
        }
        done(null, params);
      },
    );
    api.post(
      '/public/channels/:org_id/:id/twilio',
      {
        config: { access: 'public' },
        schema: {
          tags: ['channels'],
          operationId: 'receiveTwilioWebhook',
          summary:
            "Twilio's messaging webhook (inbound SMS, status callbacks), signed with X-Twilio-Signature; 403 `invalid_signature` when it does not verify. An inbound STOP records the opt-out",
          params: z.strictObject({ org_id: z.uuid(), id: z.uuid() }),
          body: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
          headers: z.object({ 'x-twilio-signature': z.string().max(200).optional() }),
          produces: ['text/xml'],
          response: {
            200: z.string().describe('TwiML: an empty Response'),
            400: Problem,
            403: Problem,
            404: Problem,
          },
        },
      },
      async (req, res) => {
        const ctx: TenantContext = { orgId: req.params.org_id, actor: { type: 'system', id: null } };
        const [row] = await withTenant(services.database, ctx, ({ tx }) =>
          tx
            .select()
            .from(channels)
            .where(
              and(eq(channels.orgId, ctx.orgId), eq(channels.id, req.params.id), eq(channels.kind, 'sms')),
            ),
        );
        if (!row) throw notFound('Channel', req.params.id);
        const url = `${services.config.baseUrl}${req.url}`;
        const token = secretsOf(services, row).twilio_auth_token ?? '';
        const params = req.body;
        if (!isTwilioSignature(token, req.headers['x-twilio-signature'], url, params)) {
          await withTenant(services.database, ctx, ({ tx }) =>
            tx
              .update(channels)
              .set({ rejectedWebhooks: sql`${channels.rejectedWebhooks} + 1` })
              .where(and(eq(channels.orgId, ctx.orgId), eq(channels.id, row.id))),
          );
          throw new AppError(403, 'invalid_signature', 'The X-Twilio-Signature does not verify');
        }
        const flat = Object.fromEntries(
          Object.entries(params).map(([k, v]) => [k, Array.isArray(v) ? (v.at(-1) ?? '') : v]),
        );
        const status = flat.MessageStatus ?? flat.SmsStatus;
        if (status && status !== 'received' && flat.Body === undefined) {
          await statusCallback(services, ctx, flat);
        } else {
          await receiveSms(services, row, flat);
        }
        return res.type('text/xml').serializer(String).send(TWIML_EMPTY);
      },
    );
  });
}

/** A delivery status callback: `failed` / `undelivered` marks the message failed with Twilio's error code. */
async function statusCallback(services: Services, ctx: TenantContext, p: Record<string, string>) {
  const sid = p.MessageSid ?? p.SmsSid;
  const status = p.MessageStatus ?? p.SmsStatus;
  if (!sid || (status !== 'failed' && status !== 'undelivered')) return;
  await withTenant(services.database, ctx, async ({ conn }) => {
    await conn.query(
      `update messages set status = 'failed', error = $3 where org_id = $1 and provider_id = $2 and direction = 'out'`,
      [ctx.orgId, sid, `twilio ${status}${p.ErrorCode ? ` (error ${p.ErrorCode})` : ''}`],
    );
    await announceInbox(conn, ctx.orgId);
  });
}
