import {
  ActionIcon,
  Anchor,
  Button,
  Checkbox,
  Group,
  Loader,
  Paper,
  Stack,
  Text,
  TextInput,
  Timeline,
  Title,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconCheck, IconPencil, IconX } from '@tabler/icons-react';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { type ReactNode, useState } from 'react';
import { api, call, type Field, type Member } from '../../api/client';
import {
  FieldInput,
  FieldValue,
  fieldValueOf,
  formatDate,
  inputValueOf,
  patchFor,
  type RecordData,
} from '../../lib/fields';
import { RecordPicker } from '../../lib/pickers';
import { meQuery, objectQuery } from '../../lib/query';
import {
  COLLECTION,
  DETAIL_PATH,
  isRecordObject,
  type RecordObject,
  recordQuery,
  recordTitle,
  setArchived,
  timelinePage,
} from '../../lib/records';
import { ErrorAlert } from '../../shell/states';

export type { RecordObject };

export function useCanEdit(): boolean {
  const { data: me } = useQuery(meQuery);
  return me?.role === 'admin' || me?.role === 'user';
}

export function Section({
  title,
  children,
  action,
}: {
  title: string;
  children: ReactNode;
  action?: ReactNode;
}) {
  return (
    <Paper withBorder p="md" component="section" aria-label={title}>
      <Group justify="space-between" mb="sm">
        <Title order={2} size="h4">
          {title}
        </Title>
        {action}
      </Group>
      {children}
    </Paper>
  );
}

/**
 * One field with inline editing: click the pencil, change, save (PATCH the one field). An error
 * keeps what the user typed and shows the server's message.
 */
export function EditableField({
  field,
  record,
  members,
  canEdit,
  onSave,
  display,
}: {
  field: Field;
  record: RecordData;
  members: Member[];
  canEdit: boolean;
  onSave: (body: Record<string, unknown>) => Promise<unknown>;
  display?: ReactNode;
}) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState<unknown>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const editable = canEdit && !field.read_only && field.storage !== 'computed';
  const relationObject = relationOf(field);
  const related = relationObject ? relationRefOf(field, record) : null;

  async function save() {
    setBusy(true);
    setError(null);
    try {
      await onSave(patchFor(field, draft));
      setEditing(false);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Group gap="xs" align="flex-start" wrap="nowrap" data-field={field.key}>
      <Text size="sm" c="dimmed" w={140} style={{ flexShrink: 0 }} pt={4}>
        {field.label}
      </Text>
      {editing ? (
        <Stack gap={4} style={{ flex: 1 }}>
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void save();
            }}
          >
            <Group gap={4} wrap="nowrap" align="flex-start">
              <div style={{ flex: 1 }}>
                {relationObject ? (
                  <RecordPicker
                    collection={COLLECTION[relationObject]}
                    label={field.label}
                    value={typeof draft === 'string' ? draft : null}
                    initial={related?.name ? { value: related.id, label: related.name } : null}
                    onChange={(v) => setDraft(v)}
                    autoFocus
                  />
                ) : (
                  <FieldInput field={field} value={draft} onChange={setDraft} members={members} autoFocus />
                )}
              </div>
              <ActionIcon type="submit" aria-label={`Save ${field.label}`} loading={busy} size="lg">
                <IconCheck size={16} />
              </ActionIcon>
              <ActionIcon variant="default" aria-label="Cancel" size="lg" onClick={() => setEditing(false)}>
                <IconX size={16} />
              </ActionIcon>
            </Group>
          </form>
          {error ? (
            <Text size="xs" c="red" role="alert">
              {error instanceof Error ? error.message : String(error)}
            </Text>
          ) : null}
        </Stack>
      ) : (
        <Group gap={4} style={{ flex: 1 }} wrap="nowrap" align="flex-start" pt={4}>
          <div style={{ flex: 1, minWidth: 0 }}>
            {display ??
              (relationObject && related ? (
                <RelationLink object={relationObject} id={related.id} name={related.name} />
              ) : (
                <FieldValue field={field} record={record} members={members} />
              ))}
          </div>
          {editable && (
            <ActionIcon
              variant="subtle"
              size="sm"
              aria-label={`Edit ${field.label}`}
              onClick={() => {
                setDraft(relationObject ? (related?.id ?? null) : inputValueOf(field, record));
                setError(null);
                setEditing(true);
              }}
            >
              <IconPencil size={14} />
            </ActionIcon>
          )}
        </Group>
      )}
    </Group>
  );
}

/** The object a relation field points at, when it is one with pages. */
export function relationOf(field: Field): RecordObject | null {
  const target = field.type === 'relation' ? field.relation?.object : undefined;
  return isRecordObject(target) ? target : null;
}

/**
 * The record a relation field points at: its id (`contact_id: "…"`), with its name when the API
 * embeds the record beside it (`contact: {id, name}`).
 */
export function relationRefOf(field: Field, record: RecordData): { id: string; name?: string } | null {
  const value = fieldValueOf(field, record);
  const embedded = record[field.key.replace(/_id$/, '')];
  const ref = isObject(embedded) && typeof embedded.id === 'string' ? embedded : null;
  const id = typeof value === 'string' ? value : ref ? ref.id : null;
  if (typeof id !== 'string') return null;
  return ref && ref.id === id && typeof ref.name === 'string' ? { id, name: ref.name } : { id };
}

