import {
  closestCorners,
  DndContext,
  type DragEndEvent,
  DragOverlay,
  type DragStartEvent,
  KeyboardSensor,
  PointerSensor,
  useDroppable,
  useSensor,
  useSensors,
} from '@dnd-kit/core';
import {
  SortableContext,
  sortableKeyboardCoordinates,
  useSortable,
  verticalListSortingStrategy,
} from '@dnd-kit/sortable';
import { CSS } from '@dnd-kit/utilities';
import {
  ActionIcon,
  Anchor,
  Badge,
  Button,
  Group,
  Modal,
  Paper,
  ScrollArea,
  Select,
  Stack,
  Switch,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { IconGripVertical, IconPlus, IconSearch } from '@tabler/icons-react';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { type ReactNode, useMemo, useState } from 'react';
import { api, type BoardCard, type BoardColumn, call, type FilterNode, money } from '../../api/client';
import { memberName, useMembers } from '../../lib/fields';
import { meQuery, objectQuery, pipelinesQuery } from '../../lib/query';
import { EmptyState, ErrorAlert, PageSkeleton } from '../../shell/states';
import { FilterBuilder, type FilterState, toFilter } from '../records/FilterBuilder';
import { BoardTotalLine } from './BoardTotal';
import { boardAnnouncements } from './board-announcements';
import { NewOpportunityForm } from './NewOpportunityForm';

type Board = { pipeline: { id: string; name: string }; columns: BoardColumn[] };

function sumLabel(sums: Record<string, number>): string {
  const entries = Object.entries(sums);
  if (entries.length === 0) return money(0);
  return entries.map(([cur, total]) => money(total, cur)).join(' · ');
}

/** A column's value weighted by its stage's win probability, per currency: "weighted $4,200". */
function weightedLabel(sums: Record<string, number>, probability: number): string {
  const entries = Object.entries(sums);
  if (entries.length === 0) return '';
  return `weighted ${entries.map(([cur, total]) => money((total * probability) / 100, cur)).join(' · ')}`;
}

/** Moves a card in a board snapshot: out of its column, into `stageId` after `afterId` (null: top). */
function moveCard(board: Board, cardId: string, stageId: string, afterId: string | null): Board {
  const from = board.columns.find((c) => c.cards.some((k) => k.id === cardId));
  const card = from?.cards.find((k) => k.id === cardId);
  if (!from || !card) return board;
  return {
    ...board,
    columns: board.columns.map((col) => {
      let cards = col.cards.filter((k) => k.id !== cardId);
      let { count } = col;
      // A role that may not see values gets no sums (and no amounts): nothing to keep up to date.
      let sums = col.sums as BoardColumn['sums'] | undefined;
      if (col === from && col.stage.id !== stageId) {
        count -= 1;
        if (sums && card.amount != null && card.currency)
          sums = { ...sums, [card.currency]: (sums[card.currency] ?? 0) - card.amount };
      }
      if (col.stage.id === stageId) {
        const at = afterId ? cards.findIndex((k) => k.id === afterId) + 1 : 0;
        cards = [
          ...cards.slice(0, at),
          { ...card, days_in_stage: from.stage.id === stageId ? card.days_in_stage : 0 },
          ...cards.slice(at),
        ];
        if (from.stage.id !== stageId) {
          count += 1;
          if (sums && card.amount != null && card.currency)
            sums = { ...sums, [card.currency]: (sums[card.currency] ?? 0) + card.amount };
        }
      }
      return { ...col, cards, count, ...(sums ? { sums } : {}) };
    }),
  };
}

/**
 * The pipeline board: a column per stage with its count and value, cards with contact, value,
 * owner and days in stage. Drag a card (mouse, or keyboard: focus it, Space, arrows, Space) to
 * move it; the move shows at once and rolls back with a message when the server refuses it.
 */
export function BoardPage() {
  const search = useSearch({ from: '/app/opportunities' });
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const members = useMembers();
  const { data: me } = useQuery(meQuery);
  const canEdit = me?.role === 'admin' || me?.role === 'user';
  const pipelines = useQuery(pipelinesQuery);
  const description = useQuery(objectQuery('opportunity'));
  const [text, setText] = useState(search.q ?? '');
  const [q] = useDebouncedValue(text.trim(), 250);
  const [filter, setFilter] = useState<FilterState>({ combinator: 'and', conditions: [] });
  const [activeId, setActiveId] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [closing, setClosing] = useState<Closing | null>(null);

  const pipelineId =
    search.pipeline ?? pipelines.data?.data.find((p) => p.is_default)?.id ?? pipelines.data?.data[0]?.id;
  // The owner picker and the filter builder combine: owner AND (the builder's conditions).
  const filterNode = useMemo((): FilterNode | undefined => {
    const nodes: FilterNode[] = [];
    const built = toFilter(filter);
    if (built) nodes.push(built);
    if (search.owner) nodes.push({ field: 'owner_id', op: 'eq', value: search.owner } as FilterNode);
    return nodes.length === 0 ? undefined : nodes.length === 1 ? nodes[0] : ({ and: nodes } as FilterNode);
  }, [filter, search.owner]);
  const boardKey = ['board', pipelineId, filterNode, q, Boolean(search.closed)] as const;

  const board = useQuery({
    queryKey: boardKey,
    enabled: Boolean(pipelineId),
    placeholderData: keepPreviousData,
    queryFn: () =>
      call(
        api.GET('/api/v1/pipelines/{id}/board', {
          params: {
            path: { id: pipelineId! },
            query: {
              ...(filterNode ? { filter: JSON.stringify(filterNode) } : {}),
              ...(q ? { q } : {}),
              ...(search.closed ? { include_closed: 'true' } : {}),
              per_column: 50,
            },
          },
        }),
      ),
  });

  const move = useMutation({
    mutationFn: (v: { id: string; stageId: string; afterId: string | null; title: string }) =>
      call(
        api.POST('/api/v1/opportunities/{id}/move', {
          params: { path: { id: v.id } },
          body: { stage_id: v.stageId, after_id: v.afterId },
        }),
      ),
    onMutate: async (v) => {
      await queryClient.cancelQueries({ queryKey: boardKey });
      const before = queryClient.getQueryData<Board>(boardKey);
      if (before) queryClient.setQueryData(boardKey, moveCard(before, v.id, v.stageId, v.afterId));
      return { before };
    },
    onError: (error, v, context) => {
      if (context?.before) queryClient.setQueryData(boardKey, context.before);
      notifications.show({ color: 'red', title: `“${v.title}” was not moved`, message: error.message });
    },
    onSettled: () => {
      void queryClient.invalidateQueries({ queryKey: ['board'] });
      void queryClient.invalidateQueries({ queryKey: ['opportunities'] });
    },
  });

  const sensors = useSensors(
    useSensor(PointerSensor, { activationConstraint: { distance: 5 } }),
    useSensor(KeyboardSensor, { coordinateGetter: sortableKeyboardCoordinates }),
  );

  if (pipelines.isPending || !description.data) return <PageSkeleton />;
  const data = board.data;
  const columnOf = (id: string) =>
    data?.columns.find((c) => c.stage.id === id) ??
    data?.columns.find((c) => c.cards.some((k) => k.id === id));
  const activeCard = activeId
    ? data?.columns.flatMap((c) => c.cards).find((k) => k.id === activeId)
    : undefined;

  function onDragEnd(event: DragEndEvent) {
    setActiveId(null);
    const { active, over } = event;
    if (!over || !data) return;
    const cardId = String(active.id);
    const from = columnOf(cardId);
    const to = columnOf(String(over.id));
    if (!from || !to) return;
    const without = to.cards.filter((k) => k.id !== cardId);
    const activeIndex = from.cards.findIndex((k) => k.id === cardId);
    let afterId: string | null;
    if (String(over.id) === to.stage.id) {
      afterId = without.at(-1)?.id ?? null; // dropped on the column itself: at its end
    } else {
      // Dropped on a card: take its place. Moving down within a column lands after it, else before it.
      const overIndex = without.findIndex((k) => k.id === over.id);
      const movingDown = from === to && activeIndex < to.cards.findIndex((k) => k.id === over.id);
      const insertAt = movingDown ? overIndex + 1 : overIndex;
      afterId = insertAt > 0 ? (without[insertAt - 1]?.id ?? null) : null;
    }
    if (from === to && afterId === (from.cards[activeIndex - 1]?.id ?? null)) return; // no change
    const card = from.cards.find((k) => k.id === cardId)!;
    // A drop on a won or lost stage closes the deal: first the reason, as the close dialog asks it.
    if (to !== from && (to.stage.kind === 'won' || to.stage.kind === 'lost')) {
      setClosing({ card, status: to.stage.kind, fromStageId: from.stage.id });
      return;
    }
    move.mutate({ id: cardId, stageId: to.stage.id, afterId, title: card.title });
  }

  const setSearch = (patch: Partial<typeof search>) =>
    void navigate({ to: '/opportunities', search: { ...search, ...patch }, replace: true });

  return (
    <Stack gap="sm">
      <Group justify="space-between" wrap="wrap">
        <Title order={1} size="h2">
          Opportunities
        </Title>
        {canEdit && (
          <Button leftSection={<IconPlus size={16} />} onClick={() => setCreating(true)}>
            New opportunity
          </Button>
        )}
      </Group>
      <Group gap="xs" wrap="wrap">
        <Select
          aria-label="Pipeline"
          w={200}
          data={(pipelines.data?.data ?? []).map((p) => ({ value: p.id, label: p.name }))}
          value={pipelineId ?? null}
          onChange={(v) => v && setSearch({ pipeline: v })}
        />
        <Select
          aria-label="Owner"
          placeholder="Any owner"
          w={180}
          clearable
          data={members.map((m) => ({ value: m.user_id, label: m.name }))}
          value={search.owner ?? null}
          onChange={(v) => setSearch({ owner: v ?? undefined })}
        />
        <TextInput
          aria-label="Search opportunities"
          placeholder="Search…"
          leftSection={<IconSearch size={16} />}
          value={text}
          onChange={(e) => setText(e.currentTarget.value)}
          w={200}
        />
        <FilterBuilder
          fields={description.data.fields}
          state={filter}
          onChange={setFilter}
          members={members}
        />
        <Switch
          label="Show closed"
          checked={Boolean(search.closed)}
          onChange={(e) => setSearch({ closed: e.currentTarget.checked ? true : undefined })}
        />
      </Group>
      {board.error ? <ErrorAlert error={board.error} /> : null}
      {data && <BoardTotalLine total={data.total} />}
      {!data ? (
        <PageSkeleton />
      ) : data.columns.every((c) => c.count === 0) && !filterNode && !q ? (
        <EmptyState title="No opportunities yet">
          Create one with “New opportunity”, or convert a lead from a contact's page. Drag cards between
          columns as deals move.
        </EmptyState>
      ) : (
        <DndContext
          sensors={sensors}
          collisionDetection={closestCorners}
          onDragStart={(e: DragStartEvent) => setActiveId(String(e.active.id))}
          onDragCancel={() => setActiveId(null)}
          onDragEnd={onDragEnd}
          accessibility={{
            announcements: boardAnnouncements(data),
            screenReaderInstructions: {
              draggable:
                'To move an opportunity, press Space, use the arrow keys to choose a stage, then Space again. Escape cancels.',
            },
          }}
        >
          <ScrollArea type="auto" offsetScrollbars>
            <Group align="flex-start" wrap="nowrap" gap="sm" pb="sm">
              {data.columns.map((col) => (
                <Column key={col.stage.id} column={col} members={members} canDrag={canEdit} />
              ))}
            </Group>
          </ScrollArea>
          <DragOverlay>
            {activeCard ? <CardView card={activeCard} members={members} overlay /> : null}
          </DragOverlay>
        </DndContext>
      )}
      <CloseOnDrop closing={closing} onDone={() => setClosing(null)} />
      <Modal opened={creating} onClose={() => setCreating(false)} title="New opportunity">
        {creating && pipelineId && (
          <NewOpportunityForm
            pipelineId={pipelineId}
            onDone={() => {
              setCreating(false);
              void queryClient.invalidateQueries({ queryKey: ['board'] });
            }}
          />
        )}
      </Modal>
    </Stack>
  );
}

type Closing = { card: BoardCard; status: 'won' | 'lost'; fromStageId: string };

/**
 * The dialog a drop on a won or lost column opens: the reason, then the deal is closed (it leaves
 * the open board unless closed deals are shown), with a toast that says so and can undo it
 * (reopens it in the stage it came from).
 */
function CloseOnDrop({ closing, onDone }: { closing: Closing | null; onDone: () => void }) {
  const queryClient = useQueryClient();
  const [reason, setReason] = useState('');
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: ['board'] });
    void queryClient.invalidateQueries({ queryKey: ['opportunities'] });
    void queryClient.invalidateQueries({ queryKey: ['home'] });
  };
  const reopen = useMutation({
    mutationFn: (c: Closing) =>
      call(
        api.POST('/api/v1/opportunities/{id}/reopen', {
          params: { path: { id: c.card.id } },
          body: { stage_id: c.fromStageId },
        }),
      ),
    onSuccess: (_, c) => {
      notifications.show({ color: 'teal', message: `“${c.card.title}” is open again` });
      refresh();
    },
    onError: (e) => notifications.show({ color: 'red', message: e.message }),
  });
  const close = useMutation({
    mutationFn: (c: Closing) =>
      call(
        api.POST('/api/v1/opportunities/{id}/close', {
          params: { path: { id: c.card.id } },
          body: { status: c.status, ...(reason.trim() ? { reason: reason.trim() } : {}) },
        }),
      ),
    onSuccess: (_, c) => {
      setReason('');
      onDone();
      refresh();
      notifications.show({
        color: c.status === 'won' ? 'green' : 'gray',
        title: `“${c.card.title}” closed as ${c.status}`,
        message: (
          <Button size="compact-xs" variant="default" mt={4} onClick={() => reopen.mutate(c)}>
            Undo
          </Button>
        ),
        autoClose: 8000,
      });
    },
  });
  const status = closing?.status ?? 'won';
  return (
    <Modal
      opened={closing !== null}
      onClose={() => {
        setReason('');
        onDone();
      }}
      title={closing ? `Close “${closing.card.title}” as ${status}` : ''}
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (closing) close.mutate(closing);
        }}
      >
        <Stack>
          <TextInput
            label={status === 'won' ? 'Why was it won?' : 'Why was it lost?'}
            placeholder={status === 'won' ? 'Price, fit, timing…' : 'Price, competitor, timing…'}
            value={reason}
            onChange={(e) => setReason(e.currentTarget.value)}
            data-autofocus
          />
          <ErrorAlert error={close.error} />
          <Group justify="flex-end">
            <Button
              variant="default"
              onClick={() => {
                setReason('');
                onDone();
              }}
            >
              Cancel
            </Button>
            <Button type="submit" color={status === 'won' ? 'green' : 'red'} loading={close.isPending}>
              Close as {status}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

