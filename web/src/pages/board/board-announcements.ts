import type { Announcements, UniqueIdentifier } from '@dnd-kit/core';

/** What the announcements read of a board: its stages, each with its cards' ids and titles. */
type BoardNames = {
  columns: { stage: { id: string; name: string }; cards: { id: string; title: string }[] }[];
};

/**
 * What a screen reader hears during a drag on the board, by name: the opportunity's title and
 * the stage (and the card it is over), never the ids dnd-kit would read by default.
 */
export function boardAnnouncements(
  board: BoardNames | undefined,
  nouns: { column: string; card: string } = { column: 'stage', card: 'opportunity' },
): Announcements {
  const columns = board?.columns ?? [];
  const stage = nouns.column;
  const titleOf = (id: UniqueIdentifier) =>
    columns.flatMap((c) => c.cards).find((k) => k.id === String(id))?.title ?? `The ${nouns.card}`;
  /** "Proposal", or "Proposal, at Big deal" when over a card. */
  const placeOf = (id: UniqueIdentifier, active: UniqueIdentifier) => {
    const column = columns.find((c) => c.stage.id === String(id));
    if (column) return `${stage} ${column.stage.name}`;
    const holder = columns.find((c) => c.cards.some((k) => k.id === String(id)));
    if (!holder) return `no ${stage}`;
    // Over its own place: the stage alone.
    return id === active
      ? `${stage} ${holder.stage.name}`
      : `${stage} ${holder.stage.name}, at ${titleOf(id)}`;
  };
  return {
    onDragStart: ({ active }) => `Picked up ${titleOf(active.id)}.`,
    onDragOver: ({ active, over }) =>
      over
        ? `${titleOf(active.id)} is over ${placeOf(over.id, active.id)}.`
        : `${titleOf(active.id)} is over no ${stage}.`,
    onDragEnd: ({ active, over }) =>
      over
        ? `${titleOf(active.id)} was dropped on ${placeOf(over.id, active.id)}.`
        : `${titleOf(active.id)} was dropped outside the ${stage}s and did not move.`,
    onDragCancel: ({ active }) => `Moving ${titleOf(active.id)} was cancelled; it did not move.`,
  };
}
