import {
  Badge,
  Button,
  Checkbox,
  Group,
  Paper,
  SegmentedControl,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
  UnstyledButton,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, call, type Schemas } from '../../api/client';
import { objectsQuery } from '../../lib/query';
import { ErrorAlert } from '../../shell/states';

type Role = Schemas['Role'];
type Access = Role['default_access'];
type Right = Access['rights'][number];
type FieldAccess = 'write' | 'read' | 'hidden';

const RIGHTS: Right[] = ['create', 'read', 'update', 'delete', 'export', 'import'];
const SCOPES = [
  { value: 'own', label: 'Own records' },
  { value: 'team', label: "Their teams' records" },
  { value: 'all', label: 'All records' },
];

export const rolesQuery = { queryKey: ['roles'], queryFn: () => call(api.GET('/api/v1/roles')) };

/**
 * Roles (issue 22): the built-in ones, and the organization's own with a matrix of objects x
 * rights, a record scope per object and, per field, write / read only / hidden.
 */
export function RolesSettings() {
  const queryClient = useQueryClient();
  const roles = useQuery(rolesQuery);
  const [selected, setSelected] = useState<string | null>(null);
  const [key, setKey] = useState('');
  const [name, setName] = useState('');
  const create = useMutation({
    mutationFn: () => call(api.POST('/api/v1/roles', { body: { key, name } })),
    onSuccess: (role) => {
      setKey('');
      setName('');
      setSelected(role.id);
      void queryClient.invalidateQueries({ queryKey: ['roles'] });
    },
  });
  const role = roles.data?.data.find((r) => r.id !== null && r.id === selected);
  return (
    <Stack>
      <Paper withBorder p="md">
        <Table>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Role</Table.Th>
              <Table.Th>Key</Table.Th>
              <Table.Th>Members</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {roles.data?.data.map((r) => (
              <Table.Tr key={r.key}>
                <Table.Td>
                  {r.built_in ? (
                    r.name
                  ) : (
                    <UnstyledButton onClick={() => setSelected(r.id)} fw={r.id === selected ? 700 : 400}>
                      {r.name}
                    </UnstyledButton>
                  )}
                </Table.Td>
                <Table.Td>{r.key}</Table.Td>
                <Table.Td>{r.members}</Table.Td>
                <Table.Td>{r.built_in && <Badge variant="light">built-in</Badge>}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate();
          }}
        >
          <Group align="flex-end" gap="xs" mt="md">
            <TextInput
              label="New role"
              placeholder="Support"
              required
              value={name}
              onChange={(e) => {
                const v = e.currentTarget.value;
                setName(v);
                setKey(
                  v
                    .toLowerCase()
                    .replace(/[^a-z0-9]+/g, '_')
                    .replace(/^_+|_+$/g, ''),
                );
              }}
            />
            <TextInput
              label="Key"
              required
              value={key}
              onChange={(e) => setKey(e.currentTarget.value)}
              w={160}
            />
            <Button type="submit" loading={create.isPending}>
              Create role
            </Button>
          </Group>
          <ErrorAlert error={create.error} />
        </form>
      </Paper>
      {role && <RoleEditor key={role.id} role={role} onDeleted={() => setSelected(null)} />}
    </Stack>
  );
}

/** The matrix of one custom role: objects x rights, scope, and each object's fields. */
function RoleEditor({ role, onDeleted }: { role: Role; onDeleted: () => void }) {
  const queryClient = useQueryClient();
  const objects = useQuery(objectsQuery);
  const [draft, setDraft] = useState<Record<string, Access>>(role.objects);
  const [open, setOpen] = useState<string | null>(null);
  useEffect(() => setDraft(role.objects), [role]);
  const accessOf = (object: string): Access => draft[object] ?? role.default_access;
  const change = (object: string, next: Partial<Access>) =>
    setDraft((d) => ({ ...d, [object]: { ...accessOf(object), ...next } }));
  const save = useMutation({
    mutationFn: () =>
      call(api.PATCH('/api/v1/roles/{id}', { params: { path: { id: role.id! } }, body: { objects: draft } })),
    onSuccess: () => {
      notifications.show({ color: 'teal', message: `Saved ${role.name}` });
      void queryClient.invalidateQueries({ queryKey: ['roles'] });
    },
  });
  const remove = useMutation({
    mutationFn: () => call(api.DELETE('/api/v1/roles/{id}', { params: { path: { id: role.id! } } })),
    onSuccess: () => {
      onDeleted();
      void queryClient.invalidateQueries({ queryKey: ['roles'] });
    },
  });
  return (
    <Paper withBorder p="md">
      <Title order={2} size="h4" mb="sm">
        {role.name}
      </Title>
      <Table aria-label={`Rights of ${role.name}`}>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Object</Table.Th>
            {RIGHTS.map((r) => (
              <Table.Th key={r}>{r}</Table.Th>
            ))}
            <Table.Th>Records</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {objects.data?.data.map((o) => {
            const access = accessOf(o.key);
            return [
              <Table.Tr key={o.key}>
                <Table.Td>{o.label_plural}</Table.Td>
                {RIGHTS.map((r) => (
                  <Table.Td key={r}>
                    <Checkbox
                      aria-label={`${o.label_plural}: ${r}`}
                      checked={access.rights.includes(r)}
                      onChange={(e) =>
                        change(o.key, {
                          rights: e.currentTarget.checked
                            ? [...access.rights, r]
                            : access.rights.filter((x) => x !== r),
                        })
                      }
                    />
                  </Table.Td>
                ))}
                <Table.Td>
                  <Select
                    aria-label={`${o.label_plural}: records`}
                    size="xs"
                    w={170}
                    data={SCOPES}
                    value={access.scope}
                    onChange={(v) => v && change(o.key, { scope: v as Access['scope'] })}
                  />
                </Table.Td>
                <Table.Td>
                  <Button
                    size="compact-xs"
                    variant="subtle"
                    onClick={() => setOpen(open === o.key ? null : o.key)}
                  >
                    Fields
                  </Button>
                </Table.Td>
              </Table.Tr>,
              open === o.key && (
                <Table.Tr key={`${o.key}-fields`}>
                  <Table.Td colSpan={RIGHTS.length + 3}>
                    <Stack gap={4}>
                      {o.fields
                        .filter((f) => f.key !== 'id' && !f.retired)
                        .map((f) => (
                          <Group key={f.key} justify="space-between">
                            <Text size="sm">{f.label}</Text>
                            <SegmentedControl
                              size="xs"
                              aria-label={`${o.label_plural}: ${f.label}`}
                              data={[
                                { value: 'write', label: 'Write' },
                                { value: 'read', label: 'Read only' },
                                { value: 'hidden', label: 'Hidden' },
                              ]}
                              value={access.fields[f.key] ?? 'write'}
                              onChange={(v) => {
                                const fields = { ...access.fields } as Record<string, FieldAccess>;
                                if (v === 'write') delete fields[f.key];
                                else fields[f.key] = v as FieldAccess;
                                change(o.key, { fields: fields as Access['fields'] });
                              }}
                            />
                          </Group>
                        ))}
                    </Stack>
                  </Table.Td>
                </Table.Tr>
              ),
            ];
          })}
        </Table.Tbody>
      </Table>
      <Text size="xs" c="dimmed" mt="xs">
        A field can only narrow its object: “Write” follows the object’s rights.
      </Text>
      <Group mt="md">
        <Button onClick={() => save.mutate()} loading={save.isPending}>
          Save
        </Button>
        <Button color="red" variant="light" onClick={() => remove.mutate()} loading={remove.isPending}>
          Delete role
        </Button>
      </Group>
      <ErrorAlert error={save.error ?? remove.error} />
    </Paper>
  );
}
