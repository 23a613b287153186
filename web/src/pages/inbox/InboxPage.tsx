import {
  Alert,
  Badge,
  Button,
  Group,
  Loader,
  NumberInput,
  Paper,
  PasswordInput,
  ScrollArea,
  SegmentedControl,
  Stack,
  Switch,
  Tabs,
  Text,
  Textarea,
  TextInput,
  Title,
} from '@mantine/core';
import { IconMail, IconMessage } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call, type Schemas } from '../../api/client';
import { meQuery } from '../../lib/query';
import { EmptyState } from '../../shell/states';

type Conversation = Schemas['Conversation'];
type Message = Schemas['Message'];
type Channel = Schemas['Channel'];

const when = (iso: string) => new Date(iso).toLocaleString();

function ChannelIcon({ kind }: { kind: string }) {
  return kind === 'sms' ? (
    <IconMessage size={16} aria-label="SMS" />
  ) : (
    <IconMail size={16} aria-label="E-mail" />
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
  const [text, setText] = useState('');
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
  const send = useMutation({
    mutationFn: () =>
      call(api.POST('/api/v1/conversations/{id}/messages', { params: { path: { id } }, body: { text } })),
    onSuccess: () => setText(''),
    onSettled: refresh,
  });
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
      <Textarea
        label="Reply"
        autosize
        minRows={3}
        value={text}
        onChange={(e) => setText(e.currentTarget.value)}
        error={send.error?.message}
      />
      <Group justify="flex-end">
        <Button onClick={() => send.mutate()} loading={send.isPending} disabled={!text.trim()}>
          Send
        </Button>
      </Group>
    </Stack>
  );
}

