import {
  Anchor,
  Button,
  Checkbox,
  Group,
  Modal,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { useInfiniteQuery, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from '@tanstack/react-router';
import { useState } from 'react';
import { api, call } from '../../api/client';
import {
  boardFields,
  CustomRecordForm,
  customTitle,
  formFields,
  numberLabel,
} from '../../lib/custom-records';
import { cellContent, useMembers } from '../../lib/fields';
import { objectQuery } from '../../lib/query';
import { countWords, PAGE_SIZE, type RecordData } from '../../lib/records';
import { EmptyState, PageSkeleton } from '../../shell/states';

/**
 * The table of any custom object's records (`/records/<key>`), from the registry: its fields as
 * columns, free-text search (`q`, through the trigram index), keyset pages, a create form, export.
 */
export function CustomRecordsPage() {
  const { object } = useParams({ from: '/app/records/$object' });
  const queryClient = useQueryClient();
  const description = useQuery(objectQuery(object)).data;
  const members = useMembers();
  const [search, setSearch] = useState('');
  const [q] = useDebouncedValue(search.trim(), 250);
  const [creating, setCreating] = useState(false);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const pages = useInfiniteQuery({
    queryKey: ['records', object, 'list', q],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      call(
        api.POST('/api/v1/records/{object}/query', {
          params: { path: { object } },
          body: { ...(q ? { q } : {}), ...(pageParam ? { cursor: pageParam } : {}), limit: PAGE_SIZE },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const total = useQuery({
    queryKey: ['records', object, 'count', q],
    queryFn: () =>
      call(
        api.GET('/api/v1/records/{object}/count', {
          params: { path: { object }, query: q ? { q } : {} },
        }),
      ),
  });
  if (!description) return <PageSkeleton />;
  const retired = description.custom_object?.retired ?? false;
  const columns = formFields(description).slice(0, 6);
  const rows = (pages.data?.pages ?? []).flatMap((p) => p.data) as RecordData[];
  const display = description.custom_object?.display_field;
  const numbered = Boolean(description.custom_object?.numbering);
  const statusFields = formFields(description).filter((f) => f.type === 'status' && f.statuses);
  const toggle = (id: string, on: boolean) =>
    setSelected((prev) => {
      const next = new Set(prev);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  // A bulk move goes through the record engine as single moves do: a status owned by another role
  // queues each record for it (issue 21).
  async function moveSelected(field: string, status: string) {
    try {
      const result = await call(
        api.POST('/api/v1/records/{object}/bulk', {
          params: { path: { object } },
          body: { ids: [...selected], action: 'set_status', field, status },
        }),
      );
      notifications.show({ message: `${result.changed} moved` });
      setSelected(new Set());
      await queryClient.invalidateQueries({ queryKey: ['records', object] });
    } catch (err) {
      notifications.show({ color: 'red', message: err instanceof Error ? err.message : String(err) });
    }
  }
  return (
    <Stack>
      <Group justify="space-between">
        <Group gap="sm">
          <Title order={1} size="h2">
            {description.label_plural}
          </Title>
          {total.data && (
            <Text c="dimmed" size="sm" data-testid="record-count" aria-live="polite">
              {countWords(total.data, {
                singular: description.label_singular,
                plural: description.label_plural,
              })}
            </Text>
          )}
        </Group>
        <Group>
          {boardFields(description.fields).length > 0 && (
            <Anchor
              size="sm"
              renderRoot={(p) => <Link {...p} to="/records/$object/board" params={{ object }} />}
            >
              Board
            </Anchor>
          )}
          <Anchor
            href={`/api/v1/records/${object}/export${q ? `?q=${encodeURIComponent(q)}` : ''}`}
            size="sm"
          >
            Export CSV
          </Anchor>
          {!retired && (
            <Button onClick={() => setCreating(true)}>New {description.label_singular.toLowerCase()}</Button>
          )}
        </Group>
      </Group>
      <TextInput
        aria-label={`Search ${description.label_plural.toLowerCase()}`}
        placeholder="Search…"
        value={search}
        onChange={(e) => setSearch(e.currentTarget.value)}
        maw={360}
      />
      {selected.size > 0 && !retired && (
        <Group gap="sm" data-testid="bulk-bar">
          <Text size="sm">{selected.size} selected</Text>
          {statusFields.map((f) => (
            <Select
              key={f.key}
              aria-label={`Move selected ${f.label.toLowerCase()} to`}
              placeholder={`Move ${f.label.toLowerCase()} to…`}
              w={220}
              data={(f.statuses?.statuses ?? []).map((st) => ({ value: st.value, label: st.label }))}
              value={null}
              onChange={(v) => v && void moveSelected(f.key, v)}
            />
          ))}
          <Button variant="subtle" size="xs" onClick={() => setSelected(new Set())}>
            Clear
          </Button>
        </Group>
      )}
      {rows.length === 0 && !pages.isFetching ? (
        <EmptyState title={q ? 'No match' : `No ${description.label_plural.toLowerCase()} yet`}>
          {q
            ? 'Try other words.'
            : `Add the first one with “New ${description.label_singular.toLowerCase()}”.`}
        </EmptyState>
      ) : (
        <Table striped highlightOnHover>
          <Table.Thead>
            <Table.Tr>
              <Table.Th w={32}>
                <Checkbox
                  aria-label="Select all shown"
                  checked={rows.length > 0 && rows.every((r) => selected.has(r.id))}
                  onChange={(e) =>
                    setSelected(e.currentTarget.checked ? new Set(rows.map((r) => r.id)) : new Set())
                  }
                />
              </Table.Th>
              {numbered && <Table.Th>No.</Table.Th>}
              {columns.map((f) => (
                <Table.Th key={f.key}>{f.label}</Table.Th>
              ))}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((r) => (
              <Table.Tr key={r.id}>
                <Table.Td>
                  <Checkbox
                    aria-label={`Select ${customTitle(description, r)}`}
                    checked={selected.has(r.id)}
                    onChange={(e) => toggle(r.id, e.currentTarget.checked)}
                  />
                </Table.Td>
                {numbered && <Table.Td>{numberLabel(description, r)}</Table.Td>}
                {columns.map((f) => (
                  <Table.Td key={f.key}>
                    {f.key === display ? (
                      <Anchor
                        renderRoot={(p) => (
                          <Link {...p} to="/records/$object/$id" params={{ object, id: r.id }} />
                        )}
                      >
                        {customTitle(description, r)}
                      </Anchor>
                    ) : (
                      cellContent(f, r, members)
                    )}
                  </Table.Td>
                ))}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {pages.hasNextPage && (
        <Group justify="center">
          <Button
            variant="default"
            loading={pages.isFetchingNextPage}
            onClick={() => void pages.fetchNextPage()}
          >
            Load more
          </Button>
        </Group>
      )}
      <Modal
        opened={creating}
        onClose={() => setCreating(false)}
        title={`New ${description.label_singular.toLowerCase()}`}
      >
        {creating && (
          <CustomRecordForm
            description={description}
            submitLabel="Create"
            onSubmit={async (custom) => {
              await call(
                api.POST('/api/v1/records/{object}', { params: { path: { object } }, body: { custom } }),
              );
              setCreating(false);
              notifications.show({ message: `${description.label_singular} created` });
              await queryClient.invalidateQueries({ queryKey: ['records', object] });
            }}
          />
        )}
      </Modal>
    </Stack>
  );
}