function Column({
  column,
  members,
  canDrag,
}: {
  column: BoardColumn;
  members: ReturnType<typeof useMembers>;
  canDrag: boolean;
}) {
  const { setNodeRef, isOver } = useDroppable({ id: column.stage.id, disabled: !canDrag });
  const kindColor = column.stage.kind === 'won' ? 'green' : column.stage.kind === 'lost' ? 'red' : undefined;
  return (
    <Paper
      ref={setNodeRef}
      withBorder
      p="xs"
      w={272}
      miw={272}
      bg={isOver ? 'var(--mantine-color-teal-light)' : 'var(--mantine-color-default-hover)'}
      role="region"
      aria-label={`Stage ${column.stage.name}`}
      data-stage={column.stage.name}
    >
      <Group justify="space-between" mb={6} wrap="nowrap">
        <Text fw={600} size="sm" c={kindColor}>
          {column.stage.name}
        </Text>
        <Badge variant="light" size="sm" data-testid="stage-count">
          {column.count}
        </Badge>
      </Group>
      {column.sums !== undefined && (
        <>
          <Text size="xs" c="dimmed" data-testid="stage-sum">
            {sumLabel(column.sums)}
          </Text>
          <Text size="xs" c="dimmed" mb={6} data-testid="stage-weighted">
            {column.stage.kind === 'open' ? weightedLabel(column.sums, column.stage.probability) : '\u00a0'}
          </Text>
        </>
      )}
      <SortableContext
        id={column.stage.id}
        items={column.cards.map((c) => c.id)}
        strategy={verticalListSortingStrategy}
      >
        <Stack gap={6} mih={60}>
          {column.cards.map((card) => (
            <SortableCard key={card.id} card={card} members={members} disabled={!canDrag} />
          ))}
        </Stack>
      </SortableContext>
      {column.next_cursor && (
        <Text size="xs" c="dimmed" mt={6}>
          {column.count - column.cards.length} more; narrow the filter to see them
        </Text>
      )}
    </Paper>
  );
}

