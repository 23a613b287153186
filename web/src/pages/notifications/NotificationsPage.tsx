import {
  Anchor,
  Badge,
  Button,
  Group,
  Paper,
  SegmentedControl,
  Stack,
  Tabs,
  Text,
  Title,
} from '@mantine/core';
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { useState } from 'react';
import { api, call } from '../../api/client';
import {
  type AppNotification,
  ago,
  markAllRead,
  markRead,
  notificationTarget,
} from '../../lib/notifications';
import { EmptyState } from '../../shell/states';
import { NotificationSettings } from '../settings/NotificationSettings';

function NotificationRow({ n }: { n: AppNotification }) {
  const queryClient = useQueryClient();
  const read = useMutation({
    mutationFn: () => markRead(n.id),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['notifications'] }),
  });
  const target = notificationTarget(n);
  return (
    <Paper withBorder p="sm" data-testid="notification">
      <Group justify="space-between" wrap="nowrap" align="flex-start">
        <Stack gap={2}>
          <Group gap="xs">
            {!n.read && (
              <Badge size="xs" color="blue">
                New
              </Badge>
            )}
            <Text fw={n.read ? 400 : 600}>{n.title}</Text>
          </Group>
          {n.detail && n.kind === 'mention' && (
            <Text size="sm" c="dimmed" lineClamp={2}>
              “{n.detail}”
            </Text>
          )}
          <Group gap="sm">
            <Text size="xs" c="dimmed">
              {ago(n.updated_at)}
            </Text>
            {target && (
              <Anchor
                component={Link}
                {...(target as { to: '/tasks' })}
                size="xs"
                onClick={() => !n.read && read.mutate()}
              >
                Open {n.record.object.replace('_', ' ')}
              </Anchor>
            )}
          </Group>
        </Stack>
        {!n.read && (
          <Button size="compact-sm" variant="subtle" loading={read.isPending} onClick={() => read.mutate()}>
            Mark read
          </Button>
        )}
      </Group>
    </Paper>
  );
}

function NotificationList() {
  const queryClient = useQueryClient();
  const [filter, setFilter] = useState<'all' | 'unread'>('all');
  const list = useInfiniteQuery({
    queryKey: ['notifications', 'page', filter],
    queryFn: ({ pageParam }) =>
      call(
        api.GET('/api/v1/notifications', {
          params: {
            query: {
              limit: 30,
              ...(filter === 'unread' ? { unread: 'true' as const } : {}),
              ...(pageParam ? { cursor: pageParam } : {}),
            },
          },
        }),
      ),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const all = useMutation({
    mutationFn: markAllRead,
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['notifications'] }),
  });
  const items = list.data?.pages.flatMap((p) => p.data) ?? [];
  return (
    <Stack>
      <Group justify="space-between">
        <SegmentedControl
          value={filter}
          onChange={(v) => setFilter(v as 'all' | 'unread')}
          data={[
            { value: 'all', label: 'All' },
            { value: 'unread', label: 'Unread' },
          ]}
        />
        <Button variant="default" loading={all.isPending} onClick={() => all.mutate()}>
          Mark all read
        </Button>
      </Group>
      {items.map((n) => (
        <NotificationRow key={n.id} n={n} />
      ))}
      {!list.isPending && items.length === 0 && (
        <EmptyState title={filter === 'unread' ? 'All read' : 'No notifications yet'}>
          You are told here when a record is assigned to you, a record you own changes stage, a task of yours
          is assigned, due or overdue, a reminder comes due, or someone mentions you in a note.
        </EmptyState>
      )}
      {list.hasNextPage && (
        <Button variant="subtle" loading={list.isFetchingNextPage} onClick={() => void list.fetchNextPage()}>
          Load more
        </Button>
      )}
    </Stack>
  );
}

/** My notifications (all or unread, mark read, mark all read, links to the records) and my settings. */
export function NotificationsPage() {
  const search = useSearch({ from: '/app/notifications' });
  const navigate = useNavigate();
  const tab = search.tab === 'settings' ? 'settings' : 'list';
  return (
    <Stack>
      <Title order={1} size="h2">
        Notifications
      </Title>
      <Tabs
        value={tab}
        onChange={(t) =>
          void navigate({ to: '/notifications', search: t === 'settings' ? { tab: 'settings' } : {} })
        }
        keepMounted={false}
      >
        <Tabs.List>
          <Tabs.Tab value="list">Notifications</Tabs.Tab>
          <Tabs.Tab value="settings">Settings</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="list" pt="md">
          <NotificationList />
        </Tabs.Panel>
        <Tabs.Panel value="settings" pt="md">
          <NotificationSettings />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
