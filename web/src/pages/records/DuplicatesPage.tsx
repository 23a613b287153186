import {
  Anchor,
  Badge,
  Button,
  Group,
  Paper,
  Radio,
  SegmentedControl,
  Stack,
  Table,
  Text,
  Title,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useState } from 'react';
import { api, call, contactName, type Schemas } from '../../api/client';
import { formatDate } from '../../lib/fields';
import { meQuery } from '../../lib/query';
import { EmptyState, PageSkeleton } from '../../shell/states';
import { type MergeCollection, MergeValues } from './MergeValues';

type DuplicateGroup = Schemas['DuplicateGroup'];
const REASONS: Record<string, string> = {
  email: 'Same e-mail',
  phone: 'Same phone',
  domain: 'Same domain',
  name: 'Same name',
  similar_name: 'Similar name',
};

/**
 * Possible duplicates (same e-mail, phone or domain, same or similar names) and merging a group
 * of contacts or companies into the record chosen to stay, with the values chosen to keep; a
 * merge can be undone from the message it leaves.
 */
export function DuplicatesPage() {
  const [collection, setCollection] = useState<MergeCollection>('contacts');
  const groups = useQuery({
    queryKey: [collection, 'duplicates'],
    queryFn: () =>
      call(
        api.GET(`/api/v1/${collection}/duplicates` as '/api/v1/contacts/duplicates', {
          params: { query: { limit: 50 } as never },
        }),
      ),
    staleTime: 0,
  });
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1} size="h2">
          Duplicates
        </Title>
        <SegmentedControl
          value={collection}
          onChange={(v) => setCollection(v as MergeCollection)}
          data={[
            { value: 'contacts', label: 'Contacts' },
            { value: 'companies', label: 'Companies' },
          ]}
        />
      </Group>
      {groups.isPending ? (
        <PageSkeleton />
      ) : (groups.data?.data.length ?? 0) === 0 ? (
        <EmptyState title="No duplicates found">
          Records that share an e-mail, a phone, a domain or a (similar) name show up here.
        </EmptyState>
      ) : (
        groups.data?.data.map((g) => (
          <DuplicateGroupCard key={`${collection}:${g.reason}:${g.key}`} group={g} collection={collection} />
        ))
      )}
    </Stack>
  );
}

function DuplicateGroupCard({ group, collection }: { group: DuplicateGroup; collection: MergeCollection }) {
  const queryClient = useQueryClient();
  const { data: me } = useQuery(meQuery);
  const canMerge = me?.role === 'admin' || me?.role === 'user';
  // The oldest record stays by default.
  const oldest = [...group.records].sort((a, b) => a.created_at.localeCompare(b.created_at))[0]?.id ?? null;
  const [survivor, setSurvivor] = useState<string | null>(oldest);
  const [choosing, setChoosing] = useState(false);
  const [values, setValues] = useState<Record<string, string>>({});
  // A merge changes the records, their links, deals, tasks and notes: everything shown refetches.
  const refresh = () => void queryClient.invalidateQueries();
  const undo = useMutation({
    mutationFn: (mergeId: string) =>
      call(api.POST('/api/v1/merges/{id}/undo', { params: { path: { id: mergeId } } })),
    onSuccess: () => {
      notifications.show({ color: 'teal', message: `Merge undone: the ${collection} are back as they were` });
      refresh();
    },
    onError: (e) => notifications.show({ color: 'red', message: e.message }),
  });
  const merge = useMutation({
    mutationFn: async () => {
      const body = {
        survivor_id: survivor!,
        merged_ids: group.records.map((r) => r.id).filter((id) => id !== survivor),
        values,
      };
      if (collection === 'contacts') {
        const result = await call(api.POST('/api/v1/contacts/merge', { body }));
        return { mergeId: result.merge_id, name: contactName(result.survivor) };
      }
      const result = await call(api.POST('/api/v1/companies/merge', { body }));
      return { mergeId: result.merge_id, name: result.survivor.name };
    },
    onSuccess: (result) => {
      notifications.show({
        color: 'teal',
        autoClose: 15_000,
        title: `Merged into ${result.name}`,
        message: (
          <Button size="xs" variant="light" onClick={() => undo.mutate(result.mergeId)}>
            Undo merge
          </Button>
        ),
      });
      refresh();
    },
    onError: (e) => notifications.show({ color: 'red', title: 'Merge refused', message: e.message }),
  });
  const path = collection === 'contacts' ? '/contacts/$id' : '/companies/$id';
  return (
    <Paper withBorder p="md" data-testid="duplicate-group">
      <Group justify="space-between" mb="xs">
        <Group gap="xs">
          <Badge variant="light">{REASONS[group.reason] ?? group.reason}</Badge>
          <Text size="sm" c="dimmed">
            {group.key}
          </Text>
        </Group>
        {canMerge && (
          <Group gap="xs">
            <Button size="xs" variant="default" onClick={() => setChoosing((c) => !c)} disabled={!survivor}>
              {choosing ? 'Hide values' : 'Choose values'}
            </Button>
            <Button size="xs" onClick={() => merge.mutate()} loading={merge.isPending} disabled={!survivor}>
              Merge into the chosen record
            </Button>
          </Group>
        )}
      </Group>
      <Radio.Group value={survivor} onChange={setSurvivor} aria-label="The record that stays">
        <Table>
          <Table.Thead>
            <Table.Tr>
              {canMerge && <Table.Th w={60}>Keep</Table.Th>}
              <Table.Th>Name</Table.Th>
              <Table.Th>E-mail</Table.Th>
              <Table.Th>Phone</Table.Th>
              <Table.Th>Created</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {group.records.map((r) => (
              <Table.Tr key={r.id}>
                {canMerge && (
                  <Table.Td>
                    <Radio value={r.id} aria-label={`Keep ${r.name}`} />
                  </Table.Td>
                )}
                <Table.Td>
                  <Anchor size="sm" renderRoot={(p) => <Link {...p} to={path} params={{ id: r.id }} />}>
                    {r.name}
                  </Anchor>
                </Table.Td>
                <Table.Td>{r.email ?? '—'}</Table.Td>
                <Table.Td>{r.phone ?? '—'}</Table.Td>
                <Table.Td>{formatDate(r.created_at, true)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Radio.Group>
      {canMerge && choosing && survivor && (
        <Stack gap={4} mt="sm">
          <Text size="sm" fw={500}>
            Values to keep
          </Text>
          <MergeValues
            collection={collection}
            recordIds={group.records.map((r) => r.id)}
            survivorId={survivor}
            values={values}
            onChange={setValues}
          />
        </Stack>
      )}
      {canMerge && (
        <Text size="xs" c="dimmed" mt="xs">
          {collection === 'contacts'
            ? 'The kept contact gains every e-mail, phone, tag and company of the others, their opportunities, tasks, notes and timeline.'
            : 'The kept company gains the tags, contacts, child companies, opportunities, tasks, notes and timeline of the others.'}{' '}
          Its empty fields take their values unless you choose others. The others are archived.
        </Text>
      )}
    </Paper>
  );
}
