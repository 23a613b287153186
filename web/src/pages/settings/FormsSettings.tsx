import { Anchor, Button, CopyButton, Group, Paper, Stack, Table, Text } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call } from '../../api/client';
import { ErrorAlert } from '../../shell/states';
import { FormBuilder } from './FormBuilder';

const formsQuery = { queryKey: ['forms'], queryFn: () => call(api.GET('/api/v1/forms')) } as const;

/**
 * Forms (issue 31): build or change a form for contacts, companies or a custom object from the
 * registry's fields (labels, required, the records a many-to-many field offers), copy its embed
 * snippet, read its submissions.
 */
export function FormsSettings() {
  const queryClient = useQueryClient();
  const forms = useQuery(formsQuery);
  // The builder: 'new', a saved form's id, or closed.
  const [building, setBuilding] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const archive = useMutation({
    mutationFn: (id: string) => call(api.DELETE('/api/v1/forms/{id}', { params: { path: { id } } })),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['forms'] }),
    onError: (e) => notifications.show({ color: 'red', message: e.message }),
  });
  const live = (forms.data?.data ?? []).filter((f) => !f.archived_at);
  return (
    <Paper withBorder p="md">
      <Group justify="space-between" mb="sm">
        <Text size="sm" c="dimmed">
          Lead-capture forms: a hosted page you can link to or embed, and an endpoint other tools can post to.
        </Text>
        <Button onClick={() => setBuilding('new')}>New form</Button>
      </Group>
      {forms.error && <ErrorAlert error={forms.error} />}
      {live.length === 0 ? (
        <Text c="dimmed" size="sm">
          No forms yet.
        </Text>
      ) : (
        <Table>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Form</Table.Th>
              <Table.Th>Creates</Table.Th>
              <Table.Th>Embed</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {live.map((f) => (
              <Table.Tr key={f.id}>
                <Table.Td>
                  <Anchor href={f.page_url} target="_blank" rel="noreferrer">
                    {f.name}
                  </Anchor>
                  <Text size="xs" c="dimmed">
                    Version {f.version}
                  </Text>
                </Table.Td>
                <Table.Td>{f.object}</Table.Td>
                <Table.Td>
                  <Group gap="xs">
                    <CopyButton value={f.embed_snippet}>
                      {({ copied, copy }) => (
                        <Button size="xs" variant="light" onClick={copy}>
                          {copied ? 'Copied' : 'Copy embed snippet'}
                        </Button>
                      )}
                    </CopyButton>
                    <CopyButton value={f.ingest_url}>
                      {({ copied, copy }) => (
                        <Button size="xs" variant="default" onClick={copy}>
                          {copied ? 'Copied' : 'Copy ingest URL'}
                        </Button>
                      )}
                    </CopyButton>
                  </Group>
                </Table.Td>
                <Table.Td>
                  <Group gap="xs" justify="flex-end">
                    <Button
                      size="xs"
                      variant="default"
                      aria-label={`Edit ${f.name}`}
                      onClick={() => setBuilding(f.id)}
                    >
                      Edit
                    </Button>
                    <Button size="xs" variant="light" onClick={() => setOpen(open === f.id ? null : f.id)}>
                      {open === f.id ? 'Hide submissions' : 'Submissions'}
                    </Button>
                    <Button size="xs" color="red" variant="subtle" onClick={() => archive.mutate(f.id)}>
                      Archive
                    </Button>
                  </Group>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {open && <Submissions id={open} />}
      {building && (
        <FormBuilder
          key={building}
          form={live.find((f) => f.id === building)}
          onClose={() => setBuilding(null)}
          onSaved={() => {
            setBuilding(null);
            void queryClient.invalidateQueries({ queryKey: ['forms'] });
          }}
        />
      )}
    </Paper>
  );
}

function Submissions({ id }: { id: string }) {
  const list = useQuery({
    queryKey: ['forms', id, 'submissions'],
    queryFn: () =>
      call(api.GET('/api/v1/forms/{id}/submissions', { params: { path: { id }, query: { limit: 50 } } })),
  });
  return (
    <Stack mt="md" gap="xs">
      <Text fw={600}>Submissions</Text>
      {list.error && <ErrorAlert error={list.error} />}
      {list.data?.data.length === 0 && (
        <Text size="sm" c="dimmed">
          No submissions yet.
        </Text>
      )}
      <Table>
        <Table.Tbody>
          {list.data?.data.map((s) => (
            <Table.Tr key={s.id}>
              <Table.Td>
                <Text size="xs" c="dimmed">
                  {new Date(s.created_at).toLocaleString()}
                </Text>
              </Table.Td>
              <Table.Td>
                <Text size="sm">
                  {Object.entries(s.values)
                    .map(([k, v]) => `${k}: ${String(v)}`)
                    .join(' · ')}
                </Text>
                {Object.keys(s.source).length > 0 && (
                  <Text size="xs" c="dimmed">
                    Source:{' '}
                    {Object.entries(s.source)
                      .filter(([, v]) => typeof v === 'string')
                      .map(([k, v]) => `${k} ${String(v)}`)
                      .join(' · ')}
                  </Text>
                )}
              </Table.Td>
              <Table.Td>
                <Anchor
                  href={
                    s.record.object === 'contact'
                      ? `/contacts/${s.record.id}`
                      : s.record.object === 'company'
                        ? `/companies/${s.record.id}`
                        : `/records/${s.record.object}/${s.record.id}`
                  }
                >
                  {s.created_record ? 'New record' : 'Existing record'}
                </Anchor>
              </Table.Td>
              <Table.Td>{s.consent_id ? 'Consented' : ''}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}
