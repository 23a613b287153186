import {
  Badge,
  Button,
  Group,
  Modal,
  MultiSelect,
  NumberInput,
  Paper,
  Stack,
  Table,
  Text,
  TextInput,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { api, call, type ObjectDescription } from '../../api/client';
import { ErrorAlert } from '../../shell/states';
import { rolesQuery } from './RolesSettings';

/** The organization's objects, retired ones included (settings only). */
const customObjectsQuery = {
  queryKey: ['objects', 'with-retired'],
  queryFn: () => call(api.GET('/api/v1/objects', { params: { query: { include_retired: 'true' } } })),
} as const;

/** A key from a label: `Intended parent` -> `intended_parent` (the admin may edit it). */
const keyOf = (label: string) =>
  label
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 40);

/**
 * Custom objects (issue 21): define an object (its records then have a table, a detail page,
 * fields, search, export and bulk actions from the registry), relabel, retire, bring back, purge.
 */
export function CustomObjectsSettings() {
  const queryClient = useQueryClient();
  const [adding, setAdding] = useState(false);
  const [purging, setPurging] = useState<{ key: string; label: string } | null>(null);
  const [numbering, setNumbering] = useState<ObjectDescription | null>(null);
  const [visibility, setVisibility] = useState<ObjectDescription | null>(null);
  const objects = (useQuery(customObjectsQuery).data?.data ?? []).filter((o) => o.custom_object);
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ['objects'] });
  const toggle = useMutation({
    mutationFn: (v: { key: string; retire: boolean }) =>
      call(
        v.retire
          ? api.POST('/api/v1/objects/{object}/retire', { params: { path: { object: v.key } } })
          : api.POST('/api/v1/objects/{object}/unretire', { params: { path: { object: v.key } } }),
      ),
    onSuccess: refresh,
    onError: (e) => notifications.show({ color: 'red', message: e.message }),
  });
  return (
    <Paper withBorder p="md">
      <Group justify="space-between" mb="sm">
        <Text size="sm" c="dimmed">
          Objects of your own (properties, cases, candidates...), with their fields under “Custom fields”.
        </Text>
        <Button onClick={() => setAdding(true)}>New object</Button>
      </Group>
      {objects.length === 0 ? (
        <Text c="dimmed" size="sm">
          No objects of your own yet.
        </Text>
      ) : (
        <Table>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Object</Table.Th>
              <Table.Th>Key</Table.Th>
              <Table.Th>Fields</Table.Th>
              <Table.Th>Numbers</Table.Th>
              <Table.Th>Visibility</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {objects.map((o) => (
              <Table.Tr key={o.key}>
                <Table.Td>
                  {o.label_plural} {o.custom_object?.retired && <Badge color="gray">retired</Badge>}
                </Table.Td>
                <Table.Td>
                  <code>{o.key}</code>
                </Table.Td>
                <Table.Td>{o.fields.filter((f) => f.origin === 'custom' && !f.retired).length}</Table.Td>
                <Table.Td>
                  <Button size="xs" variant="subtle" onClick={() => setNumbering(o)}>
                    {o.custom_object?.numbering
                      ? `${o.custom_object.numbering.prefix}${'1'.padStart(o.custom_object.numbering.digits, '0')}`
                      : 'Off'}
                  </Button>
                </Table.Td>
                <Table.Td>
                  <Button size="xs" variant="subtle" onClick={() => setVisibility(o)}>
                    {o.custom_object?.restricted_roles.length
                      ? `${o.custom_object.restricted_roles.length} restricted`
                      : 'Everyone'}
                  </Button>
                </Table.Td>
                <Table.Td>
                  <Group gap="xs" justify="flex-end">
                    <Button
                      size="xs"
                      variant="subtle"
                      onClick={() => toggle.mutate({ key: o.key, retire: !o.custom_object?.retired })}
                    >
                      {o.custom_object?.retired ? 'Bring back' : 'Retire'}
                    </Button>
                    {o.custom_object?.retired && (
                      <Button
                        size="xs"
                        variant="subtle"
                        color="red"
                        onClick={() => setPurging({ key: o.key, label: o.label_plural })}
                      >
                        Purge
                      </Button>
                    )}
                  </Group>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      <Modal opened={adding} onClose={() => setAdding(false)} title="New object">
        {adding && (
          <NewObjectForm
            onDone={() => {
              setAdding(false);
              refresh();
            }}
          />
        )}
      </Modal>
      <Modal opened={numbering !== null} onClose={() => setNumbering(null)} title="Record numbers">
        {numbering && (
          <NumberingForm
            object={numbering}
            onDone={() => {
              setNumbering(null);
              refresh();
            }}
          />
        )}
      </Modal>
      <Modal opened={visibility !== null} onClose={() => setVisibility(null)} title="Who sees which records">
        {visibility && (
          <VisibilityForm
            object={visibility}
            onDone={() => {
              setVisibility(null);
              refresh();
            }}
          />
        )}
      </Modal>
      <Modal opened={purging !== null} onClose={() => setPurging(null)} title="Purge for good">
        {purging && (
          <PurgeForm
            object={purging}
            onDone={() => {
              setPurging(null);
              refresh();
            }}
          />
        )}
      </Modal>
    </Paper>
  );
}

function NewObjectForm({ onDone }: { onDone: () => void }) {
  const [singular, setSingular] = useState('');
  const [plural, setPlural] = useState('');
  const [key, setKey] = useState<string | null>(null);
  const [display, setDisplay] = useState('Name');
  const [prefix, setPrefix] = useState('');
  const [error, setError] = useState<unknown>(null);
  const shownKey = key ?? keyOf(singular);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      await call(
        api.POST('/api/v1/objects', {
          body: {
            key: shownKey,
            label_singular: singular,
            label_plural: plural || `${singular}s`,
            display_field: { key: keyOf(display) || 'name', label: display || 'Name', type: 'text' },
            ...(prefix.trim() ? { numbering: { prefix: prefix.trim(), digits: 5 } } : {}),
          },
        }),
      );
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
          label="Name (one)"
          placeholder="Property"
          required
          value={singular}
          onChange={(e) => setSingular(e.currentTarget.value)}
          data-autofocus
        />
        <TextInput
          label="Name (many)"
          placeholder={singular ? `${singular}s` : 'Properties'}
          value={plural}
          onChange={(e) => setPlural(e.currentTarget.value)}
        />
        <TextInput
          label="Key"
          description="The API name, never changed"
          required
          value={shownKey}
          onChange={(e) => setKey(e.currentTarget.value)}
        />
        <TextInput
          label="Field that names a record"
          required
          value={display}
          onChange={(e) => setDisplay(e.currentTarget.value)}
        />
        <TextInput
          label="Record numbers"
          description="A prefix such as CASE- numbers each record (CASE-00001, CASE-00002…); empty: no numbers"
          value={prefix}
          onChange={(e) => setPrefix(e.currentTarget.value)}
        />
        <Group justify="flex-end">
          <Button type="submit">Create object</Button>
        </Group>
      </Stack>
    </form>
  );
}

function PurgeForm({ object, onDone }: { object: { key: string; label: string }; onDone: () => void }) {
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<unknown>(null);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      await call(
        api.DELETE('/api/v1/objects/{object}', {
          params: { path: { object: object.key }, query: { confirm: typed } },
        }),
      );
      onDone();
    } catch (err) {
      setError(err);
    }
  }
  return (
    <form onSubmit={submit}>
      <Stack>
        <ErrorAlert error={error} />
        <Text size="sm">
          Every record of {object.label} is deleted for good. Type <code>{object.key}</code> to confirm.
        </Text>
        <TextInput label="Key" required value={typed} onChange={(e) => setTyped(e.currentTarget.value)} />
        <Group justify="flex-end">
          <Button type="submit" color="red" disabled={typed !== object.key}>
            Purge
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

/** Turns record numbers on (records without one get the next numbers), changes the prefix, or turns them off. */
function NumberingForm({ object, onDone }: { object: ObjectDescription; onDone: () => void }) {
  const current = object.custom_object?.numbering;
  const [prefix, setPrefix] = useState(current?.prefix ?? '');
  const [digits, setDigits] = useState<number | string>(current?.digits ?? 5);
  const [error, setError] = useState<unknown>(null);
  async function save(on: boolean) {
    setError(null);
    try {
      await call(
        api.PATCH('/api/v1/objects/{object}', {
          params: { path: { object: object.key } },
          body: { numbering: on ? { prefix: prefix.trim(), digits: Number(digits) || 5 } : null },
        }),
      );
      onDone();
    } catch (err) {
      setError(err);
    }
  }
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        void save(true);
      }}
    >
      <Stack>
        <ErrorAlert error={error} />
        <Text size="sm">
          Each new {object.label_singular.toLowerCase()} gets the next number, never reused. Turning numbers
          on numbers the existing ones first, oldest first.
        </Text>
        <TextInput
          label="Prefix"
          value={prefix}
          onChange={(e) => setPrefix(e.currentTarget.value)}
          data-autofocus
        />
        <NumberInput label="Digits" min={1} max={12} value={digits} onChange={setDigits} />
        <Group justify="flex-end">
          {current && (
            <Button variant="subtle" color="red" onClick={() => void save(false)}>
              Turn off
            </Button>
          )}
          <Button type="submit">Save</Button>
        </Group>
      </Stack>
    </form>
  );
}

