import {
  Alert,
  Badge,
  Button,
  Group,
  Paper,
  Progress,
  ScrollArea,
  SegmentedControl,
  Select,
  SimpleGrid,
  Stack,
  Stepper,
  Switch,
  Table,
  Tabs,
  TagsInput,
  Text,
  TextInput,
  Title,
  Tooltip,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useParams } from '@tanstack/react-router';
import { useEffect, useRef, useState } from 'react';
import { api, call, type Schemas } from '../../api/client';
import { formatDate } from '../../lib/fields';
import { meQuery } from '../../lib/query';
import { ErrorAlert, PageSkeleton } from '../../shell/states';
import { OBJECTS, STATUS_COLOR } from './ImportsPage';

type ImportDetailData = Schemas['ImportDetail'];
const ACTIVE = new Set(['queued', 'running', 'reverting']);
const STANDARD_IMPORT_OBJECTS = new Set<string>(OBJECTS.map((o) => o.value));
const OUTCOMES = ['failed', 'created', 'updated', 'skipped'] as const;
type RowOutcome = (typeof OUTCOMES)[number];

function stepOf(status: string): number {
  if (status === 'draft') return 1;
  if (ACTIVE.has(status)) return 3;
  return 4;
}

/**
 * The import wizard for one upload: map columns -> preview with per-cell problems -> options
 * (dedup, invalid cells, pipeline, tags) -> start -> live progress -> the report (every row's
 * outcome, the error CSV) with cancel, resume and revert.
 */
export function ImportDetail() {
  const { id } = useParams({ from: '/app/imports/$id' });
  const queryClient = useQueryClient();
  const { data: me } = useQuery(meQuery);
  const detail = useQuery({
    queryKey: ['imports', id],
    queryFn: () => call(api.GET('/api/v1/imports/{id}', { params: { path: { id } } })),
    refetchInterval: (q) => (q.state.data && ACTIVE.has(q.state.data.status) ? 1000 : false),
  });
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ['imports', id] });
  const act = useMutation({
    mutationFn: (action: 'start' | 'cancel' | 'revert') =>
      call(
        action === 'start'
          ? api.POST('/api/v1/imports/{id}/start', { params: { path: { id } } })
          : action === 'cancel'
            ? api.POST('/api/v1/imports/{id}/cancel', { params: { path: { id } } })
            : api.POST('/api/v1/imports/{id}/revert', { params: { path: { id } } }),
      ),
    // A read of the import sent before the action committed (an options change refetches it) must
    // not land after it: it would show the import as it was (still a draft) and stop the polling.
    onSuccess: async (data) => {
      await queryClient.cancelQueries({ queryKey: ['imports', id] });
      queryClient.setQueryData(['imports', id], (old: ImportDetailData | undefined) =>
        old ? { ...old, ...data } : old,
      );
      void queryClient.invalidateQueries({ queryKey: ['imports', id] });
    },
    onError: (e) => notifications.show({ color: 'red', title: 'Refused', message: e.message }),
  });

  if (detail.error) throw detail.error;
  if (!detail.data) return <PageSkeleton />;
  const imp = detail.data;
  const canEdit = me?.role === 'admin' || me?.role === 'user';

  return (
    <Stack>
      <Group justify="space-between">
        <div>
          <Title order={1} size="h2">
            Import {imp.file_name}
          </Title>
          <Text size="sm" c="dimmed">
            {imp.object}s · {imp.progress.total_rows.toLocaleString()} rows ·{' '}
            {(imp.file_size / 1024).toFixed(0)} KB · delimiter{' '}
            {imp.delimiter === '\t' ? 'tab' : `“${imp.delimiter}”`}
            {imp.ragged_rows > 0
              ? ` · ${imp.ragged_rows} rows with a different number of fields than the header`
              : ''}
          </Text>
        </div>
        <Badge size="lg" color={STATUS_COLOR[imp.status]} variant="light" data-testid="import-status">
          {imp.status}
        </Badge>
      </Group>
      <Stepper active={stepOf(imp.status)} size="sm">
        <Stepper.Step label="Upload" />
        <Stepper.Step label="Map and preview" />
        <Stepper.Step label="Options" />
        <Stepper.Step label="Progress" />
        <Stepper.Step label="Report" />
      </Stepper>
      {imp.error && (
        <Alert color="red" title="The import stopped">
          {imp.error}
        </Alert>
      )}
      {imp.status === 'draft' && canEdit ? (
        <DraftSteps
          imp={imp}
          onChanged={refresh}
          onStart={() => act.mutate('start')}
          starting={act.isPending}
        />
      ) : (
        <ProgressAndReport imp={imp} canEdit={canEdit} onAction={(a) => act.mutate(a)} busy={act.isPending} />
      )}
    </Stack>
  );
}

