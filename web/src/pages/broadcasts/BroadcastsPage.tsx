import {
  Alert,
  Badge,
  Button,
  Group,
  NumberInput,
  Paper,
  SegmentedControl,
  Select,
  Stack,
  Switch,
  Table,
  Text,
  Textarea,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useParams } from '@tanstack/react-router';
import { useEffect, useState } from 'react';
import { type ApiError, api, call, type Schemas } from '../../api/client';
import { EmptyState, PageSkeleton } from '../../shell/states';

// Broadcasts (issue 33): compose one e-mail or SMS to a segment of contacts (a saved view, a tag or
// a query-language filter) with its previewed count, send now or schedule, follow each
// recipient's status, cancel what is not yet sent. Loaded with these pages only.

type Broadcast = Schemas['Broadcast'];
type Segment = Broadcast['segment'];

const STATUS_COLORS: Record<string, string> = {
  draft: 'gray',
  scheduled: 'yellow',
  sending: 'blue',
  sent: 'green',
  cancelled: 'red',
  queued: 'blue',
  delivered: 'green',
  failed: 'red',
  bounced: 'red',
  unsubscribed: 'orange',
  skipped: 'gray',
  pending: 'gray',
};
const errorOf = (e: unknown) => (e as ApiError | null)?.problem?.detail ?? (e ? String(e) : null);
const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : '—');

