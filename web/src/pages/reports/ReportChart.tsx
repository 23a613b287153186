// The charts of reports and dashboards (issue 30), drawn with @mantine/charts (recharts). Only the
// reports and dashboards pages import this file, so the chart library is in their lazy chunks.
import '@mantine/charts/styles.css';
import { AreaChart, BarChart, FunnelChart, LineChart, PieChart } from '@mantine/charts';
import { Stack, Table, Text, Title } from '@mantine/core';
import type { Schemas } from '../../api/client';

export type ReportResult = Schemas['ReportResult'];
export type ReportCell = ReportResult['cells'][number];
export type ReportView = 'bar' | 'stacked_bar' | 'line' | 'area' | 'pie' | 'funnel' | 'number' | 'table';

const COLORS = [
  'blue.6',
  'teal.6',
  'orange.6',
  'grape.6',
  'red.6',
  'cyan.6',
  'lime.6',
  'pink.6',
  'indigo.6',
  'yellow.6',
];
const fmt = (v: number | null) =>
  v === null ? '—' : v.toLocaleString(undefined, { maximumFractionDigits: 2 });

/**
 * Rows for recharts: one per key of the first dimension, one series per key of the second (or
 * `value`), each point remembering the cell it came from for the drill-down.
 */
function pivot(result: ReportResult) {
  const rows = new Map<string, Record<string, unknown>>();
  const series = new Map<string, string>();
  const cellOf = new Map<string, ReportCell>();
  for (const c of result.cells) {
    const x = c.keys[0]?.label ?? 'All';
    const s = c.keys[1]?.label ?? 'value';
    series.set(s, COLORS[series.size % COLORS.length]!);
    const row = rows.get(x) ?? { x };
    row[s] = c.value ?? c.count;
    rows.set(x, row);
    cellOf.set(`${x}\u0000${s}`, c);
  }
  return {
    data: [...rows.values()],
    series: [...series].map(([name, color]) => ({
      name,
      color,
      label: name === 'value' ? result.measure.label : name,
    })),
    cellOf: (x: string, s: string) => cellOf.get(`${x}\u0000${s}`),
  };
}

/** A single number's change against the period before, green up and red down. */
function Change({
  now,
  before,
}: {
  now: { value: number | null; count: number };
  before: { value: number | null; count: number };
}) {
  const [a, b] = [now.value ?? now.count, before.value ?? before.count];
  if (!b) return <Text size="sm">{a ? 'New against an empty previous period' : 'No change'}</Text>;
  const pct = ((a - b) / Math.abs(b)) * 100;
  return (
    <Text size="sm" c={pct >= 0 ? 'teal' : 'red'} data-testid="report-change">
      {`${pct >= 0 ? '+' : ''}${pct.toFixed(1)} % against the previous period`}
    </Text>
  );
}

/** Draws a report one way; `onDrill` gets the cell a bar, slice, point or table row stands for. */
export function ReportChart({
  result,
  view,
  height = 300,
  onDrill,
  previous,
}: {
  result: ReportResult;
  view: ReportView;
  height?: number;
  onDrill?: (cell: ReportCell) => void;
  /** A single number's value over the period before the dashboard's date range. */
  previous?: { value: number | null; count: number } | null;
}) {
  const drill = (cell: ReportCell | undefined) => cell && cell.filter !== null && onDrill?.(cell);
  if (view === 'number' || result.dimensions.length === 0) {
    return (
      <Stack gap={0} align="center" justify="center" h={height}>
        <Title order={1} data-testid="report-number">
          {fmt(result.total.value ?? result.total.count)}
        </Title>
        <Text c="dimmed">{result.measure.label}</Text>
        {previous && <Change now={result.total} before={previous} />}
      </Stack>
    );
  }
  if (view === 'table') {
    return (
      <Table striped highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            {result.dimensions.map((d) => (
              <Table.Th key={d.field}>{d.label}</Table.Th>
            ))}
            <Table.Th>Count</Table.Th>
            {result.measure.op !== 'count' && <Table.Th>{result.measure.label}</Table.Th>}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {result.cells.map((c) => (
            <Table.Tr
              key={c.keys.map((k) => k.label).join('|') + String(c.other)}
              style={{ cursor: c.filter ? 'pointer' : undefined }}
              onClick={() => drill(c)}
            >
              {c.keys.map((k, i) => (
                <Table.Td key={result.dimensions[i]!.field}>{k.label}</Table.Td>
              ))}
              <Table.Td>{c.count}</Table.Td>
              {result.measure.op !== 'count' && <Table.Td>{fmt(c.value)}</Table.Td>}
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    );
  }
  if (view === 'pie' || view === 'funnel') {
    const data = result.cells.map((c, i) => ({
      name: c.keys.map((k) => k.label).join(' / '),
      value: c.value ?? c.count,
      color: COLORS[i % COLORS.length]!,
    }));
    const byName = (name: unknown) => result.cells[data.findIndex((d) => d.name === name)];
    return view === 'pie' ? (
      <PieChart
        data={data}
        h={height}
        size={Math.min(height - 40, 260)}
        withTooltip
        withLabelsLine
        labelsType="percent"
        pieProps={{ onClick: (d: { name?: unknown }) => drill(byName(d.name)) }}
      />
    ) : (
      <FunnelChart
        data={data}
        h={height}
        size={Math.min(height - 40, 260)}
        withTooltip
        withLabels
        funnelProps={{ onClick: (d: { name?: unknown }) => drill(byName(d.name)) }}
      />
    );
  }
  const { data, series, cellOf } = pivot(result);
  if (view === 'line' || view === 'area') {
    const Chart = view === 'line' ? LineChart : AreaChart;
    return (
      <Chart
        h={height}
        data={data}
        dataKey="x"
        series={series}
        withLegend={series.length > 1}
        valueFormatter={(v) => fmt(v)}
        activeDotProps={{
          onClick: (dot: unknown) => {
            const p = dot as { payload?: { x?: unknown }; dataKey?: unknown };
            drill(cellOf(String(p.payload?.x), String(p.dataKey)));
          },
        }}
      />
    );
  }
  return (
    <BarChart
      h={height}
      data={data}
      dataKey="x"
      series={series}
      type={view === 'stacked_bar' ? 'stacked' : 'default'}
      withLegend={series.length > 1}
      valueFormatter={(v) => fmt(v)}
      barProps={(s) => ({
        cursor: 'pointer',
        onClick: (bar: unknown) =>
          drill(cellOf(String((bar as { payload?: { x?: unknown } }).payload?.x), s.name)),
      })}
    />
  );
}