const isObject = (v: unknown): v is { [key: string]: unknown } =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A link to a related record, named by the API or by its own rule (read once, then cached). */
function RelationLink({ object, id, name }: { object: RecordObject; id: string; name?: string | undefined }) {
  const related = useQuery({ ...recordQuery(object, id), enabled: name === undefined });
  const description = useQuery({ ...objectQuery(object), enabled: name === undefined });
  return (
    <Anchor size="sm" renderRoot={(p) => <Link {...p} to={DETAIL_PATH[object]} params={{ id }} />}>
      {name ??
        (related.data && description.data
          ? recordTitle(description.data.display, related.data)
          : related.isError
            ? 'Not found'
            : '…')}
    </Anchor>
  );
}

/** What happened to the record and its related records, newest first (`/<records>/{id}/timeline`). */
export function TimelinePanel({ object, id }: { object: RecordObject; id: string }) {
  const query = useInfiniteQuery({
    queryKey: [COLLECTION[object], id, 'timeline'],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) => timelinePage(object, id, pageParam),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const entries = query.data?.pages.flatMap((p) => p.data) ?? [];
  return (
    <Section title="Timeline">
      {query.isPending ? (
        <Loader size="sm" />
      ) : entries.length === 0 ? (
        <Text size="sm" c="dimmed">
          Nothing has happened yet.
        </Text>
      ) : (
        <Timeline bulletSize={12} lineWidth={2} data-testid="timeline">
          {entries.map((e) => (
            <Timeline.Item key={e.id} title={<Text size="sm">{e.description}</Text>}>
              <Text size="xs" c="dimmed">
                {e.actor.name} · {formatDate(e.occurred_at, true)}
              </Text>
            </Timeline.Item>
          ))}
        </Timeline>
      )}
      {query.hasNextPage && (
        <Button
          variant="subtle"
          size="xs"
          mt="sm"
          onClick={() => void query.fetchNextPage()}
          loading={query.isFetchingNextPage}
        >
          Older
        </Button>
      )}
    </Section>
  );
}

/** Open and done tasks about the record; add one, complete with one click. */
export function TasksPanel({ object, id }: { object: Exclude<RecordObject, 'product'>; id: string }) {
  const canEdit = useCanEdit();
  const queryClient = useQueryClient();
  const [title, setTitle] = useState('');
  const [due, setDue] = useState('');
  const tasks = useQuery({
    queryKey: ['tasks', 'linked', object, id],
    queryFn: () =>
      call(
        api.GET('/api/v1/tasks', {
          params: { query: { linked_object: object, linked_id: id, status: 'all', limit: 50 } },
        }),
      ),
  });
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: ['tasks'] });
    void queryClient.invalidateQueries({ queryKey: [COLLECTION[object], id, 'timeline'] });
  };
  const add = useMutation({
    mutationFn: () =>
      call(
        api.POST('/api/v1/tasks', {
          body: { title, link: { object, id }, ...(due ? { due_date: due } : {}) },
        }),
      ),
    onSuccess: () => {
      setTitle('');
      setDue('');
      refresh();
    },
  });
  const toggle = useMutation({
    mutationFn: (t: { id: string; status: string }) =>
      t.status === 'done'
        ? call(api.POST('/api/v1/tasks/{id}/reopen', { params: { path: { id: t.id } } }))
        : call(api.POST('/api/v1/tasks/{id}/complete', { params: { path: { id: t.id } } })),
    onSuccess: refresh,
    onError: (e) => notifications.show({ color: 'red', message: e.message }),
  });
  return (
    <Section title="Tasks">
      <Stack gap="xs">
        {tasks.data?.data.map((t) => (
          <Checkbox
            key={t.id}
            label={
              <Text size="sm" td={t.status === 'done' ? 'line-through' : undefined}>
                {t.title}
                {t.due_date || t.due_at ? (
                  <Text span c="dimmed" size="xs">
                    {' '}
                    · due {formatDate(t.due_date ?? t.due_at)}
                  </Text>
                ) : null}
              </Text>
            }
            checked={t.status === 'done'}
            disabled={!canEdit}
            onChange={() => toggle.mutate(t)}
          />
        ))}
        {tasks.data?.data.length === 0 && (
          <Text size="sm" c="dimmed">
            No tasks.
          </Text>
        )}
        {canEdit && (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              if (title.trim()) add.mutate();
            }}
          >
            <Group gap="xs" wrap="nowrap" align="flex-end">
              <TextInput
                aria-label="New task"
                placeholder="New task…"
                value={title}
                onChange={(e) => setTitle(e.currentTarget.value)}
                style={{ flex: 1 }}
              />
              <TextInput
                aria-label="Due date"
                type="date"
                value={due}
                onChange={(e) => setDue(e.currentTarget.value)}
                w={150}
              />
              <Button type="submit" variant="light" loading={add.isPending}>
                Add
              </Button>
            </Group>
            <ErrorAlert error={add.error} />
          </form>
        )}
      </Stack>
    </Section>
  );
}

/** Archive / restore / delete buttons for the record header. */
export function RecordActions({
  object,
  id,
  archived,
  onChanged,
}: {
  object: RecordObject;
  id: string;
  archived: boolean;
  onChanged: () => void;
}) {
  const canEdit = useCanEdit();
  const act = useMutation({
    mutationFn: (action: 'archive' | 'restore') => setArchived(object, id, action),
    onSuccess: onChanged,
    onError: (e) => notifications.show({ color: 'red', message: e.message }),
  });
  if (!canEdit) return null;
  return archived ? (
    <Button variant="default" onClick={() => act.mutate('restore')} loading={act.isPending}>
      Restore
    </Button>
  ) : (
    <Button variant="default" color="red" onClick={() => act.mutate('archive')} loading={act.isPending}>
      Archive
    </Button>
  );
}