/** The broadcasts, newest first, and the composer. */
export function BroadcastsPage() {
  const list = useQuery({ queryKey: ['broadcasts'], queryFn: () => call(api.GET('/api/v1/broadcasts')) });
  if (list.isPending) return <PageSkeleton />;
  return (
    <Stack>
      <Title order={1} size="h2">
        Broadcasts
      </Title>
      <Composer />
      {list.data?.data.length === 0 ? (
        <EmptyState title="No broadcasts yet">Compose one above: a message, a segment, send.</EmptyState>
      ) : (
        <Table striped highlightOnHover>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>Channel</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th>Recipients</Table.Th>
              <Table.Th>Sent</Table.Th>
              <Table.Th>Scheduled</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {list.data?.data.map((b) => (
              <Table.Tr key={b.id}>
                <Table.Td>
                  <Link to="/broadcasts/$id" params={{ id: b.id }}>
                    {b.name}
                  </Link>
                </Table.Td>
                <Table.Td>{b.kind === 'sms' ? 'SMS' : 'E-mail'}</Table.Td>
                <Table.Td>
                  <Badge color={STATUS_COLORS[b.status] ?? 'gray'} variant="light">
                    {b.status}
                  </Badge>
                </Table.Td>
                <Table.Td>{b.recipient_count}</Table.Td>
                <Table.Td>{(b.stats.sent ?? 0) + (b.stats.delivered ?? 0)}</Table.Td>
                <Table.Td>{when(b.scheduled_at)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}

type SegmentMode = 'view' | 'tag' | 'filter';

/** The segment chooser: a saved view of contacts, a tag, or a filter written in the query language. */
function SegmentPicker({ onChange }: { onChange: (s: Segment | null, error: string | null) => void }) {
  const [mode, setMode] = useState<SegmentMode>('tag');
  const [viewId, setViewId] = useState<string | null>(null);
  const [tag, setTag] = useState('');
  const [json, setJson] = useState('{"field": "email", "op": "isNotEmpty"}');
  const views = useQuery({
    queryKey: ['views', 'contact'],
    queryFn: () => call(api.GET('/api/v1/views', { params: { query: { object: 'contact' } } })),
  });
  useEffect(() => {
    if (mode === 'tag')
      return onChange(
        tag.trim() ? { filter: { field: 'tags', op: 'hasAny', value: [tag.trim()] } } : null,
        null,
      );
    if (mode === 'view') {
      const v = views.data?.data.find((x) => x.id === viewId);
      const q = (v?.query ?? {}) as { filter?: Segment['filter']; q?: string };
      return onChange(
        v ? { ...(q.filter ? { filter: q.filter } : {}), ...(q.q ? { q: q.q } : {}) } : null,
        null,
      );
    }
    try {
      onChange({ filter: JSON.parse(json) as Segment['filter'] }, null);
    } catch {
      onChange(null, 'The filter is not valid JSON');
    }
  }, [mode, viewId, tag, json, views.data, onChange]);
  return (
    <Stack gap="xs">
      <SegmentedControl
        aria-label="Choose the segment by"
        value={mode}
        onChange={(v) => setMode(v as SegmentMode)}
        data={[
          { value: 'tag', label: 'Tag' },
          { value: 'view', label: 'Saved view' },
          { value: 'filter', label: 'Filter' },
        ]}
      />
      {mode === 'tag' && (
        <TextInput label="Contacts tagged" value={tag} onChange={(e) => setTag(e.currentTarget.value)} />
      )}
      {mode === 'view' && (
        <Select
          label="Contacts in the view"
          data={(views.data?.data ?? []).map((v) => ({ value: v.id, label: v.name }))}
          value={viewId}
          onChange={setViewId}
        />
      )}
      {mode === 'filter' && (
        <Textarea
          label="Filter (query language)"
          description='For example {"and": [{"field": "tags", "op": "hasAny", "value": ["vip"]}]}'
          autosize
          minRows={2}
          value={json}
          onChange={(e) => setJson(e.currentTarget.value)}
        />
      )}
    </Stack>
  );
}

function Composer() {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const channels = useQuery({ queryKey: ['channels'], queryFn: () => call(api.GET('/api/v1/channels')) });
  const [name, setName] = useState('');
  const [channelId, setChannelId] = useState<string | null>(null);
  const [subject, setSubject] = useState('');
  const [body, setBody] = useState('Hello {{contact.first_name}},\n\n');
  const [segment, setSegmentState] = useState<Segment | null>(null);
  const [segmentError, setSegmentError] = useState<string | null>(null);
  const [perMinute, setPerMinute] = useState<number | ''>('');
  const [at, setAt] = useState('');
  const [consent, setConsent] = useState(false);
  const [onSegment] = useState(() => (s: Segment | null, e: string | null) => {
    setSegmentState(s);
    setSegmentError(e);
  });
  const channel = channels.data?.data.find((c) => c.id === channelId);
  const kind = channel?.kind === 'sms' ? 'sms' : 'email';
  const preview = useQuery({
    queryKey: ['broadcast-preview', channelId, segment],
    enabled: segment !== null,
    retry: false,
    queryFn: () =>
      call(
        api.POST('/api/v1/broadcasts/preview', {
          body: { ...(channelId ? { channel_id: channelId } : {}), segment: segment! },
        }),
      ),
  });
  const send = useMutation({
    mutationFn: async () => {
      const draft = await call(
        api.POST('/api/v1/broadcasts', {
          body: {
            name,
            channel_id: channelId!,
            ...(kind === 'email' ? { subject } : {}),
            body,
            segment: segment!,
            per_minute: perMinute === '' ? null : perMinute,
            require_consent: consent,
          },
        }),
      );
      return call(
        api.POST('/api/v1/broadcasts/{id}/send', {
          params: { path: { id: draft.id } },
          body: at ? { at: new Date(at).toISOString() } : {},
        }),
      );
    },
    onSuccess: (b) => {
      void qc.invalidateQueries({ queryKey: ['broadcasts'] });
      void navigate({ to: '/broadcasts/$id', params: { id: b.id } });
    },
  });
  const count = preview.data?.count;
  const tooMany = preview.data && preview.data.count > preview.data.limit;
  return (
    <Paper withBorder p="md" component="section" aria-labelledby="compose-title">
      <Stack>
        <Title order={2} size="h3" id="compose-title">
          New broadcast
        </Title>
        <Group grow align="start">
          <TextInput label="Name" required value={name} onChange={(e) => setName(e.currentTarget.value)} />
          <Select
            label="Send from"
            required
            data={(channels.data?.data ?? []).map((c) => ({
              value: c.id,
              label: `${c.name} <${c.address}>${c.kind === 'sms' ? ' (SMS)' : ''}`,
            }))}
            value={channelId}
            onChange={setChannelId}
          />
        </Group>
        {kind === 'email' && (
          <TextInput
            label="Subject"
            required
            value={subject}
            onChange={(e) => setSubject(e.currentTarget.value)}
          />
        )}
        <Textarea
          label="Message"
          description="Variables: {{contact.first_name}}, {{contact.last_name}}, {{sender.name}}, any contact field. E-mails get an unsubscribe link."
          autosize
          minRows={4}
          value={body}
          onChange={(e) => setBody(e.currentTarget.value)}
        />
        <SegmentPicker onChange={onSegment} />
        <Text role="status" aria-live="polite">
          {segmentError ??
            (preview.error
              ? errorOf(preview.error)
              : count === undefined
                ? 'Choose a segment to see how many contacts it reaches.'
                : `${count.toLocaleString()} contacts, ${preview.data!.reachable.toLocaleString()} reachable on this channel${tooMany ? ` — above the limit of ${preview.data!.limit.toLocaleString()}` : ''}`)}
        </Text>
        <Group grow align="end">
          <NumberInput
            label="Throttle (messages per minute)"
            description="Empty: as fast as the channel sends"
            min={1}
            value={perMinute}
            onChange={(v) => setPerMinute(typeof v === 'number' ? v : '')}
          />
          <TextInput
            label="Send at (empty: now)"
            type="datetime-local"
            value={at}
            onChange={(e) => setAt(e.currentTarget.value)}
          />
          <Switch
            label="Only contacts who gave consent"
            checked={consent}
            onChange={(e) => setConsent(e.currentTarget.checked)}
          />
        </Group>
        {send.error && <Alert color="red">{errorOf(send.error)}</Alert>}
        <Group>
          <Button
            onClick={() => send.mutate()}
            loading={send.isPending}
            disabled={!name.trim() || !channelId || !segment || !body.trim() || !count || Boolean(tooMany)}
          >
            {at ? 'Schedule' : 'Send now'}
          </Button>
        </Group>
      </Stack>
    </Paper>
  );
}

const RECIPIENT_STATUSES = [
  'queued',
  'sent',
  'delivered',
  'failed',
  'bounced',
  'unsubscribed',
  'skipped',
  'cancelled',
  'pending',
];

/** One broadcast: its message, counts per status, recipients, cancel. */
export function BroadcastPage() {
  const { id } = useParams({ strict: false }) as { id: string };
  const qc = useQueryClient();
  const [status, setStatus] = useState<string | null>(null);
  const one = useQuery({
    queryKey: ['broadcasts', id],
    queryFn: () => call(api.GET('/api/v1/broadcasts/{id}', { params: { path: { id } } })),
    refetchInterval: (q) =>
      q.state.data?.status === 'sending' || q.state.data?.status === 'scheduled' ? 3000 : false,
  });
  const recipients = useQuery({
    queryKey: ['broadcasts', id, 'recipients', status, one.data?.updated_at, one.data?.stats],
    queryFn: () =>
      call(
        api.GET('/api/v1/broadcasts/{id}/recipients', {
          params: { path: { id }, query: { limit: 200, ...(status ? { status: status as never } : {}) } },
        }),
      ),
  });
  const cancel = useMutation({
    mutationFn: () =>
      call(api.POST('/api/v1/broadcasts/{id}/cancel', { params: { path: { id } }, body: {} })),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['broadcasts'] }),
  });
  if (one.isPending) return <PageSkeleton />;
  const b = one.data as Broadcast | undefined;
  if (!b) return <Alert color="red">{errorOf(one.error)}</Alert>;
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1} size="h2">
          {b.name}
        </Title>
        <Group>
          <Badge color={STATUS_COLORS[b.status] ?? 'gray'} variant="light" size="lg">
            {b.status}
          </Badge>
          {(b.status === 'scheduled' || b.status === 'sending') && (
            <Button color="red" variant="light" onClick={() => cancel.mutate()} loading={cancel.isPending}>
              Cancel broadcast
            </Button>
          )}
        </Group>
      </Group>
      {cancel.error && <Alert color="red">{errorOf(cancel.error)}</Alert>}
      <Paper withBorder p="md">
        <Text size="sm" c="dimmed">
          {b.kind === 'sms' ? 'SMS' : 'E-mail'} · scheduled {when(b.scheduled_at)} · started{' '}
          {when(b.started_at)} · finished {when(b.finished_at)}
        </Text>
        {b.subject && <Text fw={600}>{b.subject}</Text>}
        <Text style={{ whiteSpace: 'pre-wrap' }}>{b.body}</Text>
      </Paper>
      <Group aria-label="Recipients per status">
        {Object.entries(b.stats).map(([s, n]) => (
          <Badge key={s} color={STATUS_COLORS[s] ?? 'gray'} variant="outline">
            {s}: {n}
          </Badge>
        ))}
      </Group>
      <Select
        label="Show recipients"
        placeholder="All"
        clearable
        data={RECIPIENT_STATUSES}
        value={status}
        onChange={setStatus}
        w={240}
      />
      {recipients.data?.data.length === 0 ? (
        <EmptyState title="No recipients here">They appear once the broadcast starts.</EmptyState>
      ) : (
        <Table striped aria-label="Recipients">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Contact</Table.Th>
              <Table.Th>Address</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th>Detail</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {recipients.data?.data.map((r) => (
              <Table.Tr key={r.id}>
                <Table.Td>
                  <Link to="/contacts/$id" params={{ id: r.contact_id }}>
                    {r.name ?? r.address ?? 'Contact'}
                  </Link>
                </Table.Td>
                <Table.Td>{r.address ?? '—'}</Table.Td>
                <Table.Td>
                  <Badge color={STATUS_COLORS[r.status] ?? 'gray'} variant="light">
                    {r.status}
                  </Badge>
                </Table.Td>
                <Table.Td>{r.detail ?? ''}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {recipients.data && recipients.data.total > recipients.data.data.length && (
        <Text size="sm" c="dimmed">
          Showing {recipients.data.data.length} of {recipients.data.total}
        </Text>
      )}
    </Stack>
  );
}
