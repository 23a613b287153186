import {
  Alert,
  Badge,
  Button,
  Group,
  JsonInput,
  List,
  Menu,
  Paper,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from '@tanstack/react-router';
import {
  Background,
  type Connection,
  Controls,
  type Edge,
  Handle,
  type Node,
  type NodeProps,
  Position,
  ReactFlow,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { useEffect, useMemo, useState } from 'react';
import { ApiError, api, call, type Schemas } from '../../api/client';
import { StatusBadge } from './WorkflowsPage';

/** A definition as the builder edits it (the server checks it against `WorkflowDefinition`). */
type AnyStep = { id: string; type: string; [key: string]: unknown };
type Trigger = { type: string; [key: string]: unknown };
type Step = AnyStep;
type Definition = { trigger: Trigger; start: string | null; steps: AnyStep[]; reenrollment?: string };
type DefinitionInput = Schemas['WorkflowDefinitionInput'];

/** The branches of a step, in the order the builder draws their handles. */
const BRANCHES: Record<string, string[]> = {
  if_else: ['if_true', 'if_false'],
  wait_condition: ['next', 'timeout_next'],
  exit: [],
};
const branchesOf = (step: AnyStep) => BRANCHES[step.type] ?? ['next'];

/** A new step of `type` with sensible defaults (the author edits them in the side panel). */
const TEMPLATES: Record<string, Record<string, unknown>> = {
  add_tag: { tag: 'lead' },
  remove_tag: { tag: 'lead' },
  update_field: { field: 'lead_status', value: 'qualified' },
  create_task: { title: 'Follow up with {{record.first_name}}', due_in_days: 1, assignee: 'owner' },
  assign_owner: { mode: 'round_robin', user_ids: [] },
  notify: { user: 'owner', message: 'Have a look at {{record.first_name}}' },
  send_email: { subject: 'Hello {{record.first_name}}', body: 'Hello {{record.first_name}},\n\n' },
  create_record: { object: 'task', values: {} },
  call_webhook: { url: 'https://', data: { note: '{{record.first_name}}' }, include_record: true },
  send_sms: { channel_id: '', body: 'Hi {{record.first_name}}' },
  enroll_in_sequence: { sequence_id: '' },
  remove_from_sequence: {},
  move_stage: { stage_id: '' },
  wait: { duration: { amount: 1, unit: 'days' } },
  wait_condition: {
    condition: { field: 'tags', op: 'hasAny', value: ['replied'] },
    timeout: { amount: 3, unit: 'days' },
    poll_minutes: 60,
    timeout_next: [],
  },
  if_else: { condition: { field: 'tags', op: 'hasAny', value: ['replied'] }, if_true: [], if_false: [] },
  exit: {},
};
const ACTIONS = [
  'add_tag',
  'remove_tag',
  'update_field',
  'create_task',
  'assign_owner',
  'notify',
  'send_email',
  'create_record',
  'move_stage',
  'call_webhook',
  'send_sms',
  'enroll_in_sequence',
  'remove_from_sequence',
];
const TRIGGERS = [
  'record_created',
  'record_updated',
  'tag_added',
  'tag_removed',
  'stage_changed',
  'opportunity_won',
  'opportunity_lost',
  'task_overdue',
  'form_submitted',
  'message_received',
  'date_reached',
  'schedule',
  'inbound_webhook',
  'manual',
];

/** A trigger's settings when the author picks its type (the server checks them). */
const TRIGGER_TEMPLATES: Record<string, Record<string, unknown>> = {
  tag_added: { tag: 'lead' },
  tag_removed: { tag: 'lead' },
  date_reached: { field: 'expected_close_date', offset: { amount: 3, unit: 'days' }, direction: 'before' },
  schedule: { cron: '0 9 * * 1', timezone: 'UTC' },
  inbound_webhook: { match: { field: 'email', key: 'email' }, create: false, values: {} },
};

/** Literal addresses the server's SSRF guard refuses (loopback, private, link-local, metadata). */
const PRIVATE_HOST =
  /^(localhost|.*\.localhost|127\.\d+\.\d+\.\d+|10\.\d+\.\d+\.\d+|192\.168\.\d+\.\d+|172\.(1[6-9]|2\d|3[01])\.\d+\.\d+|169\.254\.\d+\.\d+|0\.0\.0\.0|\[::1?\]|\[f[cd][0-9a-f:]*\]|\[fe80:[0-9a-f:]*\])$/i;

/**
 * What the builder can tell before asking the server (which checks everything again on save and
 * activation): a webhook URL that is not http(s) or names a private address, an empty reference.
 */
export function localProblems(definition: Definition): string[] {
  const problems: string[] = [];
  for (const step of definition.steps) {
    if (step.type === 'call_webhook') {
      const raw = String(step.url ?? '');
      let url: URL | null = null;
      try {
        url = new URL(raw);
      } catch {
        problems.push(`Step ${step.id}: “${raw}” is not a URL`);
      }
      if (url && url.protocol !== 'http:' && url.protocol !== 'https:')
        problems.push(`Step ${step.id}: only http and https URLs can be called`);
      else if (url && PRIVATE_HOST.test(url.hostname))
        problems.push(
          `Step ${step.id}: ${url.hostname} is a private, loopback or link-local address (allowed only when the operator allows the host)`,
        );
    }
    if (step.type === 'send_sms' && !step.channel_id)
      problems.push(`Step ${step.id}: choose the SMS channel`);
    if (step.type === 'enroll_in_sequence' && !step.sequence_id)
      problems.push(`Step ${step.id}: choose the sequence`);
  }
  if (definition.trigger.type === 'inbound_webhook') {
    const match = definition.trigger.match as { field?: string; key?: string } | undefined;
    if (!match?.field || !match?.key)
      problems.push('Trigger: say which field finds the record and where its value is in the body');
  }
  return problems;
}

type NodeData = {
  title: string;
  subtitle: string;
  kind: 'trigger' | 'action' | 'control';
  branches: string[];
};

function StepNode({ data, selected }: NodeProps<Node<NodeData>>) {
  return (
    <Paper
      withBorder
      shadow={selected ? 'md' : 'xs'}
      p="xs"
      miw={180}
      style={{ borderColor: selected ? 'var(--mantine-color-blue-6)' : undefined }}
      data-testid="flow-node"
    >
      {data.kind !== 'trigger' && <Handle type="target" position={Position.Top} />}
      <Badge
        size="xs"
        color={data.kind === 'trigger' ? 'grape' : data.kind === 'control' ? 'orange' : 'blue'}
      >
        {data.kind}
      </Badge>
      <Text fw={600} size="sm">
        {data.title}
      </Text>
      <Text size="xs" c="dimmed" lineClamp={2}>
        {data.subtitle}
      </Text>
      {data.branches.map((b, i) => (
        <Handle
          key={b}
          id={b}
          type="source"
          position={Position.Bottom}
          style={{ left: `${((i + 1) * 100) / (data.branches.length + 1)}%` }}
          title={b}
        />
      ))}
    </Paper>
  );
}
const nodeTypes = { step: StepNode };

const summary = (step: AnyStep): string => {
  const {
    id: _i,
    type: _t,
    next: _n,
    if_true: _y,
    if_false: _f,
    timeout_next: _tn,
    position: _p,
    ...rest
  } = step;
  return JSON.stringify(rest);
};

/** Nodes and edges of a definition: positions stored on the steps, or laid out by depth. */
function graphOf(definition: Definition): { nodes: Node<NodeData>[]; edges: Edge[] } {
  const steps = definition.steps as AnyStep[];
  const depth = new Map<string, number>();
  const visit = (id: string, d: number) => {
    if (depth.has(id)) return;
    depth.set(id, d);
    const step = steps.find((s) => s.id === id);
    if (step)
      for (const b of branchesOf(step)) for (const next of (step[b] as string[]) ?? []) visit(next, d + 1);
  };
  if (definition.start) visit(definition.start, 1);
  const perDepth = new Map<number, number>();
  const place = (id: string) => {
    const d = depth.get(id) ?? 0;
    const i = perDepth.get(d) ?? 0;
    perDepth.set(d, i + 1);
    return { x: 40 + i * 240, y: 40 + d * 130 };
  };
  const trigger = definition.trigger;
  const nodes: Node<NodeData>[] = [
    {
      id: '__trigger',
      type: 'step',
      position: { x: 40, y: 40 },
      data: {
        title: `When: ${trigger.type.replaceAll('_', ' ')}`,
        subtitle: summary(trigger as AnyStep),
        kind: 'trigger',
        branches: ['next'],
      },
    },
    ...steps.map((s) => ({
      id: s.id,
      type: 'step',
      position: (s.position as { x: number; y: number } | undefined) ?? place(s.id),
      data: {
        title: `${s.label ?? s.type.replaceAll('_', ' ')} (${s.id})`,
        subtitle: summary(s),
        kind: (['if_else', 'wait', 'wait_condition', 'exit'].includes(s.type)
          ? 'control'
          : 'action') as NodeData['kind'],
        branches: branchesOf(s),
      },
    })),
  ];
  const edges: Edge[] = [];
  if (definition.start)
    edges.push({ id: `__trigger-${definition.start}`, source: '__trigger', target: definition.start });
  for (const s of steps)
    for (const b of branchesOf(s))
      for (const next of (s[b] as string[]) ?? [])
        edges.push({
          id: `${s.id}-${b}-${next}`,
          source: s.id,
          sourceHandle: b,
          target: next,
          label: b === 'next' ? undefined : b,
        });
  return { nodes, edges };
}

const newId = (steps: AnyStep[], type: string) => {
  let n = 1;
  while (steps.some((s) => s.id === `${type.replaceAll('_', '-')}-${n}`)) n++;
  return `${type.replaceAll('_', '-')}-${n}`;
};

/** The problems of a refused save or activation, each with the place it names. */
function Problems({ error }: { error: unknown }) {
  if (!error) return null;
  const problem = error instanceof ApiError ? error.problem : undefined;
  return (
    <Alert color="red" title={(error as Error).message} data-testid="builder-problems">
      {problem?.errors && (
        <List size="sm">
          {problem.errors.map((e) => (
            <List.Item key={`${e.path}${e.message}`}>
              {e.message}{' '}
              <Text span c="dimmed">
                ({e.path.replace('body.definition.', '')})
              </Text>
            </List.Item>
          ))}
        </List>
      )}
    </Alert>
  );
}

/**
 * The visual builder (issue 24): the trigger and the steps as a flow (drag to arrange, connect a
 * handle to a step to wire it), a side panel to edit the selected node, save (optimistic: a
 * conflicting save by someone else is refused), activate after the server's validation, pause,
 * and a test run against a chosen record that changes nothing.
 */
export function WorkflowBuilderPage() {
  const { id } = useParams({ from: '/app/workflows/$id' });
  const queryClient = useQueryClient();
  const workflow = useQuery({
    queryKey: ['workflow', id],
    queryFn: () => call(api.GET('/api/v1/workflows/{id}', { params: { path: { id } } })),
  });
  const [definition, setDefinition] = useState<Definition | null>(null);
  const [name, setName] = useState('');
  const [selected, setSelected] = useState<string | null>(null);
  const [recordId, setRecordId] = useState('');
  useEffect(() => {
    if (workflow.data && !definition) {
      setDefinition(workflow.data.definition as unknown as Definition);
      setName(workflow.data.name);
    }
  }, [workflow.data, definition]);
  const graph = useMemo(() => (definition ? graphOf(definition) : { nodes: [], edges: [] }), [definition]);
  const problems = useMemo(() => (definition ? localProblems(definition) : []), [definition]);
  const inbound = workflow.data?.definition?.trigger as { type?: string } | undefined;
  const secrets = useQuery({
    queryKey: ['workflow-secrets', id],
    enabled: inbound?.type === 'inbound_webhook',
    queryFn: () => call(api.GET('/api/v1/workflows/{id}/secrets', { params: { path: { id } } })),
  });

  const save = useMutation({
    mutationFn: () =>
      call(
        api.PUT('/api/v1/workflows/{id}', {
          params: { path: { id } },
          body: {
            lock_version: workflow.data!.lock_version,
            name,
            definition: definition as unknown as DefinitionInput,
          },
        }),
      ),
    onSuccess: (saved) => queryClient.setQueryData(['workflow', id], saved),
  });
  const setStatus = useMutation({
    mutationFn: async (action: 'activate' | 'pause') => {
      const saved = await save.mutateAsync();
      const options = { params: { path: { id } }, body: { lock_version: saved.lock_version } };
      return action === 'activate'
        ? call(api.POST('/api/v1/workflows/{id}/activate', options))
        : call(api.POST('/api/v1/workflows/{id}/pause', options));
    },
    onSuccess: (saved) => {
      queryClient.setQueryData(['workflow', id], saved);
      void queryClient.invalidateQueries({ queryKey: ['workflows'] });
    },
  });
  const test = useMutation({
    mutationFn: () =>
      call(
        api.POST('/api/v1/workflows/{id}/test-run', {
          params: { path: { id } },
          body: { record_id: recordId.trim(), definition: definition as unknown as DefinitionInput },
        }),
      ),
  });

  if (!workflow.data || !definition) return <Text p="md">Loading…</Text>;
  const current0 = definition;
  const steps = current0.steps;
  const update = (next: Partial<Definition>) => setDefinition({ ...current0, ...next });
  const replaceStep = (step: AnyStep) =>
    update({ steps: steps.map((s) => (s.id === step.id ? step : s)) as Step[] });

  /** Adds a step of `type` after the selected node (on its first free branch), or as the first step. */
  function addStep(type: string) {
    const stepId = newId(steps, type);
    const step = {
      id: stepId,
      type,
      ...TEMPLATES[type],
      ...(type === 'exit' ? {} : { next: [] }),
    } as unknown as AnyStep;
    if (type === 'if_else' || type === 'exit') delete step.next;
    let nextSteps = [...steps, step];
    let start = current0.start;
    const parent = steps.find((s) => s.id === selected);
    if (parent) {
      const branch =
        branchesOf(parent).find((b) => ((parent[b] as string[]) ?? []).length === 0) ?? branchesOf(parent)[0];
      if (branch)
        nextSteps = nextSteps.map((s) =>
          s.id === parent.id ? { ...s, [branch]: [...((s[branch] as string[]) ?? []), stepId] } : s,
        );
    } else if (!start) start = stepId;
    setDefinition({ ...current0, start, steps: nextSteps });
    setSelected(stepId);
  }

  function removeStep(stepId: string) {
    update({
      start: current0.start === stepId ? null : current0.start,
      steps: steps
        .filter((s) => s.id !== stepId)
        .map((s) => {
          const copy = { ...s };
          for (const b of branchesOf(s)) copy[b] = ((s[b] as string[]) ?? []).filter((x) => x !== stepId);
          return copy;
        }) as Step[],
    });
    setSelected(null);
  }

  function connect(c: Connection) {
    if (c.source === '__trigger') return update({ start: c.target });
    const from = steps.find((s) => s.id === c.source);
    if (!from || c.target === c.source) return;
    const branch = c.sourceHandle ?? 'next';
    replaceStep({ ...from, [branch]: [...new Set([...((from[branch] as string[]) ?? []), c.target])] });
  }

  const current =
    selected === '__trigger' ? (current0.trigger as AnyStep) : steps.find((s) => s.id === selected);
  const wiring = ['id', 'type', 'next', 'if_true', 'if_false', 'timeout_next', 'position'];
  const editable = current
    ? Object.fromEntries(
        Object.entries(current).filter(
          ([k]) => !wiring.includes(k) || (selected === '__trigger' && k !== 'type'),
        ),
      )
    : {};

  return (
    <Stack p="md" gap="sm">
      <Group justify="space-between">
        <Group>
          <Button component={Link} to="/workflows" variant="subtle">
            Workflows
          </Button>
          <TextInput
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            aria-label="Workflow name"
          />
          <StatusBadge status={workflow.data.status} />
          <Text c="dimmed" size="sm">
            {workflow.data.object}, version {workflow.data.version}
            {workflow.data.version_active ? ' (saving makes a new version)' : ''}
          </Text>
        </Group>
        <Group>
          <Menu>
            <Menu.Target>
              <Button variant="light">Add action</Button>
            </Menu.Target>
            <Menu.Dropdown>
              {ACTIONS.map((a) => (
                <Menu.Item key={a} onClick={() => addStep(a)}>
                  {a.replaceAll('_', ' ')}
                </Menu.Item>
              ))}
            </Menu.Dropdown>
          </Menu>
          <Button variant="light" onClick={() => addStep('if_else')}>
            Add if/else
          </Button>
          <Menu>
            <Menu.Target>
              <Button variant="light">Add wait</Button>
            </Menu.Target>
            <Menu.Dropdown>
              <Menu.Item onClick={() => addStep('wait')}>a duration or until a time</Menu.Item>
              <Menu.Item onClick={() => addStep('wait_condition')}>until a condition holds</Menu.Item>
            </Menu.Dropdown>
          </Menu>
          <Button variant="light" onClick={() => addStep('exit')}>
            Add exit
          </Button>
          <Button onClick={() => save.mutate()} loading={save.isPending}>
            Save
          </Button>
          {workflow.data.status === 'active' ? (
            <Button
              color="yellow"
              autoContrast
              onClick={() => setStatus.mutate('pause')}
              loading={setStatus.isPending}
            >
              Pause
            </Button>
          ) : (
            <Button
              color="teal.9"
              onClick={() => setStatus.mutate('activate')}
              loading={setStatus.isPending}
              disabled={problems.length > 0}
            >
              Validate and activate
            </Button>
          )}
        </Group>
      </Group>
      {problems.length > 0 && (
        <Alert color="yellow" title="Fix these before activating" data-testid="local-problems">
          <List size="sm">
            {problems.map((p) => (
              <List.Item key={p}>{p}</List.Item>
            ))}
          </List>
        </Alert>
      )}
      {secrets.data?.inbound_url && (
        <TextInput
          label="Inbound webhook URL (POST JSON to it; keep it secret)"
          value={secrets.data.inbound_url}
          readOnly
        />
      )}
      <Problems error={save.error ?? setStatus.error} />
      <Group align="stretch" wrap="nowrap" gap="sm">
        <Paper withBorder style={{ flex: 1, height: 560 }}>
          <ReactFlow
            nodes={graph.nodes.map((n) => ({ ...n, selected: n.id === selected }))}
            edges={graph.edges}
            nodeTypes={nodeTypes}
            onNodeClick={(_, n) => setSelected(n.id)}
            onPaneClick={() => setSelected(null)}
            onConnect={connect}
            onNodeDragStop={(_, n) => {
              const step = steps.find((s) => s.id === n.id);
              if (step)
                replaceStep({
                  ...step,
                  position: { x: Math.round(n.position.x), y: Math.round(n.position.y) },
                });
            }}
            fitView
          >
            <Background />
            <Controls />
          </ReactFlow>
        </Paper>
        <Stack w={360} gap="sm">
          <Paper withBorder p="sm">
            {!current ? (
              <Text c="dimmed" size="sm">
                Select the trigger or a step to edit it. A new step goes after the selected one.
              </Text>
            ) : (
              <NodeEditor
                key={selected}
                isTrigger={selected === '__trigger'}
                value={editable}
                type={String(current.type)}
                onChange={(values) => {
                  if (selected === '__trigger') update({ trigger: { ...values } as Trigger });
                  else
                    replaceStep({
                      ...(current as AnyStep),
                      ...values,
                      id: current.id as string,
                      type: current.type,
                    } as AnyStep);
                }}
                onRemove={selected === '__trigger' ? undefined : () => removeStep(selected!)}
              />
            )}
          </Paper>
          <Paper withBorder p="sm">
            <Title order={5}>Test run</Title>
            <Text size="xs" c="dimmed">
              What this definition would do on a record, without changing anything.
            </Text>
            <Group mt="xs" align="flex-end">
              <TextInput
                label="Record id"
                value={recordId}
                onChange={(e) => setRecordId(e.currentTarget.value)}
                style={{ flex: 1 }}
              />
              <Button onClick={() => test.mutate()} loading={test.isPending} disabled={!recordId.trim()}>
                Try
              </Button>
            </Group>
            <Problems error={test.error} />
            {test.data && (
              <Stack gap={4} mt="xs" data-testid="test-run">
                <Text size="sm">
                  Trigger conditions {test.data.trigger_matches ? 'match' : 'do not match'} this record now.
                </Text>
                <Table>
                  <Table.Tbody>
                    {test.data.steps.map((s) => (
                      <Table.Tr key={s.step_id}>
                        <Table.Td>{s.step_id}</Table.Td>
                        <Table.Td>
                          {s.error ? (
                            <Text c="red" size="sm">
                              {s.error}
                            </Text>
                          ) : (
                            <Text size="sm">
                              {String((s.output as { would?: string }).would ?? JSON.stringify(s.output))}
                            </Text>
                          )}
                        </Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              </Stack>
            )}
          </Paper>
        </Stack>
      </Group>
    </Stack>
  );
}

/** The selected node's settings: the trigger's type, and every setting as JSON (the server checks it). */
function NodeEditor({
  isTrigger,
  type,
  value,
  onChange,
  onRemove,
}: {
  isTrigger: boolean;
  type: string;
  value: Record<string, unknown>;
  onChange: (values: Record<string, unknown>) => void;
  onRemove: (() => void) | undefined;
}) {
  const [text, setText] = useState(JSON.stringify(value, null, 2));
  const [error, setError] = useState<string | null>(null);
  return (
    <Stack gap="xs">
      <Group justify="space-between">
        <Title order={5}>{isTrigger ? 'Trigger' : type.replaceAll('_', ' ')}</Title>
        {onRemove && (
          <Button size="compact-sm" color="red" variant="subtle" onClick={onRemove}>
            Remove step
          </Button>
        )}
      </Group>
      {isTrigger && (
        <Select
          label="When"
          data={TRIGGERS}
          value={type}
          allowDeselect={false}
          onChange={(t) =>
            onChange({ ...(t && TRIGGER_TEMPLATES[t] ? TRIGGER_TEMPLATES[t] : value), type: t })
          }
        />
      )}
      <JsonInput
        label="Settings"
        description="Texts take {{record.<field>}} and {{workflow.name}}; conditions are filter trees of the query language."
        autosize
        minRows={6}
        value={text}
        onChange={setText}
        error={error}
        onBlur={() => {
          try {
            const parsed = JSON.parse(text) as Record<string, unknown>;
            setError(null);
            onChange(isTrigger ? { ...parsed, type: parsed.type ?? type } : parsed);
          } catch {
            setError('Not valid JSON');
          }
        }}
      />
    </Stack>
  );
}
