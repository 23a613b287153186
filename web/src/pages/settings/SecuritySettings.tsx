import {
  Badge,
  Button,
  Code,
  Group,
  NumberInput,
  Paper,
  SegmentedControl,
  Select,
  Stack,
  Table,
  Text,
  Textarea,
  Title,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, call, type Schemas } from '../../api/client';
import { formatDate } from '../../lib/fields';
import { EmptyState, ErrorAlert } from '../../shell/states';

type Incident = Schemas['GuardIncident'];
type Settings = Schemas['GuardSettings']['data'][number];
type Metric = 'read' | 'export' | 'delete' | 'denied';
type Budget = { warn: number; block: number; window_seconds: number };

const METRICS: { key: Metric; label: string }[] = [
  { key: 'read', label: 'Records read' },
  { key: 'export', label: 'Records exported' },
  { key: 'delete', label: 'Records deleted or archived' },
  { key: 'denied', label: 'Refused requests on ids (403 / 404)' },
];

const windowText = (s: number) =>
  s % 3600 === 0 ? `${s / 3600} h` : s % 60 === 0 ? `${s / 60} min` : `${s} s`;
const n = (v: number) => v.toLocaleString();

/** One incident: who, what, the counts, the trace ids, and the admin's decision. */
function IncidentCard({ incident }: { incident: Incident }) {
  const queryClient = useQueryClient();
  const [note, setNote] = useState('');
  const resolve = useMutation({
    mutationFn: (action: 'unlock' | 'keep_locked') =>
      call(
        api.POST('/api/v1/guard/incidents/{id}/resolve', {
          params: { path: { id: incident.id } },
          body: { action, ...(note.trim() ? { note: note.trim() } : {}) },
        }),
      ),
    onSuccess: () => {
      notifications.show({ message: 'Incident resolved' });
      void queryClient.invalidateQueries({ queryKey: ['guard-incidents'] });
    },
  });
  const who =
    incident.subject.type === 'api_key' ? `API key “${incident.subject.label}”` : incident.subject.label;
  const canUnlock =
    incident.status === 'open' || (incident.resolution === 'kept_locked' && incident.subject.type === 'user');
  return (
    <Paper withBorder p="md" data-testid="guard-incident">
      <Group justify="space-between" align="flex-start">
        <Stack gap={4}>
          <Group gap="xs">
            <Text fw={600}>{who}</Text>
            <Badge color={incident.status === 'open' ? 'red' : 'gray'}>{incident.status}</Badge>
            {incident.locked && <Badge color="orange">locked</Badge>}
            {incident.resolution && <Badge variant="light">{incident.resolution.replace('_', ' ')}</Badge>}
          </Group>
          <Text size="sm">
            {n(incident.count)} {incident.metric_label} in {windowText(incident.window_seconds)} (block
            threshold {n(incident.block)}, role {incident.role})
          </Text>
          <Text size="xs" c="dimmed">
            Opened {formatDate(incident.opened_at)} · {incident.sessions_revoked} session(s) ended ·{' '}
            {incident.api_keys_revoked} API key(s) revoked
          </Text>
          <Text size="xs" c="dimmed">
            Counts:{' '}
            {METRICS.map((m) => `${m.label.toLowerCase()} ${n(incident.counts[m.key] ?? 0)}`).join(', ')}
          </Text>
          {incident.trace_ids.length > 0 && (
            <Text size="xs" c="dimmed">
              Latest trace ids: <Code>{incident.trace_ids.slice(-5).join(' ')}</Code>
            </Text>
          )}
          {incident.note && <Text size="sm">Note: {incident.note}</Text>}
        </Stack>
      </Group>
      {canUnlock && (
        <Stack gap="xs" mt="sm">
          <Textarea
            label="Note (kept in the audit log)"
            autosize
            minRows={1}
            value={note}
            onChange={(e) => setNote(e.currentTarget.value)}
          />
          <Group gap="xs">
            <Button size="xs" loading={resolve.isPending} onClick={() => resolve.mutate('unlock')}>
              {incident.subject.type === 'api_key' ? 'Resolve' : 'Unlock'}
            </Button>
            {incident.status === 'open' && (
              <Button size="xs" color="red" variant="light" onClick={() => resolve.mutate('keep_locked')}>
                Keep locked
              </Button>
            )}
          </Group>
          <ErrorAlert error={resolve.error} />
        </Stack>
      )}
    </Paper>
  );
}

