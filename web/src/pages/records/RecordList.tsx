import {
  Button,
  Checkbox,
  Group,
  Menu,
  Modal,
  Paper,
  Popover,
  ScrollArea,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
  UnstyledButton,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import {
  IconArrowDown,
  IconArrowUp,
  IconColumns,
  IconDeviceFloppy,
  IconDownload,
  IconPlus,
  IconSearch,
  IconTrash,
} from '@tabler/icons-react';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate } from '@tanstack/react-router';
import {
  memo,
  type KeyboardEvent as ReactKeyboardEvent,
  type ReactNode,
  useCallback,
  useEffect,
  useMemo,
  useState,
} from 'react';
import {
  api,
  type BulkAction,
  call,
  type Field,
  type FilterNode,
  type Member,
  type SavedView,
} from '../../api/client';

type BulkBody = Omit<BulkAction, 'ids'>;

import { cellContent, fieldValueOf, type RecordData, TagPicker, useMembers } from '../../lib/fields';
import { meQuery, objectQuery } from '../../lib/query';
import {
  bulkAction,
  COLLECTION,
  type Collection,
  countQueryOptions,
  countWords,
  DETAIL_PATH,
  type ListObject,
  listQueryOptions,
  type Sort,
} from '../../lib/records';
import { EmptyState, ErrorAlert, PageSkeleton } from '../../shell/states';
import { AskSlot } from '../ai/assistant';
import { FilterBuilder, type FilterState, fromFilter, toFilter } from './FilterBuilder';
import { InlineCellEditor, isInlineEditable } from './InlineCell';

export type ListConfig = {
  object: ListObject;
  /** The "new record" form. */
  renderCreate: (close: () => void) => ReactNode;
  empty: ReactNode;
  /** Selected saved view id, from the URL. */
  viewId?: string;
  onViewChange: (id: string | undefined) => void;
  /** Opens the create form (the URL's `new`, from the search's "New contact"). */
  startCreating?: boolean;
};

/**
 * A registry-driven table of records: column chooser, sort by header, the filter builder, free
 * text, saved views, paging by cursor (50 rows a page), bulk select (assign, tag, untag,
 * archive) and export of exactly what is shown.
 */
