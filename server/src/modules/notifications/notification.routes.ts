import { z } from 'zod';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { notificationConsumer } from './notification.consumer.js';
import {
  Notification,
  NotificationListQuery,
  NotificationPage,
  NotificationSettings,
  NotificationSettingsUpdate,
  ReadAllResult,
  UnreadCount,
} from './notification.dto.js';
import {
  getSettings,
  listNotifications,
  markAllRead,
  markRead,
  unreadCount,
  updateSettings,
} from './notification.service.js';
import { notificationHubOf, serveEventStream } from './notification-stream.js';

const IdParams = z.strictObject({ id: z.uuid() });
const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };
const tags = ['notifications'];

/** Registers the notifications consumer with the event dispatcher (before the job queue starts). */
export function defineNotificationJobs(services: Services): void {
  services.events.register(notificationConsumer());
}

/**
 * The caller's in-app notifications under `/notifications`, in their current organization: a
 * list, the unread count (also pushed live as server-sent events), mark read / all read, and the
 * per-kind settings. Any member (`member` access) has their own; another member's notification
 * id is a 404, as is another tenant's.
 */
export function registerNotificationRoutes(app: ApiApp, services: Services): void {
  const hub = notificationHubOf(services.database, (error) =>
    app.log.warn({ err: error }, 'notification stream listener'),
  );
  /** The open streams' ends, so closing the app ends them (their timers would outlive it). */
  const open = new Set<() => void>();
  app.addHook('onClose', async () => {
    for (const end of [...open]) end();
    await hub.close();
  });

  app.get(
    '/notifications',
    {
      config: { access: 'member' },
      schema: {
        operationId: 'listNotifications',
        tags,
        summary: 'My notifications, the latest first; `unread=true` for the unread ones; keyset-paginated',
        querystring: NotificationListQuery,
        response: { 200: NotificationPage, ...errors },
      },
    },
    async (req) => listNotifications(services, req.tenant, req.query),
  );
  app.get(
    '/notifications/unread-count',
    {
      config: { access: 'member' },
      schema: {
        operationId: 'getNotificationUnreadCount',
        tags,
        summary: 'How many of my notifications are unread',
        response: { 200: UnreadCount, ...errors },
      },
    },
    async (req) => ({ unread: await unreadCount(services, req.tenant) }),
  );
  app.post(
    '/notifications/read-all',
    {
      config: { access: 'member' },
      schema: {
        operationId: 'markAllNotificationsRead',
        tags,
        summary: 'Mark all my notifications read',
        response: { 200: ReadAllResult, ...errors },
      },
    },
    async (req) => markAllRead(services, req.tenant),
  );
  app.post(
    '/notifications/:id/read',
    {
      config: { access: 'member' },
      schema: {
        operationId: 'markNotificationRead',
        tags,
        summary: 'Mark one of my notifications read',
        params: IdParams,
        response: { 200: Notification, ...errors },
      },
    },
    async (req) => markRead(services, req.tenant, req.params.id),
  );
  app.get(
    '/notifications/settings',
    {
      config: { access: 'member' },
      schema: {
        operationId: 'getNotificationSettings',
        tags,
        summary: 'My notification settings per kind (in-app on/off, e-mail digest on/off)',
        response: { 200: NotificationSettings, ...errors },
      },
    },
    async (req) => getSettings(services, req.tenant),
  );
  app.put(
    '/notifications/settings',
    {
      config: { access: 'member' },
      schema: {
        operationId: 'updateNotificationSettings',
        tags,
        summary: 'Change my notification settings for the given kinds (the others keep theirs)',
        body: NotificationSettingsUpdate,
        response: { 200: NotificationSettings, ...errors },
      },
    },
    async (req) => updateSettings(services, req.tenant, req.body),
  );
  app.get(
    '/notifications/stream',
    {
      config: { access: 'member' },
      schema: {
        operationId: 'streamNotificationUnreadCount',
        tags,
        summary:
          'Server-sent events (`Accept: text/event-stream`): an `unread` event with `{"unread": n}` at once and ' +
          'whenever my unread count changes; the server ends the stream after 15 minutes (EventSource reconnects)',
        produces: ['text/event-stream'],
        response: { 406: Problem, ...errors },
      },
    },
    async (req, reply) =>
      serveEventStream(req, reply, {
        event: 'unread',
        read: async () => ({ unread: await unreadCount(services, req.tenant) }),
        subscribe: (listener) => hub.subscribe(req.tenant.orgId, req.tenant.actor.id ?? '', listener),
        statementTimeoutMs: services.config.statementTimeoutMs,
        open,
      }),
  );
}
