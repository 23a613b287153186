import { Button, Divider, Group, NumberInput, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { api, call } from '../../api/client';
import { ErrorAlert } from '../../shell/states';

export const exchangeRatesQuery = {
  queryKey: ['exchange-rates'],
  queryFn: () => call(api.GET('/api/v1/exchange-rates')),
};

const today = () => new Date().toISOString().slice(0, 10);

/**
 * Dated exchange rates into the organization's currency (`PUT /exchange-rates`): what the board's
 * total and an order's deal value convert with. A rate holds from its day until the next one.
 */
export function ExchangeRatesSettings({ currency }: { currency: string }) {
  const queryClient = useQueryClient();
  const rates = useQuery(exchangeRatesQuery);
  const [from, setFrom] = useState('');
  const [validOn, setValidOn] = useState(today());
  const [rate, setRate] = useState<string | number>('');
  const save = useMutation({
    mutationFn: () =>
      call(
        api.PUT('/api/v1/exchange-rates', {
          body: { currency: from.toUpperCase(), valid_on: validOn, rate: String(rate) },
        }),
      ),
    onSuccess: (saved) => {
      void queryClient.invalidateQueries({ queryKey: exchangeRatesQuery.queryKey });
      void queryClient.invalidateQueries({ queryKey: ['board'] });
      notifications.show({ color: 'teal', message: `${saved.currency} rate from ${saved.valid_on} saved` });
      setFrom('');
      setRate('');
    },
  });
  const rows = rates.data?.data ?? [];
  return (
    <Stack maw={560} mt="xl">
      <Divider />
      <Title order={2} size="h4">
        Exchange rates
      </Title>
      <Text size="sm" c="dimmed">
        How much one unit of another currency is worth in {currency}, from a day on. The board's totals and
        orders' deal values use the newest rate on or before their day; a currency without a rate is shown
        apart, never added.
      </Text>
      <ErrorAlert error={save.error ?? rates.error} />
      <form
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <Group align="flex-end" wrap="wrap">
          <TextInput
            label="Currency"
            placeholder="EUR"
            required
            maxLength={3}
            w={100}
            value={from}
            onChange={(e) => setFrom(e.currentTarget.value.toUpperCase())}
          />
          <TextInput
            label="Valid from"
            type="date"
            required
            w={170}
            value={validOn}
            onChange={(e) => setValidOn(e.currentTarget.value)}
          />
          <NumberInput
            label={`Rate (${currency} per unit)`}
            required
            min={0}
            decimalScale={10}
            w={190}
            value={rate}
            onChange={setRate}
          />
          <Button type="submit" loading={save.isPending}>
            Set rate
          </Button>
        </Group>
      </form>
      {rows.length > 0 && (
        <Table striped aria-label="Exchange rates">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Currency</Table.Th>
              <Table.Th>Valid from</Table.Th>
              <Table.Th>Rate in {currency}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((r) => (
              <Table.Tr key={r.id}>
                <Table.Td>{r.currency}</Table.Td>
                <Table.Td>{r.valid_on}</Table.Td>
                <Table.Td>{r.rate}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