function DraftSteps({
  imp,
  onChanged,
  onStart,
  starting,
}: {
  imp: ImportDetailData;
  onChanged: () => void;
  onStart: () => void;
  starting: boolean;
}) {
  const queryClient = useQueryClient();
  const [error, setError] = useState<unknown>(null);
  const [mappingName, setMappingName] = useState('');
  const preview = useQuery({
    queryKey: ['imports', imp.id, 'preview', imp.mapping, imp.options, imp.dedup],
    queryFn: () =>
      call(
        api.GET('/api/v1/imports/{id}/preview', {
          params: { path: { id: imp.id }, query: { limit: 20 } },
        }),
      ),
  });
  async function patch(body: Schemas['ImportUpdate']) {
    setError(null);
    try {
      const updated = await call(
        api.PATCH('/api/v1/imports/{id}', { params: { path: { id: imp.id } }, body }),
      );
      queryClient.setQueryData(['imports', imp.id], (old: ImportDetailData | undefined) =>
        old ? { ...old, ...updated } : old,
      );
      onChanged();
    } catch (e) {
      setError(e);
    }
  }
  // Options changed faster than the server answers compose: each change applies to the latest
  // options, shown at once, and the PATCHes go one after the other (the last carries them all);
  // Start waits for them.
  type Options = Schemas['ImportUpdate']['options'] & object;
  const [options, setOptions] = useState<Options>(imp.options as Options);
  const latestOptions = useRef<Options>(imp.options as Options);
  const optionsQueue = useRef<Promise<void>>(Promise.resolve());
  const optionsPending = useRef(0);
  useEffect(() => {
    if (optionsPending.current > 0) return;
    latestOptions.current = imp.options as Options;
    setOptions(imp.options as Options);
  }, [imp.options]);
  function patchOptions(change: Partial<Options>) {
    latestOptions.current = { ...latestOptions.current, ...change };
    setOptions(latestOptions.current);
    optionsPending.current += 1;
    optionsQueue.current = optionsQueue.current
      .then(() => patch({ options: latestOptions.current }))
      .finally(() => {
        optionsPending.current -= 1;
      });
  }
  async function newField(index: number) {
    setError(null);
    try {
      await call(
        api.POST('/api/v1/imports/{id}/columns/{index}/field', {
          params: { path: { id: imp.id, index } },
          body: { type: 'text' },
        }),
      );
      void queryClient.invalidateQueries({ queryKey: ['objects'] });
      onChanged();
    } catch (e) {
      setError(e);
    }
  }
  const targetOptions = [
    { value: '', label: '— ignore this column —' },
    ...imp.targets.map((t) => ({ value: t.key, label: `${t.label}${t.required ? ' *' : ''}` })),
  ];
  // A custom object's rows match existing records on a field the user chooses (`match_field`).
  const isCustom = !STANDARD_IMPORT_OBJECTS.has(imp.object);
  const matchFields = imp.targets
    .filter((t) => t.key.startsWith('custom.') && !t.multiple && t.kind !== 'reference')
    .map((t) => ({ value: t.key.slice(7), label: t.label }));
  const mappedTargets = imp.mapping.map((m) => m.target).filter((t): t is string => Boolean(t));
  const previewColumns = [...new Set(mappedTargets)];

  return (
    <Stack>
      <ErrorAlert error={error} />
      <Paper withBorder p="md" component="section" aria-label="Column mapping">
        <Title order={2} size="h4" mb="xs">
          Columns
        </Title>
        <Text size="sm" c="dimmed" mb="sm">
          Each column of the file and the field it fills. The suggestions come from the header names; change
          any of them, or turn a column into a new custom field.
        </Text>
        <Table>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Column</Table.Th>
              <Table.Th>First values</Table.Th>
              <Table.Th>Field</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {imp.mapping.map((m) => (
              <Table.Tr key={m.index} data-column={m.header}>
                <Table.Td fw={600}>{m.header}</Table.Td>
                <Table.Td maw={260}>
                  <Text size="xs" c="dimmed" truncate>
                    {imp.sample_rows
                      .slice(0, 3)
                      .map((r) => r[m.index] ?? '')
                      .filter(Boolean)
                      .join(' · ')}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <Select
                    aria-label={`Field for ${m.header}`}
                    searchable
                    data={targetOptions}
                    value={m.target ?? ''}
                    onChange={(v) => void patch({ mapping: [{ index: m.index, target: v ? v : null }] })}
                    w={260}
                  />
                </Table.Td>
                <Table.Td>
                  {!m.target && (
                    <Button size="xs" variant="subtle" onClick={() => void newField(m.index)}>
                      New custom field
                    </Button>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
        <Group mt="sm" gap="xs" align="flex-end">
          <TextInput
            label="Save this mapping for next time"
            placeholder="Mapping name"
            value={mappingName}
            onChange={(e) => setMappingName(e.currentTarget.value)}
          />
          <Button
            variant="default"
            disabled={!mappingName}
            onClick={async () => {
              try {
                await call(
                  api.POST('/api/v1/import-mappings', { body: { name: mappingName, import_id: imp.id } }),
                );
                notifications.show({ color: 'teal', message: `Mapping “${mappingName}” saved` });
                setMappingName('');
              } catch (e) {
                setError(e);
              }
            }}
          >
            Save mapping
          </Button>
        </Group>
      </Paper>

      <Paper withBorder p="md" component="section" aria-label="Preview">
        <Title order={2} size="h4" mb="xs">
          Preview
        </Title>
        <Text size="sm" c="dimmed" mb="sm">
          The first rows as they would be stored. Cells with a problem are marked; nothing is written yet.
        </Text>
        {preview.data && (
          <PreviewCheck
            check={preview.data.check}
            corrections={imp.options.corrections ?? {}}
            onCorrect={(column, value, to) =>
              patch({
                options: {
                  ...imp.options,
                  corrections: {
                    ...imp.options.corrections,
                    [column]: { ...imp.options.corrections?.[column], [value]: to },
                  },
                },
              })
            }
          />
        )}
        {preview.data && Object.keys(preview.data.problem_counts).length > 0 && (
          <Group gap={6} mb="sm">
            {Object.entries(preview.data.problem_counts).map(([code, n]) => (
              <Badge key={code} color="orange" variant="light">
                {code.replaceAll('_', ' ')}: {n}
              </Badge>
            ))}
          </Group>
        )}
        <ScrollArea type="auto">
          <Table data-testid="import-preview" miw={600}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Row</Table.Th>
                {previewColumns.map((k) => (
                  <Table.Th key={k}>{imp.targets.find((t) => t.key === k)?.label ?? k}</Table.Th>
                ))}
                <Table.Th>Problems</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {preview.data?.rows.map((r) => (
                <Table.Tr
                  key={r.row_number}
                  bg={r.problems.length ? 'var(--mantine-color-orange-light)' : undefined}
                >
                  <Table.Td>{r.row_number}</Table.Td>
                  {previewColumns.map((k) => {
                    const v = r.values[k];
                    return (
                      <Table.Td key={k} maw={220} style={{ overflow: 'hidden', textOverflow: 'ellipsis' }}>
                        <Text size="xs">{previewText(v)}</Text>
                      </Table.Td>
                    );
                  })}
                  <Table.Td>
                    {r.problems.map((p) => (
                      <Tooltip key={`${p.column}-${p.code}`} label={p.value ?? ''} disabled={!p.value}>
                        <Text size="xs" c="red">
                          {p.column ? `${p.column}: ` : ''}
                          {p.message}
                        </Text>
                      </Tooltip>
                    ))}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </ScrollArea>
      </Paper>

      <Paper withBorder p="md" component="section" aria-label="Options">
        <Title order={2} size="h4" mb="sm">
          Options
        </Title>
        <Stack gap="sm">
          {isCustom && (
            <Select
              label="Match rows to existing records on"
              description="A row whose value of this field (case aside) is already a record's, or an earlier row's, is not created again"
              placeholder="Nothing: every row creates a record"
              clearable
              data={matchFields}
              value={options.match_field ?? null}
              onChange={(v) => patchOptions({ match_field: v ?? undefined })}
              w={360}
            />
          )}
          <div>
            <Text size="sm" fw={500}>
              {isCustom
                ? 'A row that matches an existing record'
                : 'A row that matches an existing record (same e-mail, phone, domain or external id)'}
            </Text>
            <SegmentedControl
              value={imp.dedup}
              onChange={(v) => void patch({ dedup: v as Schemas['ImportUpdate']['dedup'] })}
              data={[
                { value: 'skip', label: 'Skip it' },
                { value: 'update_empty', label: 'Fill empty fields' },
                { value: 'overwrite', label: 'Overwrite' },
              ]}
            />
          </div>
          <Select
            label="A cell with a problem"
            w={360}
            data={[
              { value: 'skip_cell', label: 'Leave that field empty, import the row' },
              { value: 'fail_row', label: 'Fail the whole row' },
            ]}
            value={options.invalid_cells ?? 'skip_cell'}
            onChange={(v) => patchOptions({ invalid_cells: (v ?? 'skip_cell') as 'skip_cell' })}
          />
          {imp.object === 'opportunity' && (
            <>
              <TextInput
                label="Pipeline (when no column names one)"
                placeholder="The default pipeline"
                defaultValue={options.pipeline ?? ''}
                onBlur={(e) => patchOptions({ pipeline: e.currentTarget.value || undefined })}
                w={360}
              />
              <Switch
                label="Create pipelines and stages named in the file that do not exist yet"
                checked={Boolean(options.create_missing_stages)}
                onChange={(e) => patchOptions({ create_missing_stages: e.currentTarget.checked })}
              />
            </>
          )}
          {(isCustom ||
            imp.object === 'contact' ||
            imp.object === 'company' ||
            imp.object === 'opportunity') && (
            <TagsInput
              label="Tag every imported record"
              value={options.tags ?? []}
              onChange={(tags) => patchOptions({ tags })}
              w={360}
            />
          )}
        </Stack>
      </Paper>
      <Group justify="flex-end">
        <Button size="md" onClick={() => void optionsQueue.current.then(onStart)} loading={starting}>
          Start import of {imp.progress.total_rows.toLocaleString()} rows
        </Button>
      </Group>
    </Stack>
  );
}

function ProgressAndReport({
  imp,
  canEdit,
  onAction,
  busy,
}: {
  imp: ImportDetailData;
  canEdit: boolean;
  onAction: (a: 'start' | 'cancel' | 'revert') => void;
  busy: boolean;
}) {
  const p = imp.progress;
  const [outcome, setOutcome] = useState<RowOutcome>(p.failed > 0 ? 'failed' : 'created');
  const [problem, setProblem] = useState<string | null>(null);
  const rows = useQuery({
    queryKey: ['imports', imp.id, 'rows', outcome, problem, p.rows_done],
    queryFn: () =>
      call(
        api.GET('/api/v1/imports/{id}/rows', {
          params: { path: { id: imp.id }, query: { outcome, limit: 100, ...(problem ? { problem } : {}) } },
        }),
      ),
    enabled: !ACTIVE.has(imp.status),
  });
  const stat = (label: string, value: number | string | null, testId?: string) => (
    <Paper withBorder p="sm">
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text fw={700} size="lg" data-testid={testId}>
        {value === null ? '—' : typeof value === 'number' ? value.toLocaleString() : value}
      </Text>
    </Paper>
  );
  return (
    <Stack>
      <Paper withBorder p="md" component="section" aria-label="Progress">
        <Group justify="space-between" mb={6}>
          <Text size="sm">
            {p.rows_done.toLocaleString()} of {p.total_rows.toLocaleString()} rows
          </Text>
          <Text size="sm" c="dimmed">
            {p.rows_per_second ? `${Math.round(p.rows_per_second).toLocaleString()} rows/s` : ''}
            {p.eta_seconds != null && ACTIVE.has(imp.status)
              ? ` · about ${Math.ceil(p.eta_seconds)} s left`
              : ''}
          </Text>
        </Group>
        <Progress value={p.percent} animated={ACTIVE.has(imp.status)} aria-label="Import progress" />
        <SimpleGrid cols={{ base: 2, sm: 5 }} mt="md">
          {stat('Created', p.created, 'import-created')}
          {stat('Updated', p.updated, 'import-updated')}
          {stat('Skipped', p.skipped, 'import-skipped')}
          {stat('Failed', p.failed, 'import-failed')}
          {stat('With a problem', p.with_problems, 'import-with-problems')}
        </SimpleGrid>
        {Object.values(imp.empty_cells).some((n) => n > 0) && (
          <Text size="xs" c="dimmed" mt="sm">
            Empty cells:{' '}
            {Object.entries(imp.empty_cells)
              .filter(([, n]) => n > 0)
              .map(([col, n]) => `${col} ${n.toLocaleString()}`)
              .join(' · ')}
          </Text>
        )}
        {canEdit && (
          <Group mt="md" gap="xs">
            {ACTIVE.has(imp.status) && imp.status !== 'reverting' && (
              <Button variant="default" color="red" onClick={() => onAction('cancel')} loading={busy}>
                Cancel
              </Button>
            )}
            {(imp.status === 'failed' || imp.status === 'cancelled') && (
              <Button onClick={() => onAction('start')} loading={busy}>
                Resume from the last checkpoint
              </Button>
            )}
            {(imp.status === 'completed' || imp.status === 'cancelled' || imp.status === 'failed') && (
              <Button variant="default" color="red" onClick={() => onAction('revert')} loading={busy}>
                Undo this import
              </Button>
            )}
            {!ACTIVE.has(imp.status) && (
              <Button component="a" variant="default" href={`/api/v1/imports/${imp.id}/errors.csv`} download>
                Download the error report (CSV)
              </Button>
            )}
          </Group>
        )}
        {imp.reverted_at && (
          <Text size="sm" mt="sm">
            Undone on {formatDate(imp.reverted_at, true)}: what it created is archived, what it overwrote is
            restored.
          </Text>
        )}
      </Paper>
      {!ACTIVE.has(imp.status) && (
        <Paper withBorder p="md" component="section" aria-label="Rows">
          <Tabs value={outcome} onChange={(v) => setOutcome(OUTCOMES.find((o) => o === v) ?? 'failed')}>
            <Tabs.List>
              {OUTCOMES.map((o) => (
                <Tabs.Tab key={o} value={o}>
                  {o} ({(p[o] ?? 0).toLocaleString()})
                </Tabs.Tab>
              ))}
            </Tabs.List>
          </Tabs>
          <TextInput
            mt="sm"
            size="xs"
            w={260}
            label="Only rows with the problem"
            placeholder="e.g. conflicting_match, empty_reference"
            value={problem ?? ''}
            onChange={(e) =>
              setProblem(/^[a-z_]{1,50}$/.test(e.currentTarget.value) ? e.currentTarget.value : null)
            }
          />
          <Table mt="sm" data-testid="import-rows">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Row</Table.Th>
                <Table.Th>Why</Table.Th>
                <Table.Th>Cells</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.data?.data.map((r) => (
                <Table.Tr key={r.row_number}>
                  <Table.Td>{r.row_number}</Table.Td>
                  <Table.Td>
                    {r.matched_by && (
                      <Text size="xs" c="dimmed">
                        {r.outcome}: matched by {r.matched_by.replace('_', ' ')}
                      </Text>
                    )}
                    {r.problems.length === 0 ? (
                      r.matched_by ? null : (
                        <Text size="xs" c="dimmed">
                          {r.outcome}
                        </Text>
                      )
                    ) : (
                      r.problems.map((pr) => (
                        <Text key={`${pr.column}-${pr.code}`} size="xs">
                          {pr.column ? <b>{pr.column}: </b> : null}
                          {pr.message}
                        </Text>
                      ))
                    )}
                  </Table.Td>
                  <Table.Td maw={360}>
                    <Text size="xs" c="dimmed" truncate>
                      {r.cells?.join(' | ') ?? ''}
                    </Text>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
          {rows.data?.next_after != null && (
            <Text size="xs" c="dimmed" mt="xs">
              The first 100 are shown; the error report has every failed row.
            </Text>
          )}
        </Paper>
      )}
    </Stack>
  );
}

/** A previewed cell as it will be stored: a phone in E.164, an amount with its currency, a list joined. */
function previewText(v: unknown): string {
  if (v == null) return '';
  if (Array.isArray(v)) return v.map(previewText).join(', ');
  if (typeof v !== 'object') return String(v);
  const o = v as { e164?: unknown; amount?: unknown; currency?: unknown };
  if (typeof o.e164 === 'string') return o.e164;
  if (typeof o.amount === 'number')
    return typeof o.currency === 'string' ? `${o.currency} ${o.amount}` : `${o.amount}`;
  return JSON.stringify(v);
}

type PreviewCheckData = Schemas['ImportPreview']['check'];

/**
 * What the preview's check found on every row (the first 100,000 of a larger file): how many rows
 * the run will fail or import without a value, by problem, and the probable misspellings, each
 * with a button that reads it as the value it is close to (option `corrections`).
 */
function PreviewCheck({
  check,
  corrections,
  onCorrect,
}: {
  check: PreviewCheckData;
  corrections: Record<string, Record<string, string>>;
  onCorrect: (column: string, value: string, to: string) => void;
}) {
  const n = (x: number) => x.toLocaleString();
  return (
    <Stack gap="xs" mb="sm" data-testid="import-check">
      <Alert
        color={check.rows_failing > 0 ? 'red' : check.rows_losing_values > 0 ? 'orange' : 'green'}
        title={
          check.rows_failing > 0 || check.rows_losing_values > 0
            ? `${n(check.rows_failing)} rows will fail, ${n(check.rows_losing_values)} will be imported without a value`
            : 'Every row checked will be imported as it is'
        }
      >
        {check.sampled
          ? `The first ${n(check.rows_checked)} of ${n(check.total_rows)} rows were checked.`
          : `All ${n(check.rows_checked)} rows were checked, as the import will check them.`}
      </Alert>
      {check.problems.length > 0 && (
        <Table data-testid="import-check-problems">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Problem</Table.Th>
              <Table.Th>Column</Table.Th>
              <Table.Th>Rows</Table.Th>
              <Table.Th>Values</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {check.problems.map((p) => (
              <Table.Tr key={`${p.code}-${p.column}`}>
                <Table.Td>
                  <Badge color={p.effect === 'fails_row' ? 'red' : 'orange'} variant="light">
                    {p.code.replaceAll('_', ' ')}
                  </Badge>
                  <Text size="xs" c="dimmed">
                    {p.effect === 'fails_row' ? 'the rows fail' : 'imported without the value'}
                  </Text>
                </Table.Td>
                <Table.Td>{p.column ?? ''}</Table.Td>
                <Table.Td>{n(p.rows)}</Table.Td>
                <Table.Td>
                  <Text size="xs">
                    {p.values
                      .map((v) => `${v.value} (${n(v.rows)})${v.suggestion ? ` → ${v.suggestion}?` : ''}`)
                      .join(', ')}
                  </Text>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {[
        ...check.misspellings,
        ...check.problems.flatMap((p) =>
          p.column
            ? p.values.flatMap((v) =>
                v.suggestion
                  ? [{ column: p.column!, value: v.value, rows: v.rows, suggestion: v.suggestion }]
                  : [],
              )
            : [],
        ),
      ]
        .filter((m) => corrections[m.column]?.[m.value] === undefined)
        .map((m) => (
          <Group key={`${m.column}-${m.value}`} gap="xs">
            <Text size="sm">
              {m.column}: "{m.value}" ({n(m.rows)} rows) is probably "{m.suggestion}"
            </Text>
            <Button
              size="compact-xs"
              variant="light"
              onClick={() => onCorrect(m.column, m.value, m.suggestion)}
            >
              Read as "{m.suggestion}"
            </Button>
          </Group>
        ))}
    </Stack>
  );
}
