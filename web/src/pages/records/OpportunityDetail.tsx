import {
  Anchor,
  Badge,
  Button,
  Grid,
  Group,
  Menu,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from '@tanstack/react-router';
import { useState } from 'react';
import { api, call, money } from '../../api/client';
import { formatDate, type RecordData, useMembers } from '../../lib/fields';
import { RecordPicker } from '../../lib/pickers';
import { objectQuery, pipelinesQuery } from '../../lib/query';
import { useRecordSave } from '../../lib/records';
import { ErrorAlert, PageSkeleton } from '../../shell/states';
import {
  EditableField,
  FieldsPanel,
  NotesPanel,
  RecordActions,
  Section,
  TasksPanel,
  TimelinePanel,
  useCanEdit,
} from './DetailParts';

/** An opportunity: stage, value, people, close won/lost or reopen, stage history and activity. */
export function OpportunityDetail() {
  const { id } = useParams({ from: '/app/opportunities/$id' });
  const queryClient = useQueryClient();
  const members = useMembers();
  const canEdit = useCanEdit();
  const description = useQuery(objectQuery('opportunity'));
  const save = useRecordSave('opportunity', id);
  const pipelines = useQuery(pipelinesQuery);
  const opp = useQuery({
    queryKey: ['opportunities', id],
    queryFn: () => call(api.GET('/api/v1/opportunities/{id}', { params: { path: { id } } })),
  });
  const history = useQuery({
    queryKey: ['opportunities', id, 'history'],
    queryFn: () => call(api.GET('/api/v1/opportunities/{id}/history', { params: { path: { id } } })),
  });
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: ['opportunities'] });
    void queryClient.invalidateQueries({ queryKey: ['board'] });
  };
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
  const [reason, setReason] = useState('');
  const close = useMutation({
    mutationFn: (status: 'won' | 'lost' | 'abandoned') =>
      call(
        api.POST('/api/v1/opportunities/{id}/close', {
          params: { path: { id } },
          body: { status, ...(reason ? { reason } : {}) },
        }),
      ),
    onSuccess: refresh,
  });
  const reopen = useMutation({
    mutationFn: () =>
      call(api.POST('/api/v1/opportunities/{id}/reopen', { params: { path: { id } }, body: {} })),
    onSuccess: refresh,
    onError: (e) => notifications.show({ color: 'red', message: e.message }),
  });

  if (opp.error) throw opp.error;
  if (!opp.data || !description.data) return <PageSkeleton />;
  const o = opp.data;
  const pipeline = pipelines.data?.data.find((p) => p.id === o.pipeline_id);

  const fieldOf = (key: string) => description.data.fields.find((f) => f.key === key)!;

  return (
    <Stack>
      <Group justify="space-between" wrap="wrap">
        <div>
          <Group gap="sm">
            <Title order={1} size="h2">
              {o.title}
            </Title>
            <Badge
              color={
                o.status === 'won'
                  ? 'green'
                  : o.status === 'lost'
                    ? 'red'
                    : o.status === 'open'
                      ? 'blue'
                      : 'gray'
              }
              data-testid="opportunity-status"
            >
              {o.status}
            </Badge>
          </Group>
          <Text c="dimmed" size="sm">
            {money(o.amount, o.currency)} · {pipeline?.name} · {o.stage.name} · {o.days_in_stage} days in
            stage
          </Text>
        </div>
        <Group gap="xs">
          {canEdit && o.status === 'open' && (
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
            </>
          )}
          {canEdit && o.status !== 'open' && (
            <Button variant="default" onClick={() => reopen.mutate()} loading={reopen.isPending}>
              Reopen
            </Button>
          )}
          <RecordActions object="opportunity" id={id} archived={Boolean(o.archived_at)} onChanged={refresh} />
        </Group>
      </Group>
      <ErrorAlert error={close.error} />
      <Grid>
        <Grid.Col span={{ base: 12, md: 5 }}>
          <Stack>
            <Section title="Details">
              <Stack gap={8}>
                <EditableField
                  field={fieldOf('contact_id')}
                  record={o as unknown as RecordData}
                  members={members}
                  canEdit={false}
                  onSave={save}
                  display={
                    o.contact ? (
                      <Anchor
                        size="sm"
                        renderRoot={(p) => <Link {...p} to="/contacts/$id" params={{ id: o.contact!.id }} />}
                      >
                        {o.contact.name}
                      </Anchor>
                    ) : undefined
                  }
                />
                {canEdit && (
                  <RecordPicker
                    collection="contacts"
                    label="Change contact"
                    value={o.contact?.id ?? null}
                    initial={o.contact ? { value: o.contact.id, label: o.contact.name } : null}
                    onChange={(cid) => void save({ contact_id: cid })}
                  />
                )}
                <EditableField
                  field={fieldOf('company_id')}
                  record={o as unknown as RecordData}
                  members={members}
                  canEdit={false}
                  onSave={save}
                  display={
                    o.company ? (
                      <Anchor
                        size="sm"
                        renderRoot={(p) => <Link {...p} to="/companies/$id" params={{ id: o.company!.id }} />}
                      >
                        {o.company.name}
                      </Anchor>
                    ) : undefined
                  }
                />
                {canEdit && (
                  <RecordPicker
                    collection="companies"
                    label="Change company"
                    value={o.company?.id ?? null}
                    initial={o.company ? { value: o.company.id, label: o.company.name } : null}
                    onChange={(cid) => void save({ company_id: cid })}
                  />
                )}
                <FieldsPanel
                  fields={description.data.fields}
                  record={o as unknown as RecordData}
                  members={members}
                  canEdit={canEdit}
                  onSave={save}
                  skip={['contact_id', 'company_id', 'pipeline_id', 'stage_id', 'rank']}
                />
              </Stack>
            </Section>
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
          </Stack>
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 7 }}>
          <Stack>
            <TasksPanel object="opportunity" id={id} />
            <NotesPanel object="opportunity" id={id} />
            <TimelinePanel object="opportunity" id={id} />
          </Stack>
        </Grid.Col>
      </Grid>
    </Stack>
  );
}
