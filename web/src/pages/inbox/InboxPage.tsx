import {
  Alert,
  Badge,
  Button,
  Group,
  Loader,
  Paper,
  ScrollArea,
  SegmentedControl,
  Stack,
  Tabs,
  Text,
  Title,
  Tooltip,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call, type Schemas } from '../../api/client';
import { meQuery } from '../../lib/query';
import { EmptyState } from '../../shell/states';
import { download, formatSize } from '../records/AttachmentsPanel';
import { ChannelIcon } from './ChannelIcon';
import { Channels } from './ChannelsPanel';
import { ReplyBox } from './Composer';
import { useLiveInbox } from './useLiveInbox';

type Conversation = Schemas['Conversation'];
type Message = Schemas['Message'];

const when = (iso: string) => new Date(iso).toLocaleString();

/** A message's attachments: stored ones download; refused ones show why (issue 23). */
function MessageAttachments({ attachments }: { attachments: Message['attachments'] }) {
  return (
    <Group gap="xs" mt="xs" data-testid="message-attachments">
      {attachments.map((a, i) =>
        a.file_id && a.status === 'stored' ? (
          <Button
            // biome-ignore lint/suspicious/noArrayIndexKey: a message's attachments are a fixed list
            key={i}
            size="compact-xs"
            variant="default"
            onClick={() => void download(a.file_id!)}
          >
            {a.filename ?? 'attachment'} ({formatSize(a.size)})
          </Button>
        ) : (
          // biome-ignore lint/suspicious/noArrayIndexKey: a message's attachments are a fixed list
          <Tooltip key={i} label={a.reason ?? 'Not kept'} disabled={!a.reason}>
            <Badge size="sm" variant="light" color={a.status ? 'red' : 'gray'}>
              {a.filename ?? a.content_type} {a.status ? `· ${a.status}` : ''}
            </Badge>
          </Tooltip>
        ),
      )}
    </Group>
  );
}

/** One message of a thread: who, when, the text, and a failed send's reason with a retry. */
function MessageItem({ m, onRetry }: { m: Message; onRetry: () => void }) {
  return (
    <Paper
      withBorder
      p="sm"
      data-testid="message"
      bg={m.direction === 'out' ? 'var(--mantine-color-blue-light)' : undefined}
    >
      <Group justify="space-between">
        <Text size="sm" fw={600}>
          {m.direction === 'out' ? `To ${m.to.join(', ')}` : m.from}
        </Text>
        <Group gap="xs">
          {m.status !== 'received' && (
            <Badge size="xs" color={m.status === 'failed' ? 'red' : m.status === 'sent' ? 'green' : 'gray'}>
              {m.status}
            </Badge>
          )}
          {m.delivery_status && (
            <Badge
              size="xs"
              variant="light"
              color={
                m.delivery_status === 'delivered'
                  ? 'green'
                  : m.delivery_status === 'deferred'
                    ? 'yellow'
                    : 'red'
              }
            >
              {m.delivery_status}
            </Badge>
          )}
          <Text size="xs" c="dimmed">
            {when(m.created_at)}
          </Text>
        </Group>
      </Group>
      {m.subject && (
        <Text size="sm" c="dimmed">
          {m.subject}
        </Text>
      )}
      <Text size="sm" style={{ whiteSpace: 'pre-wrap' }}>
        {m.text}
      </Text>
      {m.attachments.length > 0 && <MessageAttachments attachments={m.attachments} />}
      {m.status === 'failed' && (
        <Alert color="red" mt="xs" title="Not sent">
          <Group justify="space-between">
            <Text size="sm">{m.error ?? 'The provider refused it'}</Text>
            <Button size="xs" variant="light" onClick={onRetry}>
              Retry
            </Button>
          </Group>
        </Alert>
      )}
    </Paper>
  );
}

function Thread({ id }: { id: string }) {
  const queryClient = useQueryClient();
  const thread = useQuery({
    queryKey: ['conversations', 'thread', id],
    queryFn: async () => {
      const data = await call(api.GET('/api/v1/conversations/{id}', { params: { path: { id } } }));
      if (data.unread_count > 0) {
        await call(api.POST('/api/v1/conversations/{id}/read', { params: { path: { id } } }));
        void queryClient.invalidateQueries({ queryKey: ['conversations', 'list'] });
        void queryClient.invalidateQueries({ queryKey: ['conversations', 'unread'] });
      }
      return data;
    },
    refetchInterval: 15_000,
  });
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['conversations'] });
  const retry = useMutation({
    mutationFn: (messageId: string) =>
      call(api.POST('/api/v1/messages/{id}/retry', { params: { path: { id: messageId } } })),
    onSettled: refresh,
  });
  const update = useMutation({
    mutationFn: (body: { status?: 'open' | 'closed'; assignee_id?: string | null }) =>
      call(api.PATCH('/api/v1/conversations/{id}', { params: { path: { id } }, body })),
    onSettled: refresh,
  });
  // An unknown sender becomes a contact in one click (found by their address or number, or made).
  const toContact = useMutation({
    mutationFn: () =>
      call(api.POST('/api/v1/conversations/{id}/contact', { params: { path: { id } }, body: {} })),
    onSettled: refresh,
  });
  const { data: me } = useQuery(meQuery);
  if (!thread.data) return <Loader />;
  const c = thread.data;
  return (
    <Stack>
      <Group justify="space-between">
        <Stack gap={0}>
          <Title order={3}>{c.contact?.name ?? c.counterpart}</Title>
          <Text size="sm" c="dimmed">
            {c.subject ?? c.counterpart} · {c.channel.name}
          </Text>
        </Stack>
        <Group gap="xs">
          {!c.contact && (
            <Button
              size="xs"
              variant="default"
              onClick={() => toContact.mutate()}
              loading={toContact.isPending}
            >
              Create contact
            </Button>
          )}
          {me?.user && (
            <Button
              size="xs"
              variant="default"
              onClick={() => update.mutate({ assignee_id: c.assignee_id ? null : me.user.id })}
            >
              {c.assignee_id ? 'Unassign' : 'Assign to me'}
            </Button>
          )}
          <Button
            size="xs"
            variant="default"
            onClick={() => update.mutate({ status: c.status === 'open' ? 'closed' : 'open' })}
          >
            {c.status === 'open' ? 'Close' : 'Reopen'}
          </Button>
        </Group>
      </Group>
      <Stack gap="xs">
        {c.messages.map((m) => (
          <MessageItem key={m.id} m={m} onRetry={() => retry.mutate(m.id)} />
        ))}
      </Stack>
      <ReplyBox conversationId={c.id} channelKind={c.channel.kind} contactId={c.contact?.id ?? null} />
    </Stack>
  );
}

