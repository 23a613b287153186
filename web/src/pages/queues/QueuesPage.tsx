import {
  Anchor,
  Badge,
  Button,
  Group,
  Modal,
  Paper,
  SegmentedControl,
  Select,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Textarea,
  Title,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { useState } from 'react';
import { ApiError, api, call, type Schemas } from '../../api/client';
import { objectQuery } from '../../lib/query';
import { EmptyState } from '../../shell/states';

type Handoff = Schemas['Handoff'];

/** An age in words: "3 min", "2 h", "4 days". */
export function age(seconds: number): string {
  if (seconds < 60) return 'under a minute';
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86_400)} days`;
}

const problemOf = (error: unknown) =>
  error instanceof ApiError ? (error.problem.detail ?? error.message) : String(error);

/** The deny dialog: why, and which status the record goes back to. */
function DenyDialog({ item, onClose }: { item: Handoff; onClose: () => void }) {
  const queryClient = useQueryClient();
  const object = useQuery(objectQuery(item.object)).data;
  const statuses =
    object?.fields
      .find((f) => f.key === item.field)
      ?.options?.filter((o) => o.value !== item.status)
      .map((o) => ({ value: o.value, label: o.label })) ?? [];
  const [reason, setReason] = useState('');
  const [returnTo, setReturnTo] = useState<string | null>(item.from_status);
  const deny = useMutation({
    mutationFn: () =>
      call(
        api.POST('/api/v1/handoffs/{id}/deny', {
          params: { path: { id: item.id } },
          body: { reason, ...(returnTo ? { return_to: returnTo } : {}) },
        }),
      ),
    onSuccess: () => {
      notifications.show({ color: 'green', message: `“${item.record_name}” was sent back` });
      void queryClient.invalidateQueries({ queryKey: ['queues'] });
      onClose();
    },
    onError: (e) => notifications.show({ color: 'red', title: 'Not denied', message: problemOf(e) }),
  });
  return (
    <Modal opened onClose={onClose} title={`Deny “${item.record_name}”`}>
      <Stack>
        <Textarea
          label="Reason"
          description="The sender sees it, and the record's timeline keeps it"
          required
          autosize
          minRows={2}
          value={reason}
          onChange={(e) => setReason(e.currentTarget.value)}
        />
        <Select label="Send it back to" data={statuses} value={returnTo} onChange={setReturnTo} />
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Cancel
          </Button>
          <Button
            color="red"
            disabled={!reason.trim() || !returnTo}
            loading={deny.isPending}
            onClick={() => deny.mutate()}
          >
            Deny
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

function QueueItems({ role, mine }: { role: string; mine: boolean }) {
  const queryClient = useQueryClient();
  const [state, setState] = useState<'waiting' | 'accepted' | 'denied'>('waiting');
  const [denying, setDenying] = useState<Handoff | null>(null);
  const items = useQuery({
    queryKey: ['queues', role, 'items', state],
    queryFn: () =>
      call(api.GET('/api/v1/queues/{role}/items', { params: { path: { role }, query: { state } } })),
    refetchInterval: 30_000,
  });
  const accept = useMutation({
    mutationFn: (item: Handoff) =>
      call(api.POST('/api/v1/handoffs/{id}/accept', { params: { path: { id: item.id } } })),
    onSuccess: (_, item) =>
      notifications.show({ color: 'green', message: `You now own “${item.record_name}”` }),
    onError: (e) => notifications.show({ color: 'red', title: 'Not accepted', message: problemOf(e) }),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['queues'] }),
  });
  const rows = items.data?.data ?? [];
  return (
    <Stack>
      <SegmentedControl
        aria-label="Hand-offs to show"
        value={state}
        onChange={(v) => setState(v as typeof state)}
        data={[
          { value: 'waiting', label: 'Waiting' },
          { value: 'accepted', label: 'Accepted' },
          { value: 'denied', label: 'Denied' },
        ]}
        w="fit-content"
      />
      {rows.length === 0 ? (
        <Text c="dimmed">{items.isLoading ? 'Loading…' : `No ${state} hand-offs.`}</Text>
      ) : (
        <Table striped>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Record</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th>{state === 'waiting' ? 'Waiting for' : 'Took'}</Table.Th>
              {state === 'denied' && <Table.Th>Reason</Table.Th>}
              {state === 'waiting' && mine && <Table.Th>Decide</Table.Th>}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((item) => (
              <Table.Tr key={item.id} data-handoff={item.record_name}>
                <Table.Td>
                  <Anchor
                    renderRoot={(p) => (
                      <Link
                        {...p}
                        to="/records/$object/$id"
                        params={{ object: item.object, id: item.record_id }}
                      />
                    )}
                  >
                    {item.record_name}
                  </Anchor>{' '}
                  <Text span c="dimmed" size="sm">
                    {item.number_label ?? item.object_label}
                  </Text>
                </Table.Td>
                <Table.Td>{item.status_label}</Table.Td>
                <Table.Td>{age(item.age_seconds)}</Table.Td>
                {state === 'denied' && <Table.Td>{item.reason}</Table.Td>}
                {state === 'waiting' && mine && (
                  <Table.Td>
                    <Group gap="xs" wrap="nowrap">
                      <Button size="xs" loading={accept.isPending} onClick={() => accept.mutate(item)}>
                        Accept
                      </Button>
                      <Button size="xs" variant="default" onClick={() => setDenying(item)}>
                        Deny
                      </Button>
                    </Group>
                  </Table.Td>
                )}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {denying && <DenyDialog item={denying} onClose={() => setDenying(null)} />}
    </Stack>
  );
}

/**
 * Hand-off queues (issue 21): one per role owning a status, with its waiting count and the
 * oldest's age; a queue's hand-offs, accepted or denied (with a reason) by its role's members.
 */
export function QueuesPage() {
  const search = useSearch({ from: '/app/queues' });
  const navigate = useNavigate();
  const queues = useQuery({
    queryKey: ['queues'],
    queryFn: () => call(api.GET('/api/v1/queues')),
    refetchInterval: 30_000,
  });
  const list = queues.data?.data ?? [];
  const selected = list.find((q) => q.role === search.role) ?? list.find((q) => q.mine) ?? list[0];
  return (
    <Stack>
      <Title order={1} size="h2">
        Queues
      </Title>
      {list.length === 0 ? (
        <EmptyState title="No queues yet">
          A queue appears when a status is owned by a role (Settings, Objects, a status field).
        </EmptyState>
      ) : (
        <>
          <SimpleGrid cols={{ base: 1, sm: 2, lg: 4 }}>
            {list.map((q) => (
              <Paper
                key={q.role}
                withBorder
                p="sm"
                component="button"
                type="button"
                aria-pressed={q.role === selected?.role}
                onClick={() => void navigate({ to: '/queues', search: { role: q.role } })}
                style={{ textAlign: 'left', cursor: 'pointer' }}
                bg={q.role === selected?.role ? 'var(--mantine-color-default-hover)' : undefined}
              >
                <Group justify="space-between">
                  <Text fw={600}>{q.role_label}</Text>
                  <Badge data-testid="queue-count" aria-label={`${q.waiting} waiting`}>
                    {q.waiting}
                  </Badge>
                </Group>
                <Text size="sm" c="dimmed">
                  {q.oldest_age_seconds === null
                    ? 'Nothing waiting'
                    : `Oldest waiting ${age(q.oldest_age_seconds)}`}
                  {q.waiting_for_me > 0 ? ` · ${q.waiting_for_me} assigned to you` : ''}
                </Text>
              </Paper>
            ))}
          </SimpleGrid>
          {selected && (
            <Stack gap="xs">
              <Title order={2} size="h4">
                {selected.role_label}
              </Title>
              <Text size="sm" c="dimmed">
                Owns{' '}
                {selected.statuses.map((s) => `${s.label} (${s.object_label})`).join(', ') || 'no status'}
                {' · '}assignment: {selected.assignment.replace('_', ' ')}
                {selected.mine ? '' : ' · you are not in this role'}
              </Text>
              <QueueItems key={selected.role} role={selected.role} mine={selected.mine} />
            </Stack>
          )}
        </>
      )}
    </Stack>
  );
}
