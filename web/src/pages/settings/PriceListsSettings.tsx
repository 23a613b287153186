import {
  ActionIcon,
  Badge,
  Button,
  Group,
  Paper,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconTrash } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call } from '../../api/client';

const listsQuery = { queryKey: ['price-lists'], queryFn: () => call(api.GET('/api/v1/price-lists')) };

/**
 * Price lists (one per currency, one the default) and their prices: a product's unit price from
 * a quantity up, valid between two dates; and the sales settings (locale, approval threshold).
 */
export function PriceListsSettings() {
  const queryClient = useQueryClient();
  const lists = useQuery(listsQuery);
  const [name, setName] = useState('');
  const [currency, setCurrency] = useState('');
  const [open, setOpen] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: () => call(api.POST('/api/v1/price-lists', { body: { name, currency } })),
    onSuccess: (list) => {
      setName('');
      setCurrency('');
      setOpen(list.id);
      void queryClient.invalidateQueries({ queryKey: ['price-lists'] });
    },
    onError: (e) => notifications.show({ color: 'red', message: e.message }),
  });
  const makeDefault = useMutation({
    mutationFn: (id: string) =>
      call(api.PATCH('/api/v1/price-lists/{id}', { params: { path: { id } }, body: { is_default: true } })),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['price-lists'] }),
  });
  return (
    <Stack>
      <SalesSettingsForm />
      <Paper withBorder p="md">
        <Title order={3} size="h4" mb="sm">
          Price lists
        </Title>
        <Table>
          <Table.Tbody>
            {lists.data?.data.map((l) => (
              <Table.Tr key={l.id}>
                <Table.Td>
                  <Button
                    variant="subtle"
                    size="compact-sm"
                    onClick={() => setOpen(open === l.id ? null : l.id)}
                  >
                    {l.name}
                  </Button>
                </Table.Td>
                <Table.Td>{l.currency}</Table.Td>
                <Table.Td>{l.price_count} prices</Table.Td>
                <Table.Td>
                  {l.is_default ? (
                    <Badge>default</Badge>
                  ) : (
                    <Button variant="subtle" size="compact-xs" onClick={() => makeDefault.mutate(l.id)}>
                      Make default
                    </Button>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate();
          }}
        >
          <Group align="flex-end" mt="sm">
            <TextInput
              label="New list"
              placeholder="Europe"
              value={name}
              onChange={(e) => setName(e.currentTarget.value)}
              required
            />
            <TextInput
              label="Currency"
              placeholder="EUR"
              maxLength={3}
              w={90}
              value={currency}
              onChange={(e) => setCurrency(e.currentTarget.value.toUpperCase())}
              required
            />
            <Button type="submit" loading={create.isPending}>
              Add list
            </Button>
          </Group>
        </form>
      </Paper>
      {open && <Prices listId={open} />}
    </Stack>
  );
}

function Prices({ listId }: { listId: string }) {
  const queryClient = useQueryClient();
  const prices = useQuery({
    queryKey: ['price-lists', listId, 'prices'],
    queryFn: () => call(api.GET('/api/v1/price-lists/{id}/prices', { params: { path: { id: listId } } })),
  });
  const products = useQuery({
    queryKey: ['products', 'picker'],
    queryFn: () =>
      call(
        api.POST('/api/v1/products/query', {
          body: { fields: ['sku', 'name', 'tax_rate', 'active'], limit: 200 },
        }),
      ),
  });
  const [form, setForm] = useState({
    product_id: '',
    unit_price: '',
    min_quantity: '1',
    valid_from: '',
    valid_to: '',
  });
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ['price-lists'] });
  const add = useMutation({
    mutationFn: () =>
      call(
        api.POST('/api/v1/price-lists/{id}/prices', {
          params: { path: { id: listId } },
          body: {
            product_id: form.product_id,
            unit_price: form.unit_price,
            min_quantity: form.min_quantity || '1',
            valid_from: form.valid_from || null,
            valid_to: form.valid_to || null,
          },
        }),
      ),
    onSuccess: () => {
      setForm({ ...form, unit_price: '', min_quantity: '1' });
      refresh();
    },
    onError: (e) => notifications.show({ color: 'red', message: e.message }),
  });
  const remove = useMutation({
    mutationFn: (priceId: string) =>
      call(
        api.DELETE('/api/v1/price-lists/{id}/prices/{priceId}', {
          params: { path: { id: listId, priceId } },
        }),
      ),
    onSuccess: refresh,
  });
  return (
    <Paper withBorder p="md">
      <Title order={3} size="h4" mb="sm">
        Prices
      </Title>
      {prices.data?.data.length === 0 && <Text c="dimmed">No prices on this list yet.</Text>}
      <Table>
        <Table.Tbody>
          {prices.data?.data.map((p) => (
            <Table.Tr key={p.id}>
              <Table.Td>
                {p.product_name}{' '}
                <Text span c="dimmed">
                  {p.sku}
                </Text>
              </Table.Td>
              <Table.Td>from {p.min_quantity}</Table.Td>
              <Table.Td>
                {p.valid_from || p.valid_to ? `${p.valid_from ?? '…'} – ${p.valid_to ?? '…'}` : 'always'}
              </Table.Td>
              <Table.Td ta="right">{p.unit_price}</Table.Td>
              <Table.Td>
                <ActionIcon
                  variant="subtle"
                  color="red"
                  aria-label="Remove price"
                  onClick={() => remove.mutate(p.id)}
                >
                  <IconTrash size={16} />
                </ActionIcon>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          add.mutate();
        }}
      >
        <Group align="flex-end" mt="sm">
          <Select
            label="Product"
            searchable
            data={(products.data?.data ?? []).map((p) => ({
              value: String(p.id),
              label: `${p.name} (${p.sku})`,
            }))}
            value={form.product_id || null}
            onChange={(v) => setForm({ ...form, product_id: v ?? '' })}
            required
          />
          <TextInput
            label="Unit price"
            inputMode="decimal"
            w={110}
            value={form.unit_price}
            onChange={(e) => setForm({ ...form, unit_price: e.currentTarget.value })}
            required
          />
          <TextInput
            label="From quantity"
            inputMode="decimal"
            w={110}
            value={form.min_quantity}
            onChange={(e) => setForm({ ...form, min_quantity: e.currentTarget.value })}
          />
          <TextInput
            label="Valid from"
            type="date"
            value={form.valid_from}
            onChange={(e) => setForm({ ...form, valid_from: e.currentTarget.value })}
          />
          <TextInput
            label="Valid to"
            type="date"
            value={form.valid_to}
            onChange={(e) => setForm({ ...form, valid_to: e.currentTarget.value })}
          />
          <Button type="submit" loading={add.isPending}>
            Add price
          </Button>
        </Group>
      </form>
    </Paper>
  );
}

function SalesSettingsForm() {
  const queryClient = useQueryClient();
  const settings = useQuery({
    queryKey: ['sales-settings'],
    queryFn: () => call(api.GET('/api/v1/sales-settings')),
  });
  const [draft, setDraft] = useState<{ locale?: string; threshold?: string }>({});
  const save = useMutation({
    mutationFn: () =>
      call(
        api.PATCH('/api/v1/sales-settings', {
          body: {
            ...(draft.locale !== undefined ? { locale: draft.locale } : {}),
            ...(draft.threshold !== undefined ? { approval_discount_percent: draft.threshold || null } : {}),
          },
        }),
      ),
    onSuccess: (s) => {
      queryClient.setQueryData(['sales-settings'], s);
      setDraft({});
      notifications.show({ color: 'teal', message: 'Sales settings saved' });
    },
    onError: (e) => notifications.show({ color: 'red', message: e.message }),
  });
  if (!settings.data) return null;
  return (
    <Paper withBorder p="md">
      <Title order={3} size="h4" mb="sm">
        Quotes
      </Title>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <Group align="flex-end">
          <TextInput
            label="Locale of quotes and their PDF"
            description="Numbers and dates: en-US, de-DE, fr-FR…"
            value={draft.locale ?? settings.data.locale}
            onChange={(e) => setDraft({ ...draft, locale: e.currentTarget.value })}
          />
          <TextInput
            label="Discount needing approval above (%)"
            description="Empty: never"
            inputMode="decimal"
            value={draft.threshold ?? settings.data.approval_discount_percent ?? ''}
            onChange={(e) => setDraft({ ...draft, threshold: e.currentTarget.value })}
          />
          <Button type="submit" loading={save.isPending}>
            Save
          </Button>
        </Group>
      </form>
    </Paper>
  );
}