function Inbox() {
  const [filter, setFilter] = useState<'all' | 'mine' | 'unassigned'>('all');
  const [status, setStatus] = useState<'open' | 'closed'>('open');
  const [selected, setSelected] = useState<string | null>(null);
  const live = useLiveInbox();
  const list = useQuery({
    queryKey: ['conversations', 'list', filter, status],
    queryFn: () =>
      call(api.GET('/api/v1/conversations', { params: { query: { filter, status, limit: 100 } } })),
    refetchInterval: live ? false : 30_000,
  });
  return (
    <Group align="flex-start" wrap="nowrap" gap="md">
      <Stack w={360} style={{ flexShrink: 0 }}>
        <SegmentedControl
          size="xs"
          value={filter}
          onChange={(v) => setFilter(v as typeof filter)}
          data={[
            { value: 'all', label: 'All' },
            { value: 'mine', label: 'Mine' },
            { value: 'unassigned', label: 'Unassigned' },
          ]}
        />
        <SegmentedControl
          size="xs"
          value={status}
          onChange={(v) => setStatus(v as typeof status)}
          data={[
            { value: 'open', label: 'Open' },
            { value: 'closed', label: 'Closed' },
          ]}
        />
        <ScrollArea.Autosize mah="70vh">
          <Stack gap={4}>
            {(list.data?.data ?? []).map((c: Conversation) => (
              <Paper
                key={c.id}
                withBorder
                p="xs"
                data-testid="conversation"
                // A row opened by mouse or keyboard (Enter or Space), as a button.
                role="button"
                tabIndex={0}
                aria-pressed={selected === c.id}
                onClick={() => setSelected(c.id)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter' || e.key === ' ') {
                    e.preventDefault();
                    setSelected(c.id);
                  }
                }}
                style={{ cursor: 'pointer' }}
                bg={selected === c.id ? 'var(--mantine-color-default-hover)' : undefined}
              >
                <Group justify="space-between" wrap="nowrap">
                  <Group gap={6} wrap="nowrap">
                    <ChannelIcon kind={c.channel.kind} />
                    <Text size="sm" fw={c.unread_count > 0 ? 700 : 400} truncate>
                      {c.contact?.name ?? c.counterpart}
                    </Text>
                  </Group>
                  <Group gap={4} wrap="nowrap">
                    {c.unread_count > 0 && <Badge size="xs">{c.unread_count}</Badge>}
                    <Text size="xs" c="dimmed">
                      {new Date(c.last_message_at).toLocaleDateString()}
                    </Text>
                  </Group>
                </Group>
                <Text size="xs" c="dimmed" lineClamp={1}>
                  {c.last_preview ?? c.subject ?? ''}
                </Text>
              </Paper>
            ))}
          </Stack>
        </ScrollArea.Autosize>
      </Stack>
      <div style={{ flex: 1, minWidth: 0 }}>
        {selected ? (
          <Thread id={selected} />
        ) : (
          <EmptyState title="No conversation selected">Pick a conversation to read and answer it.</EmptyState>
        )}
      </div>
    </Group>
  );
}

/** The inbox (issue 23): conversations across channels, a thread with its reply box; channels for admins. */
export function InboxPage() {
  const { data: me } = useQuery(meQuery);
  return (
    <Stack>
      <Title order={1} size="h2">
        Inbox
      </Title>
      <Tabs defaultValue="inbox">
        <Tabs.List>
          <Tabs.Tab value="inbox">Conversations</Tabs.Tab>
          {me?.role === 'admin' && <Tabs.Tab value="channels">Channels</Tabs.Tab>}
        </Tabs.List>
        <Tabs.Panel value="inbox" pt="md">
          <Inbox />
        </Tabs.Panel>
        {me?.role === 'admin' && (
          <Tabs.Panel value="channels" pt="md">
            <Channels />
          </Tabs.Panel>
        )}
      </Tabs>
    </Stack>
  );
}
