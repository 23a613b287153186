import {
  Badge,
  Button,
  Code,
  Group,
  Paper,
  PasswordInput,
  Select,
  Stack,
  Table,
  Text,
  Textarea,
  TextInput,
  Title,
  VisuallyHidden,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { FormEvent } from 'react';
import { api, call } from '../../api/client';
import { ErrorAlert } from '../../shell/states';
import { MetaLedger } from './MetaLedger';

const settingsQuery = {
  queryKey: ['meta', 'settings'],
  queryFn: () => call(api.GET('/api/v1/meta/settings')),
} as const;
const pagesQuery = {
  queryKey: ['meta', 'pages'],
  queryFn: () => call(api.GET('/api/v1/meta/pages')),
} as const;

const tokenColor: Record<string, string> = {
  valid: 'teal',
  unknown: 'gray',
  expiring: 'yellow',
  expired: 'red',
  invalid: 'red',
};

/** `question = field` lines to a mapping object, and back. */
const mappingText = (m: Record<string, string>) =>
  Object.entries(m)
    .map(([q, f]) => `${q} = ${f}`)
    .join('\n');
const parseMapping = (text: string) =>
  Object.fromEntries(
    text
      .split('\n')
      .map((l) => l.split('=').map((s) => s.trim()))
      .filter((p) => p.length === 2 && p[0] && p[1]),
  ) as Record<string, string>;
const parseStages = (text: string) =>
  text
    .split('\n')
    .map((l) => l.split('=').map((s) => s.trim()))
    .filter((p) => p.length === 2 && p[0] && p[1])
    .map(([value, event_name]) => ({ value: value!, event_name: event_name! }));

const notifyError = (e: Error) => notifications.show({ color: 'red', message: e.message });

/**
 * Meta Lead Ads (issue 31): the app's webhook URL and verify token to paste into Meta, its app
 * secret (write-only), the pages listened to (tokens write-only and masked, the object their leads
 * become and the question mapping), the Conversions API stage mapping, and the intake ledger.
 */
export function MetaSettings() {
  const queryClient = useQueryClient();
  const settings = useQuery(settingsQuery);
  const pages = useQuery(pagesQuery);
  const objects = useQuery({ queryKey: ['objects'], queryFn: () => call(api.GET('/api/v1/objects')) });
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ['meta'] });
  const save = useMutation({
    mutationFn: (body: Record<string, unknown>) => call(api.PATCH('/api/v1/meta/settings', { body })),
    onSuccess: () => {
      refresh();
      notifications.show({ message: 'Meta settings saved' });
    },
    onError: notifyError,
  });
  const addPage = useMutation({
    mutationFn: (body: {
      page_id: string;
      name: string;
      access_token: string;
      object: string;
      field_mapping?: Record<string, string>;
    }) => call(api.POST('/api/v1/meta/pages', { body })),
    onSuccess: refresh,
    onError: notifyError,
  });
  const removePage = useMutation({
    mutationFn: (id: string) => call(api.DELETE('/api/v1/meta/pages/{id}', { params: { path: { id } } })),
    onSuccess: refresh,
    onError: notifyError,
  });
  type Page = NonNullable<typeof pages.data>['data'][number];
  type FormMapping = Page['forms'][number];
  // A page's lead forms are replaced as a list: adding or removing one sends the rest unchanged.
  const setForms = useMutation({
    mutationFn: ({ page, forms }: { page: Page; forms: FormMapping[] }) =>
      call(api.PATCH('/api/v1/meta/pages/{id}', { params: { path: { id: page.id } }, body: { forms } })),
    onSuccess: refresh,
    onError: notifyError,
  });
  const checkTokens = useMutation({
    mutationFn: () => call(api.POST('/api/v1/meta/pages/check-tokens')),
    onSuccess: refresh,
    onError: notifyError,
  });
  const objectOptions = (objects.data?.data ?? [])
    .filter((o: { key: string; custom?: boolean }) => o.key === 'contact' || o.key === 'company' || o.custom)
    .map((o: { key: string; label_plural: string }) => ({ value: o.key, label: o.label_plural }));

  const submitApp = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const secret = String(f.get('app_secret') ?? '');
    save.mutate({ app_id: String(f.get('app_id') ?? '') || null, ...(secret ? { app_secret: secret } : {}) });
  };
  const submitCapi = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const token = String(f.get('capi_access_token') ?? '');
    save.mutate({
      capi_dataset_id: String(f.get('capi_dataset_id') ?? '') || null,
      lead_event_source: String(f.get('lead_event_source') ?? 'Cairn') || 'Cairn',
      stage_mapping: parseStages(String(f.get('stage_mapping') ?? '')),
      ...(token ? { capi_access_token: token } : {}),
    });
  };
  const submitPage = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const mapping = String(f.get('field_mapping') ?? '');
    addPage.mutate(
      {
        page_id: String(f.get('page_id') ?? ''),
        name: String(f.get('name') ?? ''),
        access_token: String(f.get('access_token') ?? ''),
        object: String(f.get('object') ?? 'contact') || 'contact',
        ...(mapping.trim() ? { field_mapping: parseMapping(mapping) } : {}),
      },
      { onSuccess: () => form.reset() },
    );
  };
  const submitForm = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const page = pages.data?.data.find((p) => p.id === f.get('page'));
    if (!page) return;
    const added: FormMapping = {
      form_id: String(f.get('form_id') ?? '').trim(),
      name: String(f.get('form_name') ?? '') || null,
      object: String(f.get('form_object') ?? 'contact') || 'contact',
      field_mapping: parseMapping(String(f.get('form_mapping') ?? '')),
      owner_id: null,
    };
    setForms.mutate({ page, forms: [...page.forms, added] }, { onSuccess: () => form.reset() });
  };
  const s = settings.data;
  return (
    <Stack>
      {settings.error && <ErrorAlert error={settings.error} />}
      <Paper withBorder p="md">
        <Title order={2} size="h4" mb="xs">
          Meta app
        </Title>
        <Text size="sm" c="dimmed" mb="sm">
          In your Meta app's Webhooks product, subscribe the Page object's leadgen field with this Callback
          URL and Verify Token. Deliveries are checked with the app secret (X-Hub-Signature-256).
        </Text>
        {s && (
          <Stack gap="xs" mb="sm">
            <Text size="sm">
              Callback URL: <Code data-testid="meta-webhook-url">{s.webhook_url}</Code>
            </Text>
            <Text size="sm">
              Verify token: <Code>{s.verify_token}</Code>
            </Text>
          </Stack>
        )}
        <form onSubmit={submitApp}>
          <Group align="end">
            <TextInput
              label="App id"
              name="app_id"
              defaultValue={s?.app_id ?? ''}
              key={`app-${s?.updated_at}`}
            />
            <PasswordInput
              label="App secret"
              name="app_secret"
              placeholder={s?.app_secret_set ? 'Set (enter a new one to replace it)' : 'Not set'}
              autoComplete="off"
            />
            <Button type="submit" loading={save.isPending}>
              Save app
            </Button>
          </Group>
        </form>
      </Paper>

      <Paper withBorder p="md">
        <Group justify="space-between" mb="xs">
          <Title order={2} size="h4">
            Facebook pages
          </Title>
          <Button variant="light" onClick={() => checkTokens.mutate()} loading={checkTokens.isPending}>
            Check tokens now
          </Button>
        </Group>
        {pages.error && <ErrorAlert error={pages.error} />}
        {pages.data?.data.length === 0 ? (
          <Text size="sm" c="dimmed">
            No pages yet: leads of pages not listed here are kept in the ledger as ignored.
          </Text>
        ) : (
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Page</Table.Th>
                <Table.Th>Leads become</Table.Th>
                <Table.Th>Mapping</Table.Th>
                <Table.Th>Token</Table.Th>
                <Table.Th>
                  <VisuallyHidden>Actions</VisuallyHidden>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {pages.data?.data.map((p) => (
                <Table.Tr key={p.id}>
                  <Table.Td>
                    <Text size="sm">{p.name ?? p.page_id}</Text>
                    <Text size="xs" c="dimmed">
                      {p.page_id}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{p.object}</Text>
                    {p.forms.map((form) => (
                      <Group key={form.form_id} gap={4} wrap="nowrap">
                        <Text size="xs" c="dimmed">
                          form {form.name ?? form.form_id} → {form.object}
                        </Text>
                        <Button
                          size="compact-xs"
                          variant="subtle"
                          color="red"
                          aria-label={`Unmap form ${form.name ?? form.form_id}`}
                          onClick={() =>
                            setForms.mutate({
                              page: p,
                              forms: p.forms.filter((x) => x.form_id !== form.form_id),
                            })
                          }
                        >
                          Unmap
                        </Button>
                      </Group>
                    ))}
                  </Table.Td>
                  <Table.Td>
                    <Text size="xs" style={{ whiteSpace: 'pre-line' }}>
                      {mappingText(p.field_mapping) || '—'}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Badge color={tokenColor[p.token.status] ?? 'gray'}>{p.token.status}</Badge>
                    <Text size="xs" c="dimmed">
                      {p.token.hint}
                      {p.token.expires_at ? ` · expires ${p.token.expires_at.slice(0, 10)}` : ''}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Button
                      size="xs"
                      color="red"
                      variant="subtle"
                      onClick={() => removePage.mutate(p.id)}
                      aria-label={`Stop listening to ${p.name ?? p.page_id}`}
                    >
                      Remove
                    </Button>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
        <form onSubmit={submitPage}>
          <Stack gap="xs" mt="md">
            <Group align="end" grow>
              <TextInput label="Page id" name="page_id" required />
              <TextInput label="Name" name="name" />
              <PasswordInput label="Page access token" name="access_token" required autoComplete="off" />
              <Select label="Leads become" name="object" data={objectOptions} defaultValue="contact" />
            </Group>
            <Textarea
              label="Question mapping (question = field key, one a line)"
              description="Empty for a contact: email, full_name, first_name, last_name and phone_number are mapped. Also: source, ad_id, adset_id, campaign_id, form_id."
              name="field_mapping"
              autosize
              minRows={2}
            />
            <Group>
              <Button type="submit" loading={addPage.isPending}>
                Add page
              </Button>
            </Group>
          </Stack>
        </form>
        {(pages.data?.data.length ?? 0) > 0 && (
          <form onSubmit={submitForm} aria-label="Map a lead form">
            <Stack gap="xs" mt="lg">
              <Title order={3} size="h5">
                Map a lead form on its own
              </Title>
              <Text size="sm" c="dimmed">
                A page's leads all become the page's object unless their lead form is mapped here: a contact
                form and a case intake form on one page each make their own records.
              </Text>
              <Group align="end" grow>
                <Select
                  label="Page"
                  name="page"
                  required
                  data={(pages.data?.data ?? []).map((p) => ({ value: p.id, label: p.name ?? p.page_id }))}
                  defaultValue={pages.data?.data[0]?.id}
                />
                <TextInput label="Form id" name="form_id" required />
                <TextInput label="Form name" name="form_name" />
                <Select
                  label="Its leads become"
                  name="form_object"
                  data={objectOptions}
                  defaultValue="contact"
                />
              </Group>
              <Textarea
                label="Question mapping for this form (question = field key, one a line)"
                name="form_mapping"
                autosize
                minRows={2}
              />
              <Group>
                <Button type="submit" loading={setForms.isPending}>
                  Map form
                </Button>
              </Group>
            </Stack>
          </form>
        )}
      </Paper>

      <Paper withBorder p="md">
        <Title order={2} size="h4" mb="xs">
          Conversions API for CRM
        </Title>
        <Text size="sm" c="dimmed" mb="sm">
          When a lead's record reaches a mapped status or opportunity stage, Cairn sends Meta the event with
          the lead id and the hashed e-mail and phone. Map lead_received for the first lead stage.
        </Text>
        <form onSubmit={submitCapi} key={`capi-${s?.updated_at}`}>
          <Stack gap="xs">
            <Group align="end" grow>
              <TextInput
                label="Dataset (pixel) id"
                name="capi_dataset_id"
                defaultValue={s?.capi_dataset_id ?? ''}
              />
              <PasswordInput
                label="CAPI access token"
                name="capi_access_token"
                placeholder={s?.capi_token_set ? 'Set (enter a new one to replace it)' : 'Not set'}
                autoComplete="off"
              />
              <TextInput
                label="CRM name shown to Meta"
                name="lead_event_source"
                defaultValue={s?.lead_event_source ?? 'Cairn'}
              />
            </Group>
            <Textarea
              label="Stage mapping (status or stage = event name, one a line)"
              name="stage_mapping"
              autosize
              minRows={2}
              defaultValue={(s?.stage_mapping ?? []).map((m) => `${m.value} = ${m.event_name}`).join('\n')}
            />
            <Group>
              <Button type="submit" loading={save.isPending}>
                Save Conversions API
              </Button>
            </Group>
          </Stack>
        </form>
      </Paper>

      <MetaLedger />
    </Stack>
  );
}