function SortableCard({
  card,
  members,
  disabled,
}: {
  card: BoardCard;
  members: ReturnType<typeof useMembers>;
  disabled: boolean;
}) {
  const { attributes, listeners, setNodeRef, setActivatorNodeRef, transform, transition, isDragging } =
    useSortable({
      id: card.id,
      disabled,
    });
  // The mouse drags the whole card; the keyboard drags from its handle (a button: Space, arrows, Space).
  return (
    <div
      ref={setNodeRef}
      style={{ transform: CSS.Transform.toString(transform), transition, opacity: isDragging ? 0.4 : 1 }}
      {...listeners}
      data-card={card.title}
    >
      <CardView
        card={card}
        members={members}
        handle={
          disabled ? undefined : (
            <ActionIcon
              ref={setActivatorNodeRef}
              variant="subtle"
              color="gray"
              size="sm"
              {...attributes}
              aria-roledescription="draggable opportunity"
              aria-label={`Move ${card.title}`}
            >
              <IconGripVertical size={14} />
            </ActionIcon>
          )
        }
      />
    </div>
  );
}

function CardView({
  card,
  members,
  overlay,
  handle,
}: {
  card: BoardCard;
  members: ReturnType<typeof useMembers>;
  overlay?: boolean;
  handle?: ReactNode;
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
          renderRoot={(p) => <Link {...p} to="/opportunities/$id" params={{ id: card.id }} />}
          onPointerDown={(e) => e.stopPropagation()}
        >
          {card.title}
        </Anchor>
      </Group>
      {(card.contact || card.company) && (
        <Text size="xs" c="dimmed" truncate>
          {[card.contact?.name, card.company?.name].filter(Boolean).join(' · ')}
        </Text>
      )}
      <Group justify="space-between" mt={4} wrap="nowrap">
        {/* Absent when the caller's role hides opportunity values (issue 22). */}
        <Text size="sm">{card.amount === undefined ? '' : money(card.amount, card.currency)}</Text>
        <Text size="xs" c="dimmed">
          {card.days_in_stage}d
        </Text>
      </Group>
      <Group justify="space-between" wrap="nowrap">
        <Text size="xs" c="dimmed" truncate>
          {memberName(members, card.owner_id) || 'No owner'}
        </Text>
        {card.status !== 'open' && (
          <Badge size="xs" color={card.status === 'won' ? 'green' : 'red'}>
            {card.status}
          </Badge>
        )}
      </Group>
    </Paper>
  );
}
