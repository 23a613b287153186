import { Button, Group, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call } from '../../api/client';

/** Warehouses, stock per product per warehouse, and adjustments with a reason (issue 29). */
export function StockPage() {
  const client = useQueryClient();
  const warehouses = useQuery({
    queryKey: ['warehouses'],
    queryFn: () => call(api.GET('/api/v1/warehouses')),
  });
  const stock = useQuery({ queryKey: ['stock'], queryFn: () => call(api.GET('/api/v1/stock')) });
  const products = useQuery({
    queryKey: ['products', 'for-stock'],
    queryFn: () =>
      call(api.GET('/api/v1/products', { params: { query: { limit: '200', fields: 'sku,name' } } })),
  });
  const [name, setName] = useState('');
  const [adjust, setAdjust] = useState({ warehouse_id: '', product_id: '', change: '', reason: '' });
  const onError = (e: Error) => notifications.show({ color: 'red', title: 'Refused', message: e.message });
  const addWarehouse = useMutation({
    mutationFn: () => call(api.POST('/api/v1/warehouses', { body: { name } })),
    onSuccess: () => {
      setName('');
      void client.invalidateQueries({ queryKey: ['warehouses'] });
    },
    onError,
  });
  const doAdjust = useMutation({
    mutationFn: () => call(api.POST('/api/v1/stock/adjustments', { body: adjust })),
    onSuccess: () => {
      setAdjust((a) => ({ ...a, change: '', reason: '' }));
      void client.invalidateQueries({ queryKey: ['stock'] });
    },
    onError,
  });
  const names = new Map((warehouses.data?.data ?? []).map((w) => [w.id, w.name]));
  const productOptions = (
    (products.data as { data?: { id: string; name?: string; sku?: string }[] } | undefined)?.data ?? []
  ).map((p) => ({ value: p.id, label: `${p.name ?? p.id}${p.sku ? ` (${p.sku})` : ''}` }));
  return (
    <Stack>
      <Title order={1} size="h2">
        Stock
      </Title>
      <Group align="end">
        <TextInput label="New warehouse" value={name} onChange={(e) => setName(e.currentTarget.value)} />
        <Button
          onClick={() => addWarehouse.mutate()}
          disabled={!name.trim()}
          loading={addWarehouse.isPending}
        >
          Add warehouse
        </Button>
        <Text size="sm" c="dimmed">
          {(warehouses.data?.data ?? [])
            .map((w) => `${w.name}${w.is_default ? ' (default)' : ''}`)
            .join(', ') || 'No warehouse yet: orders reserve in the default one.'}
        </Text>
      </Group>
      <Table aria-label="Stock levels">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Product</Table.Th>
            <Table.Th>Warehouse</Table.Th>
            <Table.Th ta="right">On hand</Table.Th>
            <Table.Th ta="right">Reserved</Table.Th>
            <Table.Th ta="right">Available</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {(stock.data?.data ?? []).map((s) => (
            <Table.Tr key={`${s.product_id}:${s.warehouse_id}`}>
              <Table.Td>
                {s.product} ({s.sku})
              </Table.Td>
              <Table.Td>{names.get(s.warehouse_id) ?? ''}</Table.Td>
              <Table.Td ta="right">{s.on_hand}</Table.Td>
              <Table.Td ta="right">{s.reserved}</Table.Td>
              <Table.Td ta="right">{s.available}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <Title order={4}>Adjust stock</Title>
      <Group align="end">
        <Select
          label="Warehouse"
          data={(warehouses.data?.data ?? []).map((w) => ({ value: w.id, label: w.name }))}
          value={adjust.warehouse_id || null}
          onChange={(v) => setAdjust((a) => ({ ...a, warehouse_id: v ?? '' }))}
        />
        <Select
          label="Product"
          searchable
          data={productOptions}
          value={adjust.product_id || null}
          onChange={(v) => setAdjust((a) => ({ ...a, product_id: v ?? '' }))}
        />
        <TextInput
          label="Change"
          placeholder="+10 or -2"
          value={adjust.change}
          onChange={(e) => {
            // Read now: React empties the event's currentTarget before a state updater runs.
            const change = e.currentTarget.value.replace(/^\+/, '');
            setAdjust((a) => ({ ...a, change }));
          }}
        />
        <TextInput
          label="Reason"
          value={adjust.reason}
          onChange={(e) => {
            const reason = e.currentTarget.value;
            setAdjust((a) => ({ ...a, reason }));
          }}
        />
        <Button
          onClick={() => doAdjust.mutate()}
          loading={doAdjust.isPending}
          disabled={!adjust.warehouse_id || !adjust.product_id || !adjust.change || !adjust.reason.trim()}
        >
          Adjust
        </Button>
      </Group>
    </Stack>
  );
}