/**
 * The roles restricted to the records in the statuses they own (a status's owner role), the
 * records that were in one of them before and the records their members own; admins see all.
 */
function VisibilityForm({ object, onDone }: { object: ObjectDescription; onDone: () => void }) {
  const roles = useQuery(rolesQuery);
  const [chosen, setChosen] = useState<string[]>(object.custom_object?.restricted_roles ?? []);
  const [error, setError] = useState<unknown>(null);
  async function save(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      await call(
        api.PATCH('/api/v1/objects/{object}', {
          params: { path: { object: object.key } },
          body: { restricted_roles: chosen },
        }),
      );
      onDone();
    } catch (err) {
      setError(err);
    }
  }
  return (
    <form onSubmit={save}>
      <Stack>
        <ErrorAlert error={error} />
        <Text size="sm">
          Members of these roles see only the {object.label_plural.toLowerCase()} in the statuses their role
          owns, those that were in one of them before, and those they own. Admins see every record.
        </Text>
        <MultiSelect
          label="Restricted roles"
          data={(roles.data?.data ?? [])
            .filter((r) => r.key !== 'admin')
            .map((r) => ({ value: r.key, label: r.name }))}
          value={chosen}
          onChange={setChosen}
          searchable
          data-autofocus
        />
        <Group justify="flex-end">
          <Button type="submit">Save</Button>
        </Group>
      </Stack>
    </form>
  );
}
