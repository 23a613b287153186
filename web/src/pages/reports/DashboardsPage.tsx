import {
  Alert,
  Anchor,
  Button,
  Group,
  Paper,
  SegmentedControl,
  Select,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { type ApiError, api, call, type Schemas } from '../../api/client';
import { ExplainSlot } from '../ai/assistant';
import { ReportChart, type ReportView } from './ReportChart';
import { useDrill } from './ReportsPage';
import { ScheduleButton } from './ScheduleDialog';

type Widget = Schemas['DashboardWidget'];
type Spec = Schemas['ReportSpec'];
type Filter = Schemas['FilterNode'];
const RANGE_TOKENS = {
  today: 'today',
  '7_days': 'last_7_days',
  '30_days': 'last_30_days',
  this_quarter: 'this_quarter',
} as const;

/**
 * The filter the dashboard puts on every widget (its date range on its date field, and its own
 * filter), as the server applies it: what "Explain" adds to each report so it reads the numbers in view.
 */
function boardFilter(filters: Schemas['DashboardFilters']): Filter | undefined {
  const r = filters.date_range;
  const field = filters.date_field;
  let range: Filter | undefined;
  if (r && r.preset !== 'custom')
    range = { field, op: 'eq', value: { relative: RANGE_TOKENS[r.preset] } } as Filter;
  else if (r?.from && r.to) range = { field, op: 'between', value: [r.from, r.to] } as Filter;
  else if (r?.from) range = { field, op: 'gte', value: r.from } as Filter;
  else if (r?.to) range = { field, op: 'lte', value: r.to } as Filter;
  const parts = [range, filters.filter ?? undefined].filter((f): f is Filter => f !== undefined);
  return parts.length === 0 ? undefined : parts.length === 1 ? parts[0] : ({ and: parts } as Filter);
}
type Preset = 'today' | '7_days' | '30_days' | 'this_quarter';
type BoardList = { data: Schemas['Dashboard'][] };

/** The cached list of boards with `board` in it (replaced, or added in the server's order: by name). */
function withBoard(list: BoardList | undefined, board: Schemas['Dashboard']): BoardList | undefined {
  if (!list) return list;
  const others = list.data.filter((b) => b.id !== board.id);
  const at = others.findIndex((b) => b.name.localeCompare(board.name) > 0);
  return {
    ...list,
    data: at < 0 ? [...others, board] : [...others.slice(0, at), board, ...others.slice(at)],
  };
}
const ROW_PX = 80;

/** Dashboards: several per organization and member, widgets on a 12-column grid, one date range for all. */
export function DashboardsPage() {
  const queryClient = useQueryClient();
  const boards = useQuery({ queryKey: ['dashboards'], queryFn: () => call(api.GET('/api/v1/dashboards')) });
  const reports = useQuery({ queryKey: ['reports'], queryFn: () => call(api.GET('/api/v1/reports')) });
  const [selected, setSelected] = useState<string | null>(null);
  const [newName, setNewName] = useState('');
  const [preset, setPreset] = useState<Preset | 'all'>('all');
  const board = (boards.data?.data ?? []).find((b) => b.id === selected) ?? boards.data?.data[0];
  const create = useMutation<Schemas['Dashboard'], ApiError>({
    mutationFn: () =>
      call(
        api.POST('/api/v1/dashboards', {
          body: {
            name: newName || 'My dashboard',
            sharing: 'private',
            widgets: [],
            filters: { date_range: null, date_field: 'created_at', filter: null },
          },
        }),
      ),
    // The new board is shown at once: put it in the cached list before the refetch, or `board`
    // would fall back to the first listed board until the list comes back (with a board already
    // there, a widget added meanwhile went to that board and the new one stayed empty).
    onSuccess: async (b) => {
      await queryClient.cancelQueries({ queryKey: ['dashboards'] });
      queryClient.setQueryData<BoardList>(['dashboards'], (list) => withBoard(list, b));
      setSelected(b.id);
      void queryClient.invalidateQueries({ queryKey: ['dashboards'] });
    },
  });
  const data = useQuery({
    queryKey: ['dashboard-data', board?.id, preset],
    enabled: Boolean(board),
    queryFn: () =>
      call(
        api.GET('/api/v1/dashboards/{id}/data', {
          params: { path: { id: board!.id }, query: preset === 'all' ? {} : { preset } },
        }),
      ),
  });
  const [reportId, setReportId] = useState<string | null>(null);
  const [view, setView] = useState<ReportView>('bar');
  const addWidget = useMutation<Schemas['Dashboard'], ApiError, Schemas['Dashboard']>({
    // The board in view when the button is pressed is the one the widget goes to.
    mutationFn: (target) => {
      const widgets = target.widgets as Widget[];
      const y = widgets.reduce((m, w) => Math.max(m, w.y + w.h), 0);
      const widget: Widget = {
        id: `w${Date.now().toString(36)}`,
        report_id: reportId!,
        view,
        x: 0,
        y,
        w: 6,
        h: 4,
      };
      return call(
        api.PATCH('/api/v1/dashboards/{id}', {
          params: { path: { id: target.id } },
          body: { widgets: [...widgets, widget] },
        }),
      );
    },
    // The board (its layout, from the answer) and its data (each widget's result): a new widget
    // needs both.
    onSuccess: (b) => {
      queryClient.setQueryData<BoardList>(['dashboards'], (list) => withBoard(list, b));
      return Promise.all([
        queryClient.invalidateQueries({ queryKey: ['dashboards'] }),
        queryClient.invalidateQueries({ queryKey: ['dashboard-data', b.id] }),
      ]);
    },
  });

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1} size="h2">
          Dashboards
        </Title>
        <Group>
          <TextInput
            aria-label="New dashboard name"
            placeholder="New dashboard"
            value={newName}
            onChange={(e) => setNewName(e.currentTarget.value)}
          />
          <Button onClick={() => create.mutate()} loading={create.isPending}>
            Create
          </Button>
        </Group>
      </Group>
      <Group>
        <Select
          aria-label="Dashboard"
          data={(boards.data?.data ?? []).map((b) => ({ value: b.id, label: b.name }))}
          value={board?.id ?? null}
          onChange={setSelected}
          placeholder="No dashboard yet"
          allowDeselect={false}
        />
        <SegmentedControl
          aria-label="Period"
          value={preset}
          onChange={(v) => setPreset(v as Preset | 'all')}
          data={[
            { value: 'all', label: 'As saved' },
            { value: 'today', label: 'Today' },
            { value: '7_days', label: '7 days' },
            { value: '30_days', label: '30 days' },
            { value: 'this_quarter', label: 'This quarter' },
          ]}
        />
        {board && (
          <Anchor href={`/api/v1/dashboards/${board.id}/pdf${preset === 'all' ? '' : `?preset=${preset}`}`}>
            Download PDF
          </Anchor>
        )}
        {board && <ScheduleButton target={{ dashboard_id: board.id }} name={board.name} />}
      </Group>
      {board && (
        <Group align="end">
          <Select
            label="Add a saved report"
            data={(reports.data?.data ?? []).map((r) => ({ value: r.id, label: r.name }))}
            value={reportId}
            onChange={setReportId}
          />
          <Select
            label="As"
            data={['bar', 'stacked_bar', 'line', 'area', 'pie', 'funnel', 'number', 'table']}
            value={view}
            onChange={(v) => setView((v as ReportView) ?? 'bar')}
            allowDeselect={false}
          />
          <Button disabled={!reportId} onClick={() => addWidget.mutate(board)} loading={addWidget.isPending}>
            Add widget
          </Button>
        </Group>
      )}
      {addWidget.error && <Alert color="red">{addWidget.error.message}</Alert>}
      {data.data?.widgets.some((w) => w.result) && (
        <ExplainSlot
          reports={data.data.widgets.flatMap((w) => {
            const saved = (reports.data?.data ?? []).find((r) => r.id === w.report_id);
            if (!w.result || !saved) return [];
            const spec = saved.spec as Spec;
            const extra = boardFilter(data.data.filters);
            const filter =
              extra && spec.filter ? ({ and: [spec.filter, extra] } as Filter) : (extra ?? spec.filter);
            return [{ title: w.name ?? saved.name, spec: { ...spec, ...(filter ? { filter } : {}) } }];
          })}
        />
      )}
      <div
        data-testid="dashboard-grid"
        style={{ display: 'grid', gridTemplateColumns: 'repeat(12, 1fr)', gridAutoRows: ROW_PX, gap: 12 }}
      >
        {(data.data?.widgets ?? []).map((w) => {
          const placed = ((board?.widgets ?? []) as Widget[]).find((x) => x.id === w.id);
          if (!placed) return null;
          return (
            <Paper
              key={w.id}
              withBorder
              p="sm"
              style={{
                gridColumn: `${placed.x + 1} / span ${placed.w}`,
                gridRow: `${placed.y + 1} / span ${placed.h}`,
                overflow: 'auto',
              }}
            >
              <Text fw={500}>{w.name ?? 'Widget'}</Text>
              {w.problem ? (
                <Text c="dimmed" size="sm">
                  {w.problem.detail}
                </Text>
              ) : (
                w.result && (
                  <WidgetChart
                    result={w.result}
                    previous={w.previous}
                    view={w.view as ReportView}
                    height={placed.h * ROW_PX - 50}
                  />
                )
              )}
            </Paper>
          );
        })}
      </div>
    </Stack>
  );
}

function WidgetChart({
  result,
  previous,
  view,
  height,
}: {
  result: Schemas['ReportResult'];
  previous: Schemas['DashboardWidgetData']['previous'];
  view: ReportView;
  height: number;
}) {
  const drill = useDrill(result.object);
  return <ReportChart result={result} previous={previous} view={view} height={height} onDrill={drill} />;
}
