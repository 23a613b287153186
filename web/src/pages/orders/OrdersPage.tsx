import { Badge, Button, Group, NumberInput, Stack, Table, Text, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call } from '../../api/client';

const STATUS_COLOR: Record<string, string> = {
  open: 'blue',
  partly_fulfilled: 'yellow',
  fulfilled: 'green',
  cancelled: 'gray',
};

/** One order: its lines with what was delivered, and the fulfil and cancel actions. */
function OrderDetail({ id }: { id: string }) {
  const client = useQueryClient();
  const order = useQuery({
    queryKey: ['order', id],
    queryFn: () => call(api.GET('/api/v1/orders/{id}', { params: { path: { id } } })),
  });
  const [amounts, setAmounts] = useState<Record<string, string>>({});
  const done = (data: unknown) => {
    client.setQueryData(['order', id], data);
    void client.invalidateQueries({ queryKey: ['orders'] });
    void client.invalidateQueries({ queryKey: ['stock'] });
  };
  const onError = (e: Error) => notifications.show({ color: 'red', title: 'Refused', message: e.message });
  const fulfil = useMutation({
    mutationFn: (all: boolean) =>
      call(
        api.POST('/api/v1/orders/{id}/fulfil', {
          params: { path: { id } },
          body: all
            ? {}
            : {
                lines: Object.entries(amounts)
                  .filter(([, q]) => q !== '' && q !== '0')
                  .map(([line_id, quantity]) => ({ line_id, quantity })),
              },
        }),
      ),
    onSuccess: (data) => {
      setAmounts({});
      done(data);
    },
    onError,
  });
  const cancel = useMutation({
    mutationFn: () => call(api.POST('/api/v1/orders/{id}/cancel', { params: { path: { id } } })),
    onSuccess: done,
    onError,
  });
  const o = order.data;
  if (!o) return null;
  const closed = o.status === 'fulfilled' || o.status === 'cancelled';
  return (
    <Stack gap="xs" mt="md">
      <Group justify="space-between">
        <Title order={3}>
          {o.number} {o.title}
        </Title>
        <Badge color={STATUS_COLOR[o.status]}>{o.status.replace('_', ' ')}</Badge>
      </Group>
      <Text size="sm">
        {o.company_name ?? o.contact_name ?? ''} · {o.total} {o.currency}
        {o.currency !== o.org_currency ? ` (${o.org_total} ${o.org_currency} at ${o.exchange_rate})` : ''}
        {o.paid_at ? ' · paid' : ''}
      </Text>
      <Table aria-label="Order lines">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Item</Table.Th>
            <Table.Th>Ordered</Table.Th>
            <Table.Th>Delivered</Table.Th>
            <Table.Th>Deliver now</Table.Th>
            <Table.Th ta="right">Net</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {o.lines.map((l) => (
            <Table.Tr key={l.id}>
              <Table.Td>{l.description}</Table.Td>
              <Table.Td>{l.quantity}</Table.Td>
              <Table.Td>{l.fulfilled_quantity}</Table.Td>
              <Table.Td>
                <NumberInput
                  aria-label={`Deliver now: ${l.description}`}
                  min={0}
                  disabled={closed}
                  value={amounts[l.id] ?? ''}
                  onChange={(v) => setAmounts((a) => ({ ...a, [l.id]: String(v) }))}
                />
              </Table.Td>
              <Table.Td ta="right">{l.net}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {!closed && (
        <Group>
          <Button size="xs" onClick={() => fulfil.mutate(false)} loading={fulfil.isPending}>
            Deliver the quantities
          </Button>
          <Button size="xs" variant="light" onClick={() => fulfil.mutate(true)} loading={fulfil.isPending}>
            Deliver everything
          </Button>
          <Button
            size="xs"
            color="red"
            variant="subtle"
            onClick={() => cancel.mutate()}
            loading={cancel.isPending}
          >
            Cancel order
          </Button>
        </Group>
      )}
    </Stack>
  );
}

/** Orders (issue 29): the list, newest first, and the one picked. */
export function OrdersPage() {
  const [selected, setSelected] = useState<string | null>(null);
  const orders = useQuery({
    queryKey: ['orders'],
    queryFn: () => call(api.GET('/api/v1/orders', { params: { query: { limit: 200 } } })),
  });
  return (
    <Stack>
      <Title order={1} size="h2">
        Orders
      </Title>
      {orders.data?.data.length ? (
        <Table highlightOnHover aria-label="Orders">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Number</Table.Th>
              <Table.Th>Title</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th ta="right">Total</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {orders.data.data.map((o) => (
              <Table.Tr key={o.id} onClick={() => setSelected(o.id)} style={{ cursor: 'pointer' }}>
                <Table.Td>
                  <Button variant="subtle" size="compact-sm" onClick={() => setSelected(o.id)}>
                    {o.number}
                  </Button>
                </Table.Td>
                <Table.Td>{o.title}</Table.Td>
                <Table.Td>
                  <Badge color={STATUS_COLOR[o.status]}>{o.status.replace('_', ' ')}</Badge>
                </Table.Td>
                <Table.Td ta="right">
                  {o.total} {o.currency}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      ) : (
        <Text c="dimmed">No order yet: an accepted quote becomes one from its deal.</Text>
      )}
      {selected && <OrderDetail id={selected} />}
    </Stack>
  );
}
