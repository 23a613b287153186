import { Badge, Button, Menu, Select, Table, Text, TextInput } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { queryOptions, useMutation, useQuery } from '@tanstack/react-query';
import { lazy, Suspense, useState } from 'react';
import { api, call, money } from '../../../api/client';
import { formatDate } from '../../../lib/fields';
import { pipelinesQuery } from '../../../lib/query';
import { ErrorAlert } from '../../../shell/states';
import { QuotesPanel } from '../../quotes/QuotesPanel';
import { Section } from '../DetailParts';
import type { ObjectPlugin, PanelProps } from './types';

const opportunityQuery = (id: string) =>
  queryOptions({
    queryKey: ['opportunities', id],
    queryFn: () => call(api.GET('/api/v1/opportunities/{id}', { params: { path: { id } } })),
  });

const statusColor = (status: unknown) =>
  status === 'won' ? 'green' : status === 'lost' ? 'red' : status === 'open' ? 'blue' : 'gray';

/** Status, value, pipeline, stage and days in it, beside the title. */
function OpportunityHeader({ id }: PanelProps) {
  const o = useQuery(opportunityQuery(id)).data;
  const pipelines = useQuery(pipelinesQuery);
  if (!o) return null;
  const pipeline = pipelines.data?.data.find((p) => p.id === o.pipeline_id);
  return (
    <>
      <Badge color={statusColor(o.status)} data-testid="opportunity-status">
        {o.status}
      </Badge>
      <Text c="dimmed" size="sm" w="100%">
        {o.amount === undefined ? '' : `${money(o.amount, o.currency)} · `}
        {pipeline?.name} · {o.stage.name} · {o.days_in_stage} days in stage
      </Text>
    </>
  );
}

/** Move to another open stage, close as won/lost/abandoned with a reason, or reopen. */
function StageActions({ id, canEdit, refresh }: PanelProps) {
  const o = useQuery(opportunityQuery(id)).data;
  const pipelines = useQuery(pipelinesQuery);
  const [reason, setReason] = useState('');
  const move = useMutation({
    mutationFn: (stageId: string) =>
      call(
        api.POST('/api/v1/opportunities/{id}/move', {
          params: { path: { id } },
          body: { stage_id: stageId },
        }),
      ),
    onSuccess: refresh,
    onError: (e) => notifications.show({ color: 'red', title: 'Could not move', message: e.message }),
  });
  const close = useMutation({
    mutationFn: (status: 'won' | 'lost' | 'abandoned') =>
      call(
        api.POST('/api/v1/opportunities/{id}/close', {
          params: { path: { id } },
          body: { status, ...(reason ? { reason } : {}) },
        }),
      ),
    onSuccess: refresh,
    onError: (e) => notifications.show({ color: 'red', title: 'Could not close', message: e.message }),
  });
  const reopen = useMutation({
    mutationFn: () =>
      call(api.POST('/api/v1/opportunities/{id}/reopen', { params: { path: { id } }, body: {} })),
    onSuccess: refresh,
    onError: (e) => notifications.show({ color: 'red', message: e.message }),
  });
  if (!o || !canEdit) return null;
  const pipeline = pipelines.data?.data.find((p) => p.id === o.pipeline_id);
  if (o.status !== 'open') {
    return (
      <Button variant="default" onClick={() => reopen.mutate()} loading={reopen.isPending}>
        Reopen
      </Button>
    );
  }
  return (
    <>
      <Select
        aria-label="Stage"
        w={180}
        data={(pipeline?.stages ?? [])
          .filter((s) => s.kind === 'open')
          .map((s) => ({ value: s.id, label: s.name }))}
        value={o.stage.id}
        onChange={(v) => v && v !== o.stage.id && move.mutate(v)}
      />
      <Menu>
        <Menu.Target>
          <Button>Close…</Button>
        </Menu.Target>
        <Menu.Dropdown>
          <TextInput
            m="xs"
            aria-label="Close reason"
            placeholder="Reason (optional)"
            value={reason}
            onChange={(e) => setReason(e.currentTarget.value)}
          />
          <Menu.Item color="green" onClick={() => close.mutate('won')}>
            Close as won
          </Menu.Item>
          <Menu.Item color="red" onClick={() => close.mutate('lost')}>
            Close as lost
          </Menu.Item>
          <Menu.Item onClick={() => close.mutate('abandoned')}>Abandon</Menu.Item>
        </Menu.Dropdown>
      </Menu>
      <ErrorAlert error={close.error} />
    </>
  );
}

/** Each stage the opportunity went through, when and for how long. */
function StageHistory({ id }: PanelProps) {
  const history = useQuery({
    queryKey: ['opportunities', id, 'history'],
    queryFn: () => call(api.GET('/api/v1/opportunities/{id}/history', { params: { path: { id } } })),
  });
  return (
    <Section title="Stage history">
      <Table data-testid="stage-history">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Stage</Table.Th>
            <Table.Th>Entered</Table.Th>
            <Table.Th>Days</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {(history.data?.data ?? []).map((h) => (
            <Table.Tr key={h.moved_at + h.to_stage.id}>
              <Table.Td>
                {h.from_stage ? `${h.from_stage.name} → ` : ''}
                {h.to_stage.name}
                {h.status !== 'open' ? ` (${h.status})` : ''}
              </Table.Td>
              <Table.Td>{formatDate(h.moved_at, true)}</Table.Td>
              <Table.Td>{h.days_in_stage.toFixed(1)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Section>
  );
}

// A deal's line items (issue 29) load as their own chunk when a deal is opened.
const LineItemsPanel = lazy(() =>
  import('../../quotes/LineItemsPanel').then((m) => ({ default: m.LineItemsPanel })),
);
function LineItems(props: PanelProps) {
  return (
    <Suspense fallback={null}>
      <LineItemsPanel {...props} />
    </Suspense>
  );
}

const text = (v: unknown) => (typeof v === 'string' ? v : null);

/** An opportunity: its place in a pipeline (stage moves, closing, reopening) and its history. */
export const opportunityPlugin: ObjectPlugin = {
  Header: OpportunityHeader,
  Actions: StageActions,
  // The pipeline and stage show in the header and move through the stage actions.
  fields: { pipeline_id: null, stage_id: null },
  panels: [StageHistory, LineItems, QuotesPanel],
  summary: (r) => (
    <>
      {'amount' in r && (
        <Text size="sm">{money(typeof r.amount === 'number' ? r.amount : null, text(r.currency))}</Text>
      )}
      <Badge size="sm" variant="light" color={statusColor(r.status)}>
        {text(r.status)}
      </Badge>
    </>
  ),
};
