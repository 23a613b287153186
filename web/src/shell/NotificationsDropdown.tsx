import { Anchor, Button, Group, ScrollArea, Stack, Text, UnstyledButton } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate } from '@tanstack/react-router';
import {
  type AppNotification,
  ago,
  latestNotificationsQuery,
  markAllRead,
  markRead,
  notificationTarget,
} from '../lib/notifications';

/** One notification as a line: bold while unread; a click marks it read and opens its record. */
export function NotificationLine({ n, onOpen }: { n: AppNotification; onOpen?: () => void }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const target = notificationTarget(n);
  const open = async () => {
    if (!n.read) {
      await markRead(n.id).catch(() => undefined);
      void queryClient.invalidateQueries({ queryKey: ['notifications'] });
    }
    onOpen?.();
    if (target) await navigate(target as never);
  };
  return (
    <UnstyledButton
      onClick={() => void open()}
      p="sm"
      style={{
        borderBottom: '1px solid var(--mantine-color-default-border)',
        display: 'block',
        width: '100%',
      }}
      aria-label={`${n.title}${n.read ? '' : ' (unread)'}`}
    >
      <Text size="sm" fw={n.read ? 400 : 600}>
        {n.title}
      </Text>
      {n.detail && n.kind === 'mention' && (
        <Text size="xs" c="dimmed" lineClamp={2}>
          “{n.detail}”
        </Text>
      )}
      <Text size="xs" c="dimmed">
        {ago(n.updated_at)}
      </Text>
    </UnstyledButton>
  );
}

/** The bell's dropdown: the latest notifications, mark all read, and the way to the full page. */
export function NotificationsDropdown({ onNavigate }: { onNavigate: () => void }) {
  const queryClient = useQueryClient();
  const { data, isPending } = useQuery(latestNotificationsQuery(false));
  const all = useMutation({
    mutationFn: markAllRead,
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['notifications'] }),
  });
  const items = data?.data.slice(0, 8) ?? [];
  return (
    <Stack gap={0}>
      <Group justify="space-between" p="sm">
        <Text fw={600}>Notifications</Text>
        <Button size="compact-xs" variant="subtle" loading={all.isPending} onClick={() => all.mutate()}>
          Mark all read
        </Button>
      </Group>
      <ScrollArea.Autosize mah={400}>
        {items.map((n) => (
          <NotificationLine key={n.id} n={n} onOpen={onNavigate} />
        ))}
        {!isPending && items.length === 0 && (
          <Text size="sm" c="dimmed" p="sm">
            Nothing yet. You are told here when a record is assigned to you, a record of yours changes stage,
            a task of yours is due, or someone mentions you.
          </Text>
        )}
      </ScrollArea.Autosize>
      <Anchor component={Link} to="/notifications" size="sm" p="sm" onClick={onNavigate}>
        See all notifications
      </Anchor>
    </Stack>
  );
}
