import { queryOptions } from '@tanstack/react-query';
import { api, call, type Schemas } from '../api/client';
import { DETAIL_PATH, isRecordObject } from './records';

export type AppNotification = Schemas['Notification'];
export type NotificationSetting = Schemas['NotificationSetting'];

/** The unread count the bell shows; the event stream writes it, this reads it when the stream cannot. */
export const unreadCountQuery = queryOptions({
  queryKey: ['notifications', 'unread-count'],
  queryFn: async () => (await call(api.GET('/api/v1/notifications/unread-count'))).unread,
  staleTime: 60_000,
});

/** The latest notifications (the bell's dropdown, the first page of the notifications page). */
export const latestNotificationsQuery = (unread: boolean) =>
  queryOptions({
    queryKey: ['notifications', 'list', unread],
    queryFn: () =>
      call(
        api.GET('/api/v1/notifications', {
          params: { query: { limit: 20, ...(unread ? { unread: 'true' } : {}) } },
        }),
      ),
    staleTime: 5_000,
  });

/**
 * Where a notification leads: the record's page for contacts, companies and opportunities, the
 * tasks page for a task, Settings > Security incidents for the guard's alerts; null for an object
 * without a page yet.
 */
export function notificationTarget(
  n: AppNotification,
): { to: string; params?: { id: string }; search?: { tab: string } } | null {
  const { object, id } = n.record;
  if (isRecordObject(object)) return { to: DETAIL_PATH[object], params: { id } };
  if (object === 'task') return { to: '/tasks' };
  // The guard's alerts (admins): the security incidents to review.
  if (object === 'guard_incident' || object === 'guard_warning')
    return { to: '/settings', search: { tab: 'security' } };
  // An ops alert about a webhook: the settings, where it is enabled again.
  if (object === 'webhook_subscription') return { to: '/settings' };
  return null;
}

/** Marks one notification read, or all of them; the caller refreshes the lists and the count. */
export const markRead = (id: string) =>
  call(api.POST('/api/v1/notifications/{id}/read', { params: { path: { id } } }));
export const markAllRead = () => call(api.POST('/api/v1/notifications/read-all'));

/** "3 min ago", "2 h ago", "4 Dec". */
export function ago(iso: string): string {
  const ms = Date.now() - Date.parse(iso);
  if (ms < 60_000) return 'just now';
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ago`;
  if (ms < 86_400_000) return `${Math.floor(ms / 3_600_000)} h ago`;
  return new Date(iso).toLocaleDateString(undefined, { day: 'numeric', month: 'short' });
}
