import {
  Anchor,
  Badge,
  Button,
  Checkbox,
  CopyButton,
  Group,
  MultiSelect,
  NumberInput,
  Paper,
  PasswordInput,
  Select,
  Stack,
  Table,
  Tabs,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { api, call, type Schemas } from '../../api/client';
import { membersQuery } from '../../lib/query';
import { ErrorAlert } from '../../shell/states';

const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const zones = (): string[] =>
  (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.('timeZone') ?? [
    'UTC',
  ];
const fail = (e: Error) => notifications.show({ color: 'red', message: e.message });

/**
 * Scheduling (issue 33): the member's availability, the organization's meeting types and their
 * booking pages, the member's bookings, and their CalDAV calendar.
 */
export function SchedulingPage() {
  return (
    <Stack>
      <Title order={1} size="h2">
        Scheduling
      </Title>
      <Tabs defaultValue="availability" keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="availability">My availability</Tabs.Tab>
          <Tabs.Tab value="types">Meeting types</Tabs.Tab>
          <Tabs.Tab value="bookings">My bookings</Tabs.Tab>
          <Tabs.Tab value="calendar">Calendar</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="availability" pt="md">
          <AvailabilityPanel />
        </Tabs.Panel>
        <Tabs.Panel value="types" pt="md">
          <MeetingTypesPanel />
        </Tabs.Panel>
        <Tabs.Panel value="bookings" pt="md">
          <BookingsPanel />
        </Tabs.Panel>
        <Tabs.Panel value="calendar" pt="md">
          <CalendarPanel />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}

type Day = { on: boolean; start: string; end: string };

function AvailabilityPanel() {
  const queryClient = useQueryClient();
  const current = useQuery({
    queryKey: ['availability'],
    queryFn: () => call(api.GET('/api/v1/me/availability')),
  });
  const [zone, setZone] = useState(Intl.DateTimeFormat().resolvedOptions().timeZone);
  const [days, setDays] = useState<Day[]>(DAYS.map((_, i) => ({ on: i < 5, start: '09:00', end: '17:00' })));
  const [before, setBefore] = useState<number>(0);
  const [after, setAfter] = useState<number>(0);
  const [notice, setNotice] = useState<number>(60);
  const [cap, setCap] = useState<number | ''>('');
  const [offDates, setOffDates] = useState('');
  useEffect(() => {
    const a = current.data;
    if (!a?.updated_at) return;
    setZone(a.time_zone);
    setDays(
      DAYS.map((_, i) => {
        const span = a.weekly[String(i + 1)]?.[0];
        return span
          ? { on: true, start: span.start, end: span.end }
          : { on: false, start: '09:00', end: '17:00' };
      }),
    );
    setBefore(a.buffer_before_minutes);
    setAfter(a.buffer_after_minutes);
    setNotice(a.min_notice_minutes);
    setCap(a.max_per_day ?? '');
    setOffDates(
      a.overrides
        .filter((o) => o.spans.length === 0)
        .map((o) => o.date)
        .join(', '),
    );
  }, [current.data]);
  const save = useMutation({
    mutationFn: () =>
      call(
        api.PUT('/api/v1/me/availability', {
          body: {
            time_zone: zone,
            weekly: Object.fromEntries(
              days.map((d, i) => [String(i + 1), d.on ? [{ start: d.start, end: d.end }] : []]),
            ),
            overrides: offDates
              .split(/[\s,]+/)
              .filter(Boolean)
              .map((date) => ({ date, spans: [] })),
            buffer_before_minutes: before,
            buffer_after_minutes: after,
            min_notice_minutes: notice,
            max_per_day: cap === '' ? null : cap,
          },
        }),
      ),
    onSuccess: () => {
      notifications.show({ message: 'Availability saved' });
      void queryClient.invalidateQueries({ queryKey: ['availability'] });
    },
    onError: fail,
  });
  return (
    <Paper withBorder p="md">
      {current.error && <ErrorAlert error={current.error} />}
      <Stack gap="sm" maw={640}>
        <Select label="Time zone" searchable data={zones()} value={zone} onChange={(v) => v && setZone(v)} />
        {days.map((d, i) => (
          <Group key={DAYS[i]} gap="sm">
            <Checkbox
              w={130}
              label={DAYS[i]}
              checked={d.on}
              onChange={(e) =>
                setDays(days.map((x, j) => (j === i ? { ...x, on: e.currentTarget.checked } : x)))
              }
            />
            <TextInput
              aria-label={`${DAYS[i]} from`}
              type="time"
              disabled={!d.on}
              value={d.start}
              onChange={(e) =>
                setDays(days.map((x, j) => (j === i ? { ...x, start: e.currentTarget.value } : x)))
              }
            />
            <TextInput
              aria-label={`${DAYS[i]} to`}
              type="time"
              disabled={!d.on}
              value={d.end}
              onChange={(e) =>
                setDays(days.map((x, j) => (j === i ? { ...x, end: e.currentTarget.value } : x)))
              }
            />
          </Group>
        ))}
        <Group grow>
          <NumberInput
            label="Buffer before (min)"
            min={0}
            max={240}
            value={before}
            onChange={(v) => setBefore(Number(v) || 0)}
          />
          <NumberInput
            label="Buffer after (min)"
            min={0}
            max={240}
            value={after}
            onChange={(v) => setAfter(Number(v) || 0)}
          />
          <NumberInput
            label="Minimum notice (min)"
            min={0}
            value={notice}
            onChange={(v) => setNotice(Number(v) || 0)}
          />
          <NumberInput
            label="Max meetings a day"
            min={1}
            max={100}
            value={cap}
            onChange={(v) => setCap(v === '' ? '' : Number(v))}
          />
        </Group>
        <TextInput
          label="Days off"
          description="Dates as YYYY-MM-DD, separated by commas"
          value={offDates}
          onChange={(e) => setOffDates(e.currentTarget.value)}
        />
        <Group>
          <Button loading={save.isPending} onClick={() => save.mutate()}>
            Save availability
          </Button>
        </Group>
      </Stack>
    </Paper>
  );
}

function MeetingTypesPanel() {
  const queryClient = useQueryClient();
  const types = useQuery({
    queryKey: ['meeting-types'],
    queryFn: () => call(api.GET('/api/v1/meeting-types')),
  });
  const members = useQuery(membersQuery);
  const [name, setName] = useState('');
  const [duration, setDuration] = useState<number>(30);
  const [location, setLocation] = useState('');
  const [video, setVideo] = useState('');
  const [assignment, setAssignment] = useState<'single' | 'round_robin' | 'collective'>('single');
  const [hosts, setHosts] = useState<string[]>([]);
  const [question, setQuestion] = useState('');
  const create = useMutation({
    mutationFn: () =>
      call(
        api.POST('/api/v1/meeting-types', {
          body: {
            name,
            duration_minutes: duration,
            location: location || null,
            video_url: video || null,
            assignment,
            host_ids: hosts,
            questions: question ? [{ key: 'question', label: question, required: false }] : [],
          },
        }),
      ),
    onSuccess: () => {
      setName('');
      void queryClient.invalidateQueries({ queryKey: ['meeting-types'] });
    },
    onError: fail,
  });
  const archive = useMutation({
    mutationFn: (id: string) => call(api.DELETE('/api/v1/meeting-types/{id}', { params: { path: { id } } })),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['meeting-types'] }),
    onError: fail,
  });
  const memberName = (id: string) => members.data?.data.find((m) => m.user_id === id)?.name ?? id;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <Stack>
      <Paper withBorder p="md">
        {types.error && <ErrorAlert error={types.error} />}
        <Table>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Meeting</Table.Th>
              <Table.Th>Hosts</Table.Th>
              <Table.Th>Booking page</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {(types.data?.data ?? [])
              .filter((t) => !t.archived_at)
              .map((t) => (
                <Table.Tr key={t.id}>
                  <Table.Td>
                    {t.name}
                    <Text size="xs" c="dimmed">
                      {t.duration_minutes} min · {t.assignment.replace('_', ' ')}
                    </Text>
                  </Table.Td>
                  <Table.Td>{t.host_ids.map(memberName).join(', ')}</Table.Td>
                  <Table.Td>
                    <Group gap="xs">
                      <Anchor href={t.booking_url} target="_blank" rel="noreferrer" size="sm">
                        Open
                      </Anchor>
                      <CopyButton value={t.booking_url}>
                        {({ copied, copy }) => (
                          <Button size="xs" variant="subtle" onClick={copy}>
                            {copied ? 'Copied' : 'Copy link'}
                          </Button>
                        )}
                      </CopyButton>
                    </Group>
                  </Table.Td>
                  <Table.Td>
                    <Button size="xs" variant="subtle" color="red" onClick={() => archive.mutate(t.id)}>
                      Archive
                    </Button>
                  </Table.Td>
                </Table.Tr>
              ))}
          </Table.Tbody>
        </Table>
      </Paper>
      <Paper withBorder p="md" component="form" onSubmit={submit}>
        <Stack gap="sm" maw={640}>
          <Title order={4}>New meeting type (admins)</Title>
          <TextInput label="Name" required value={name} onChange={(e) => setName(e.currentTarget.value)} />
          <NumberInput
            label="Duration (min)"
            min={5}
            max={480}
            value={duration}
            onChange={(v) => setDuration(Number(v) || 30)}
          />
          <TextInput label="Location" value={location} onChange={(e) => setLocation(e.currentTarget.value)} />
          <TextInput label="Video link" value={video} onChange={(e) => setVideo(e.currentTarget.value)} />
          <Select
            label="Hosts are booked"
            data={[
              { value: 'single', label: 'One member' },
              { value: 'round_robin', label: 'Round robin (least recently booked first)' },
              { value: 'collective', label: 'Collective (everyone free, everyone attends)' },
            ]}
            value={assignment}
            onChange={(v) => v && setAssignment(v as typeof assignment)}
          />
          <MultiSelect
            label="Hosts"
            data={(members.data?.data ?? []).map((m) => ({ value: m.user_id, label: m.name }))}
            value={hosts}
            onChange={setHosts}
          />
          <TextInput
            label="A question to ask (optional)"
            value={question}
            onChange={(e) => setQuestion(e.currentTarget.value)}
          />
          <Group>
            <Button type="submit" loading={create.isPending}>
              Create
            </Button>
          </Group>
        </Stack>
      </Paper>
    </Stack>
  );
}

