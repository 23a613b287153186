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
import { ActionIcon, Badge, Group, Paper, ScrollArea, Stack, Text } from '@mantine/core';
import { IconGripVertical } from '@tabler/icons-react';
import { type ReactNode, useState } from 'react';
import { boardAnnouncements } from './board-announcements';

/**
 * The Kanban board every object uses (the opportunities' pipeline, any custom object by a status
 * or select field): columns with their count, cards dragged with the mouse or the keyboard (focus
 * a card's handle, Space, arrows, Space). What a column and a card show is the caller's; where a
 * card lands is answered as the column and the card it follows.
 */

export type KanbanCardBase = { id: string; title: string };
export type KanbanColumn<C extends KanbanCardBase> = {
  id: string;
  name: string;
  count: number;
  cards: C[];
  /** Shown in the column's header (a colour by kind). */
  color?: string | undefined;
};
export type KanbanMove<C extends KanbanCardBase> = {
  card: C;
  from: KanbanColumn<C>;
  to: KanbanColumn<C>;
  /** The card it now follows in `to`; null: the top. */
  afterId: string | null;
};

type Props<C extends KanbanCardBase> = {
  columns: KanbanColumn<C>[];
  canDrag: boolean;
  /** A column as a person names it: `stage`, `status`. */
  columnNoun: string;
  /** A card as a person names it: `opportunity`, `case`. */
  cardNoun: string;
  renderCard: (card: C, options: { handle?: ReactNode; overlay?: boolean }) => ReactNode;
  /** A line under the column's name (its value, a sum). */
  columnSubtitle?: (column: KanbanColumn<C>) => ReactNode;
  /** Below the cards (more to load). */
  columnFooter?: (column: KanbanColumn<C>) => ReactNode;
  /** Whether a drop within one column moves the card (ranked boards); else such drops do nothing. */
  reorder?: boolean;
  onMove: (move: KanbanMove<C>) => void;
};

export function KanbanBoard<C extends KanbanCardBase>(props: Props<C>) {
  const { columns, columnNoun, cardNoun, onMove } = props;
  const [activeId, setActiveId] = useState<string | null>(null);
  const sensors = useSensors(
    useSensor(PointerSensor, { activationConstraint: { distance: 5 } }),
    useSensor(KeyboardSensor, { coordinateGetter: sortableKeyboardCoordinates }),
  );
  const columnOf = (id: string) =>
    columns.find((c) => c.id === id) ?? columns.find((c) => c.cards.some((k) => k.id === id));
  const activeCard = activeId ? columns.flatMap((c) => c.cards).find((k) => k.id === activeId) : undefined;

  function onDragEnd(event: DragEndEvent) {
    setActiveId(null);
    const { active, over } = event;
    if (!over) return;
    const cardId = String(active.id);
    const from = columnOf(cardId);
    const to = columnOf(String(over.id));
    if (!from || !to) return;
    if (from === to && props.reorder === false) return;
    const without = to.cards.filter((k) => k.id !== cardId);
    const activeIndex = from.cards.findIndex((k) => k.id === cardId);
    let afterId: string | null;
    if (String(over.id) === to.id) {
      afterId = without.at(-1)?.id ?? null; // dropped on the column itself: at its end
    } else {
      // Dropped on a card: take its place. Moving down within a column lands after it, else before it.
      const overIndex = without.findIndex((k) => k.id === over.id);
      const movingDown = from === to && activeIndex < to.cards.findIndex((k) => k.id === over.id);
      const insertAt = movingDown ? overIndex + 1 : overIndex;
      afterId = insertAt > 0 ? (without[insertAt - 1]?.id ?? null) : null;
    }
    if (from === to && afterId === (from.cards[activeIndex - 1]?.id ?? null)) return; // no change
    onMove({ card: from.cards.find((k) => k.id === cardId)!, from, to, afterId });
  }

  return (
    <DndContext
      sensors={sensors}
      collisionDetection={closestCorners}
      onDragStart={(e: DragStartEvent) => setActiveId(String(e.active.id))}
      onDragCancel={() => setActiveId(null)}
      onDragEnd={onDragEnd}
      accessibility={{
        announcements: boardAnnouncements(
          { columns: columns.map((c) => ({ stage: { id: c.id, name: c.name }, cards: c.cards })) },
          { column: columnNoun.toLowerCase(), card: cardNoun },
        ),
        screenReaderInstructions: {
          draggable: `To move ${article(cardNoun)} ${cardNoun}, press Space, use the arrow keys to choose a ${columnNoun.toLowerCase()}, then Space again. Escape cancels.`,
        },
      }}
    >
      <ScrollArea type="auto" offsetScrollbars>
        <Group align="flex-start" wrap="nowrap" gap="sm" pb="sm">
          {columns.map((col) => (
            <Column key={col.id} column={col} {...props} />
          ))}
        </Group>
      </ScrollArea>
      <DragOverlay>{activeCard ? props.renderCard(activeCard, { overlay: true }) : null}</DragOverlay>
    </DndContext>
  );
}

const article = (noun: string) => (/^[aeiou]/i.test(noun) ? 'an' : 'a');

function Column<C extends KanbanCardBase>({
  column,
  canDrag,
  columnNoun,
  cardNoun,
  renderCard,
  columnSubtitle,
  columnFooter,
}: Props<C> & { column: KanbanColumn<C> }) {
  const { setNodeRef, isOver } = useDroppable({ id: column.id, disabled: !canDrag });
  return (
    <Paper
      ref={setNodeRef}
      withBorder
      p="xs"
      w={272}
      miw={272}
      bg={isOver ? 'var(--mantine-color-teal-light)' : 'var(--mantine-color-default-hover)'}
      role="region"
      aria-label={`${columnNoun} ${column.name}`}
      data-stage={column.name}
    >
      <Group justify="space-between" mb={6} wrap="nowrap">
        <Text fw={600} size="sm" c={column.color}>
          {column.name}
        </Text>
        <Badge variant="light" size="sm" data-testid="stage-count">
          {column.count}
        </Badge>
      </Group>
      {columnSubtitle?.(column)}
      <SortableContext
        id={column.id}
        items={column.cards.map((c) => c.id)}
        strategy={verticalListSortingStrategy}
      >
        <Stack gap={6} mih={60}>
          {column.cards.map((card) => (
            <SortableCard
              key={card.id}
              card={card}
              disabled={!canDrag}
              cardNoun={cardNoun}
              renderCard={renderCard}
            />
          ))}
        </Stack>
      </SortableContext>
      {columnFooter?.(column)}
    </Paper>
  );
}

function SortableCard<C extends KanbanCardBase>({
  card,
  disabled,
  cardNoun,
  renderCard,
}: {
  card: C;
  disabled: boolean;
  cardNoun: string;
  renderCard: Props<C>['renderCard'];
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
      {renderCard(card, {
        handle: disabled ? undefined : (
          <ActionIcon
            ref={setActivatorNodeRef}
            variant="subtle"
            color="gray"
            size="sm"
            {...attributes}
            aria-roledescription={`draggable ${cardNoun}`}
            aria-label={`Move ${card.title}`}
          >
            <IconGripVertical size={14} />
          </ActionIcon>
        ),
      })}
    </div>
  );
}
