import {
  Alert,
  Anchor,
  Badge,
  Button,
  Checkbox,
  Code,
  Group,
  Paper,
  PasswordInput,
  Progress,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { type FormEvent, useState } from 'react';
import { api, call, type Schemas } from '../../api/client';
import { formatDate } from '../../lib/fields';
import { EmptyState, ErrorAlert, PageSkeleton } from '../../shell/states';

type Migration = Schemas['GhlMigration'];
type Validation = Schemas['GhlValidation'];

const STATUS_COLOR: Record<string, string> = {
  queued: 'blue',
  reading: 'blue',
  importing: 'blue',
  stopped: 'orange',
  failed: 'red',
  completed: 'green',
};
const RUNNING = ['queued', 'reading', 'importing'];
const OBJECT_LABEL: Record<string, string> = {
  users: 'Users',
  pipelines: 'Pipelines',
  custom_fields: 'Custom fields',
  contacts: 'Contacts',
  opportunities: 'Opportunities',
  notes: 'Notes',
  tasks: 'Tasks',
};

/**
 * "Move in from GoHighLevel" (issue 33): a location's token and id, a dry run report, the run as
 * imports, its progress (polled while it runs), a stopped migration resumed with a new token,
 * and the validation report afterwards. Its own lazily loaded route.
 */
export function GoHighLevelPage() {
  const client = useQueryClient();
  const [token, setToken] = useState('');
  const [locationId, setLocationId] = useState('');
  const [notesAndTasks, setNotesAndTasks] = useState(true);
  const [busy, setBusy] = useState<'dry' | 'run' | null>(null);
  const [error, setError] = useState<unknown>(null);
  const list = useQuery({
    queryKey: ['ghl-migrations'],
    queryFn: () => call(api.GET('/api/v1/migrations/gohighlevel')),
    refetchInterval: (q) => (q.state.data?.data.some((m) => RUNNING.includes(m.status)) ? 2000 : false),
    staleTime: 0,
  });

  async function start(e: FormEvent, dryRun: boolean) {
    e.preventDefault();
    setBusy(dryRun ? 'dry' : 'run');
    setError(null);
    try {
      await call(
        api.POST('/api/v1/migrations/gohighlevel', {
          body: { token, location_id: locationId, dry_run: dryRun, notes_and_tasks: notesAndTasks },
        }),
      );
      setToken('');
      await client.invalidateQueries({ queryKey: ['ghl-migrations'] });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  }

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1} size="h2">
          Move in from GoHighLevel
        </Title>
        <Anchor size="sm" renderRoot={(p) => <Link {...p} to="/imports" />}>
          All imports
        </Anchor>
      </Group>
      <Paper withBorder p="md">
        <form onSubmit={(e) => start(e, true)}>
          <Stack gap="sm">
            <Text size="sm" c="dimmed">
              Brings a GoHighLevel location's contacts, companies, tags, custom fields, pipelines,
              opportunities, notes and tasks over through its API, in the background, within its limits (100
              requests per 10 seconds, 200,000 a day). Start with a dry run: it reports what would be created,
              matched and skipped, and why, and writes nothing. The token is stored encrypted and never shown
              again.
            </Text>
            <Group align="flex-end" gap="sm">
              <PasswordInput
                label="Private integration token"
                value={token}
                onChange={(e) => setToken(e.currentTarget.value)}
                autoComplete="off"
                required
                w={320}
              />
              <TextInput
                label="Location id"
                value={locationId}
                onChange={(e) => setLocationId(e.currentTarget.value)}
                required
                w={240}
              />
            </Group>
            <Checkbox
              label="Notes and tasks too (two requests per contact)"
              checked={notesAndTasks}
              onChange={(e) => setNotesAndTasks(e.currentTarget.checked)}
            />
            <Group gap="sm">
              <Button type="submit" loading={busy === 'dry'} disabled={!token || !locationId}>
                Dry run
              </Button>
              <Button
                variant="light"
                loading={busy === 'run'}
                disabled={!token || !locationId}
                onClick={(e) => start(e, false)}
              >
                Start the migration
              </Button>
            </Group>
            <ErrorAlert error={error} />
          </Stack>
        </form>
      </Paper>
      {list.isPending ? (
        <PageSkeleton />
      ) : list.error ? (
        <ErrorAlert error={list.error} />
      ) : (list.data?.data.length ?? 0) === 0 ? (
        <EmptyState title="No migration yet">Run a dry run above first.</EmptyState>
      ) : (
        list.data?.data.map((m) => <MigrationCard key={m.id} migration={m} />)
      )}
    </Stack>
  );
}

