import {
  Alert,
  Badge,
  Button,
  Code,
  CopyButton,
  Group,
  Modal,
  MultiSelect,
  Paper,
  Stack,
  Table,
  Text,
  TextInput,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { api, call } from '../../api/client';
import { ErrorAlert } from '../../shell/states';

const webhooksQuery = {
  queryKey: ['webhooks'],
  queryFn: () => call(api.GET('/api/v1/webhooks')),
} as const;

const statusColor: Record<string, string> = { succeeded: 'teal', pending: 'yellow', dead: 'red' };

/**
 * Webhooks (issue 31): subscribe a URL to event types (signed per Standard Webhooks; the secret
 * shown once), rotate the secret, read the delivery log and redrive dead deliveries.
 */
export function WebhooksSettings() {
  const queryClient = useQueryClient();
  const hooks = useQuery(webhooksQuery);
  const [adding, setAdding] = useState(false);
  const [secret, setSecret] = useState<{ url: string; secret: string } | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ['webhooks'] });
  const rotate = useMutation({
    mutationFn: (id: string) =>
      call(api.POST('/api/v1/webhooks/{id}/rotate-secret', { params: { path: { id } } })),
    onSuccess: (r) => setSecret({ url: r.target_url, secret: r.secret }),
    onError: (e) => notifications.show({ color: 'red', message: e.message }),
  });
  const toggle = useMutation({
    mutationFn: (v: { id: string; status: 'active' | 'disabled' }) =>
      call(
        api.PATCH('/api/v1/webhooks/{id}', { params: { path: { id: v.id } }, body: { status: v.status } }),
      ),
    onSuccess: refresh,
    onError: (e) => notifications.show({ color: 'red', message: e.message }),
  });
  const remove = useMutation({
    mutationFn: (id: string) => call(api.DELETE('/api/v1/webhooks/{id}', { params: { path: { id } } })),
    onSuccess: refresh,
    onError: (e) => notifications.show({ color: 'red', message: e.message }),
  });
  return (
    <Paper withBorder p="md">
      <Group justify="space-between" mb="sm">
        <Text size="sm" c="dimmed">
          Cairn POSTs each event to your URL, signed per Standard Webhooks (webhook-id, webhook-timestamp,
          webhook-signature). Failed deliveries are retried for about a day, then kept for redrive.
        </Text>
        <Button onClick={() => setAdding(true)}>New webhook</Button>
      </Group>
      {hooks.error && <ErrorAlert error={hooks.error} />}
      {secret && (
        <Alert
          color="yellow"
          title="Signing secret: copy it now, it is not shown again"
          mb="sm"
          withCloseButton
          onClose={() => setSecret(null)}
        >
          <Stack gap={4}>
            <Text size="sm">For {secret.url}</Text>
            <Group gap="xs">
              <Code data-testid="webhook-secret">{secret.secret}</Code>
              <CopyButton value={secret.secret}>
                {({ copied, copy }) => (
                  <Button size="xs" variant="light" onClick={copy}>
                    {copied ? 'Copied' : 'Copy'}
                  </Button>
                )}
              </CopyButton>
            </Group>
          </Stack>
        </Alert>
      )}
      {hooks.data?.data.length === 0 ? (
        <Text c="dimmed" size="sm">
          No webhooks yet.
        </Text>
      ) : (
        <Table>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>URL</Table.Th>
              <Table.Th>Events</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {hooks.data?.data.map((h) => (
              <Table.Tr key={h.id}>
                <Table.Td>
                  <Text size="sm">{h.target_url}</Text>
                  {h.source === 'rest_hook' && (
                    <Text size="xs" c="dimmed">
                      Added by an automation tool
                    </Text>
                  )}
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{h.event_types.join(', ')}</Text>
                </Table.Td>
                <Table.Td>
                  <Badge color={h.status === 'active' ? 'teal' : 'gray'}>{h.status}</Badge>
                  {h.disabled_reason && (
                    <Text size="xs" c="dimmed">
                      {h.disabled_reason === 'failing'
                        ? 'Disabled after failing for days'
                        : h.disabled_reason === 'receiver_gone'
                          ? 'The receiver answered 410 Gone'
                          : 'Disabled by an admin'}
                    </Text>
                  )}
                </Table.Td>
                <Table.Td>
                  <Group gap="xs" justify="flex-end">
                    <Button size="xs" variant="light" onClick={() => setOpen(open === h.id ? null : h.id)}>
                      {open === h.id ? 'Hide deliveries' : 'Deliveries'}
                    </Button>
                    <Button size="xs" variant="default" onClick={() => rotate.mutate(h.id)}>
                      Rotate secret
                    </Button>
                    <Button
                      size="xs"
                      variant="default"
                      onClick={() =>
                        toggle.mutate({ id: h.id, status: h.status === 'active' ? 'disabled' : 'active' })
                      }
                    >
                      {h.status === 'active' ? 'Disable' : 'Enable'}
                    </Button>
                    <Button size="xs" color="red" variant="subtle" onClick={() => remove.mutate(h.id)}>
                      Delete
                    </Button>
                  </Group>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {open && <DeliveryLog id={open} />}
      <NewWebhook
        opened={adding}
        onClose={() => setAdding(false)}
        onCreated={(url, s) => {
          setAdding(false);
          setSecret({ url, secret: s });
          refresh();
        }}
      />
    </Paper>
  );
}

export function DeliveryLog({ id }: { id: string }) {
  const queryClient = useQueryClient();
  const log = useQuery({
    queryKey: ['webhooks', id, 'deliveries'],
    queryFn: () =>
      call(api.GET('/api/v1/webhooks/{id}/deliveries', { params: { path: { id }, query: { limit: 50 } } })),
  });
  const redrive = useMutation({
    mutationFn: (deliveryId: string) =>
      call(
        api.POST('/api/v1/webhooks/{id}/deliveries/{delivery_id}/redrive', {
          params: { path: { id, delivery_id: deliveryId } },
        }),
      ),
    onSuccess: () => {
      notifications.show({ color: 'teal', message: 'Sent again' });
      void queryClient.invalidateQueries({ queryKey: ['webhooks', id, 'deliveries'] });
    },
    onError: (e) => notifications.show({ color: 'red', message: e.message }),
  });
  return (
    <Stack mt="md" gap="xs">
      <Text fw={600}>Delivery log</Text>
      {log.error && <ErrorAlert error={log.error} />}
      {log.data?.data.length === 0 && (
        <Text size="sm" c="dimmed">
          No deliveries yet.
        </Text>
      )}
      <Table>
        <Table.Tbody>
          {log.data?.data.map((d) => (
            <Table.Tr key={d.id}>
              <Table.Td>
                <Text size="sm">{d.event_type}</Text>
                <Text size="xs" c="dimmed">
                  {new Date(d.created_at).toLocaleString()}
                </Text>
              </Table.Td>
              <Table.Td>
                <Badge color={statusColor[d.status] ?? 'gray'}>{d.status}</Badge>
              </Table.Td>
              <Table.Td>
                <Text size="sm">
                  {d.attempts} attempt{d.attempts === 1 ? '' : 's'}
                  {d.last_status_code !== null ? ` · HTTP ${d.last_status_code}` : ''}
                  {d.last_error && d.last_status_code === null ? ` · ${d.last_error}` : ''}
                  {d.last_response_ms !== null ? ` · ${d.last_response_ms} ms` : ''}
                </Text>
              </Table.Td>
              <Table.Td>
                {d.status === 'dead' && (
                  <Button size="xs" onClick={() => redrive.mutate(d.id)}>
                    Redrive
                  </Button>
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}

function NewWebhook(props: {
  opened: boolean;
  onClose(): void;
  onCreated(url: string, secret: string): void;
}) {
  const [url, setUrl] = useState('');
  const [types, setTypes] = useState<string[]>([]);
  const [error, setError] = useState<unknown>(null);
  const triggers = useQuery({
    queryKey: ['hooks', 'triggers'],
    queryFn: () => call(api.GET('/api/v1/hooks/triggers')),
    enabled: props.opened,
  });
  async function submit(e: FormEvent) {
    e.preventDefault();
    try {
      const created = await call(
        api.POST('/api/v1/webhooks', { body: { target_url: url, event_types: types } }),
      );
      setUrl('');
      setTypes([]);
      setError(null);
      props.onCreated(created.target_url, created.secret);
    } catch (err) {
      setError(err);
    }
  }
  return (
    <Modal opened={props.opened} onClose={props.onClose} title="New webhook">
      <form onSubmit={(e) => void submit(e)}>
        <Stack>
          <TextInput
            label="URL"
            placeholder="https://example.com/hooks/cairn"
            required
            value={url}
            onChange={(e) => setUrl(e.currentTarget.value)}
          />
          <MultiSelect
            label="Events"
            placeholder="Pick one or more"
            searchable
            data={[
              { value: '*', label: 'Every event' },
              ...(triggers.data?.data ?? []).map((t) => ({ value: t.event, label: t.event })),
            ]}
            value={types}
            onChange={setTypes}
          />
          {error ? <ErrorAlert error={error} /> : null}
          <Group justify="flex-end">
            <Button type="submit" disabled={types.length === 0 || url === ''}>
              Create
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
