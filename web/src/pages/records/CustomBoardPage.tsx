import {
  Anchor,
  Badge,
  Button,
  Group,
  Modal,
  Paper,
  Select,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useParams, useSearch } from '@tanstack/react-router';
import { type ReactNode, useState } from 'react';
import { api, call, type Field, type Schemas } from '../../api/client';
import { boardFields } from '../../lib/custom-records';
import { cellContent, memberName, useMembers } from '../../lib/fields';
import { meQuery, objectQuery } from '../../lib/query';
import type { RecordData } from '../../lib/records';
import { EmptyState, ErrorAlert, PageSkeleton } from '../../shell/states';
import { KanbanBoard, type KanbanColumn } from '../board/KanbanBoard';
import { ReasonForm } from './ReasonForm';

type Board = Schemas['RecordBoard'];
type Card = Schemas['RecordBoardCard'];
type BoardColumn = Board['columns'][number];

/** The column id of a value: the status or option, or `_none` for records without one. */
const NONE = '_none';
const columnId = (value: string | null | undefined) => value ?? NONE;

/** Whether moving from `from` to `to` needs a reason, by the status field's definition. */
function needsReason(field: Field, from: string | null, to: string | null): boolean {
  const config = field.statuses;
  if (!config || to === null) return false;
  const status = config.statuses.find((s) => s.value === to);
  const move = config.transitions?.find((t) => t.from === from && t.to === to);
  return Boolean(status?.reason_required || move?.reason_required);
}

/** Moves a card in a board snapshot to the top of another column, its counts following. */
function moveCard(board: Board, cardId: string, to: string): Board {
  const from = board.columns.find((c) => c.cards.some((k) => k.id === cardId));
  const card = from?.cards.find((k) => k.id === cardId);
  if (!from || !card) return board;
  return {
    ...board,
    columns: board.columns.map((col) => {
      if (col === from)
        return { ...col, count: col.count - 1, cards: col.cards.filter((k) => k.id !== cardId) };
      if (columnId(col.value) === to)
        return {
          ...col,
          count: col.count + 1,
          cards: [{ ...card, value: col.value, days_in_status: 0 }, ...col.cards],
        };
      return col;
    }),
  };
}

const KIND_COLORS: Record<string, string> = { done: 'green', cancelled: 'red' };

/**
 * Any custom object's Kanban board (`/records/<key>/board`), grouped by a status or select field
 * of its own (from the registry): dragging a card sets that field through the record engine, so a
 * status field's rules apply (a move it does not allow, a role that may not set the status, a
 * reason it needs, asked for in a dialog before the move is sent).
 */
