import { ActionIcon, Group, Paper, Stack, Table, Text, TextInput } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconCheck, IconPencil } from '@tabler/icons-react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call } from '../../api/client';

/** Tags: rename one everywhere; renaming to an existing tag merges the two. */
export function TagsSettings() {
  const tags = useQuery({ queryKey: ['tags', 'all'], queryFn: () => call(api.GET('/api/v1/tags')) });
  return (
    <Paper withBorder p="md">
      <Text size="sm" c="dimmed" mb="sm">
        Rename a tag on every record. Rename it to the name of another tag to merge the two.
      </Text>
      {tags.data?.data.length === 0 && (
        <Text c="dimmed">No tags yet: tag a contact, company or opportunity first.</Text>
      )}
      <Table>
        <Table.Tbody>
          {tags.data?.data.map((t) => (
            <TagRow key={t.id} id={t.id} name={t.name} />
          ))}
        </Table.Tbody>
      </Table>
    </Paper>
  );
}

function TagRow({ id, name }: { id: string; name: string }) {
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(name);
  const [error, setError] = useState<string | null>(null);
  async function save() {
    try {
      const r = await call(
        api.PATCH('/api/v1/tags/{id}', { params: { path: { id } }, body: { name: draft } }),
      );
      notifications.show({
        color: 'teal',
        message: r.merged
          ? `Merged “${name}” into “${r.name}” (${r.records} records)`
          : `Renamed to “${r.name}” (${r.records} records)`,
      });
      setEditing(false);
      void queryClient.invalidateQueries({ queryKey: ['tags'] });
    } catch (e) {
      setError((e as Error).message);
    }
  }
  return (
    <Table.Tr>
      <Table.Td>
        {editing ? (
          <Stack gap={2}>
            <form
              onSubmit={(e) => {
                e.preventDefault();
                void save();
              }}
            >
              <Group gap={4}>
                <TextInput
                  aria-label={`New name for ${name}`}
                  value={draft}
                  onChange={(e) => setDraft(e.currentTarget.value)}
                  autoFocus
                  size="xs"
                />
                <ActionIcon type="submit" aria-label="Save tag name">
                  <IconCheck size={14} />
                </ActionIcon>
              </Group>
            </form>
            {error && (
              <Text c="red" size="xs" role="alert">
                {error}
              </Text>
            )}
          </Stack>
        ) : (
          name
        )}
      </Table.Td>
      <Table.Td w={40}>
        {!editing && (
          <ActionIcon variant="subtle" aria-label={`Rename ${name}`} onClick={() => setEditing(true)}>
            <IconPencil size={14} />
          </ActionIcon>
        )}
      </Table.Td>
    </Table.Tr>
  );
}
