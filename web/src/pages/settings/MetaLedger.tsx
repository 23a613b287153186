import {
  Badge,
  Button,
  Code,
  Group,
  Paper,
  SegmentedControl,
  Table,
  Text,
  Title,
  VisuallyHidden,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call } from '../../api/client';
import { ErrorAlert } from '../../shell/states';

const leadColor: Record<string, string> = {
  created: 'teal',
  matched: 'teal',
  queued: 'blue',
  retrying: 'yellow',
  failed: 'red',
  ignored: 'gray',
};
const signatureColor: Record<string, string> = {
  valid: 'teal',
  invalid: 'red',
  missing: 'red',
  not_configured: 'yellow',
};

type LedgerPage<T> = { data: T[]; next_cursor: string | null };

/** One ledger view, newest first, a page of 50 at a time ("Load older" reads the next). */
function useLedger<T>(key: string, enabled: boolean, read: (cursor?: string) => Promise<LedgerPage<T>>) {
  const q = useInfiniteQuery({
    queryKey: ['meta', key],
    queryFn: ({ pageParam }) => read(pageParam),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    enabled,
  });
  return { ...q, rows: q.data?.pages.flatMap((p) => p.data) ?? [] };
}

/**
 * The intake ledger (issue 31) a support person reads: each lead with its leadgen id (the dedup
 * key), outcome and error code, replayable; each delivery with its signature result and raw body;
 * and the Conversions API calls.
 */
export function MetaLedger() {
  const queryClient = useQueryClient();
  const [view, setView] = useState('leads');
  const leads = useLedger('leads', view === 'leads', (cursor) =>
    call(api.GET('/api/v1/meta/leads', { params: { query: { limit: 50, cursor } } })),
  );
  const deliveries = useLedger('deliveries', view === 'deliveries', (cursor) =>
    call(api.GET('/api/v1/meta/deliveries', { params: { query: { limit: 50, cursor } } })),
  );
  const capi = useLedger('capi', view === 'capi', (cursor) =>
    call(api.GET('/api/v1/meta/capi-events', { params: { query: { limit: 50, cursor } } })),
  );
  const shown = view === 'leads' ? leads : view === 'deliveries' ? deliveries : capi;
  const onError = (e: Error) => notifications.show({ color: 'red', message: e.message });
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ['meta'] });
  const replayLead = useMutation({
    mutationFn: (id: string) =>
      call(api.POST('/api/v1/meta/leads/{id}/replay', { params: { path: { id } } })),
    onSuccess: refresh,
    onError,
  });
  const replayDelivery = useMutation({
    mutationFn: (id: string) =>
      call(api.POST('/api/v1/meta/deliveries/{id}/replay', { params: { path: { id } } })),
    onSuccess: (r) => {
      refresh();
      notifications.show({ message: `${r.leads_queued} queued, ${r.leads_seen} already seen` });
    },
    onError,
  });
  const error = leads.error ?? deliveries.error ?? capi.error;
  return (
    <Paper withBorder p="md">
      <Group justify="space-between" mb="xs">
        <Title order={2} size="h4">
          Intake ledger
        </Title>
        <SegmentedControl
          value={view}
          onChange={setView}
          aria-label="Ledger view"
          data={[
            { value: 'leads', label: 'Leads' },
            { value: 'deliveries', label: 'Deliveries' },
            { value: 'capi', label: 'Conversions API' },
          ]}
        />
      </Group>
      {error && <ErrorAlert error={error} />}
      {view === 'leads' && (
        <Table data-testid="meta-leads">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Leadgen id</Table.Th>
              <Table.Th>Outcome</Table.Th>
              <Table.Th>Source</Table.Th>
              <Table.Th>Received</Table.Th>
              <Table.Th>
                <VisuallyHidden>Actions</VisuallyHidden>
              </Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {leads.rows.map((l) => (
              <Table.Tr key={l.id}>
                <Table.Td>
                  <Code>{l.leadgen_id}</Code>
                </Table.Td>
                <Table.Td>
                  <Badge color={leadColor[l.status] ?? 'gray'}>{l.status}</Badge>
                  {l.error && (
                    <Text size="xs" c={l.status === 'failed' ? 'red' : 'dimmed'}>
                      {l.error}
                      {l.error_detail ? `: ${l.error_detail}` : ''}
                    </Text>
                  )}
                  {l.attempts > 0 && (
                    <Text size="xs" c="dimmed">
                      {l.attempts} attempt{l.attempts === 1 ? '' : 's'}
                    </Text>
                  )}
                </Table.Td>
                <Table.Td>
                  <Text size="xs">
                    page {l.page_id}
                    {l.campaign_id ? ` · campaign ${l.campaign_id}` : ''}
                    {l.ad_id ? ` · ad ${l.ad_id}` : ''}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <Text size="xs">{l.created_at.slice(0, 16)}</Text>
                </Table.Td>
                <Table.Td>
                  {(l.status === 'failed' || l.status === 'ignored') && (
                    <Button size="xs" variant="light" onClick={() => replayLead.mutate(l.id)}>
                      Replay
                    </Button>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {view === 'deliveries' && (
        <Table>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Received</Table.Th>
              <Table.Th>Signature</Table.Th>
              <Table.Th>Leads</Table.Th>
              <Table.Th>Body</Table.Th>
              <Table.Th>
                <VisuallyHidden>Actions</VisuallyHidden>
              </Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {deliveries.rows.map((d) => (
              <Table.Tr key={d.id}>
                <Table.Td>
                  <Text size="xs">{d.received_at.slice(0, 19)}</Text>
                </Table.Td>
                <Table.Td>
                  <Badge color={signatureColor[d.signature] ?? 'gray'}>{d.signature}</Badge>
                </Table.Td>
                <Table.Td>
                  <Text size="xs">
                    {d.leads_queued} queued, {d.leads_seen} already seen
                  </Text>
                </Table.Td>
                <Table.Td>
                  <Code block style={{ maxWidth: 420, maxHeight: 120, overflow: 'auto' }}>
                    {d.raw_body.slice(0, 2000)}
                  </Code>
                </Table.Td>
                <Table.Td>
                  {d.signature === 'valid' && (
                    <Button size="xs" variant="light" onClick={() => replayDelivery.mutate(d.id)}>
                      Replay
                    </Button>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {view === 'capi' && (
        <Table>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Event</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th>Event id</Table.Th>
              <Table.Th>Answer</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {capi.rows.map((c) => (
              <Table.Tr key={c.id}>
                <Table.Td>{c.event_name}</Table.Td>
                <Table.Td>
                  <Badge color={c.status === 'sent' ? 'teal' : c.status === 'failed' ? 'red' : 'yellow'}>
                    {c.status}
                  </Badge>
                  {c.last_error && (
                    <Text size="xs" c="red">
                      {c.last_error}
                    </Text>
                  )}
                </Table.Td>
                <Table.Td>
                  <Code>{c.event_id}</Code>
                </Table.Td>
                <Table.Td>
                  <Text size="xs">{c.last_status_code ?? '—'}</Text>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {shown.hasNextPage && (
        <Group justify="center" mt="sm">
          <Button variant="default" onClick={() => shown.fetchNextPage()} loading={shown.isFetchingNextPage}>
            Load older
          </Button>
        </Group>
      )}
    </Paper>
  );
}
