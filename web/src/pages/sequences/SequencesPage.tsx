import {
  Alert,
  Badge,
  Button,
  Group,
  NumberInput,
  Paper,
  Select,
  SimpleGrid,
  Stack,
  Table,
  Tabs,
  Text,
  Textarea,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from '@tanstack/react-router';
import { useEffect, useState } from 'react';
import { type ApiError, api, call } from '../../api/client';
import { EmptyState, PageSkeleton } from '../../shell/states';

// Outreach (issue 25): sequences (list, builder, enrollments, analytics), the suppression list and
// a contact's consent ledger. Loaded with these pages only.

type StepType = 'EMAIL' | 'SMS' | 'CALL' | 'LINKEDIN' | 'TASK' | 'WAIT';
type StepDraft = {
  id?: string;
  type: StepType;
  subject?: string;
  body?: string;
  template_id?: string;
  days?: number;
  business_days?: boolean;
  manual?: boolean;
  script?: string;
  action?: 'connect' | 'message' | 'view';
};

const STATUS_COLORS: Record<string, string> = {
  active: 'green',
  paused: 'yellow',
  finished: 'blue',
  exited: 'gray',
};
const errorOf = (e: unknown) => (e as ApiError | null)?.problem?.detail ?? (e ? String(e) : null);

const sequencesQuery = {
  queryKey: ['sequences'],
  queryFn: () => call(api.GET('/api/v1/sequences')),
};

/** The sequences with their enrollment counts, and a form to start a new one. */
export function SequencesPage() {
  const qc = useQueryClient();
  const list = useQuery(sequencesQuery);
  const channels = useQuery({ queryKey: ['channels'], queryFn: () => call(api.GET('/api/v1/channels')) });
  const [name, setName] = useState('');
  const [mailbox, setMailbox] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: () =>
      call(api.POST('/api/v1/sequences', { body: { name, ...(mailbox ? { channel_id: mailbox } : {}) } })),
    onSuccess: () => {
      setName('');
      void qc.invalidateQueries({ queryKey: ['sequences'] });
    },
  });
  if (list.isPending) return <PageSkeleton />;
  const mailboxes = (channels.data?.data ?? [])
    .filter((c) => c.kind !== 'sms')
    .map((c) => ({ value: c.id, label: `${c.name} <${c.address}>` }));
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1} size="h2">
          Sequences
        </Title>
        <Button component={Link} to="/suppressions" variant="default">
          Suppression &amp; consent
        </Button>
      </Group>
      <Paper withBorder p="md">
        <Group align="end">
          <TextInput label="New sequence" value={name} onChange={(e) => setName(e.currentTarget.value)} />
          <Select label="Send from" data={mailboxes} value={mailbox} onChange={setMailbox} clearable />
          <Button onClick={() => create.mutate()} loading={create.isPending} disabled={!name.trim()}>
            Create
          </Button>
        </Group>
        {create.error && <Alert color="red">{errorOf(create.error)}</Alert>}
      </Paper>
      {list.data?.data.length === 0 ? (
        <EmptyState title="No sequences yet">Create one, add its steps, then enroll contacts.</EmptyState>
      ) : (
        <Table striped highlightOnHover>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th>Steps</Table.Th>
              <Table.Th>Active</Table.Th>
              <Table.Th>Finished</Table.Th>
              <Table.Th>Exited</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {list.data?.data.map((s) => (
              <Table.Tr key={s.id}>
                <Table.Td>
                  <Link to="/sequences/$id" params={{ id: s.id }}>
                    {s.name}
                  </Link>
                </Table.Td>
                <Table.Td>
                  <Badge color={STATUS_COLORS[s.status] ?? 'gray'} variant="light">
                    {s.status}
                  </Badge>
                </Table.Td>
                <Table.Td>{s.steps.map((x) => x.type).join(' → ') || '—'}</Table.Td>
                <Table.Td>{s.counts.active + s.counts.paused}</Table.Td>
                <Table.Td>{s.counts.finished}</Table.Td>
                <Table.Td>{s.counts.exited}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}

/**
 * An e-mail or SMS step's message template (issue 25): picked from the organization's stored
 * templates of that channel; its subject and body are read when the step runs.
 */
function TemplatePicker({ step, set }: { step: StepDraft; set: (patch: Partial<StepDraft>) => void }) {
  const kind = step.type === 'SMS' ? 'sms' : 'email';
  const templates = useQuery({
    queryKey: ['message-templates', kind],
    queryFn: () => call(api.GET('/api/v1/message-templates', { params: { query: { kind } } })),
  });
  const picked = templates.data?.data.find((t) => t.id === step.template_id);
  return (
    <Stack gap={4}>
      <Select
        label="Message template"
        placeholder={templates.isLoading ? 'Loading templates…' : 'None: write the text below'}
        clearable
        searchable
        data={(templates.data?.data ?? []).map((t) => ({ value: t.id, label: `${t.name} (/${t.shortcut})` }))}
        value={step.template_id ?? null}
        onChange={(v) => {
          const { template_id: _dropped, ...rest } = step;
          set(v ? { ...rest, template_id: v } : { ...rest, template_id: undefined });
        }}
      />
      {step.template_id && !picked && templates.isSuccess && (
        <Text size="xs" c="red">
          This template was deleted: the step's own text below is sent.
        </Text>
      )}
      {picked && (
        <Paper withBorder p="xs" bg="var(--mantine-color-default-hover)">
          {picked.subject && (
            <Text size="sm" fw={600}>
              {picked.subject}
            </Text>
          )}
          <Text size="sm" style={{ whiteSpace: 'pre-wrap' }}>
            {picked.body}
          </Text>
          <Text size="xs" c="dimmed" mt={4}>
            Filled for each contact when the step runs. The text below is sent only if the template is deleted
            {step.type === 'EMAIL' ? ', and its subject when the template has none' : ''}.
          </Text>
        </Paper>
      )}
    </Stack>
  );
}

function StepEditor({ step, onChange }: { step: StepDraft; onChange: (s: StepDraft) => void }) {
  const set = (patch: Partial<StepDraft>) => {
    const next = { ...step, ...patch };
    if (next.template_id === undefined) delete next.template_id;
    onChange(next);
  };
  if (step.type === 'WAIT')
    return (
      <Group>
        <NumberInput
          label="Days"
          min={0}
          value={step.days ?? 1}
          onChange={(v) => set({ days: Number(v) || 0 })}
        />
        <Select
          label="Counted as"
          data={[
            { value: 'calendar', label: 'calendar days' },
            { value: 'business', label: 'business days' },
          ]}
          value={step.business_days ? 'business' : 'calendar'}
          onChange={(v) => set({ business_days: v === 'business' })}
        />
      </Group>
    );
  return (
    <Stack gap="xs">
      {(step.type === 'EMAIL' || step.type === 'SMS') && <TemplatePicker step={step} set={set} />}
      {(step.type === 'EMAIL' || step.type === 'TASK') && (
        <TextInput
          label={step.type === 'EMAIL' ? 'Subject' : 'Title'}
          value={step.subject ?? ''}
          onChange={(e) => set({ subject: e.currentTarget.value })}
        />
      )}
      {step.type === 'LINKEDIN' ? (
        <Select
          label="Action"
          data={['connect', 'message', 'view']}
          value={step.action ?? 'connect'}
          onChange={(v) => set({ action: (v ?? 'connect') as StepDraft['action'] })}
        />
      ) : (
        <Textarea
          label={step.type === 'CALL' ? 'Script' : 'Text'}
          description="Variables: {{contact.first_name}}, {{contact.last_name}}, {{sender.name}}"
          autosize
          minRows={2}
          value={(step.type === 'CALL' ? step.script : step.body) ?? ''}
          onChange={(e) =>
            set(step.type === 'CALL' ? { script: e.currentTarget.value } : { body: e.currentTarget.value })
          }
        />
      )}
    </Stack>
  );
}

function Builder({ id, initial }: { id: string; initial: StepDraft[] }) {
  const qc = useQueryClient();
  const [steps, setSteps] = useState<StepDraft[]>(initial);
  const [type, setType] = useState<StepType>('EMAIL');
  useEffect(() => setSteps(initial), [initial]);
  const save = useMutation({
    mutationFn: () =>
      call(api.PUT('/api/v1/sequences/{id}/steps', { params: { path: { id } }, body: { steps } })),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['sequence', id] }),
  });
  return (
    <Stack>
      {steps.map((s, i) => (
        <Paper key={s.id ?? `new-${i}`} withBorder p="sm">
          <Group justify="space-between" mb="xs">
            <Text fw={600}>
              {i + 1}. {s.type}
            </Text>
            <Button
              size="xs"
              variant="subtle"
              color="red"
              onClick={() => setSteps(steps.filter((_, j) => j !== i))}
            >
              Remove
            </Button>
          </Group>
          <StepEditor step={s} onChange={(next) => setSteps(steps.map((x, j) => (j === i ? next : x)))} />
        </Paper>
      ))}
      <Group>
        <Select
          aria-label="Step type"
          data={['EMAIL', 'WAIT', 'SMS', 'CALL', 'LINKEDIN', 'TASK']}
          value={type}
          onChange={(v) => setType((v ?? 'EMAIL') as StepType)}
        />
        <Button
          variant="default"
          onClick={() => setSteps([...steps, { type, ...(type === 'WAIT' ? { days: 1 } : {}) }])}
        >
          Add step
        </Button>
        <Button onClick={() => save.mutate()} loading={save.isPending}>
          Save steps
        </Button>
      </Group>
      {save.error && <Alert color="red">{errorOf(save.error)}</Alert>}
    </Stack>
  );
}

function Enrollments({ id }: { id: string }) {
  const qc = useQueryClient();
  const [tag, setTag] = useState('');
  // Who sends (issue 25): one of the organization's mailboxes, else the sequence's own.
  const [sender, setSender] = useState<string | null>(null);
  const channels = useQuery({ queryKey: ['channels'], queryFn: () => call(api.GET('/api/v1/channels')) });
  const mailboxes = (channels.data?.data ?? [])
    .filter((c) => c.kind !== 'sms')
    .map((c) => ({ value: c.id, label: `${c.name} <${c.address}>` }));
  const mailboxName = new Map(mailboxes.map((m) => [m.value, m.label]));
  const list = useQuery({
    queryKey: ['sequence', id, 'enrollments'],
    queryFn: () =>
      call(
        api.GET('/api/v1/sequences/{id}/enrollments', { params: { path: { id }, query: { limit: 200 } } }),
      ),
  });
  const enroll = useMutation({
    mutationFn: (preview: boolean) =>
      call(
        api.POST('/api/v1/sequences/{id}/enrollments', {
          params: { path: { id } },
          body: {
            filter: { field: 'tags', op: 'hasAny', value: [tag] },
            preview,
            ...(sender ? { channel_id: sender } : {}),
          },
        }),
      ),
    onSuccess: (_, preview) => {
      if (!preview) void qc.invalidateQueries({ queryKey: ['sequence', id] });
    },
  });
  const act = useMutation({
    mutationFn: ({ eid, action }: { eid: string; action: 'pause' | 'resume' | 'finish' }) =>
      call(
        action === 'pause'
          ? api.POST('/api/v1/sequence-enrollments/{id}/pause', { params: { path: { id: eid } } })
          : action === 'resume'
            ? api.POST('/api/v1/sequence-enrollments/{id}/resume', { params: { path: { id: eid } } })
            : api.POST('/api/v1/sequence-enrollments/{id}/finish', { params: { path: { id: eid } } }),
      ),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['sequence', id] }),
  });
  return (
    <Stack>
      <Group align="end">
        <TextInput
          label="Enroll contacts tagged"
          value={tag}
          onChange={(e) => setTag(e.currentTarget.value)}
        />
        <Select
          label="Send from"
          placeholder="The sequence's mailbox"
          data={mailboxes}
          value={sender}
          onChange={setSender}
          clearable
        />
        <Button variant="default" disabled={!tag} onClick={() => enroll.mutate(true)}>
          Preview
        </Button>
        <Button disabled={!tag} loading={enroll.isPending} onClick={() => enroll.mutate(false)}>
          Enroll
        </Button>
      </Group>
      {enroll.data && (
        <Text size="sm">
          {enroll.data.matched} match, {enroll.data.enrolled} enrolled, {enroll.data.skipped} skipped
          {enroll.data.capped ? ' (capped at 10,000)' : ''}
        </Text>
      )}
      {enroll.error && <Alert color="red">{errorOf(enroll.error)}</Alert>}
      <Table striped>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Contact</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Step</Table.Th>
            <Table.Th>Next</Table.Th>
            <Table.Th>Sent from</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {list.data?.data.map((e) => (
            <Table.Tr key={e.id}>
              <Table.Td>{e.contact.name ?? e.contact.email ?? e.contact.id}</Table.Td>
              <Table.Td>
                <Badge color={STATUS_COLORS[e.status] ?? 'gray'} variant="light">
                  {e.exit_reason ? `${e.status}: ${e.exit_reason.replaceAll('_', ' ')}` : e.status}
                </Badge>
              </Table.Td>
              <Table.Td>{e.step_index + 1}</Table.Td>
              <Table.Td>{e.next_run_at ? new Date(e.next_run_at).toLocaleString() : '—'}</Table.Td>
              <Table.Td>
                {e.channel_id ? (mailboxName.get(e.channel_id) ?? 'another mailbox') : "The sequence's"}
              </Table.Td>
              <Table.Td>
                {(e.status === 'active' || e.status === 'paused') && (
                  <Group gap="xs">
                    <Button
                      size="xs"
                      variant="default"
                      onClick={() =>
                        act.mutate({ eid: e.id, action: e.status === 'active' ? 'pause' : 'resume' })
                      }
                    >
                      {e.status === 'active' ? 'Pause' : 'Resume'}
                    </Button>
                    <Button
                      size="xs"
                      variant="subtle"
                      onClick={() => act.mutate({ eid: e.id, action: 'finish' })}
                    >
                      Finish
                    </Button>
                  </Group>
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}

function Analytics({ id }: { id: string }) {
  const stats = useQuery({
    queryKey: ['sequence', id, 'analytics'],
    queryFn: () => call(api.GET('/api/v1/sequences/{id}/analytics', { params: { path: { id } } })),
  });
  if (!stats.data) return <PageSkeleton />;
  const a = stats.data;
  const tiles = [
    ['Enrolled', a.enrolled],
    ['Sent', a.sent],
    ['Replied', a.replied],
    ['Bounced', a.bounced],
    ['Unsubscribed', a.unsubscribed],
    ['Reply rate', `${Math.round(a.reply_rate * 100)}%`],
  ] as const;
  return (
    <Stack>
      <SimpleGrid cols={{ base: 2, sm: 6 }}>
        {tiles.map(([label, value]) => (
          <Paper key={label} withBorder p="sm">
            <Text size="xs" c="dimmed">
              {label}
            </Text>
            <Text fw={700} size="xl">
              {value}
            </Text>
          </Paper>
        ))}
      </SimpleGrid>
      <Table>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Step</Table.Th>
            <Table.Th>Sent</Table.Th>
            <Table.Th>Tasks</Table.Th>
            <Table.Th>Replied</Table.Th>
            <Table.Th>Bounced</Table.Th>
            <Table.Th>Variants (reply rate)</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {a.steps.map((s) => (
            <Table.Tr key={s.step_id}>
              <Table.Td>
                {s.position + 1}. {s.type}
              </Table.Td>
              <Table.Td>{s.sent}</Table.Td>
              <Table.Td>{s.tasks}</Table.Td>
              <Table.Td>{s.replied}</Table.Td>
              <Table.Td>{s.bounced}</Table.Td>
              <Table.Td>
                {s.variants
                  .map((v) => `${v.variant}: ${Math.round(v.reply_rate * 100)}% of ${v.sent}`)
                  .join(' · ')}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}

/** One sequence: its steps (the builder), enrollments and analytics. */
export function SequencePage() {
  const { id } = useParams({ strict: false }) as { id: string };
  const seq = useQuery({
    queryKey: ['sequence', id],
    queryFn: () => call(api.GET('/api/v1/sequences/{id}', { params: { path: { id } } })),
  });
  if (seq.isPending) return <PageSkeleton />;
  if (!seq.data) return <Alert color="red">{errorOf(seq.error)}</Alert>;
  return (
    <Stack>
      <Title order={1} size="h2">
        {seq.data.name}
      </Title>
      <Tabs defaultValue="steps">
        <Tabs.List>
          <Tabs.Tab value="steps">Steps</Tabs.Tab>
          <Tabs.Tab value="enrollments">Enrollments</Tabs.Tab>
          <Tabs.Tab value="analytics">Analytics</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="steps" pt="md">
          <Builder id={id} initial={seq.data.steps as StepDraft[]} />
        </Tabs.Panel>
        <Tabs.Panel value="enrollments" pt="md">
          <Enrollments id={id} />
        </Tabs.Panel>
        <Tabs.Panel value="analytics" pt="md">
          <Analytics id={id} />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}

function Consents() {
  const qc = useQueryClient();
  const [contact, setContact] = useState('');
  const [channel, setChannel] = useState<'email' | 'sms'>('email');
  const valid = /^[0-9a-f-]{36}$/i.test(contact.trim());
  const list = useQuery({
    queryKey: ['consents', contact],
    enabled: valid,
    queryFn: () =>
      call(
        api.GET('/api/v1/consents', { params: { query: { object: 'contact', record_id: contact.trim() } } }),
      ),
  });
  const record = useMutation({
    mutationFn: (status: 'granted' | 'withdrawn') =>
      call(
        api.POST('/api/v1/consents', {
          body: {
            contact_id: contact.trim(),
            channel,
            purpose: 'marketing',
            status,
            source: 'recorded by hand',
          },
        }),
      ),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['consents', contact] }),
  });
  return (
    <Stack>
      <Group align="end">
        <TextInput
          label="Contact id"
          value={contact}
          onChange={(e) => setContact(e.currentTarget.value)}
          w={340}
        />
        <Select
          label="Channel"
          data={['email', 'sms']}
          value={channel}
          onChange={(v) => setChannel((v ?? 'email') as 'email' | 'sms')}
        />
        <Button variant="default" disabled={!valid} onClick={() => record.mutate('granted')}>
          Record granted
        </Button>
        <Button variant="default" color="red" disabled={!valid} onClick={() => record.mutate('withdrawn')}>
          Record withdrawn
        </Button>
      </Group>
      {record.error && <Alert color="red">{errorOf(record.error)}</Alert>}
      <Table>
        <Table.Tbody>
          {list.data?.data.map((c) => (
            <Table.Tr key={c.id}>
              <Table.Td>{new Date(c.at).toLocaleString()}</Table.Td>
              <Table.Td>{c.channel}</Table.Td>
              <Table.Td>{c.purpose}</Table.Td>
              <Table.Td>{c.status}</Table.Td>
              <Table.Td>{c.source}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}

/** The suppression list (add, search, remove) and a contact's consent ledger. */
export function SuppressionsPage() {
  const qc = useQueryClient();
  const [q, setQ] = useState('');
  const [address, setAddress] = useState('');
  const [kind, setKind] = useState<'email' | 'sms' | 'domain'>('email');
  const list = useQuery({
    queryKey: ['suppressions', q],
    queryFn: () =>
      call(api.GET('/api/v1/suppressions', { params: { query: { ...(q ? { q } : {}), limit: 200 } } })),
  });
  const add = useMutation({
    mutationFn: () => call(api.POST('/api/v1/suppressions', { body: { channel_kind: kind, address } })),
    onSuccess: () => {
      setAddress('');
      void qc.invalidateQueries({ queryKey: ['suppressions'] });
    },
  });
  const remove = useMutation({
    mutationFn: (id: string) => call(api.DELETE('/api/v1/suppressions/{id}', { params: { path: { id } } })),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['suppressions'] }),
  });
  return (
    <Stack>
      <Title order={1} size="h2">
        Suppression &amp; consent
      </Title>
      <Tabs defaultValue="suppressions">
        <Tabs.List>
          <Tabs.Tab value="suppressions">Suppression list</Tabs.Tab>
          <Tabs.Tab value="consents">Consent ledger</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="suppressions" pt="md">
          <Stack>
            <Group align="end">
              <Select
                label="Kind"
                data={['email', 'domain', 'sms']}
                value={kind}
                onChange={(v) => setKind((v ?? 'email') as typeof kind)}
              />
              <TextInput
                label="Address"
                value={address}
                onChange={(e) => setAddress(e.currentTarget.value)}
              />
              <Button onClick={() => add.mutate()} disabled={!address} loading={add.isPending}>
                Suppress
              </Button>
              <TextInput label="Search" value={q} onChange={(e) => setQ(e.currentTarget.value)} />
            </Group>
            {add.error && <Alert color="red">{errorOf(add.error)}</Alert>}
            <Table striped>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Address</Table.Th>
                  <Table.Th>Kind</Table.Th>
                  <Table.Th>Reason</Table.Th>
                  <Table.Th>Source</Table.Th>
                  <Table.Th>Since</Table.Th>
                  <Table.Th />
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {list.data?.data.map((s) => (
                  <Table.Tr key={s.id}>
                    <Table.Td>{s.address}</Table.Td>
                    <Table.Td>{s.channel_kind}</Table.Td>
                    <Table.Td>{s.reason}</Table.Td>
                    <Table.Td>{s.source ?? '—'}</Table.Td>
                    <Table.Td>{new Date(s.created_at).toLocaleDateString()}</Table.Td>
                    <Table.Td>
                      <Button size="xs" variant="subtle" color="red" onClick={() => remove.mutate(s.id)}>
                        Remove
                      </Button>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Stack>
        </Tabs.Panel>
        <Tabs.Panel value="consents" pt="md">
          <Consents />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
