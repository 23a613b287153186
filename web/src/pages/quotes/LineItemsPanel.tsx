import { ActionIcon, Button, Checkbox, Group, NumberInput, Select, Table, Text } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconTrash } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, call } from '../../api/client';
import { Section } from '../records/DetailParts';
import type { PanelProps } from '../records/objects/types';

type Draft = { product_id: string | null; description?: string; quantity: string; discount: string };

/**
 * A deal's line items (issue 29): products priced from the deal's price list, a quantity and a
 * discount (%) each; "Amount follows the lines" keeps the deal's amount on their net total.
 */
export function LineItemsPanel({ id, canEdit }: PanelProps) {
  const client = useQueryClient();
  const lines = useQuery({
    queryKey: ['opportunity-lines', id],
    queryFn: () => call(api.GET('/api/v1/opportunities/{id}/lines', { params: { path: { id } } })),
  });
  const products = useQuery({
    queryKey: ['products', 'for-lines'],
    queryFn: () =>
      call(api.GET('/api/v1/products', { params: { query: { limit: '200', fields: 'sku,name' } } })),
    enabled: canEdit,
  });
  const [drafts, setDrafts] = useState<Draft[]>([]);
  const [follow, setFollow] = useState(false);
  useEffect(() => {
    if (!lines.data) return;
    setFollow(lines.data.amount_from_lines);
    setDrafts(
      lines.data.lines.map((l) => ({
        product_id: l.product_id,
        description: l.description,
        quantity: l.quantity,
        discount: l.discount?.kind === 'percent' ? l.discount.value : '',
      })),
    );
  }, [lines.data]);
  const save = useMutation({
    mutationFn: () =>
      call(
        api.PUT('/api/v1/opportunities/{id}/lines', {
          params: { path: { id } },
          body: {
            amount_from_lines: follow,
            lines: drafts.map((d, i) => {
              const old = lines.data?.lines[i];
              const keepPrice = old && old.product_id === d.product_id;
              return {
                product_id: d.product_id,
                quantity: d.quantity,
                ...(d.product_id ? {} : { description: d.description ?? 'Item' }),
                ...(keepPrice || !d.product_id ? { unit_price: old?.unit_price ?? '0' } : {}),
                ...(d.discount ? { discount: { kind: 'percent' as const, value: d.discount } } : {}),
              };
            }),
          },
        }),
      ),
    onSuccess: (data) => {
      client.setQueryData(['opportunity-lines', id], data);
      void client.invalidateQueries({ queryKey: ['record', 'opportunity', id] });
      notifications.show({ color: 'green', message: 'Line items saved' });
    },
    onError: (e) =>
      notifications.show({ color: 'red', title: 'Could not save the lines', message: e.message }),
  });
  const productOptions = (
    (products.data as { data?: { id: string; name?: string; sku?: string }[] } | undefined)?.data ?? []
  ).map((p) => ({ value: p.id, label: `${p.name ?? p.id}${p.sku ? ` (${p.sku})` : ''}` }));
  const data = lines.data;
  const set = (i: number, patch: Partial<Draft>) =>
    setDrafts((all) => all.map((d, j) => (j === i ? { ...d, ...patch } : d)));
  return (
    <Section title="Line items">
      <Table aria-label="Line items">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Product</Table.Th>
            <Table.Th>Quantity</Table.Th>
            <Table.Th>Discount %</Table.Th>
            <Table.Th ta="right">Net</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {drafts.map((d, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: a draft line has no id until saved
            <Table.Tr key={i}>
              <Table.Td>
                {canEdit ? (
                  <Select
                    aria-label={`Product of line ${i + 1}`}
                    data={productOptions}
                    value={d.product_id}
                    placeholder={d.description}
                    searchable
                    onChange={(v) => set(i, { product_id: v })}
                  />
                ) : (
                  d.description
                )}
              </Table.Td>
              <Table.Td>
                <NumberInput
                  aria-label={`Quantity of line ${i + 1}`}
                  min={0}
                  value={d.quantity}
                  disabled={!canEdit}
                  onChange={(v) => set(i, { quantity: String(v) })}
                />
              </Table.Td>
              <Table.Td>
                <NumberInput
                  aria-label={`Discount of line ${i + 1}`}
                  min={0}
                  max={100}
                  value={d.discount}
                  disabled={!canEdit}
                  onChange={(v) => set(i, { discount: String(v) })}
                />
              </Table.Td>
              <Table.Td ta="right">{data?.lines[i]?.net ?? ''}</Table.Td>
              <Table.Td>
                {canEdit && (
                  <ActionIcon
                    variant="subtle"
                    aria-label={`Remove line ${i + 1}`}
                    onClick={() => setDrafts((all) => all.filter((_, j) => j !== i))}
                  >
                    <IconTrash size={16} />
                  </ActionIcon>
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {data && (
        <Text size="sm" ta="right" mt="xs">
          Net {data.net_total} · tax {data.tax_total} · total {data.total} {data.currency}
        </Text>
      )}
      {canEdit && (
        <Group mt="xs" justify="space-between">
          <Group>
            <Button
              size="xs"
              variant="light"
              onClick={() => setDrafts((all) => [...all, { product_id: null, quantity: '1', discount: '' }])}
            >
              Add line
            </Button>
            <Checkbox
              label="Amount follows the lines"
              checked={follow}
              onChange={(e) => setFollow(e.currentTarget.checked)}
            />
          </Group>
          <Button size="xs" onClick={() => save.mutate()} loading={save.isPending}>
            Save lines
          </Button>
        </Group>
      )}
    </Section>
  );
}
