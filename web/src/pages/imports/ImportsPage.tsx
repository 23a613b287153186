import {
  Anchor,
  Badge,
  Button,
  FileInput,
  Group,
  Paper,
  Select,
  Stack,
  Table,
  Text,
  Title,
} from '@mantine/core';
import { IconUpload } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import { Link, useNavigate } from '@tanstack/react-router';
import { type FormEvent, useState } from 'react';
import { ApiError, api, call } from '../../api/client';
import { formatDate } from '../../lib/fields';
import { objectsQuery } from '../../lib/query';
import { EmptyState, ErrorAlert, PageSkeleton } from '../../shell/states';

export const OBJECTS = [
  { value: 'contact', label: 'Contacts' },
  { value: 'company', label: 'Companies' },
  { value: 'opportunity', label: 'Opportunities' },
  { value: 'task', label: 'Tasks' },
  { value: 'note', label: 'Notes' },
  { value: 'product', label: 'Products' },
] as const;

export const STATUS_COLOR: Record<string, string> = {
  draft: 'gray',
  queued: 'blue',
  running: 'blue',
  completed: 'green',
  failed: 'red',
  cancelled: 'orange',
  reverting: 'orange',
  reverted: 'gray',
};

/**
 * Uploads a CSV or .xlsx file to `POST /api/v1/imports?object=` as multipart (the server streams it to disk)
 * and returns the draft import with its suggested mapping.
 */
async function upload(object: string, file: File): Promise<{ id: string }> {
  const form = new FormData();
  form.append('file', file);
  const res = await fetch(`/api/v1/imports?object=${encodeURIComponent(object)}`, {
    method: 'POST',
    body: form,
    credentials: 'same-origin',
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, body);
  return body as { id: string };
}

/** Imports: upload a CSV or .xlsx file (step 1 of the wizard) and the history of earlier imports. */
export function ImportsPage() {
  const navigate = useNavigate();
  const [object, setObject] = useState<string>('contact');
  const [file, setFile] = useState<File | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  // Standard objects, then the organization's live custom objects (their records import the same way).
  const objects = useQuery(objectsQuery).data?.data ?? [];
  const choices = [
    ...OBJECTS.map((o) => ({ value: o.value as string, label: o.label as string })),
    ...objects
      .filter((o) => o.custom_object && !o.custom_object.retired)
      .map((o) => ({ value: o.key, label: o.label_plural })),
  ];
  const history = useQuery({
    queryKey: ['imports'],
    queryFn: () => call(api.GET('/api/v1/imports', { params: { query: { limit: 50 } } })),
    staleTime: 0,
  });

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!file) return;
    setBusy(true);
    setError(null);
    try {
      const created = await upload(object, file);
      await navigate({ to: '/imports/$id', params: { id: created.id } });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1} size="h2">
          Imports
        </Title>
        <Anchor size="sm" renderRoot={(p) => <Link {...p} to="/imports/gohighlevel" />}>
          Move in from GoHighLevel
        </Anchor>
      </Group>
      <Paper withBorder p="md">
        <form onSubmit={submit}>
          <Stack gap="sm">
            <Text size="sm" c="dimmed">
              Bring in a spreadsheet: an Excel workbook (.xlsx, its first sheet) or a CSV file (comma,
              semicolon or tab separated; UTF-8). Millions of rows are fine: the file is read on the server,
              in the background, and every row is accounted for.
            </Text>
            <Group align="flex-end" gap="sm">
              <Select
                label="Import as"
                data={choices}
                value={object}
                onChange={(v) => setObject(v ?? 'contact')}
                w={200}
              />
              <FileInput
                label="CSV or Excel file"
                placeholder="Choose a file"
                accept=".csv,text/csv,text/plain,.tsv,.xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                value={file}
                onChange={setFile}
                w={320}
                leftSection={<IconUpload size={16} />}
              />
              <Button type="submit" disabled={!file} loading={busy}>
                Upload and map columns
              </Button>
            </Group>
            <ErrorAlert error={error} />
          </Stack>
        </form>
      </Paper>
      <Title order={2} size="h4">
        History
      </Title>
      {history.isPending ? (
        <PageSkeleton />
      ) : (history.data?.data.length ?? 0) === 0 ? (
        <EmptyState title="No imports yet">
          Upload a CSV or Excel file above to bring your contacts, companies or deals in.
        </EmptyState>
      ) : (
        <Paper withBorder>
          <Table data-testid="import-history">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>File</Table.Th>
                <Table.Th>Object</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Rows</Table.Th>
                <Table.Th>Created · updated · skipped · failed</Table.Th>
                <Table.Th>Started</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {history.data?.data.map((i) => (
                <Table.Tr key={i.id}>
                  <Table.Td>
                    <Anchor
                      size="sm"
                      renderRoot={(p) => <Link {...p} to="/imports/$id" params={{ id: i.id }} />}
                    >
                      {i.file_name}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>{i.object}</Table.Td>
                  <Table.Td>
                    <Badge color={STATUS_COLOR[i.status]} variant="light">
                      {i.status}
                    </Badge>
                  </Table.Td>
                  <Table.Td>{i.progress.total_rows.toLocaleString()}</Table.Td>
                  <Table.Td>
                    {[i.progress.created, i.progress.updated, i.progress.skipped, i.progress.failed]
                      .map((n) => n.toLocaleString())
                      .join(' · ')}
                  </Table.Td>
                  <Table.Td>{formatDate(i.started_at ?? i.created_at, true)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Paper>
      )}
    </Stack>
  );
}