function Incidents() {
  const [status, setStatus] = useState<'open' | 'all'>('open');
  const incidents = useQuery({
    queryKey: ['guard-incidents', status],
    queryFn: () =>
      call(
        api.GET('/api/v1/guard/incidents', {
          params: { query: status === 'open' ? { status: 'open' } : {} },
        }),
      ),
  });
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2} size="h4">
          Security incidents
        </Title>
        <SegmentedControl
          size="xs"
          value={status}
          onChange={(v) => setStatus(v as 'open' | 'all')}
          data={[
            { value: 'open', label: 'Open' },
            { value: 'all', label: 'All' },
          ]}
        />
      </Group>
      <Text size="sm" c="dimmed">
        The guard stops an account that reads, exports or deletes far more records than usual, or is refused
        too often: it locks the user (their sessions end, their API keys are revoked) until you review it
        here.
      </Text>
      <ErrorAlert error={incidents.error} />
      {incidents.data?.data.length === 0 && <EmptyState title="No incidents">Nothing to review.</EmptyState>}
      {incidents.data?.data.map((i) => (
        <IncidentCard key={i.id} incident={i} />
      ))}
    </Stack>
  );
}

/** The budgets of one role: warn, block and window per metric; saved together. */
function BudgetsForm({ settings }: { settings: Settings[] }) {
  const queryClient = useQueryClient();
  const [role, setRole] = useState(settings[0]?.role ?? 'user');
  const current = settings.find((s) => s.role === role);
  const [draft, setDraft] = useState<Record<Metric, Budget> | null>(null);
  useEffect(() => {
    if (!current) return;
    const b = current.budgets as Record<Metric, Budget>;
    setDraft(
      Object.fromEntries(
        METRICS.map((m) => [
          m.key,
          { warn: b[m.key].warn, block: b[m.key].block, window_seconds: b[m.key].window_seconds },
        ]),
      ) as Record<Metric, Budget>,
    );
  }, [current]);
  const save = useMutation({
    mutationFn: (budgets: Partial<Record<Metric, Budget | null>>) =>
      call(api.PUT('/api/v1/guard/settings', { body: { role, budgets } })),
    onSuccess: (data) => {
      queryClient.setQueryData(['guard-settings'], data);
      notifications.show({ message: `Budgets of ${role} saved` });
    },
  });
  if (!draft || !current) return null;
  const set = (m: Metric, field: keyof Budget, value: number) =>
    setDraft({ ...draft, [m]: { ...draft[m], [field]: value } });
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate(draft);
      }}
    >
      <Stack>
        <Select
          label="Role"
          w={220}
          data={settings.map((s) => s.role)}
          value={role}
          onChange={(v) => v && setRole(v)}
        />
        <Table>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Budget</Table.Th>
              <Table.Th>Warn at</Table.Th>
              <Table.Th>Block past</Table.Th>
              <Table.Th>Window (minutes)</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {METRICS.map((m) => (
              <Table.Tr key={m.key}>
                <Table.Td>{m.label}</Table.Td>
                <Table.Td>
                  <NumberInput
                    aria-label={`${m.label}: warn at`}
                    min={1}
                    thousandSeparator=","
                    value={draft[m.key].warn}
                    onChange={(v) => set(m.key, 'warn', Number(v) || 1)}
                  />
                </Table.Td>
                <Table.Td>
                  <NumberInput
                    aria-label={`${m.label}: block past`}
                    min={1}
                    thousandSeparator=","
                    value={draft[m.key].block}
                    onChange={(v) => set(m.key, 'block', Number(v) || 1)}
                  />
                </Table.Td>
                <Table.Td>
                  <NumberInput
                    aria-label={`${m.label}: window in minutes`}
                    min={1}
                    max={1440}
                    value={Math.max(1, Math.round(draft[m.key].window_seconds / 60))}
                    onChange={(v) => set(m.key, 'window_seconds', Math.max(1, Number(v) || 1) * 60)}
                  />
                </Table.Td>
                <Table.Td>
                  {(current.budgets as Record<Metric, { is_default: boolean }>)[m.key].is_default ? (
                    <Text size="xs" c="dimmed">
                      default
                    </Text>
                  ) : (
                    <Button size="compact-xs" variant="subtle" onClick={() => save.mutate({ [m.key]: null })}>
                      Reset
                    </Button>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
        <Group>
          <Button type="submit" loading={save.isPending}>
            Save budgets
          </Button>
        </Group>
        <ErrorAlert error={save.error} />
      </Stack>
    </form>
  );
}

/** Settings → Security: the guard's incidents to review and its budgets per role. */
export function SecuritySettings() {
  const settings = useQuery({
    queryKey: ['guard-settings'],
    queryFn: () => call(api.GET('/api/v1/guard/settings')),
  });
  return (
    <Stack>
      <Incidents />
      <Paper withBorder p="md">
        <Title order={2} size="h4" mb="xs">
          Guard budgets
        </Title>
        <Text size="sm" c="dimmed" mb="sm">
          Per user and per API key, over a rolling window. Reaching “warn at” notifies the admins; going past
          “block past” refuses the action and opens an incident.
        </Text>
        <ErrorAlert error={settings.error} />
        {settings.data && <BudgetsForm settings={settings.data.data} />}
      </Paper>
    </Stack>
  );
}
