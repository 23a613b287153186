import {
  Alert,
  Badge,
  Button,
  Code,
  Drawer,
  Group,
  Modal,
  Paper,
  Select,
  Stack,
  Table,
  Tabs,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { useState } from 'react';
import { type ApiError, api, call, type Schemas } from '../../api/client';
import { objectsQuery } from '../../lib/query';
import { EmptyState, PageSkeleton } from '../../shell/states';

type WorkflowItem = Schemas['WorkflowList']['data'][number];
type RunItem = Schemas['WorkflowRunPage']['data'][number];
type RunDetail = Schemas['WorkflowRun'];

const STATUS_COLORS: Record<string, string> = {
  active: 'green',
  draft: 'gray',
  paused: 'yellow',
  running: 'blue',
  waiting: 'cyan',
  completed: 'green',
  failed: 'red',
  cancelled: 'gray',
  skipped: 'orange',
  queued: 'blue',
};
export const StatusBadge = ({ status }: { status: string }) => (
  <Badge color={STATUS_COLORS[status] ?? 'gray'} variant="light">
    {status}
  </Badge>
);

const TRIGGER_WORDS: Record<string, string> = {
  record_created: 'Record created',
  record_updated: 'Record updated',
  tag_added: 'Tag added',
  tag_removed: 'Tag removed',
  stage_changed: 'Stage changed',
  opportunity_won: 'Opportunity won',
  opportunity_lost: 'Opportunity lost',
  task_overdue: 'Task overdue',
  schedule: 'Schedule',
  manual: 'Started by hand',
};

/** A new workflow's name and object: it starts as a draft with a trigger and no step. */
function NewWorkflow({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const navigate = useNavigate();
  const objects = useQuery(objectsQuery).data?.data ?? [];
  const [name, setName] = useState('');
  const [object, setObject] = useState<string | null>('contact');
  const create = useMutation({
    mutationFn: () =>
      call(
        api.POST('/api/v1/workflows', {
          body: {
            name,
            object: object ?? 'contact',
            definition: {
              trigger: { type: 'record_created' },
              start: null,
              steps: [],
              reenrollment: 'after_completion',
            },
          },
        }),
      ),
    onSuccess: (w) => navigate({ to: '/workflows/$id', params: { id: w.id } }),
  });
  return (
    <Modal opened={opened} onClose={onClose} title="New workflow">
      <Stack>
        <TextInput
          label="Name"
          value={name}
          onChange={(e) => setName(e.currentTarget.value)}
          data-autofocus
          required
        />
        <Select
          label="Runs on"
          data={objects.filter((o) => o.key !== 'note').map((o) => ({ value: o.key, label: o.label_plural }))}
          value={object}
          onChange={setObject}
          allowDeselect={false}
        />
        {create.error && <Alert color="red">{(create.error as Error).message}</Alert>}
        <Button onClick={() => create.mutate()} loading={create.isPending} disabled={!name.trim()}>
          Create and open the builder
        </Button>
      </Stack>
    </Modal>
  );
}

function WorkflowList() {
  const [creating, setCreating] = useState(false);
  const list = useQuery({ queryKey: ['workflows'], queryFn: () => call(api.GET('/api/v1/workflows')) });
  if (list.isPending) return <PageSkeleton />;
  const rows: WorkflowItem[] = list.data?.data ?? [];
  return (
    <Stack>
      <Group justify="flex-end">
        <Button onClick={() => setCreating(true)}>New workflow</Button>
      </Group>
      <NewWorkflow opened={creating} onClose={() => setCreating(false)} />
      {rows.length === 0 ? (
        <EmptyState title="No workflow yet">
          Automate the follow-up: when something happens to a record, wait, check, and act.
        </EmptyState>
      ) : (
        <Table striped highlightOnHover>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>Runs on</Table.Th>
              <Table.Th>Trigger</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th>Version</Table.Th>
              <Table.Th>Runs (open / failed / all)</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((w) => (
              <Table.Tr key={w.id} data-testid="workflow-row">
                <Table.Td>
                  <Link to="/workflows/$id" params={{ id: w.id }}>
                    {w.name}
                  </Link>
                </Table.Td>
                <Table.Td>{w.object}</Table.Td>
                <Table.Td>{TRIGGER_WORDS[w.trigger_type] ?? w.trigger_type}</Table.Td>
                <Table.Td>
                  <StatusBadge status={w.status} />
                </Table.Td>
                <Table.Td>{w.version}</Table.Td>
                <Table.Td>
                  <Link to="/workflows" search={{ tab: 'runs', workflow: w.id }}>
                    {w.runs.open} / {w.runs.failed} / {w.runs.total}
                  </Link>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}

/** One run: its trigger, each step's input, output, status, timings and error; replay or cancel. */
export function RunDrawer({ id, onClose }: { id: string | null; onClose: () => void }) {
  const queryClient = useQueryClient();
  const run = useQuery({
    queryKey: ['workflow-run', id],
    enabled: Boolean(id),
    queryFn: () => call(api.GET('/api/v1/workflow-runs/{id}', { params: { path: { id: id! } } })),
  });
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: ['workflow-run', id] });
    void queryClient.invalidateQueries({ queryKey: ['workflow-runs'] });
  };
  const replay = useMutation({
    mutationFn: (version: 'run' | 'latest') =>
      call(
        api.POST('/api/v1/workflow-runs/{id}/replay', { params: { path: { id: id! } }, body: { version } }),
      ),
    onSettled: refresh,
  });
  const cancel = useMutation({
    mutationFn: () => call(api.POST('/api/v1/workflow-runs/{id}/cancel', { params: { path: { id: id! } } })),
    onSettled: refresh,
  });
  const r: RunDetail | undefined = run.data;
  const failure = (replay.error ?? cancel.error) as ApiError | null;
  return (
    <Drawer opened={Boolean(id)} onClose={onClose} position="right" size="xl" title="Workflow run">
      {r && (
        <Stack>
          <Group>
            <Text fw={600}>{r.workflow_name}</Text>
            <Text c="dimmed">version {r.version}</Text>
            <StatusBadge status={r.status} />
          </Group>
          {r.error && (
            <Alert color="red" title="Failed">
              {r.error}
            </Alert>
          )}
          {failure && <Alert color="red">{failure.message}</Alert>}
          <Group>
            {r.status === 'failed' && (
              <>
                <Button onClick={() => replay.mutate('run')} loading={replay.isPending}>
                  Replay from the failed step
                </Button>
                <Button variant="light" onClick={() => replay.mutate('latest')} loading={replay.isPending}>
                  Replay on the latest version
                </Button>
              </>
            )}
            {(r.status === 'running' || r.status === 'waiting') && (
              <Button color="red" variant="light" onClick={() => cancel.mutate()} loading={cancel.isPending}>
                Cancel run
              </Button>
            )}
          </Group>
          <Text size="sm">
            Trigger: <Code>{JSON.stringify((r.trigger as { type?: string }).type ?? r.trigger)}</Code> on{' '}
            {r.object} {r.record_id}
          </Text>
          {r.steps.map((s) => (
            <Paper key={s.step_id} withBorder p="sm" data-testid="run-step">
              <Group justify="space-between">
                <Text fw={600}>
                  {s.step_id}{' '}
                  <Text span c="dimmed">
                    ({s.type})
                  </Text>
                </Text>
                <StatusBadge status={s.status} />
              </Group>
              <Text size="xs" c="dimmed">
                started {new Date(s.started_at).toLocaleString()}
                {s.finished_at ? `, finished ${new Date(s.finished_at).toLocaleString()}` : ''}
                {s.wait_until ? `, waits until ${new Date(s.wait_until).toLocaleString()}` : ''}
                {s.attempts > 0 ? `, attempt ${s.attempts + 1}` : ''}
              </Text>
              {s.error && (
                <Text c="red" size="sm">
                  {s.error}
                </Text>
              )}
              <Text size="xs">Input</Text>
              <Code block>{JSON.stringify(s.input, null, 2)}</Code>
              {s.output != null && (
                <>
                  <Text size="xs">Output</Text>
                  <Code block>{JSON.stringify(s.output, null, 2)}</Code>
                </>
              )}
            </Paper>
          ))}
        </Stack>
      )}
    </Drawer>
  );
}

const RUN_STATUSES = ['running', 'waiting', 'completed', 'failed', 'cancelled', 'skipped'] as const;

function RunList() {
  const search = useSearch({ from: '/app/workflows' });
  const navigate = useNavigate({ from: '/workflows' });
  const [open, setOpen] = useState<string | null>(null);
  const runs = useQuery({
    queryKey: ['workflow-runs', search.status, search.workflow],
    queryFn: () =>
      call(
        api.GET('/api/v1/workflow-runs', {
          params: {
            query: {
              limit: 100,
              ...(search.status ? { status: search.status as (typeof RUN_STATUSES)[number] } : {}),
              ...(search.workflow ? { workflow_id: search.workflow } : {}),
            },
          },
        }),
      ),
    refetchInterval: 5000,
  });
  const rows: RunItem[] = runs.data?.data ?? [];
  return (
    <Stack>
      <Group>
        <Select
          label="Status"
          placeholder="Any"
          clearable
          data={[...RUN_STATUSES]}
          value={search.status ?? null}
          onChange={(status) => void navigate({ search: { ...search, status: status ?? undefined } })}
        />
        {search.workflow && (
          <Button
            variant="subtle"
            mt="lg"
            onClick={() => void navigate({ search: { ...search, workflow: undefined } })}
          >
            All workflows
          </Button>
        )}
      </Group>
      {rows.length === 0 && !runs.isPending ? (
        <EmptyState title="No runs">Runs appear here when a workflow’s trigger fires.</EmptyState>
      ) : (
        <Table striped highlightOnHover>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Workflow</Table.Th>
              <Table.Th>Record</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th>Started</Table.Th>
              <Table.Th>Error</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((r) => (
              <Table.Tr
                key={r.id}
                onClick={() => setOpen(r.id)}
                style={{ cursor: 'pointer' }}
                data-testid="run-row"
              >
                <Table.Td>
                  {r.workflow_name}{' '}
                  <Text span c="dimmed">
                    v{r.version}
                  </Text>
                </Table.Td>
                <Table.Td>
                  {r.object} {r.record_id.slice(0, 8)}
                </Table.Td>
                <Table.Td>
                  <StatusBadge status={r.status} />
                </Table.Td>
                <Table.Td>{new Date(r.started_at).toLocaleString()}</Table.Td>
                <Table.Td>
                  <Text size="sm" c="red" lineClamp={1}>
                    {r.error}
                  </Text>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      <RunDrawer id={open} onClose={() => setOpen(null)} />
    </Stack>
  );
}

/** Workflows: the list (with run counts) and the runs, filtered by status and workflow. */
export function WorkflowsPage() {
  const search = useSearch({ from: '/app/workflows' });
  const navigate = useNavigate({ from: '/workflows' });
  return (
    <Stack p="md">
      <Title order={1} size="h2">
        Workflows
      </Title>
      <Tabs
        value={search.tab ?? 'workflows'}
        onChange={(tab) => void navigate({ search: tab === 'runs' ? { ...search, tab: 'runs' } : {} })}
      >
        <Tabs.List>
          <Tabs.Tab value="workflows">Workflows</Tabs.Tab>
          <Tabs.Tab value="runs">Runs</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="workflows" pt="md">
          <WorkflowList />
        </Tabs.Panel>
        <Tabs.Panel value="runs" pt="md">
          <RunList />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
