import { ActionIcon, Indicator, Loader, Popover, Tooltip } from '@mantine/core';
import { IconBell } from '@tabler/icons-react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { lazy, Suspense, useEffect, useState } from 'react';
import { unreadCountQuery } from '../lib/notifications';

// The dropdown's list loads when it first opens: the first page load carries only the bell.
const NotificationsDropdown = lazy(() =>
  import('./NotificationsDropdown').then((m) => ({ default: m.NotificationsDropdown })),
);

/**
 * Keeps the unread count live: the server pushes it over server-sent events
 * (`/api/v1/notifications/stream`); EventSource reconnects by itself after a drop. While the
 * stream is down the count is re-read every minute instead.
 */
function useLiveUnreadCount(): number | undefined {
  const queryClient = useQueryClient();
  const [live, setLive] = useState(false);
  useEffect(() => {
    if (typeof EventSource === 'undefined') return;
    const source = new EventSource('/api/v1/notifications/stream');
    source.addEventListener('unread', (e) => {
      const { unread } = JSON.parse((e as MessageEvent<string>).data) as { unread: number };
      const before = queryClient.getQueryData(unreadCountQuery.queryKey);
      queryClient.setQueryData(unreadCountQuery.queryKey, unread);
      // A new notification (or one read elsewhere): the dropdown's list and the notifications
      // page are stale, so an open page shows it without a reload.
      if (before !== undefined && before !== unread)
        void queryClient.invalidateQueries({
          predicate: (q) =>
            q.queryKey[0] === 'notifications' && ['list', 'page'].includes(String(q.queryKey[1])),
        });
    });
    source.onopen = () => setLive(true);
    source.onerror = () => setLive(false);
    return () => source.close();
  }, [queryClient]);
  const { data } = useQuery({ ...unreadCountQuery, refetchInterval: live ? false : 60_000 });
  return data;
}

/** The bell in the header: the unread count, and a dropdown of the latest notifications. */
export function NotificationBell() {
  const unread = useLiveUnreadCount() ?? 0;
  const [opened, setOpened] = useState(false);
  const label = unread > 0 ? `Notifications, ${unread} unread` : 'Notifications';
  return (
    <Popover opened={opened} onChange={setOpened} position="bottom-end" width={380} shadow="md" withinPortal>
      <Popover.Target>
        <Tooltip label={label}>
          <Indicator
            label={unread > 99 ? '99+' : unread}
            size={16}
            disabled={unread === 0}
            offset={4}
            color="red"
            data-testid="notification-count"
          >
            <ActionIcon variant="default" size="lg" aria-label={label} onClick={() => setOpened((o) => !o)}>
              <IconBell size={18} />
            </ActionIcon>
          </Indicator>
        </Tooltip>
      </Popover.Target>
      <Popover.Dropdown p={0}>
        {opened && (
          <Suspense fallback={<Loader size="sm" m="md" />}>
            <NotificationsDropdown onNavigate={() => setOpened(false)} />
          </Suspense>
        )}
      </Popover.Dropdown>
    </Popover>
  );
}