function MigrationCard({ migration: m }: { migration: Migration }) {
  const client = useQueryClient();
  const [newToken, setNewToken] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [validation, setValidation] = useState<Validation | null>(null);
  const [busy, setBusy] = useState(false);

  async function resume(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await call(
        api.POST('/api/v1/migrations/gohighlevel/{id}/resume', {
          params: { path: { id: m.id } },
          body: newToken ? { token: newToken } : {},
        }),
      );
      setNewToken('');
      await client.invalidateQueries({ queryKey: ['ghl-migrations'] });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  async function validate() {
    setBusy(true);
    setError(null);
    try {
      setValidation(
        await call(
          api.POST('/api/v1/migrations/gohighlevel/{id}/validate', {
            params: { path: { id: m.id } },
            body: { sample: 5 },
          }),
        ),
      );
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Paper withBorder p="md" data-testid="ghl-migration">
      <Stack gap="sm">
        <Group justify="space-between">
          <Group gap="xs">
            <Text fw={600}>
              {m.dry_run ? 'Dry run' : 'Migration'} of location {m.location_id}
            </Text>
            <Badge color={STATUS_COLOR[m.status]} variant="light" data-testid="ghl-status">
              {m.status}
            </Badge>
          </Group>
          <Text size="xs" c="dimmed">
            token {m.token} · started {formatDate(m.created_at, true)} · {m.requests.sent.toLocaleString()}{' '}
            requests
            {m.requests.retried_429 ? ` (${m.requests.retried_429} retried after a 429)` : ''}
          </Text>
        </Group>
        <Table>
          <Table.Tbody>
            {Object.entries(m.progress).map(([object, p]) => (
              <Table.Tr key={object}>
                <Table.Td w={160}>{OBJECT_LABEL[object] ?? object}</Table.Td>
                <Table.Td w={160}>
                  <Progress
                    value={p.done ? 100 : p.pages ? 50 : 0}
                    animated={!p.done && RUNNING.includes(m.status)}
                  />
                </Table.Td>
                <Table.Td>
                  {p.read.toLocaleString()} read{p.done ? '' : ' so far'}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
        {m.error ? (
          <Alert color={m.status === 'failed' ? 'red' : 'orange'} title={`Stopped: ${m.error.code}`}>
            <Stack gap="xs">
              <Text size="sm">{m.error.message}</Text>
              <form onSubmit={resume}>
                <Group align="flex-end" gap="sm">
                  <PasswordInput
                    label="New token (if the old one was revoked)"
                    value={newToken}
                    onChange={(e) => setNewToken(e.currentTarget.value)}
                    autoComplete="off"
                    w={320}
                  />
                  <Button type="submit" loading={busy}>
                    Resume from where it stopped
                  </Button>
                </Group>
              </form>
            </Stack>
          </Alert>
        ) : null}
        {m.report ? <Report report={m.report} /> : null}
        {Object.keys(m.import_ids).length ? (
          <Group gap="xs">
            <Text size="sm">Imports (each revertible):</Text>
            {Object.entries(m.import_ids).map(([object, id]) => (
              <Anchor
                key={id}
                size="sm"
                renderRoot={(p) => <Link {...p} to="/imports/$id" params={{ id }} />}
              >
                {object}
              </Anchor>
            ))}
          </Group>
        ) : null}
        {m.status === 'completed' && !m.dry_run ? (
          <Group>
            <Button variant="light" size="xs" onClick={validate} loading={busy}>
              Validation report
            </Button>
          </Group>
        ) : null}
        <ErrorAlert error={error} />
        {validation ? <ValidationReport validation={validation} /> : null}
      </Stack>
    </Paper>
  );
}

function Report({ report }: { report: NonNullable<Migration['report']> }) {
  return (
    <Stack gap="xs">
      <Table data-testid="ghl-report">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Object</Table.Th>
            <Table.Th>{report.dry_run ? 'Would create' : 'Created'}</Table.Th>
            <Table.Th>Matched</Table.Th>
            <Table.Th>Skipped</Table.Th>
            <Table.Th>Why</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {Object.entries(report.objects).map(([object, o]) => (
            <Table.Tr key={object}>
              <Table.Td>{object}</Table.Td>
              <Table.Td>{o.created.toLocaleString()}</Table.Td>
              <Table.Td>{o.matched.toLocaleString()}</Table.Td>
              <Table.Td>{o.skipped.toLocaleString()}</Table.Td>
              <Table.Td>
                <Text size="xs">
                  {Object.entries(o.reasons)
                    .map(([reason, n]) => `${reason} (${n})`)
                    .join('; ')}
                </Text>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {report.unplaced_fields.length ? (
        <Text size="sm">
          Fields Cairn has no place for (kept or listed, never dropped):{' '}
          {report.unplaced_fields.map((f) => (
            <Code key={`${f.object}.${f.field}`} mr={4}>
              {f.object}.{f.field} ×{f.records} → {f.kept_in}
            </Code>
          ))}
        </Text>
      ) : null}
    </Stack>
  );
}

function ValidationReport({ validation }: { validation: Validation }) {
  const differences = validation.samples.flatMap((s) =>
    s.fields.filter((f) => !f.same).map((f) => ({ ...f, object: s.object, source_id: s.source_id })),
  );
  return (
    <Stack gap="xs" data-testid="ghl-validation">
      <Text size="sm" fw={600}>
        Validation
      </Text>
      {Object.entries(validation.counts).map(([object, c]) => (
        <Text size="sm" key={object}>
          {object}: {c.source.toLocaleString()} in GoHighLevel, {c.in_cairn.toLocaleString()} in Cairn,{' '}
          {c.missing.toLocaleString()} missing
        </Text>
      ))}
      {validation.mismatches.length > 0 ? (
        <Stack gap={2} data-testid="ghl-mismatches">
          <Text size="sm">Missing in Cairn:</Text>
          {validation.mismatches.slice(0, 50).map((m) => (
            <Text size="xs" key={`${m.object}.${m.source_id}.${m.name}`}>
              {m.object} {m.name || m.source_id}: {m.reason}
            </Text>
          ))}
        </Stack>
      ) : null}
      <Text size="sm">
        {validation.samples.length} sampled records compared field by field:{' '}
        {differences.length === 0 ? 'all the same' : `${differences.length} differences`}
      </Text>
      {differences.slice(0, 20).map((d) => (
        <Text size="xs" key={`${d.source_id}.${d.field}`}>
          {d.object} {d.source_id} {d.field}: GoHighLevel “{d.source}”, Cairn “{d.cairn}”
        </Text>
      ))}
    </Stack>
  );
}
