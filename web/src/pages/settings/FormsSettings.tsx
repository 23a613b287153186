import {
  Anchor,
  Button,
  Checkbox,
  Code,
  CopyButton,
  Group,
  Modal,
  Paper,
  Select,
  Stack,
  Table,
  Text,
  Textarea,
  TextInput,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { api, call } from '../../api/client';
import { ErrorAlert } from '../../shell/states';

const formsQuery = { queryKey: ['forms'], queryFn: () => call(api.GET('/api/v1/forms')) } as const;

type Draft = { key: string; label: string; required: boolean; on: boolean };

/**
 * Forms (issue 31): build a form for contacts, companies or a custom object from the registry's
 * fields (labels, required), copy its embed snippet, read its submissions.
 */
export function FormsSettings() {
  const queryClient = useQueryClient();
  const forms = useQuery(formsQuery);
  const [adding, setAdding] = useState(false);
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
        <Button onClick={() => setAdding(true)}>New form</Button>
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
      <NewForm
        opened={adding}
        onClose={() => setAdding(false)}
        onCreated={() => {
          setAdding(false);
          void queryClient.invalidateQueries({ queryKey: ['forms'] });
        }}
      />
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

function NewForm(props: { opened: boolean; onClose(): void; onCreated(): void }) {
  const [name, setName] = useState('');
  const [object, setObject] = useState<string | null>('contact');
  const [drafts, setDrafts] = useState<Draft[]>([]);
  const [consent, setConsent] = useState('');
  const [error, setError] = useState<unknown>(null);
  const objects = useQuery({
    queryKey: ['objects'],
    queryFn: () => call(api.GET('/api/v1/objects')),
    enabled: props.opened,
  });
  const choices = useQuery({
    queryKey: ['forms', 'fields', object],
    queryFn: () => call(api.GET('/api/v1/forms/fields/{object}', { params: { path: { object: object! } } })),
    enabled: props.opened && Boolean(object),
  });
  const fields: Draft[] =
    drafts.length > 0
      ? drafts
      : (choices.data?.data ?? []).map((c) => ({
          key: c.key,
          label: c.label,
          required: c.required,
          on: c.required,
        }));
  const set = (key: string, patch: Partial<Draft>) =>
    setDrafts(fields.map((f) => (f.key === key ? { ...f, ...patch } : f)));
  async function submit(e: FormEvent) {
    e.preventDefault();
    try {
      await call(
        api.POST('/api/v1/forms', {
          body: {
            name,
            object: object ?? 'contact',
            fields: fields
              .filter((f) => f.on)
              .map((f) => ({ key: f.key, label: f.label, required: f.required })),
            ...(consent
              ? { consent: { text: consent, channel: 'email', purpose: 'marketing', required: false } }
              : {}),
          },
        }),
      );
      setName('');
      setDrafts([]);
      setConsent('');
      setError(null);
      props.onCreated();
    } catch (err) {
      setError(err);
    }
  }
  const formObjects = (objects.data?.data ?? []).filter(
    (o) => o.key === 'contact' || o.key === 'company' || o.custom_object,
  );
  return (
    <Modal opened={props.opened} onClose={props.onClose} title="New form" size="lg">
      <form onSubmit={(e) => void submit(e)}>
        <Stack>
          <TextInput label="Name" required value={name} onChange={(e) => setName(e.currentTarget.value)} />
          <Select
            label="Creates"
            data={formObjects.map((o) => ({ value: o.key, label: o.label_plural }))}
            value={object}
            onChange={(v) => {
              setObject(v);
              setDrafts([]);
            }}
            allowDeselect={false}
          />
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>On the form</Table.Th>
                <Table.Th>Label</Table.Th>
                <Table.Th>Required</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {fields.map((f) => (
                <Table.Tr key={f.key}>
                  <Table.Td>
                    <Checkbox
                      aria-label={`Ask for ${f.label}`}
                      label={f.key}
                      checked={f.on}
                      onChange={(e) => set(f.key, { on: e.currentTarget.checked })}
                    />
                  </Table.Td>
                  <Table.Td>
                    <TextInput
                      aria-label={`Label of ${f.key}`}
                      size="xs"
                      value={f.label}
                      onChange={(e) => set(f.key, { label: e.currentTarget.value })}
                    />
                  </Table.Td>
                  <Table.Td>
                    <Checkbox
                      aria-label={`${f.label} is required`}
                      checked={f.required}
                      onChange={(e) =>
                        set(f.key, { required: e.currentTarget.checked, on: f.on || e.currentTarget.checked })
                      }
                    />
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
          <Textarea
            label="Consent checkbox (optional)"
            description="The words shown beside the box; kept as proof with each consent"
            value={consent}
            onChange={(e) => setConsent(e.currentTarget.value)}
          />
          {error ? <ErrorAlert error={error} /> : null}
          <Text size="xs" c="dimmed">
            After saving, copy the embed snippet: <Code>{'<iframe src="…/f/…">'}</Code>
          </Text>
          <Group justify="flex-end">
            <Button type="submit" disabled={!name || !fields.some((f) => f.on)}>
              Create
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
