import {
  Badge,
  Button,
  Checkbox,
  Group,
  Modal,
  Paper,
  SegmentedControl,
  Select,
  Stack,
  Table,
  TagsInput,
  Text,
  TextInput,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { api, call } from '../../api/client';
import { objectQuery, objectsQuery } from '../../lib/query';
import { ErrorAlert } from '../../shell/states';
import { NEW_STATUSES, type StatusConfig, StatusesEditor, StatusesSaveButton } from './StatusesEditor';

const TYPES = [
  'text',
  'long_text',
  'number',
  'currency',
  'date',
  'datetime',
  'boolean',
  'select',
  'multi_select',
  'email',
  'phone',
  'url',
  'user',
  'relation',
  'status',
] as const;
type FieldType = (typeof TYPES)[number];
/** A standard object with custom fields, or one of the organization's custom objects. */
type ObjectKey = string;
const STANDARD = [
  { value: 'contact', label: 'Contacts' },
  { value: 'company', label: 'Companies' },
  { value: 'opportunity', label: 'Opportunities' },
];

/** The objects whose fields an admin edits (and a relation may point to): standard and custom. */
function useFieldObjects() {
  const objects = useQuery(objectsQuery).data?.data ?? [];
  return [
    ...STANDARD,
    ...objects.filter((o) => o.custom_object).map((o) => ({ value: o.key, label: o.label_plural })),
  ];
}

/** Custom fields per object: add (with options for selects), retire and bring back. */
export function CustomFieldsSettings() {
  const [object, setObject] = useState<ObjectKey>('contact');
  const choices = useFieldObjects();
  const [adding, setAdding] = useState(false);
  const [editing, setEditing] = useState<{ key: string; statuses: StatusConfig } | null>(null);
  const [saveError, setSaveError] = useState<unknown>(null);
  const queryClient = useQueryClient();
  const saveStatuses = useMutation({
    mutationFn: (v: { key: string; statuses: StatusConfig }) =>
      call(
        api.PATCH('/api/v1/objects/{object}/fields/{key}', {
          params: { path: { object, key: v.key } },
          body: { statuses: v.statuses },
        }),
      ),
    onMutate: () => setSaveError(null),
    onSuccess: () => {
      setEditing(null);
      void queryClient.invalidateQueries({ queryKey: ['objects'] });
    },
    onError: setSaveError,
  });
  const description = useQuery(objectQuery(object));
  const custom = description.data?.fields.filter((f) => f.origin === 'custom') ?? [];
  const toggle = useMutation({
    mutationFn: (v: { key: string; retire: boolean }) =>
      call(
        v.retire
          ? api.POST('/api/v1/objects/{object}/fields/{key}/retire', {
              params: { path: { object, key: v.key } },
            })
          : api.POST('/api/v1/objects/{object}/fields/{key}/unretire', {
              params: { path: { object, key: v.key } },
            }),
      ),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['objects'] }),
    onError: (e) => notifications.show({ color: 'red', message: e.message }),
  });
  return (
    <Paper withBorder p="md">
      <Group justify="space-between" mb="sm">
        {choices.length > STANDARD.length ? (
          <Select
            aria-label="Object"
            value={object}
            onChange={(v) => setObject(v ?? 'contact')}
            data={choices}
            allowDeselect={false}
          />
        ) : (
          <SegmentedControl value={object} onChange={setObject} data={STANDARD} />
        )}
        <Button onClick={() => setAdding(true)}>Add field</Button>
      </Group>
      {custom.length === 0 ? (
        <Text c="dimmed" size="sm">
          No custom fields on {choices.find((c) => c.value === object)?.label.toLowerCase()} yet. Add one to
          track what matters to you; it appears in tables, filters and detail pages.
        </Text>
      ) : (
        <Table>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Label</Table.Th>
              <Table.Th>Key</Table.Th>
              <Table.Th>Type</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {custom.map((f) => (
              <Table.Tr key={f.key}>
                <Table.Td>
                  {f.label} {f.retired && <Badge color="gray">retired</Badge>}
                </Table.Td>
                <Table.Td>
                  <code>{f.key}</code>
                </Table.Td>
                <Table.Td>
                  {f.type}
                  {f.options ? ` (${f.options.map((o) => o.label).join(', ')})` : ''}
                </Table.Td>
                <Table.Td>
                  {f.statuses && !f.retired && (
                    <Button
                      size="xs"
                      variant="subtle"
                      onClick={() => setEditing({ key: f.key, statuses: f.statuses as StatusConfig })}
                    >
                      Statuses
                    </Button>
                  )}
                  <Button
                    size="xs"
                    variant="subtle"
                    onClick={() => toggle.mutate({ key: f.key, retire: !f.retired })}
                  >
                    {f.retired ? 'Bring back' : 'Retire'}
                  </Button>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      <Modal opened={adding} onClose={() => setAdding(false)} title="New custom field" size="xl">
        {adding && (
          <NewFieldForm
            object={object}
            custom={!STANDARD.some((o) => o.value === object)}
            onDone={() => setAdding(false)}
          />
        )}
      </Modal>
      <Modal opened={editing !== null} onClose={() => setEditing(null)} title="Statuses" size="xl">
        {editing && (
          <Stack>
            <ErrorAlert error={saveError} />
            <StatusesEditor
              value={editing.statuses}
              onChange={(statuses) => setEditing({ ...editing, statuses })}
            />
            <StatusesSaveButton busy={saveStatuses.isPending} onSave={() => saveStatuses.mutate(editing)} />
          </Stack>
        )}
      </Modal>
    </Paper>
  );
}

function NewFieldForm({
  object,
  custom,
  onDone,
}: {
  object: ObjectKey;
  custom: boolean;
  onDone: () => void;
}) {
  const queryClient = useQueryClient();
  const [label, setLabel] = useState('');
  const [type, setType] = useState<FieldType>('text');
  const [options, setOptions] = useState<string[]>([]);
  const [required, setRequired] = useState(false);
  const [target, setTarget] = useState<string | null>(null);
  const [many, setMany] = useState(false);
  const [statuses, setStatuses] = useState<StatusConfig>(NEW_STATUSES);
  const targets = useFieldObjects();
  const [error, setError] = useState<unknown>(null);
  const withOptions = type === 'select' || type === 'multi_select';
  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      await call(
        api.POST('/api/v1/objects/{object}/fields', {
          params: { path: { object } },
          body: {
            label,
            type,
            required,
            ...(type === 'relation' && target ? { relation: { object: target, many: custom && many } } : {}),
            ...(type === 'status' ? { statuses } : {}),
            ...(withOptions
              ? {
                  options: options.map((o) => ({
                    value: o.toLowerCase().replace(/[^a-z0-9]+/g, '_'),
                    label: o,
                  })),
                }
              : {}),
          },
        }),
      );
      await queryClient.invalidateQueries({ queryKey: ['objects'] });
      onDone();
    } catch (err) {
      setError(err);
    }
  }
  return (
    <form onSubmit={submit}>
      <Stack>
        <ErrorAlert error={error} />
        <TextInput
          label="Label"
          required
          value={label}
          onChange={(e) => setLabel(e.currentTarget.value)}
          data-autofocus
        />
        <Select
          label="Type"
          // Status fields (a pipeline of statuses) are for custom objects.
          data={TYPES.filter((t) => custom || t !== 'status').map((t) => ({
            value: t,
            label: t.replace('_', ' '),
          }))}
          value={type}
          onChange={(v) => setType((v as FieldType) ?? 'text')}
        />
        {type === 'relation' && (
          <Select label="Points to" required data={targets} value={target} onChange={setTarget} />
        )}
        {type === 'relation' && custom && (
          <Checkbox
            label="Many-to-many"
            description="A record links any number of them, and each shows the link on its page"
            checked={many}
            onChange={(e) => setMany(e.currentTarget.checked)}
          />
        )}
        {withOptions && (
          <TagsInput
            label="Options"
            description="Type each option and press Enter"
            value={options}
            onChange={setOptions}
          />
        )}
        {type === 'status' && <StatusesEditor value={statuses} onChange={setStatuses} />}
        <Checkbox
          label="Required"
          checked={required}
          onChange={(e) => setRequired(e.currentTarget.checked)}
        />
        <Group justify="flex-end">
          <Button type="submit">Create field</Button>
        </Group>
      </Stack>
    </form>
  );
}