function BookingsPanel() {
  const queryClient = useQueryClient();
  const bookings = useQuery({ queryKey: ['bookings'], queryFn: () => call(api.GET('/api/v1/bookings')) });
  const cancel = useMutation({
    mutationFn: (id: string) => call(api.POST('/api/v1/bookings/{id}/cancel', { params: { path: { id } } })),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['bookings'] }),
    onError: fail,
  });
  const list: Schemas['Booking'][] = bookings.data?.data ?? [];
  return (
    <Paper withBorder p="md">
      {bookings.error && <ErrorAlert error={bookings.error} />}
      {list.length === 0 ? (
        <Text c="dimmed" size="sm">
          No upcoming bookings.
        </Text>
      ) : (
        <Table>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>When</Table.Th>
              <Table.Th>Who</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {list.map((b) => (
              <Table.Tr key={b.id}>
                <Table.Td>{new Date(b.start).toLocaleString()}</Table.Td>
                <Table.Td>
                  <Anchor href={`/contacts/${b.contact_id}`}>{b.name}</Anchor>
                  <Text size="xs" c="dimmed">
                    {b.email}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <Badge color={b.status === 'confirmed' ? 'green' : 'gray'}>{b.status}</Badge>
                </Table.Td>
                <Table.Td>
                  {b.status === 'confirmed' && (
                    <Button size="xs" variant="subtle" color="red" onClick={() => cancel.mutate(b.id)}>
                      Cancel
                    </Button>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Paper>
  );
}

function CalendarPanel() {
  const queryClient = useQueryClient();
  const calendar = useQuery({ queryKey: ['calendar'], queryFn: () => call(api.GET('/api/v1/me/calendar')) });
  const [server, setServer] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ['calendar'] });
  const connect = useMutation({
    mutationFn: () =>
      call(api.PUT('/api/v1/me/calendar', { body: { server_url: server, username, password } })),
    onSuccess: () => {
      setPassword('');
      refresh();
    },
    onError: fail,
  });
  const sync = useMutation({
    mutationFn: () => call(api.POST('/api/v1/me/calendar/sync')),
    onSuccess: refresh,
    onError: fail,
  });
  const disconnect = useMutation({
    mutationFn: () => call(api.DELETE('/api/v1/me/calendar')),
    onSuccess: refresh,
    onError: fail,
  });
  const c = calendar.data;
  return (
    <Paper withBorder p="md">
      {calendar.error && <ErrorAlert error={calendar.error} />}
      {c?.connected ? (
        <Stack gap="xs">
          <Text>
            Connected: <code>{c.calendar_url}</code> as {c.username}
          </Text>
          <Text size="sm" c="dimmed">
            Last read {c.last_synced_at ? new Date(c.last_synced_at).toLocaleString() : 'never'} ·{' '}
            {c.busy.length} busy times ahead
          </Text>
          {c.last_error && (
            <Text size="sm" c="red">
              {c.last_error}
            </Text>
          )}
          <Group>
            <Button variant="default" loading={sync.isPending} onClick={() => sync.mutate()}>
              Read now
            </Button>
            <Button variant="subtle" color="red" onClick={() => disconnect.mutate()}>
              Disconnect
            </Button>
          </Group>
        </Stack>
      ) : (
        <Stack gap="sm" maw={520}>
          <Text size="sm" c="dimmed">
            Connect a CalDAV calendar (Nextcloud, Fastmail, iCloud with an app password, Radicale...): its
            busy times block your slots and your bookings are written to it.
          </Text>
          <TextInput label="Server URL" value={server} onChange={(e) => setServer(e.currentTarget.value)} />
          <TextInput
            label="User name"
            value={username}
            onChange={(e) => setUsername(e.currentTarget.value)}
          />
          <PasswordInput
            label="Password"
            value={password}
            onChange={(e) => setPassword(e.currentTarget.value)}
          />
          <Group>
            <Button loading={connect.isPending} onClick={() => connect.mutate()}>
              Connect
            </Button>
          </Group>
        </Stack>
      )}
    </Paper>
  );
}
