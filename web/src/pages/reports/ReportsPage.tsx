import {
  Alert,
  Anchor,
  Button,
  Group,
  Paper,
  Select,
  Stack,
  Table,
  Text,
  Textarea,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from '@tanstack/react-router';
import { useState } from 'react';
import { type ApiError, api, call, type Schemas } from '../../api/client';
import { objectsQuery } from '../../lib/query';
import { AskReportSlot, ExplainSlot } from '../ai/assistant';
import { type ReportCell, ReportChart, type ReportView } from './ReportChart';
import { ScheduleButton } from './ScheduleDialog';

type Spec = Schemas['ReportSpec'];
const VIEWS: { value: ReportView; label: string }[] = [
  { value: 'bar', label: 'Bar' },
  { value: 'stacked_bar', label: 'Stacked bar' },
  { value: 'line', label: 'Line' },
  { value: 'area', label: 'Area' },
  { value: 'pie', label: 'Pie' },
  { value: 'funnel', label: 'Funnel' },
  { value: 'number', label: 'Single number' },
  { value: 'table', label: 'Table / pivot' },
];
const MEASURES = ['count', 'sum', 'avg', 'min', 'max', 'distinct_count'] as const;
const BUCKETS = ['day', 'week', 'month', 'quarter', 'year'] as const;
const GROUPABLE = new Set([
  'text',
  'email',
  'number',
  'currency',
  'date',
  'datetime',
  'boolean',
  'select',
  'status',
  'relation',
  'user',
  'uuid',
]);

/** Opens the records behind a report cell: the list of `object` under the cell's filter. */
export function useDrill(object: string) {
  const navigate = useNavigate();
  return (cell: ReportCell) =>
    void navigate({ to: '/reports/records', search: { object, filter: JSON.stringify(cell.filter) } });
}

/** The report builder (object, filter, grouping, measure, view), saved reports and standard reports. */
export function ReportsPage() {
  const queryClient = useQueryClient();
  const objects = useQuery(objectsQuery).data?.data ?? [];
  const [object, setObject] = useState('opportunity');
  const [group0, setGroup0] = useState<string | null>('stage_id');
  const [bucket0, setBucket0] = useState<string | null>('month');
  const [group1, setGroup1] = useState<string | null>(null);
  const [op, setOp] = useState<(typeof MEASURES)[number]>('count');
  const [measureField, setMeasureField] = useState<string | null>(null);
  const [filterText, setFilterText] = useState('');
  const [view, setView] = useState<ReportView>('bar');
  const [name, setName] = useState('');
  const [filterError, setFilterError] = useState<string | null>(null);
  const drill = useDrill(object);
  const def = objects.find((o) => o.key === object);
  const fields = (def?.fields ?? []).filter((f) => !f.retired);
  const isDate = (key: string | null) =>
    ['date', 'datetime'].includes(fields.find((f) => f.key === key)?.type ?? '');
  const groupOptions = fields
    .filter((f) => GROUPABLE.has(f.type))
    .map((f) => ({ value: f.key, label: f.label }));

  const spec = (): Spec => {
    const group_by: Spec['group_by'] = [];
    if (group0)
      group_by.push({ field: group0, ...(isDate(group0) && bucket0 ? { bucket: bucket0 as 'month' } : {}) });
    if (group1) group_by.push({ field: group1, ...(isDate(group1) ? { bucket: 'month' as const } : {}) });
    return {
      object,
      group_by,
      measure: op === 'count' ? { op } : { op, field: measureField ?? '' },
      ...(filterText.trim() ? { filter: JSON.parse(filterText) } : {}),
    };
  };
  // The definition that ran travels with the run (its variables): "Explain" reads those numbers.
  const run = useMutation<Schemas['ReportResult'], ApiError, { spec: Spec; title: string }>({
    mutationFn: (v) => call(api.POST('/api/v1/reports/run', { body: v.spec })),
  });
  const saved = useQuery({ queryKey: ['reports'], queryFn: () => call(api.GET('/api/v1/reports')) });
  const save = useMutation<unknown, ApiError>({
    mutationFn: () =>
      call(
        api.POST('/api/v1/reports', {
          body: { name: name || 'Untitled report', spec: spec(), view, sharing: 'private' },
        }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['reports'] }),
  });
  const load = (r: { spec: unknown; view: string; name: string }) => {
    const s = r.spec as Spec;
    setObject(s.object);
    setGroup0(s.group_by?.[0]?.field ?? null);
    setBucket0(s.group_by?.[0]?.bucket ?? 'month');
    setGroup1(s.group_by?.[1]?.field ?? null);
    setOp(s.measure?.op ?? 'count');
    setMeasureField(s.measure?.field ?? null);
    setFilterText(s.filter ? JSON.stringify(s.filter) : '');
    setView(r.view as ReportView);
    setName(r.name);
  };

  return (
    <Stack>
      <Title order={1} size="h2">
        Reports
      </Title>
      <AskReportSlot onUse={(s, title) => load({ spec: s, view, name: title })} />
      <Paper withBorder p="md">
        <Group align="end" wrap="wrap">
          <Select
            label="Object"
            data={objects.map((o) => ({ value: o.key, label: o.label_plural }))}
            value={object}
            onChange={(v) => {
              setObject(v ?? 'opportunity');
              setGroup0(null);
              setGroup1(null);
              setMeasureField(null);
            }}
            allowDeselect={false}
          />
          <Select
            label="Group by"
            data={groupOptions}
            value={group0}
            onChange={setGroup0}
            clearable
            searchable
          />
          {isDate(group0) && (
            <Select
              label="Per"
              data={[...BUCKETS]}
              value={bucket0}
              onChange={setBucket0}
              allowDeselect={false}
            />
          )}
          <Select
            label="Then by"
            data={groupOptions}
            value={group1}
            onChange={setGroup1}
            clearable
            searchable
          />
          <Select
            label="Measure"
            data={MEASURES.map((m) => ({ value: m, label: m.replace('_', ' ') }))}
            value={op}
            onChange={(v) => setOp((v as (typeof MEASURES)[number]) ?? 'count')}
            allowDeselect={false}
          />
          {op !== 'count' && (
            <Select
              label="Of"
              data={fields.map((f) => ({ value: f.key, label: f.label }))}
              value={measureField}
              onChange={setMeasureField}
              searchable
            />
          )}
          <Select
            label="View"
            data={VIEWS}
            value={view}
            onChange={(v) => setView((v as ReportView) ?? 'bar')}
            allowDeselect={false}
          />
        </Group>
        <Textarea
          mt="sm"
          label="Filter (the list filter, JSON)"
          placeholder='{"field": "status", "op": "eq", "value": "open"}'
          value={filterText}
          onChange={(e) => setFilterText(e.currentTarget.value)}
          autosize
          minRows={1}
          error={filterError}
        />
        <Group mt="sm">
          <Button
            onClick={() => {
              let s: Spec;
              try {
                s = spec();
              } catch {
                setFilterError('The filter is not valid JSON');
                return;
              }
              setFilterError(null);
              run.mutate({ spec: s, title: name.trim() || 'Untitled report' });
            }}
            loading={run.isPending}
          >
            Run
          </Button>
          <TextInput
            aria-label="Report name"
            placeholder="Report name"
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
          />
          <Button variant="light" onClick={() => save.mutate()} loading={save.isPending}>
            Save
          </Button>
        </Group>
      </Paper>
      {run.error && (
        <Alert color="red" title="The report cannot run">
          {run.error.message}
          {run.error.problem?.path ? ` (${run.error.problem.path})` : ''}
        </Alert>
      )}
      {save.error && <Alert color="red">{save.error.message}</Alert>}
      {run.data && (
        <Paper withBorder p="md">
          {run.data.note && (
            <Text c="dimmed" size="sm">
              {run.data.note}
            </Text>
          )}
          <ReportChart result={run.data} view={view} onDrill={drill} />
          {run.variables && <ExplainSlot reports={[run.variables]} />}
        </Paper>
      )}
      <Title order={3}>Saved reports</Title>
      <Table>
        <Table.Tbody>
          {(saved.data?.data ?? []).map((r) => (
            <Table.Tr key={r.id}>
              <Table.Td>
                <Anchor component="button" type="button" onClick={() => load(r)}>
                  {r.name}
                </Anchor>
              </Table.Td>
              <Table.Td>{r.object}</Table.Td>
              <Table.Td>{r.sharing}</Table.Td>
              <Table.Td>
                <Group gap="xs">
                  <Anchor href={`/api/v1/reports/${r.id}/export`}>CSV</Anchor>
                  <Anchor href={`/api/v1/reports/${r.id}/pdf`}>PDF</Anchor>
                  <ScheduleButton target={{ report_id: r.id }} name={r.name} />
                </Group>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <StandardReports />
    </Stack>
  );
}

const STANDARD = [
  { value: 'pipeline_by_stage', label: 'Pipeline by stage' },
  { value: 'forecast_by_close_month', label: 'Forecast by close month' },
  { value: 'forecast_by_category', label: 'Forecast by category' },
  { value: 'win_rate', label: 'Win rate' },
  { value: 'sales_cycle', label: 'Sales cycle' },
  { value: 'stage_funnel', label: 'Stage funnel' },
  { value: 'activity_by_member', label: 'Activity by member' },
  { value: 'contacts_by_status', label: 'Contacts by status' },
  { value: 'contacts_by_owner', label: 'Contacts by owner' },
  { value: 'contacts_by_source', label: 'Contacts by source' },
  { value: 'opportunities_by_status', label: 'Opportunities by status' },
  { value: 'records_by_status', label: 'Records by status (cases...)' },
  { value: 'records_by_owner', label: 'Records by owner (cases...)' },
  { value: 'time_to_status', label: 'Time to a status (new to qualified)' },
  { value: 'sequence_performance', label: 'Sequence performance' },
  { value: 'inbox_by_channel', label: 'Inbox by channel' },
] as const;
type StandardKey = (typeof STANDARD)[number]['value'];
/** The reports that read one object's records, chosen below the report. */
const PER_OBJECT = new Set<StandardKey>(['records_by_status', 'records_by_owner', 'time_to_status']);

/** The standard reports, as tables whose rows open the records behind them. */
function StandardReports() {
  const [key, setKey] = useState<StandardKey>('pipeline_by_stage');
  const objects = useQuery(objectsQuery).data?.data ?? [];
  const withStatus = objects.filter((o) => o.fields.some((f) => f.type === 'status' && !f.retired));
  const choices = key === 'records_by_owner' ? objects : withStatus;
  const [picked, setPicked] = useState<string | null>(null);
  const object = PER_OBJECT.has(key) ? (choices.find((o) => o.key === picked) ?? choices[0])?.key : undefined;
  const statusField = objects
    .find((o) => o.key === object)
    ?.fields.find((f) => f.type === 'status' && !f.retired);
  const [toStatus, setToStatus] = useState<string | null>(null);
  const target =
    key === 'time_to_status' && statusField?.statuses?.statuses.some((st) => st.value === toStatus)
      ? toStatus
      : null;
  const navigate = useNavigate();
  const report = useQuery({
    queryKey: ['standard-report', key, object, target],
    enabled: !PER_OBJECT.has(key) || object !== undefined,
    queryFn: () =>
      call(
        api.GET('/api/v1/reports/standard', {
          params: {
            query: {
              report: key,
              ...(object ? { object } : {}),
              ...(target ? { to_status: target } : {}),
            },
          },
        }),
      ),
  });
  const r = report.data;
  return (
    <Stack>
      <Group>
        <Title order={3}>Standard reports</Title>
        <Select
          aria-label="Standard report"
          data={[...STANDARD]}
          value={key}
          onChange={(v) => v && setKey(v as StandardKey)}
          allowDeselect={false}
        />
        {PER_OBJECT.has(key) && (
          <Select
            aria-label="Object"
            data={choices.map((o) => ({ value: o.key, label: o.label_plural }))}
            value={object ?? null}
            onChange={setPicked}
            allowDeselect={false}
            placeholder="No object has a status field"
          />
        )}
        {key === 'time_to_status' && statusField?.statuses && (
          <Select
            aria-label="Status reached"
            data={statusField.statuses.statuses.map((st) => ({ value: st.value, label: st.label }))}
            value={target ?? statusField.statuses.statuses[1]?.value ?? null}
            onChange={setToStatus}
            allowDeselect={false}
          />
        )}
      </Group>
      {r && (
        <Paper withBorder p="md">
          <Text fw={500}>{r.title}</Text>
          {r.note && (
            <Text c="dimmed" size="sm">
              {r.note}
            </Text>
          )}
          <Table highlightOnHover>
            <Table.Thead>
              <Table.Tr>
                {r.columns.map((c) => (
                  <Table.Th key={c.key}>{c.label}</Table.Th>
                ))}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {r.rows.map((row, i) => (
                <Table.Tr
                  // biome-ignore lint/suspicious/noArrayIndexKey: rows have no id; their order is the report's
                  key={i}
                  style={{ cursor: row.filter ? 'pointer' : undefined }}
                  onClick={() =>
                    row.filter &&
                    void navigate({
                      to: '/reports/records',
                      search: { object: r.object, filter: JSON.stringify(row.filter) },
                    })
                  }
                >
                  {r.columns.map((c) => (
                    <Table.Td key={c.key}>
                      {row.values[c.key] ?? '—'}
                      {c.type === 'percent' && row.values[c.key] !== null ? ' %' : ''}
                    </Table.Td>
                  ))}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Paper>
      )}
    </Stack>
  );
}
