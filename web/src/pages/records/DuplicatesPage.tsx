import {
  Anchor,
  Badge,
  Button,
  Group,
  Loader,
  Paper,
  Radio,
  SegmentedControl,
  Stack,
  Table,
  Text,
  Title,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useState } from 'react';
import { api, call, type Schemas } from '../../api/client';
import { formatDate } from '../../lib/fields';
import { meQuery, objectQuery } from '../../lib/query';
import { recordPath, recordTitle } from '../../lib/records';
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
  const queryClient = useQueryClient();
  const { data: me } = useQuery(meQuery);
  const canScan = me?.role === 'admin' || me?.role === 'user';
  const pages = useInfiniteQuery({
    queryKey: [collection, 'duplicates'],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      call(
        api.GET(recordPath(collection, '/duplicates'), {
          params: { query: { limit: 50, ...(pageParam ? { cursor: pageParam } : {}) } },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    staleTime: 0,
    // Groups are kept by a background job a few seconds behind record changes: the list refreshes
    // itself, every 2 s while a scan runs or changes are being checked, every 5 s otherwise.
    refetchInterval: (query) => {
      const scan = query.state.data?.pages[0]?.scan;
      return scan && (scan.state !== 'done' || scan.pending_changes > 0) ? 2_000 : 5_000;
    },
  });
  const scan = pages.data?.pages[0]?.scan;
  const groups = pages.data?.pages.flatMap((p) => p.data) ?? [];
  const rescan = useMutation({
    mutationFn: () => call(api.POST(recordPath(collection, '/duplicates/scan'), {})),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: [collection, 'duplicates'] }),
    onError: (e) => notifications.show({ color: 'red', message: e.message }),
  });
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1} size="h2">
          Duplicates
        </Title>
        <Group>
          {canScan && (
            <Button
              size="xs"
              variant="default"
              onClick={() => rescan.mutate()}
              loading={rescan.isPending}
              disabled={scan?.state === 'running'}
            >
              Scan again
            </Button>
          )}
          <SegmentedControl
            value={collection}
            onChange={(v) => setCollection(v === 'companies' ? 'companies' : 'contacts')}
            data={[
              { value: 'contacts', label: 'Contacts' },
              { value: 'companies', label: 'Companies' },
            ]}
          />
        </Group>
      </Group>
      {scan && <ScanStatus scan={scan} />}
      {pages.isPending ? (
        <PageSkeleton />
      ) : groups.length === 0 ? (
        <EmptyState title={scan?.state === 'done' ? 'No duplicates found' : 'Looking for duplicates…'}>
          Records that share an e-mail, a phone, a domain or a (similar) name show up here.
        </EmptyState>
      ) : (
        <>
          {groups.map((g) => (
            <DuplicateGroupCard
              key={`${collection}:${g.reason}:${g.key}`}
              group={g}
              collection={collection}
            />
          ))}
          {pages.hasNextPage && (
            <Button
              variant="default"
              onClick={() => pages.fetchNextPage()}
              loading={pages.isFetchingNextPage}
            >
              Show more
            </Button>
          )}
        </>
      )}
    </Stack>
  );
}

/** How current the list is: the background scan's state, and changes still being checked. */
function ScanStatus({ scan }: { scan: Schemas['DuplicateScan'] }) {
  if (scan.state !== 'done') {
    return (
      <Group gap="xs" role="status">
        <Loader size="xs" />
        <Text size="sm" c="dimmed">
          {scan.state === 'running' ? 'Scanning every record for duplicates…' : 'A scan is about to start…'}
        </Text>
      </Group>
    );
  }
  return (
    <Text size="sm" c="dimmed" role="status">
      Last full scan {scan.finished_at ? formatDate(scan.finished_at, true) : ''}
      {scan.duration_ms !== null ? ` (${(scan.duration_ms / 1000).toFixed(1)} s)` : ''}
      {scan.pending_changes > 0 ? ` · checking ${scan.pending_changes} recent changes…` : ' · up to date'}
    </Text>
  );
}

function DuplicateGroupCard({ group, collection }: { group: DuplicateGroup; collection: MergeCollection }) {
  const queryClient = useQueryClient();
  const { data: me } = useQuery(meQuery);
  const canMerge = me?.role === 'admin' || me?.role === 'user';
  const contact = useQuery(objectQuery('contact')).data;
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
        const name = contact ? recordTitle(contact.display, result.survivor) : 'the survivor';
        return { mergeId: result.merge_id, name };
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
  const dismiss = useMutation({
    mutationFn: () =>
      call(
        api.POST(recordPath(collection, '/duplicates/dismiss'), {
          body: { ids: group.records.map((r) => r.id) },
        }),
      ),
    onSuccess: () => {
      notifications.show({
        color: 'teal',
        message: 'Marked as not duplicates: they will not be shown together again',
      });
      void queryClient.invalidateQueries({ queryKey: [collection, 'duplicates'] });
    },
    onError: (e) => notifications.show({ color: 'red', message: e.message }),
  });
  const path = collection === 'contacts' ? '/contacts/$id' : '/companies/$id';
  return (
    <Paper withBorder p="md" data-testid="duplicate-group">
      <Group justify="space-between" mb="xs">
        <Group gap="xs">
          <Badge variant="light">{REASONS[group.reason] ?? group.reason}</Badge>
          <Text size="sm" c="dimmed">
            {group.key}
            {group.record_count > group.records.length
              ? ` · ${group.record_count} records, first ${group.records.length} shown`
              : ''}
          </Text>
        </Group>
        {canMerge && (
          <Group gap="xs">
            <Button size="xs" variant="subtle" onClick={() => dismiss.mutate()} loading={dismiss.isPending}>
              Not a duplicate
            </Button>
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
