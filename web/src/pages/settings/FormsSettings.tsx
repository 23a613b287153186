import { Anchor, Button, CopyButton, Group, Loader, Paper, Stack, Table, Text } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call, type Schemas } from '../../api/client';
import { objectsQuery } from '../../lib/query';
import { ErrorAlert } from '../../shell/states';
import { LinkedName } from '../records/LinksPanel';
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
  // What a form creates, by the object's name ("Case"), not its key (`case`).
  const objects = useQuery(objectsQuery).data?.data ?? [];
  const objectLabel = (key: string) => objects.find((o) => o.key === key)?.label_singular ?? key;
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
                <Table.Td>{objectLabel(f.object)}</Table.Td>
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
      {open && <Submissions id={open} name={live.find((f) => f.id === open)?.name ?? ''} />}
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

type Submission = Schemas['FormSubmission'];

/** One page of a form's submissions after `cursor` (the server's keyset cursor). */
const submissionsPage = (id: string, cursor: string | undefined) =>
  call(
    api.GET('/api/v1/forms/{id}/submissions', {
      params: { path: { id }, query: { limit: 50, ...(cursor ? { cursor } : {}) } },
    }),
  );

/**
 * A form's submissions, newest first, 50 at a time ("Load more" follows the server's cursor): each
 * value under its field's label as the server words it (a choice's label, Yes/No, linked records'
 * names; a field since removed from the form by its key, marked), the record by name with its
 * e-mail, what was consented; "Download CSV" streams them all.
 */
function Submissions({ id, name }: { id: string; name: string }) {
  const list = useInfiniteQuery({
    queryKey: ['forms', id, 'submissions'],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) => submissionsPage(id, pageParam),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const rows = list.data?.pages.flatMap((p) => p.data) ?? [];
  const total = list.data?.pages[0]?.total;
  return (
    <Stack mt="md" gap="xs">
      <Group justify="space-between">
        <Text fw={600}>
          Submissions of {name}
          {typeof total === 'number' ? ` (${total})` : ''}
        </Text>
        {Boolean(total) && (
          <Button
            component="a"
            size="xs"
            variant="default"
            href={`/api/v1/forms/${id}/submissions/export`}
            download
          >
            Download CSV
          </Button>
        )}
      </Group>
      {list.error && <ErrorAlert error={list.error} />}
      {list.isPending && <Loader size="sm" />}
      {total === 0 && (
        <Text size="sm" c="dimmed">
          No submissions yet.
        </Text>
      )}
      {rows.length > 0 && (
        <Table aria-label="Submissions" verticalSpacing="xs">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Received</Table.Th>
              <Table.Th>Answers</Table.Th>
              <Table.Th>Record</Table.Th>
              <Table.Th>Consent</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((s) => (
              <SubmissionRow key={s.id} s={s} />
            ))}
          </Table.Tbody>
        </Table>
      )}
      {list.hasNextPage && (
        <Group justify="center">
          <Button
            size="xs"
            variant="default"
            loading={list.isFetchingNextPage}
            onClick={() => void list.fetchNextPage()}
          >
            Load more
          </Button>
        </Group>
      )}
    </Stack>
  );
}

function SubmissionRow({ s }: { s: Submission }) {
  const source = Object.entries(s.source).filter(([, v]) => typeof v === 'string');
  return (
    <Table.Tr>
      <Table.Td>
        <Text size="xs" c="dimmed">
          {new Date(s.created_at).toLocaleString()}
        </Text>
      </Table.Td>
      <Table.Td>
        <Stack gap={2}>
          {s.answers.map((a) => (
            <Text size="sm" key={a.key}>
              <Text span size="sm" c="dimmed">
                {a.label}
                {a.removed && ' (removed from the form)'}:
              </Text>{' '}
              {a.text}
            </Text>
          ))}
          {source.length > 0 && (
            <Text size="xs" c="dimmed">
              Source: {source.map(([k, v]) => `${k} ${String(v)}`).join(' · ')}
            </Text>
          )}
        </Stack>
      </Table.Td>
      <Table.Td>
        {s.record.name === null ? (
          <Text size="sm" c="dimmed">
            Deleted record
          </Text>
        ) : (
          <LinkedName object={s.record.object} id={s.record.id} name={s.record.name} />
        )}
        {s.record.email && s.record.email !== s.record.name && (
          <Text size="xs" c="dimmed">
            {s.record.email}
          </Text>
        )}
        <Text size="xs" c="dimmed">
          {s.created_record ? 'New record' : 'Matched an existing record'}
        </Text>
      </Table.Td>
      <Table.Td>
        {s.consent ? (
          <>
            <Text size="sm">
              {s.consent.status === 'granted' ? 'Consented' : 'Withdrawn'}: {s.consent.purpose} by{' '}
              {CHANNEL_WORDS[s.consent.channel] ?? s.consent.channel}
            </Text>
            <Text size="xs" c="dimmed">
              “{s.consent.text}”
            </Text>
          </>
        ) : (
          <Text size="xs" c="dimmed">
            None
          </Text>
        )}
      </Table.Td>
    </Table.Tr>
  );
}

const CHANNEL_WORDS: Record<string, string> = {
  email: 'e-mail',
  sms: 'SMS',
  phone: 'phone',
  any: 'any channel',
};