function Inbox() {
  const [filter, setFilter] = useState<'all' | 'mine' | 'unassigned'>('all');
  const [status, setStatus] = useState<'open' | 'closed'>('open');
  const [selected, setSelected] = useState<string | null>(null);
  const list = useQuery({
    queryKey: ['conversations', 'list', filter, status],
    queryFn: () =>
      call(api.GET('/api/v1/conversations', { params: { query: { filter, status, limit: 100 } } })),
    refetchInterval: 30_000,
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

/** The organization's channels (admins): connect a mailbox or a Twilio number, test the connection. */
function Channels() {
  const queryClient = useQueryClient();
  const channels = useQuery({
    queryKey: ['channels'],
    queryFn: () => call(api.GET('/api/v1/channels')),
  });
  const [kind, setKind] = useState<'email' | 'sms' | 'local'>('email');
  const [form, setForm] = useState({
    name: '',
    address: '',
    smtpHost: '',
    smtpPort: 587 as number | string,
    smtpUser: '',
    smtpPassword: '',
    imapHost: '',
    imapPort: 993 as number | string,
    imapSecure: true,
    imapUser: '',
    imapPassword: '',
    accountSid: '',
    authToken: '',
  });
  const set = (k: keyof typeof form) => (v: string | number | boolean) => setForm((f) => ({ ...f, [k]: v }));
  const create = useMutation({
    mutationFn: () =>
      call(
        api.POST('/api/v1/channels', {
          body: {
            kind,
            name: form.name,
            address: form.address,
            ...(kind === 'email'
              ? {
                  smtp: {
                    host: form.smtpHost,
                    port: Number(form.smtpPort),
                    secure: Number(form.smtpPort) === 465,
                    user: form.smtpUser || null,
                    password: form.smtpPassword || undefined,
                  },
                  ...(form.imapHost
                    ? {
                        imap: {
                          host: form.imapHost,
                          port: Number(form.imapPort),
                          secure: form.imapSecure,
                          user: form.imapUser,
                          password: form.imapPassword || undefined,
                          mailbox: 'INBOX',
                        },
                      }
                    : {}),
                }
              : {}),
            ...(kind === 'sms'
              ? { twilio: { account_sid: form.accountSid, auth_token: form.authToken } }
              : {}),
          },
        }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['channels'] }),
  });
  const [tests, setTests] = useState<Record<string, string>>({});
  const test = useMutation({
    mutationFn: (id: string) => call(api.POST('/api/v1/channels/{id}/test', { params: { path: { id } } })),
    onSuccess: (r, id) =>
      setTests((t) => ({
        ...t,
        [id]: r.checks.map((c) => `${c.part}: ${c.ok ? 'OK' : c.error}`).join(' · '),
      })),
  });
  return (
    <Stack>
      {(channels.data?.data ?? []).map((c: Channel) => (
        <Paper key={c.id} withBorder p="sm" data-testid="channel">
          <Group justify="space-between">
            <Group gap="xs">
              <ChannelIcon kind={c.kind} />
              <Text fw={600}>{c.name}</Text>
              <Text c="dimmed">{c.address}</Text>
              {c.kind === 'local' && <Badge color="gray">Local mailbox: reaches no one</Badge>}
            </Group>
            <Button size="xs" variant="default" onClick={() => test.mutate(c.id)} loading={test.isPending}>
              Test connection
            </Button>
          </Group>
          {c.inbound_webhook_url && (
            <Text size="xs" c="dimmed">
              Twilio messaging webhook: {c.inbound_webhook_url}
            </Text>
          )}
          {c.last_error && (
            <Text size="xs" c="red">
              Last sync: {c.last_error}
            </Text>
          )}
          {tests[c.id] && <Text size="xs">{tests[c.id]}</Text>}
        </Paper>
      ))}
      <Paper withBorder p="md">
        <Stack>
          <Title order={4}>Connect a channel</Title>
          <SegmentedControl
            value={kind}
            onChange={(v) => setKind(v as typeof kind)}
            data={[
              { value: 'email', label: 'E-mail (SMTP + IMAP)' },
              { value: 'sms', label: 'SMS (Twilio)' },
              { value: 'local', label: 'Local mailbox' },
            ]}
          />
          <TextInput label="Name" value={form.name} onChange={(e) => set('name')(e.currentTarget.value)} />
          <TextInput
            label={kind === 'sms' ? 'Number (E.164)' : 'E-mail address'}
            value={form.address}
            onChange={(e) => set('address')(e.currentTarget.value)}
          />
          {kind === 'email' && (
            <>
              <Group grow>
                <TextInput
                  label="SMTP host"
                  value={form.smtpHost}
                  onChange={(e) => set('smtpHost')(e.currentTarget.value)}
                />
                <NumberInput label="SMTP port" value={form.smtpPort} onChange={set('smtpPort')} />
              </Group>
              <Group grow>
                <TextInput
                  label="SMTP user"
                  value={form.smtpUser}
                  onChange={(e) => set('smtpUser')(e.currentTarget.value)}
                />
                <PasswordInput
                  label="SMTP password"
                  value={form.smtpPassword}
                  onChange={(e) => set('smtpPassword')(e.currentTarget.value)}
                />
              </Group>
              <Group grow>
                <TextInput
                  label="IMAP host"
                  value={form.imapHost}
                  onChange={(e) => set('imapHost')(e.currentTarget.value)}
                />
                <NumberInput label="IMAP port" value={form.imapPort} onChange={set('imapPort')} />
                <Switch
                  label="TLS"
                  checked={form.imapSecure}
                  onChange={(e) => set('imapSecure')(e.currentTarget.checked)}
                  mt="lg"
                />
              </Group>
              <Group grow>
                <TextInput
                  label="IMAP user"
                  value={form.imapUser}
                  onChange={(e) => set('imapUser')(e.currentTarget.value)}
                />
                <PasswordInput
                  label="IMAP password"
                  value={form.imapPassword}
                  onChange={(e) => set('imapPassword')(e.currentTarget.value)}
                />
              </Group>
            </>
          )}
          {kind === 'sms' && (
            <Group grow>
              <TextInput
                label="Account SID"
                value={form.accountSid}
                onChange={(e) => set('accountSid')(e.currentTarget.value)}
              />
              <PasswordInput
                label="Auth token"
                value={form.authToken}
                onChange={(e) => set('authToken')(e.currentTarget.value)}
              />
            </Group>
          )}
          {create.error && <Alert color="red">{create.error.message}</Alert>}
          <Group justify="flex-end">
            <Button onClick={() => create.mutate()} loading={create.isPending}>
              Connect
            </Button>
          </Group>
        </Stack>
      </Paper>
    </Stack>
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
