import {
  Badge,
  Button,
  Group,
  Paper,
  SegmentedControl,
  Stack,
  Table,
  Tabs,
  Text,
  Title,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call } from '../../api/client';
import { ErrorAlert } from '../../shell/states';
import { DeliveryLog } from '../settings/WebhooksSettings';

const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : '—');
const failed = (e: Error) => notifications.show({ color: 'red', message: e.message });

const KIND_LABELS: Record<string, string> = {
  smtp: 'Sending mail (SMTP)',
  imap: 'Mailbox sync (IMAP)',
  provider: 'E-mail provider (SendGrid, Postmark, Mailgun)',
  twilio: 'SMS (Twilio)',
  meta: 'Messenger / Instagram (Meta)',
  webhook: 'Webhook',
  caldav: 'Calendar (CalDAV)',
  stripe: 'Payments (Stripe)',
  ai: 'AI provider',
  api_key: 'API key',
};
const STATE_LABELS: Record<string, string> = {
  ok: 'Configured',
  missing_credentials: 'Missing credentials',
  expiring_token: 'Expiring soon',
  expired_token: 'Expired',
  disabled: 'Turned off',
};
const STATUS_COLORS: Record<string, string> = { healthy: 'teal', failing: 'red', unknown: 'gray' };

/**
 * The ops console (issue 30), for admins: whether each integration works (last success, last
 * error, errors in the last 24 hours, its configuration), the alerts it raised (one per problem,
 * however often it recurs) to acknowledge, snooze or resolve, the job queue with retry, webhook
 * deliveries with redrive, and API usage per key and member.
 */