export function CustomBoardPage() {
  const { object } = useParams({ from: '/app/records/$object/board' });
  const search = useSearch({ from: '/app/records/$object/board' });
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const members = useMembers();
  const { data: me } = useQuery(meQuery);
  const description = useQuery(objectQuery(object)).data;
  const [text, setText] = useState('');
  const [q] = useDebouncedValue(text.trim(), 250);
  const [asking, setAsking] = useState<{ card: Card; to: BoardColumn } | null>(null);
  const groupable = description ? boardFields(description.fields) : [];
  const field = groupable.find((f) => f.key === search.field) ?? groupable[0];
  const boardKey = ['records', object, 'board', field?.key, q] as const;
  const board = useQuery({
    queryKey: boardKey,
    enabled: Boolean(field),
    placeholderData: keepPreviousData,
    queryFn: () =>
      call(
        api.GET('/api/v1/records/{object}/board', {
          params: { path: { object }, query: { field: field!.key, per_column: 50, ...(q ? { q } : {}) } },
        }),
      ),
  });
  const move = useMutation({
    mutationFn: (v: { card: Card; to: BoardColumn; reason?: string }) =>
      call(
        api.PATCH('/api/v1/records/{object}/{id}', {
          params: { path: { object, id: v.card.id } },
          body: { custom: { [field!.key]: v.to.value }, ...(v.reason ? { status_reason: v.reason } : {}) },
        }),
      ),
    onMutate: async (v) => {
      await queryClient.cancelQueries({ queryKey: boardKey });
      const before = queryClient.getQueryData<Board>(boardKey);
      if (before) queryClient.setQueryData(boardKey, moveCard(before, v.card.id, columnId(v.to.value)));
      return { before };
    },
    onError: (error, v, context) => {
      if (context?.before) queryClient.setQueryData(boardKey, context.before);
      notifications.show({ color: 'red', title: `“${v.card.title}” was not moved`, message: error.message });
    },
    onSettled: () => void queryClient.invalidateQueries({ queryKey: ['records', object] }),
  });
  const more = useMutation({
    mutationFn: (column: BoardColumn) =>
      call(
        api.GET('/api/v1/records/{object}/board/column', {
          params: {
            path: { object },
            query: {
              field: field!.key,
              per_column: 50,
              cursor: column.next_cursor!,
              ...(column.value !== null ? { value: column.value } : {}),
              ...(q ? { q } : {}),
            },
          },
        }),
      ),
    onSuccess: (page, column) =>
      queryClient.setQueryData<Board>(boardKey, (b) =>
        b
          ? {
              ...b,
              columns: b.columns.map((c) =>
                c.value === column.value
                  ? { ...c, cards: [...c.cards, ...page.cards], next_cursor: page.next_cursor }
                  : c,
              ),
            }
          : b,
      ),
  });

  if (!description) return <PageSkeleton />;
  const canEdit = (me?.role === 'admin' || me?.role === 'user') && !description.custom_object?.retired;
  const plural = description.label_plural;
  const data = board.data;
  const columns: KanbanColumn<Card>[] = (data?.columns ?? []).map((c) => ({
    id: columnId(c.value),
    name: c.label,
    count: c.count,
    cards: c.cards,
    color: c.kind ? KIND_COLORS[c.kind] : undefined,
  }));
  const original = (id: string) => data?.columns.find((c) => columnId(c.value) === id);
  const fieldsByKey = new Map(description.fields.map((f) => [f.key, f]));

  return (
    <Stack gap="sm">
      <Group justify="space-between" wrap="wrap">
        <Group gap="sm">
          <Title order={1} size="h2">
            {plural}
          </Title>
          <Anchor size="sm" renderRoot={(p) => <Link {...p} to="/records/$object" params={{ object }} />}>
            Table
          </Anchor>
        </Group>
      </Group>
      {!field ? (
        <EmptyState title="Nothing to group by">
          A board groups {plural.toLowerCase()} by a status or select field. An admin adds one in Settings →
          Custom fields.
        </EmptyState>
      ) : (
        <>
          <Group gap="xs" wrap="wrap">
            <Select
              aria-label="Group by"
              w={220}
              data={groupable.map((f) => ({ value: f.key, label: f.label }))}
              value={field.key}
              allowDeselect={false}
              onChange={(v) =>
                v &&
                void navigate({
                  to: '/records/$object/board',
                  params: { object },
                  search: { field: v },
                  replace: true,
                })
              }
            />
            <TextInput
              aria-label={`Search ${plural.toLowerCase()}`}
              placeholder="Search…"
              value={text}
              onChange={(e) => setText(e.currentTarget.value)}
              w={220}
            />
          </Group>
          {board.error ? <ErrorAlert error={board.error} /> : null}
          {!data ? (
            <PageSkeleton />
          ) : (
            <KanbanBoard
              columns={columns}
              canDrag={canEdit}
              reorder={false}
              columnNoun={field.type === 'status' ? 'Status' : field.label}
              cardNoun={description.label_singular.toLowerCase()}
              renderCard={(card, { handle, overlay }) => (
                <RecordCard
                  object={object}
                  card={card}
                  handle={handle}
                  overlay={overlay}
                  owner={memberName(members, card.owner_id) || 'No owner'}
                  values={Object.entries(card.values).flatMap(([key, value]) => {
                    const f = fieldsByKey.get(key);
                    return f
                      ? [
                          <span key={key}>
                            {cellContent(f, { id: card.id, custom: { [key]: value } } as RecordData, members)}
                          </span>,
                        ]
                      : [];
                  })}
                />
              )}
              columnFooter={(col) => {
                const column = original(col.id);
                return column?.next_cursor ? (
                  <Button
                    variant="subtle"
                    size="xs"
                    mt={6}
                    loading={more.isPending}
                    onClick={() => more.mutate(column)}
                  >
                    {column.count - column.cards.length} more
                  </Button>
                ) : null;
              }}
              onMove={({ card, from, to }) => {
                const target = original(to.id);
                if (!target || from.id === to.id) return;
                if (needsReason(field, card.value, target.value)) setAsking({ card, to: target });
                else move.mutate({ card, to: target });
              }}
            />
          )}
        </>
      )}
      <Modal opened={asking !== null} onClose={() => setAsking(null)} title="Why?">
        {asking && (
          <ReasonForm
            what={`Moving “${asking.card.title}” to ${asking.to.label} needs a reason.`}
            onSubmit={(reason) => {
              move.mutate({ ...asking, reason });
              setAsking(null);
            }}
          />
        )}
      </Modal>
    </Stack>
  );
}

function RecordCard({
  object,
  card,
  handle,
  overlay,
  owner,
  values,
}: {
  object: string;
  card: Card;
  handle?: ReactNode;
  overlay?: boolean | undefined;
  owner: string;
  values: ReactNode[];
}) {
  return (
    <Paper
      withBorder
      p={8}
      shadow={overlay ? 'md' : 'xs'}
      style={{ cursor: handle || overlay ? 'grab' : undefined }}
    >
      <Group gap={4} wrap="nowrap" align="flex-start">
        {handle}
        <Anchor
          size="sm"
          fw={600}
          renderRoot={(p) => <Link {...p} to="/records/$object/$id" params={{ object, id: card.id }} />}
          onPointerDown={(e) => e.stopPropagation()}
        >
          {card.title}
        </Anchor>
      </Group>
      {card.number_label && (
        <Badge size="xs" variant="light" color="gray">
          {card.number_label}
        </Badge>
      )}
      {values.length > 0 && (
        <Text size="xs" c="dimmed" truncate>
          {values.flatMap((v, i) => (i === 0 ? [v] : [' · ', v]))}
        </Text>
      )}
      <Group justify="space-between" mt={4} wrap="nowrap">
        <Text size="xs" c="dimmed" truncate>
          {owner}
        </Text>
        {card.days_in_status !== null && (
          <Text size="xs" c="dimmed">
            {Math.floor(card.days_in_status)}d
          </Text>
        )}
      </Group>
    </Paper>
  );
}
