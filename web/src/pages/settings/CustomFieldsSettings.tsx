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
import { objectQuery } from '../../lib/query';
import { ErrorAlert } from '../../shell/states';

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
] as const;
type FieldType = (typeof TYPES)[number];
type ObjectKey = 'contact' | 'company' | 'opportunity';

/** Custom fields per object: add (with options for selects), retire and bring back. */
export function CustomFieldsSettings() {
  const [object, setObject] = useState<ObjectKey>('contact');
  const [adding, setAdding] = useState(false);
  const queryClient = useQueryClient();
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
        <SegmentedControl
          value={object}
          onChange={(v) => setObject(v as ObjectKey)}
          data={[
            { value: 'contact', label: 'Contacts' },
            { value: 'company', label: 'Companies' },
            { value: 'opportunity', label: 'Opportunities' },
          ]}
        />
        <Button onClick={() => setAdding(true)}>Add field</Button>
      </Group>
      {custom.length === 0 ? (
        <Text c="dimmed" size="sm">
          No custom fields on {object === 'company' ? 'companies' : `${object}s`} yet. Add one to track what
          matters to you; it appears in tables, filters and detail pages.
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
      <Modal opened={adding} onClose={() => setAdding(false)} title="New custom field">
        {adding && <NewFieldForm object={object} onDone={() => setAdding(false)} />}
      </Modal>
    </Paper>
  );
}

function NewFieldForm({ object, onDone }: { object: ObjectKey; onDone: () => void }) {
  const queryClient = useQueryClient();
  const [label, setLabel] = useState('');
  const [type, setType] = useState<FieldType>('text');
  const [options, setOptions] = useState<string[]>([]);
  const [required, setRequired] = useState(false);
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
          data={TYPES.map((t) => ({ value: t, label: t.replace('_', ' ') }))}
          value={type}
          onChange={(v) => setType((v as FieldType) ?? 'text')}
        />
        {withOptions && (
          <TagsInput
            label="Options"
            description="Type each option and press Enter"
            value={options}
            onChange={setOptions}
          />
        )}
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
