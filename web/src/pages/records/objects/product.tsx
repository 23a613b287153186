import { Badge, Table, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { api, call } from '../../../api/client';
import { Section } from '../DetailParts';
import type { ObjectPlugin, PanelProps } from './types';

/** Inactive products are marked beside the name. */
function ProductHeader({ record }: PanelProps) {
  return record.active === false ? <Badge color="gray">Inactive</Badge> : null;
}

/** The product's prices on every price list: tiers and validity. */
function Prices({ id }: PanelProps) {
  const lists = useQuery({
    queryKey: ['price-lists'],
    queryFn: () => call(api.GET('/api/v1/price-lists')),
  });
  const prices = useQuery({
    queryKey: ['products', id, 'prices', lists.data?.data.map((l) => l.id)],
    enabled: Boolean(lists.data),
    queryFn: async () =>
      (
        await Promise.all(
          (lists.data?.data ?? []).map(async (list) =>
            (
              await call(
                api.GET('/api/v1/price-lists/{id}/prices', {
                  params: { path: { id: list.id }, query: { product_id: id } },
                }),
              )
            ).data.map((p) => ({ ...p, list })),
          ),
        )
      ).flat(),
  });
  return (
    <Section title="Prices">
      {prices.data?.length ? (
        <Table>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>List</Table.Th>
              <Table.Th>From quantity</Table.Th>
              <Table.Th>Valid</Table.Th>
              <Table.Th ta="right">Unit price</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {prices.data.map((p) => (
              <Table.Tr key={p.id}>
                <Table.Td>{p.list.name}</Table.Td>
                <Table.Td>{p.min_quantity}</Table.Td>
                <Table.Td>
                  {p.valid_from || p.valid_to ? `${p.valid_from ?? '…'} – ${p.valid_to ?? '…'}` : 'always'}
                </Table.Td>
                <Table.Td ta="right">
                  {p.unit_price} {p.list.currency}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      ) : (
        <Text c="dimmed" size="sm">
          No prices yet: an admin adds them under Settings → Price lists.
        </Text>
      )}
    </Section>
  );
}

export const productPlugin: ObjectPlugin = {
  Header: ProductHeader,
  panels: [Prices],
  summary: (record) => (typeof record.sku === 'string' ? record.sku : null),
};
