import { Anchor, Badge, Button, Group, Table, Text } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery } from '@tanstack/react-query';
import { Link, useNavigate } from '@tanstack/react-router';
import { api, call } from '../../api/client';
import { Section } from '../records/DetailParts';
import type { PanelProps } from '../records/objects/types';

export const STATUS_COLOR: Record<string, string> = {
  draft: 'gray',
  sent: 'blue',
  accepted: 'green',
  rejected: 'red',
  expired: 'orange',
};

/** A deal's quotes (every version, newest first) and the button that drafts one from the deal. */
export function QuotesPanel({ id, canEdit }: PanelProps) {
  const navigate = useNavigate();
  const quotes = useQuery({
    queryKey: ['quotes', 'of', id],
    queryFn: () => call(api.GET('/api/v1/quotes', { params: { query: { opportunity_id: id, limit: 50 } } })),
  });
  const create = useMutation({
    mutationFn: () => call(api.POST('/api/v1/quotes', { body: { opportunity_id: id } })),
    onSuccess: (q) => void navigate({ to: '/quotes/$id', params: { id: q.id } }),
    onError: (e) =>
      notifications.show({ color: 'red', title: 'Could not create the quote', message: e.message }),
  });
  const order = useMutation({
    mutationFn: (quoteId: string) =>
      call(api.POST('/api/v1/quotes/{id}/order', { params: { path: { id: quoteId } }, body: {} })),
    onSuccess: () => void navigate({ to: '/orders' }),
    onError: (e) =>
      notifications.show({ color: 'red', title: 'Could not make the order', message: e.message }),
  });
  return (
    <Section title="Quotes">
      {quotes.data?.data.length ? (
        <Table>
          <Table.Tbody>
            {quotes.data.data.map((q) => (
              <Table.Tr key={q.id}>
                <Table.Td>
                  <Anchor renderRoot={(props) => <Link {...props} to="/quotes/$id" params={{ id: q.id }} />}>
                    {q.number}
                    {q.version > 1 ? ` v${q.version}` : ''}
                  </Anchor>
                </Table.Td>
                <Table.Td>
                  <Badge color={STATUS_COLOR[q.status]}>
                    {q.read_only && q.status === 'sent' ? 'superseded' : q.status}
                  </Badge>
                </Table.Td>
                <Table.Td ta="right">
                  {q.total} {q.currency}
                </Table.Td>
                <Table.Td>
                  {canEdit && q.status === 'accepted' && (
                    <Button size="compact-xs" variant="light" onClick={() => order.mutate(q.id)}>
                      Order
                    </Button>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      ) : (
        <Text c="dimmed" size="sm">
          No quote yet.
        </Text>
      )}
      {canEdit && (
        <Group mt="xs">
          <Button size="xs" variant="light" onClick={() => create.mutate()} loading={create.isPending}>
            New quote
          </Button>
        </Group>
      )}
    </Section>
  );
}