export function OpsPage() {
  const [tab, setTab] = useState<string | null>('health');
  return (
    <Stack>
      <Title order={1}>Ops console</Title>
      <Tabs value={tab} onChange={setTab}>
        <Tabs.List>
          <Tabs.Tab value="health">Integrations</Tabs.Tab>
          <Tabs.Tab value="alerts">Alerts</Tabs.Tab>
          <Tabs.Tab value="jobs">Jobs</Tabs.Tab>
          <Tabs.Tab value="webhooks">Webhook deliveries</Tabs.Tab>
          <Tabs.Tab value="usage">API usage</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="health" pt="md">
          {tab === 'health' && <Health />}
        </Tabs.Panel>
        <Tabs.Panel value="alerts" pt="md">
          {tab === 'alerts' && <Alerts />}
        </Tabs.Panel>
        <Tabs.Panel value="jobs" pt="md">
          {tab === 'jobs' && <Jobs />}
        </Tabs.Panel>
        <Tabs.Panel value="webhooks" pt="md">
          {tab === 'webhooks' && <WebhookDeliveries />}
        </Tabs.Panel>
        <Tabs.Panel value="usage" pt="md">
          {tab === 'usage' && <Usage />}
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}

function Health() {
  const list = useQuery({
    queryKey: ['ops', 'integrations'],
    queryFn: () => call(api.GET('/api/v1/ops/integrations')),
  });
  if (list.error) return <ErrorAlert error={list.error} />;
  const rows = list.data?.data ?? [];
  return (
    <Paper withBorder p="md">
      {rows.length === 0 ? (
        <Text c="dimmed" size="sm">
          No integration is set up yet: mail and SMS channels, webhooks, calendars and the AI provider show
          here.
        </Text>
      ) : (
        <Table aria-label="Integration health">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Integration</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th>Last success</Table.Th>
              <Table.Th>Last error</Table.Th>
              <Table.Th>Errors, 24 h</Table.Th>
              <Table.Th>Configuration</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((r) => (
              <Table.Tr key={`${r.kind}:${r.ref}`} data-testid={`integration-${r.kind}-${r.ref}`}>
                <Table.Td>
                  <Text size="sm" fw={500}>
                    {r.name}
                  </Text>
                  <Text size="xs" c="dimmed">
                    {KIND_LABELS[r.kind] ?? r.kind}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <Badge color={STATUS_COLORS[r.status]}>{r.status}</Badge>
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{when(r.last_success_at)}</Text>
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{when(r.last_error_at)}</Text>
                  {r.last_error && (
                    <Text size="xs" c="dimmed" lineClamp={2}>
                      {r.last_error}
                    </Text>
                  )}
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{r.errors_by_hour.reduce((n, h) => n + h.errors, 0)}</Text>
                </Table.Td>
                <Table.Td>
                  <Badge color={r.config_state === 'ok' ? 'gray' : 'orange'} variant="light">
                    {STATE_LABELS[r.config_state]}
                  </Badge>
                  {r.config_detail && (
                    <Text size="xs" c="dimmed">
                      {r.config_detail}
                    </Text>
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

function Alerts() {
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<'active' | 'resolved' | 'all'>('active');
  const list = useQuery({
    queryKey: ['ops', 'alerts', status],
    queryFn: () => call(api.GET('/api/v1/ops/alerts', { params: { query: { status } } })),
  });
  const done = () => void queryClient.invalidateQueries({ queryKey: ['ops', 'alerts'] });
  const act = useMutation({
    mutationFn: ({ id, verb }: { id: string; verb: 'acknowledge' | 'resolve' | 'snooze' }) =>
      verb === 'snooze'
        ? call(
            api.POST('/api/v1/ops/alerts/{id}/snooze', {
              params: { path: { id } },
              body: { until: new Date(Date.now() + 4 * 3_600_000).toISOString() },
            }),
          )
        : verb === 'acknowledge'
          ? call(api.POST('/api/v1/ops/alerts/{id}/acknowledge', { params: { path: { id } } }))
          : call(api.POST('/api/v1/ops/alerts/{id}/resolve', { params: { path: { id } } })),
    onSuccess: done,
    onError: failed,
  });
  const rows = list.data?.data ?? [];
  return (
    <Paper withBorder p="md">
      <Group justify="space-between" mb="sm">
        <Text size="sm" c="dimmed">
          One alert per problem, however often it happens; it resolves itself when the integration works
          again.
        </Text>
        <SegmentedControl
          aria-label="Which alerts"
          value={status}
          onChange={(v) => setStatus(v as typeof status)}
          data={[
            { value: 'active', label: 'Active' },
            { value: 'resolved', label: 'Resolved' },
            { value: 'all', label: 'All' },
          ]}
        />
      </Group>
      {list.error && <ErrorAlert error={list.error} />}
      {rows.length === 0 ? (
        <Text c="dimmed" size="sm">
          {status === 'active' ? 'No active alert: everything works.' : 'No alert here.'}
        </Text>
      ) : (
        <Table aria-label="Alerts">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Alert</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th>Times</Table.Th>
              <Table.Th>Last seen</Table.Th>
              <Table.Th>Actions</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((a) => (
              <Table.Tr key={a.id} data-testid="ops-alert">
                <Table.Td>
                  <Text size="sm" fw={500}>
                    {a.title}
                  </Text>
                  {a.detail && (
                    <Text size="xs" c="dimmed" lineClamp={2}>
                      {a.detail}
                    </Text>
                  )}
                </Table.Td>
                <Table.Td>
                  <Badge
                    data-testid="ops-alert-status"
                    color={a.status === 'open' ? 'red' : a.status === 'resolved' ? 'teal' : 'yellow'}
                  >
                    {a.status}
                  </Badge>
                  {a.status === 'snoozed' && (
                    <Text size="xs" c="dimmed">
                      until {when(a.snoozed_until)}
                    </Text>
                  )}
                </Table.Td>
                <Table.Td>
                  <Text size="sm" data-testid="ops-alert-count">
                    {a.count}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{when(a.last_seen_at)}</Text>
                </Table.Td>
                <Table.Td>
                  {a.status !== 'resolved' && (
                    <Group gap="xs">
                      {a.status !== 'acknowledged' && (
                        <Button
                          size="xs"
                          variant="light"
                          onClick={() => act.mutate({ id: a.id, verb: 'acknowledge' })}
                        >
                          Acknowledge
                        </Button>
                      )}
                      <Button
                        size="xs"
                        variant="default"
                        onClick={() => act.mutate({ id: a.id, verb: 'snooze' })}
                      >
                        Snooze 4 h
                      </Button>
                      <Button
                        size="xs"
                        variant="default"
                        onClick={() => act.mutate({ id: a.id, verb: 'resolve' })}
                      >
                        Resolve
                      </Button>
                    </Group>
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

function Jobs() {
  const queryClient = useQueryClient();
  const jobs = useQuery({ queryKey: ['ops', 'jobs'], queryFn: () => call(api.GET('/api/v1/ops/jobs')) });
  const done = () => void queryClient.invalidateQueries({ queryKey: ['ops', 'jobs'] });
  const retry = useMutation({
    mutationFn: (id: string) => call(api.POST('/api/v1/ops/jobs/{id}/retry', { params: { path: { id } } })),
    onSuccess: done,
    onError: failed,
  });
  const redrive = useMutation({
    mutationFn: (id: string) => call(api.POST('/api/v1/webhooks/{id}/redrive', { params: { path: { id } } })),
    onSuccess: (r) => {
      notifications.show({ message: `${r.redriven} deliveries queued again` });
      done();
    },
    onError: failed,
  });
  if (jobs.error) return <ErrorAlert error={jobs.error} />;
  const data = jobs.data;
  const pivot = (rows: { queue: string; state: string; count: number }[]) => {
    const byQueue = new Map<string, Record<string, number>>();
    for (const r of rows) byQueue.set(r.queue, { ...byQueue.get(r.queue), [r.state]: r.count });
    return [...byQueue];
  };
  const states = ['created', 'retry', 'active', 'failed', 'completed'];
  const stateLabel: Record<string, string> = {
    created: 'Queued',
    retry: 'Retrying',
    active: 'Running',
    failed: 'Failed',
    completed: 'Done',
  };
  const countsTable = (label: string, rows: { queue: string; state: string; count: number }[]) => (
    <Table aria-label={label}>
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Queue</Table.Th>
          {states.map((s) => (
            <Table.Th key={s}>{stateLabel[s]}</Table.Th>
          ))}
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {pivot(rows).map(([queue, counts]) => (
          <Table.Tr key={queue}>
            <Table.Td>
              <Text size="sm">{queue}</Text>
            </Table.Td>
            {states.map((s) => (
              <Table.Td key={s}>
                <Text size="sm">{counts[s] ?? 0}</Text>
              </Table.Td>
            ))}
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
  return (
    <Stack>
      <Paper withBorder p="md">
        <Title order={2} size="h4" mb="xs">
          This organization's jobs
        </Title>
        {data && data.organization.length === 0 ? (
          <Text size="sm" c="dimmed">
            No job of this organization is queued, running or kept.
          </Text>
        ) : (
          countsTable("This organization's jobs", data?.organization ?? [])
        )}
      </Paper>
      <Paper withBorder p="md">
        <Title order={2} size="h4" mb="xs">
          Failed jobs
        </Title>
        {(data?.failed.length ?? 0) === 0 ? (
          <Text size="sm" c="dimmed">
            No failed job.
          </Text>
        ) : (
          <Table aria-label="Failed jobs">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Queue</Table.Th>
                <Table.Th>Failed</Table.Th>
                <Table.Th>Error</Table.Th>
                <Table.Th>Actions</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {data?.failed.map((j) => (
                <Table.Tr key={j.id}>
                  <Table.Td>
                    <Text size="sm">{j.queue}</Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{when(j.failed_at)}</Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="xs">{j.error ?? '—'}</Text>
                  </Table.Td>
                  <Table.Td>
                    <Button size="xs" onClick={() => retry.mutate(j.id)}>
                      Retry
                    </Button>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </Paper>
      <Paper withBorder p="md">
        <Title order={2} size="h4" mb="xs">
          Webhook dead letters
        </Title>
        {(data?.webhook_dead_letters.length ?? 0) === 0 ? (
          <Text size="sm" c="dimmed">
            No webhook delivery is waiting for a redrive.
          </Text>
        ) : (
          <Table aria-label="Webhook dead letters">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Webhook</Table.Th>
                <Table.Th>Dead deliveries</Table.Th>
                <Table.Th>Actions</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {data?.webhook_dead_letters.map((d) => (
                <Table.Tr key={d.subscription_id}>
                  <Table.Td>
                    <Text size="sm">{d.target_url}</Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{d.dead}</Text>
                  </Table.Td>
                  <Table.Td>
                    <Button size="xs" onClick={() => redrive.mutate(d.subscription_id)}>
                      Redrive all
                    </Button>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </Paper>
      <Paper withBorder p="md">
        <Title order={2} size="h4" mb="xs">
          The whole install
        </Title>
        {countsTable('Jobs of the whole install', data?.install ?? [])}
      </Paper>
    </Stack>
  );
}

function WebhookDeliveries() {
  const hooks = useQuery({ queryKey: ['webhooks'], queryFn: () => call(api.GET('/api/v1/webhooks')) });
  const [open, setOpen] = useState<string | null>(null);
  if (hooks.error) return <ErrorAlert error={hooks.error} />;
  const list = hooks.data?.data ?? [];
  if (hooks.data && list.length === 0)
    return (
      <Text size="sm" c="dimmed">
        No webhook yet (Settings, Webhooks).
      </Text>
    );
  return (
    <Stack>
      <Group gap="xs">
        {list.map((h) => (
          <Button
            key={h.id}
            size="xs"
            variant={open === h.id ? 'filled' : 'light'}
            onClick={() => setOpen(open === h.id ? null : h.id)}
          >
            {h.target_url}
          </Button>
        ))}
      </Group>
      {open && <DeliveryLog id={open} />}
    </Stack>
  );
}

function Usage() {
  const [granularity, setGranularity] = useState<'day' | 'hour'>('day');
  const usage = useQuery({
    queryKey: ['ops', 'usage', granularity],
    queryFn: () =>
      call(
        api.GET('/api/v1/ops/api-usage', {
          params: { query: { granularity, days: granularity === 'day' ? 30 : 2 } },
        }),
      ),
  });
  const rows = usage.data?.rows ?? [];
  return (
    <Paper withBorder p="md">
      <Group justify="space-between" mb="sm">
        <Text size="sm" c="dimmed">
          Requests to the API per API key and per member (counted per hour, updated every 15 seconds).
        </Text>
        <SegmentedControl
          aria-label="Per hour or per day"
          value={granularity}
          onChange={(v) => setGranularity(v as typeof granularity)}
          data={[
            { value: 'day', label: 'Per day' },
            { value: 'hour', label: 'Per hour' },
          ]}
        />
      </Group>
      {usage.error && <ErrorAlert error={usage.error} />}
      {rows.length === 0 ? (
        <Text size="sm" c="dimmed">
          No request counted yet.
        </Text>
      ) : (
        <Table aria-label="API usage">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{granularity === 'day' ? 'Day' : 'Hour'}</Table.Th>
              <Table.Th>Who</Table.Th>
              <Table.Th>Requests</Table.Th>
              <Table.Th>Errors</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((r) => (
              <Table.Tr key={`${r.period}:${r.principal_type}:${r.principal_id}`}>
                <Table.Td>
                  <Text size="sm">
                    {granularity === 'day' ? new Date(r.period).toLocaleDateString() : when(r.period)}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{r.name}</Text>
                  <Text size="xs" c="dimmed">
                    {r.principal_type === 'api_key' ? 'API key' : 'Member'}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{r.requests}</Text>
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{r.errors}</Text>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Paper>
  );
}