export function RecordList(config: ListConfig) {
  const collection = COLLECTION[config.object];
  const detailPath = DETAIL_PATH[config.object];
  const { data: description } = useQuery(objectQuery(config.object));
  const { data: me } = useQuery(meQuery);
  const canEdit = me?.role === 'admin' || me?.role === 'user';
  const members = useMembers();
  const queryClient = useQueryClient();
  const navigate = useNavigate();

  const [filter, setFilter] = useState<FilterState>({ combinator: 'and', conditions: [] });
  const [sort, setSort] = useState<Sort[]>([]);
  const [search, setSearch] = useState('');
  const [q] = useDebouncedValue(search.trim(), 250);
  const [chosenColumns, setColumns] = useState<string[] | null>(null);
  // Until the user chooses (or opens a view): the registry's default columns for the object.
  // Only fields the registry gives this user (a role may hide some, issue 22): a saved view naming a
  // hidden one still opens, without that column.
  const columns = (chosenColumns ?? description?.display.columns ?? []).filter(
    (k) => !description || description.fields.some((f) => f.key === k),
  );
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [creating, setCreating] = useState(Boolean(config.startCreating));
  useRowKeys();
  // The cell being edited in place (double-click, or Enter on the cell).
  const [editing, setEditing] = useState<{ id: string; key: string } | null>(null);
  const startEdit = useCallback((id: string, key: string) => setEditing({ id, key }), []);
  const endEdit = useCallback(
    (saved?: Record<string, unknown>) => {
      setEditing(null);
      if (saved) {
        notifications.show({ color: 'teal', message: 'Saved' });
        void queryClient.invalidateQueries({ queryKey: [collection] });
      }
    },
    [queryClient, collection],
  );
  useEffect(() => {
    if (config.startCreating) setCreating(true);
  }, [config.startCreating]);
  const [savingView, setSavingView] = useState(false);

  const views = useQuery({
    queryKey: ['views', config.object],
    queryFn: () => call(api.GET('/api/v1/views', { params: { query: { object: config.object } } })),
  });
  const currentView = views.data?.data.find((v) => v.id === config.viewId);

  // Opening a saved view loads its filter, sort, search and columns.
  useEffect(() => {
    if (!currentView) return;
    const query = currentView.query as { filter?: unknown; sort?: Sort[]; q?: string };
    setFilter(fromFilter(query.filter));
    setSort(query.sort ?? []);
    setSearch(query.q ?? '');
    if (currentView.columns.length > 0) setColumns(currentView.columns);
  }, [currentView]);

  const filterNode = useMemo(() => toFilter(filter), [filter]);
  const queryKey = [collection, filterNode, sort, q, columns] as const;
  // A new query starts from the first page with nothing selected.
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset whenever the query changes
  useEffect(() => {
    setCursors([undefined]);
    setSelected(new Set());
  }, [JSON.stringify(queryKey)]);
  const cursor = cursors[cursors.length - 1];

  const total = useQuery({
    ...countQueryOptions(collection, { filter: filterNode, q }),
    placeholderData: keepPreviousData,
    enabled: Boolean(description),
  });
  const list = useQuery({
    ...listQueryOptions(collection, { filter: filterNode, sort, q, columns, cursor }),
    placeholderData: keepPreviousData,
    enabled: Boolean(description),
  });

  const bulk = useMutation({
    mutationFn: (action: BulkBody) => bulkAction(collection, [...selected], action),
    onSuccess: (result) => {
      notifications.show({
        color: 'teal',
        message: `Done: ${result.changed} record(s) changed`,
      });
      setSelected(new Set());
      void queryClient.invalidateQueries({ queryKey: [collection] });
    },
    onError: (e) => notifications.show({ color: 'red', title: 'Bulk action refused', message: e.message }),
  });

  // User Timing mark for the first rows on screen (read by the e2e timing and by DevTools).
  const hasRows = (list.data?.data.length ?? 0) > 0;
  useEffect(() => {
    if (hasRows && performance.getEntriesByName('cairn:first-rows').length === 0) {
      performance.mark('cairn:first-rows');
    }
  }, [hasRows]);

  const toggleRow = useCallback((id: string) => {
    setSelected((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  }, []);

  if (!description) return <PageSkeleton />;
  const fields = description.fields.filter((f) => !f.retired);
  const shown = columns.map((k) => fields.find((f) => f.key === k)).filter((f): f is Field => Boolean(f));
  const rows = list.data?.data ?? [];
  const allSelected = rows.length > 0 && rows.every((r) => selected.has(r.id));
  const noQuery = !filterNode && !q;

  const exportHref = (() => {
    const p = new URLSearchParams({ format: 'csv' });
    if (filterNode) p.set('filter', JSON.stringify(filterNode));
    if (sort.length) p.set('sort', sort.map((s) => `${s.field}:${s.direction}`).join(','));
    if (q) p.set('q', q);
    return `/api/v1/${collection}/export?${p}`;
  })();

  function toggleSort(field: Field) {
    if (!field.sortable || field.type === 'tags' || field.type === 'multi_select') return;
    const current = sort[0]?.field === field.key ? sort[0].direction : undefined;
    setSort(
      current === 'asc'
        ? [{ field: field.key, direction: 'desc' }]
        : current === 'desc'
          ? []
          : [{ field: field.key, direction: 'asc' }],
    );
  }

  async function saveViewChanges() {
    if (!currentView) return;
    try {
      await call(
        api.PATCH('/api/v1/views/{id}', {
          params: { path: { id: currentView.id } },
          body: {
            query: { ...(filterNode ? { filter: filterNode } : {}), sort, ...(q ? { q } : {}) },
            columns,
          },
        }),
      );
      notifications.show({ color: 'teal', message: `View "${currentView.name}" saved` });
      void queryClient.invalidateQueries({ queryKey: ['views', config.object] });
    } catch (e) {
      notifications.show({ color: 'red', title: 'Could not save the view', message: (e as Error).message });
    }
  }

  async function deleteView(view: SavedView) {
    await call(api.DELETE('/api/v1/views/{id}', { params: { path: { id: view.id } } }));
    config.onViewChange(undefined);
    void queryClient.invalidateQueries({ queryKey: ['views', config.object] });
  }

  return (
    <Stack gap="sm">
      <Group justify="space-between" wrap="wrap">
        <Group gap="sm">
          <Title order={1} size="h2">
            {currentView ? currentView.name : description.label_plural}
          </Title>
          {total.data && (
            <Text c="dimmed" size="sm" data-testid="record-count" aria-live="polite">
              {countWords(total.data, {
                singular: description.label_singular,
                plural: description.label_plural,
              })}
            </Text>
          )}
          <Select
            aria-label="Saved view"
            placeholder="All records"
            w={200}
            clearable
            data={(views.data?.data ?? []).map((v) => ({
              value: v.id,
              label: v.visibility === 'shared' ? `${v.name} (shared)` : v.name,
            }))}
            value={config.viewId ?? null}
            onChange={(v) => config.onViewChange(v ?? undefined)}
          />
        </Group>
        <Group gap="xs">
          {canEdit && (
            <Button leftSection={<IconPlus size={16} />} onClick={() => setCreating(true)}>
              New {description.label_singular.toLowerCase()}
            </Button>
          )}
        </Group>
      </Group>

      <Group gap="xs" wrap="wrap">
        <TextInput
          aria-label={`Search ${description.label_plural.toLowerCase()}`}
          placeholder="Search…"
          leftSection={<IconSearch size={16} />}
          value={search}
          onChange={(e) => setSearch(e.currentTarget.value)}
          w={240}
        />
        <FilterBuilder fields={fields} state={filter} onChange={setFilter} members={members} />
        <AskSlot object={config.object} onApply={(f) => setFilter(fromFilter(f))} />
        <ColumnChooser fields={fields} columns={columns} onChange={setColumns} />
        <Menu position="bottom-start">
          <Menu.Target>
            <Button variant="default" leftSection={<IconDeviceFloppy size={16} />}>
              View
            </Button>
          </Menu.Target>
          <Menu.Dropdown>
            <Menu.Item onClick={() => setSavingView(true)}>Save as new view…</Menu.Item>
            {currentView && (
              <Menu.Item onClick={() => void saveViewChanges()}>
                Save changes to "{currentView.name}"
              </Menu.Item>
            )}
            {currentView && (
              <Menu.Item
                color="red"
                leftSection={<IconTrash size={14} />}
                onClick={() => void deleteView(currentView)}
              >
                Delete view
              </Menu.Item>
            )}
          </Menu.Dropdown>
        </Menu>
        <Button
          component="a"
          href={exportHref}
          variant="default"
          leftSection={<IconDownload size={16} />}
          download
        >
          Export CSV
        </Button>
      </Group>

      {canEdit && selected.size > 0 && (
        <BulkBar
          count={selected.size}
          busy={bulk.isPending}
          onAction={(body) => bulk.mutate(body)}
          members={members}
        />
      )}

      {list.error ? <ErrorAlert error={list.error} /> : null}

      {list.isPending ? (
        <PageSkeleton />
      ) : rows.length === 0 && cursors.length === 1 ? (
        noQuery ? (
          config.empty
        ) : (
          <EmptyState title="No matches">
            Nothing matches this search and filter. Loosen a condition or clear the search.
          </EmptyState>
        )
      ) : (
        <Paper withBorder>
          <ScrollArea type="auto">
            <Table
              striped
              highlightOnHover
              stickyHeader
              verticalSpacing={6}
              className="cairn-record-table"
              data-testid="record-table"
            >
              <Table.Thead>
                <Table.Tr>
                  {canEdit && (
                    <Table.Th w={36}>
                      <Checkbox
                        aria-label="Select all on this page"
                        checked={allSelected}
                        indeterminate={!allSelected && rows.some((r) => selected.has(r.id))}
                        onChange={() =>
                          setSelected(
                            allSelected ? new Set() : new Set([...selected, ...rows.map((r) => r.id)]),
                          )
                        }
                      />
                    </Table.Th>
                  )}
                  {shown.map((f) => {
                    const dir = sort[0]?.field === f.key ? sort[0].direction : undefined;
                    const sortable = f.sortable && f.type !== 'tags' && f.type !== 'multi_select';
                    return (
                      <Table.Th
                        key={f.key}
                        aria-sort={dir === 'asc' ? 'ascending' : dir === 'desc' ? 'descending' : undefined}
                      >
                        {sortable ? (
                          <UnstyledButton onClick={() => toggleSort(f)} fw={600} fz="sm">
                            <Group gap={4} wrap="nowrap">
                              {f.label}
                              {dir === 'asc' && <IconArrowUp size={14} />}
                              {dir === 'desc' && <IconArrowDown size={14} />}
                            </Group>
                          </UnstyledButton>
                        ) : (
                          f.label
                        )}
                      </Table.Th>
                    );
                  })}
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {rows.map((row) => (
                  <RecordRow
                    key={row.id}
                    row={row}
                    fields={shown}
                    members={members}
                    selectable={canEdit}
                    selected={selected.has(row.id)}
                    onToggle={toggleRow}
                    detailPath={detailPath}
                    titleFields={description?.display.fields ?? []}
                    collection={collection}
                    editingKey={canEdit && editing?.id === row.id ? editing.key : undefined}
                    onEdit={canEdit ? startEdit : undefined}
                    onEdited={endEdit}
                  />
                ))}
              </Table.Tbody>
            </Table>
          </ScrollArea>
        </Paper>
      )}
      <Group justify="space-between">
        <Text size="sm" c="dimmed">
          Page {cursors.length} · {rows.length} shown{selected.size ? ` · ${selected.size} selected` : ''}
        </Text>
        <Group gap="xs">
          <Button
            variant="default"
            size="xs"
            disabled={cursors.length === 1}
            onClick={() => setCursors(cursors.slice(0, -1))}
          >
            Previous
          </Button>
          <Button
            variant="default"
            size="xs"
            disabled={!list.data?.next_cursor}
            onClick={() => list.data?.next_cursor && setCursors([...cursors, list.data.next_cursor])}
          >
            Next
          </Button>
        </Group>
      </Group>

      <Modal
        opened={creating}
        onClose={() => setCreating(false)}
        title={`New ${description.label_singular.toLowerCase()}`}
      >
        {creating && config.renderCreate(() => setCreating(false))}
      </Modal>
      <SaveViewModal
        opened={savingView}
        onClose={() => setSavingView(false)}
        canShare={me?.role === 'admin' || me?.role === 'user'}
        onSave={async (name, shared) => {
          const view = await call(
            api.POST('/api/v1/views', {
              body: {
                object: config.object,
                name,
                visibility: shared ? 'shared' : 'private',
                columns,
                query: {
                  ...(filterNode ? { filter: filterNode as FilterNode } : {}),
                  ...(sort.length ? { sort } : {}),
                  ...(q ? { q } : {}),
                },
              },
            }),
          );
          await queryClient.invalidateQueries({ queryKey: ['views', config.object] });
          config.onViewChange(view.id);
          void navigate({ to: '.', search: { view: view.id } });
        }}
      />
    </Stack>
  );
}

/**
 * Keyboard navigation of the record table: j or ArrowDown moves to the next row, k or ArrowUp to
 * the previous one (focusing its name's link), Enter opens it (the link's own behaviour). Keys
 * typed in a field, a menu or a dialog are left alone.
 */
function useRowKeys() {
  useEffect(() => {
    function onKey(event: KeyboardEvent) {
      if (event.altKey || event.ctrlKey || event.metaKey) return;
      const target = event.target as HTMLElement | null;
      if (
        target?.closest('input, textarea, select, [contenteditable="true"], [role="dialog"], [role="menu"]')
      )
        return;
      const down = event.key === 'j' || event.key === 'ArrowDown';
      const up = event.key === 'k' || event.key === 'ArrowUp';
      if (!down && !up) return;
      const links = [...document.querySelectorAll<HTMLElement>('.cairn-record-table tbody tr .cairn-link')];
      if (links.length === 0) return;
      const current = links.findIndex((l) => l.closest('tr')?.contains(document.activeElement));
      const next = current === -1 ? (down ? 0 : links.length - 1) : current + (down ? 1 : -1);
      const link = links[Math.max(0, Math.min(links.length - 1, next))];
      if (!link) return;
      event.preventDefault();
      link.focus();
      link.scrollIntoView({ block: 'nearest' });
    }
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);
}

/** One table row: plain cells (see cellContent), re-rendered only when its record or selection changes. */
const RecordRow = memo(function RecordRow({
  row,
  fields,
  members,
  selectable,
  selected,
  onToggle,
  detailPath,
  titleFields,
  collection,
  editingKey,
  onEdit,
  onEdited,
}: {
  row: RecordData;
  fields: Field[];
  members: Member[];
  selectable: boolean;
  selected: boolean;
  onToggle: (id: string) => void;
  detailPath: (typeof DETAIL_PATH)[ListObject];
  titleFields: string[];
  collection: Collection;
  /** The field being edited in place in this row. */
  editingKey: string | undefined;
  /** Starts editing a cell in place; absent for those who cannot edit. */
  onEdit: ((id: string, key: string) => void) | undefined;
  onEdited: (saved?: Record<string, unknown>) => void;
}) {
  return (
    <Table.Tr data-selected={selected || undefined}>
      {selectable && (
        <Table.Td>
          <input
            type="checkbox"
            className="cairn-check"
            aria-label="Select row"
            checked={selected}
            onChange={() => onToggle(row.id)}
          />
        </Table.Td>
      )}
      {fields.map((f, i) => {
        // The first column, a field naming the record, or a contact's one Name column: a link to it.
        const isTitle = i === 0 || titleFields.includes(f.key) || f.key === 'name';
        const editable = Boolean(onEdit) && !isTitle && isInlineEditable(collection, f);
        if (editingKey === f.key)
          return (
            <Table.Td key={f.key} data-label={f.label}>
              <InlineCellEditor
                collection={collection}
                field={f}
                row={row}
                members={members}
                onDone={onEdited}
              />
            </Table.Td>
          );
        return (
          <Table.Td
            key={f.key}
            className="cairn-cell"
            data-label={f.label}
            {...(editable
              ? {
                  tabIndex: 0,
                  'aria-label': `${f.label}: double-click or Enter to edit`,
                  onDoubleClick: () => onEdit?.(row.id, f.key),
                  onKeyDown: (e: ReactKeyboardEvent<HTMLTableCellElement>) => {
                    if (e.key === 'Enter' && e.target === e.currentTarget) onEdit?.(row.id, f.key);
                  },
                }
              : {})}
          >
            {isTitle ? (
              <Link className="cairn-link" to={detailPath} params={{ id: row.id }}>
                {String(fieldValueOf(f, row) ?? '') || '—'}
              </Link>
            ) : (
              cellContent(f, row, members)
            )}
          </Table.Td>
        );
      })}
    </Table.Tr>
  );
});

function ColumnChooser({
  fields,
  columns,
  onChange,
}: {
  fields: Field[];
  columns: string[];
  onChange: (c: string[]) => void;
}) {
  const choosable = fields.filter((f) => f.key !== 'id');
  return (
    <Popover position="bottom-start" withinPortal>
      <Popover.Target>
        <Button variant="default" leftSection={<IconColumns size={16} />}>
          Columns
        </Button>
      </Popover.Target>
      <Popover.Dropdown>
        <ScrollArea.Autosize mah={360}>
          <Stack gap={6}>
            {choosable.map((f) => (
              <Checkbox
                key={f.key}
                label={f.label}
                checked={columns.includes(f.key)}
                onChange={() =>
                  onChange(
                    columns.includes(f.key)
                      ? columns.filter((c) => c !== f.key)
                      : choosable.filter((x) => columns.includes(x.key) || x.key === f.key).map((x) => x.key),
                  )
                }
              />
            ))}
          </Stack>
        </ScrollArea.Autosize>
      </Popover.Dropdown>
    </Popover>
  );
}

function BulkBar({
  count,
  busy,
  onAction,
  members,
}: {
  count: number;
  busy: boolean;
  onAction: (body: BulkBody) => void;
  members: { user_id: string; name: string }[];
}) {
  const [tags, setTags] = useState<string[]>([]);
  const [mode, setMode] = useState<'add_tags' | 'remove_tags' | null>(null);
  return (
    <Paper withBorder p="xs" bg="var(--mantine-color-teal-light)" role="region" aria-label="Bulk actions">
      <Group gap="sm" wrap="wrap">
        <Text size="sm" fw={600}>
          {count} selected
        </Text>
        <Select
          aria-label="Assign owner"
          placeholder="Assign owner…"
          size="xs"
          w={180}
          data={members.map((m) => ({ value: m.user_id, label: m.name }))}
          value={null}
          onChange={(v) => v && onAction({ action: 'assign_owner', owner_id: v })}
          disabled={busy}
        />
        <Popover opened={mode !== null} onChange={(o) => !o && setMode(null)} withinPortal>
          <Popover.Target>
            <Group gap={4}>
              <Button size="xs" variant="default" onClick={() => setMode('add_tags')} disabled={busy}>
                Add tags
              </Button>
              <Button size="xs" variant="default" onClick={() => setMode('remove_tags')} disabled={busy}>
                Remove tags
              </Button>
            </Group>
          </Popover.Target>
          <Popover.Dropdown>
            <Stack gap="xs" w={260}>
              <TagPicker
                label={mode === 'remove_tags' ? 'Tags to remove' : 'Tags to add'}
                value={tags}
                onChange={setTags}
                autoFocus
              />
              <Button
                size="xs"
                disabled={tags.length === 0}
                onClick={() => {
                  if (mode) onAction({ action: mode, tags });
                  setTags([]);
                  setMode(null);
                }}
              >
                {mode === 'remove_tags' ? 'Remove' : 'Add'}
              </Button>
            </Stack>
          </Popover.Dropdown>
        </Popover>
        <Button
          size="xs"
          color="red"
          variant="light"
          onClick={() => onAction({ action: 'archive' })}
          loading={busy}
        >
          Archive
        </Button>
      </Group>
    </Paper>
  );
}

function SaveViewModal({
  opened,
  onClose,
  onSave,
  canShare,
}: {
  opened: boolean;
  onClose: () => void;
  onSave: (name: string, shared: boolean) => Promise<void>;
  canShare: boolean;
}) {
  const [name, setName] = useState('');
  const [shared, setShared] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <Modal opened={opened} onClose={onClose} title="Save view">
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          try {
            await onSave(name, shared);
            setName('');
            onClose();
          } catch (err) {
            setError(err);
          }
        }}
      >
        <Stack>
          <ErrorAlert error={error} />
          <TextInput
            label="Name"
            required
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            data-autofocus
          />
          {canShare && (
            <Checkbox
              label="Share with the organization"
              checked={shared}
              onChange={(e) => setShared(e.currentTarget.checked)}
            />
          )}
          <Group justify="flex-end">
            <Button type="submit">Save view</Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
