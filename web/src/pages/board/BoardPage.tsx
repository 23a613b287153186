import {
  Anchor,
  Badge,
  Button,
  Group,
  Modal,
  NumberInput,
  Paper,
  Select,
  Stack,
  Switch,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { IconPlus, IconSearch } from '@tabler/icons-react';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { type FormEvent, type ReactNode, useMemo, useState } from 'react';
import { api, type BoardCard, type BoardColumn, call, type FilterNode, money } from '../../api/client';
import { memberName, useMembers } from '../../lib/fields';
import { RecordPicker } from '../../lib/pickers';
import { meQuery, objectQuery, pipelinesQuery } from '../../lib/query';
import { EmptyState, ErrorAlert, PageSkeleton } from '../../shell/states';
import { FilterBuilder, type FilterState, toFilter } from '../records/FilterBuilder';
import { KanbanBoard } from './KanbanBoard';

type Board = { pipeline: { id: string; name: string }; columns: BoardColumn[] };

function sumLabel(sums: Record<string, number>): string {
  const entries = Object.entries(sums);
  if (entries.length === 0) return money(0);
  return entries.map(([cur, total]) => money(total, cur)).join(' + ');
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
      let { count, sums } = col;
      if (col === from && col.stage.id !== stageId) {
        count -= 1;
        if (card.amount != null && card.currency)
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
          if (card.amount != null && card.currency)
            sums = { ...sums, [card.currency]: (sums[card.currency] ?? 0) + card.amount };
        }
      }
      return { ...col, cards, count, sums };
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
  const [creating, setCreating] = useState(false);

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

  if (pipelines.isPending || !description.data) return <PageSkeleton />;
  const data = board.data;

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
      {!data ? (
        <PageSkeleton />
      ) : data.columns.every((c) => c.count === 0) && !filterNode && !q ? (
        <EmptyState title="No opportunities yet">
          Create one with “New opportunity”, or convert a lead from a contact's page. Drag cards between
          columns as deals move.
        </EmptyState>
      ) : (
        <KanbanBoard
          columns={data.columns.map((col) => ({
            id: col.stage.id,
            name: col.stage.name,
            count: col.count,
            cards: col.cards,
            color: col.stage.kind === 'won' ? 'green' : col.stage.kind === 'lost' ? 'red' : undefined,
          }))}
          canDrag={canEdit}
          columnNoun="Stage"
          cardNoun="opportunity"
          renderCard={(card, { handle, overlay }) => (
            <CardView card={card} members={members} handle={handle} overlay={overlay} />
          )}
          columnSubtitle={(col) => (
            <Text size="xs" c="dimmed" mb={6} data-testid="stage-sum">
              {sumLabel(data.columns.find((c) => c.stage.id === col.id)?.sums ?? {})}
            </Text>
          )}
          columnFooter={(col) => {
            const column = data.columns.find((c) => c.stage.id === col.id);
            return column?.next_cursor ? (
              <Text size="xs" c="dimmed" mt={6}>
                {column.count - column.cards.length} more; narrow the filter to see them
              </Text>
            ) : null;
          }}
          onMove={({ card, to, afterId }) =>
            move.mutate({ id: card.id, stageId: to.id, afterId, title: card.title })
          }
        />
      )}
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
        <Text size="sm">{money(card.amount, card.currency)}</Text>
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

function NewOpportunityForm({ pipelineId, onDone }: { pipelineId: string; onDone: () => void }) {
  const members = useMembers();
  const { data: me } = useQuery(meQuery);
  const [title, setTitle] = useState('');
  const [amount, setAmount] = useState<number | ''>('');
  const [currency, setCurrency] = useState('USD');
  const [contactId, setContactId] = useState<string | null>(null);
  const [companyId, setCompanyId] = useState<string | null>(null);
  const [ownerId, setOwnerId] = useState<string | null>(me?.user.id ?? null);
  const [closeDate, setCloseDate] = useState('');
  const [error, setError] = useState<unknown>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      await call(
        api.POST('/api/v1/opportunities', {
          body: {
            title,
            source: 'manual',
            pipeline_id: pipelineId,
            amount: amount === '' ? null : amount,
            currency: amount === '' ? null : currency,
            contact_id: contactId,
            company_id: companyId,
            owner_id: ownerId,
            expected_close_date: closeDate || null,
          },
        }),
      );
      onDone();
    } catch (err) {
      setError(err);
    }
  }
  return (
    <form onSubmit={submit}>
      <Stack>
        <ErrorAlert error={error} />
        <TextInput
          label="Title"
          required
          value={title}
          onChange={(e) => setTitle(e.currentTarget.value)}
          data-autofocus
        />
        <Group grow>
          <NumberInput
            label="Value"
            min={0}
            value={amount}
            onChange={(v) => setAmount(v === '' ? '' : Number(v))}
          />
          <TextInput
            label="Currency"
            value={currency}
            onChange={(e) => setCurrency(e.currentTarget.value.toUpperCase())}
            maxLength={3}
          />
        </Group>
        <RecordPicker
          collection="contacts"
          label="Contact"
          value={contactId}
          onChange={(id) => setContactId(id)}
        />
        <RecordPicker
          collection="companies"
          label="Company"
          value={companyId}
          onChange={(id) => setCompanyId(id)}
        />
        <Select
          label="Owner"
          data={members.map((m) => ({ value: m.user_id, label: m.name }))}
          value={ownerId}
          onChange={setOwnerId}
          clearable
        />
        <TextInput
          label="Expected close date"
          type="date"
          value={closeDate}
          onChange={(e) => setCloseDate(e.currentTarget.value)}
        />
        <Group justify="flex-end">
          <Button type="submit">Create opportunity</Button>
        </Group>
      </Stack>
    </form>
  );
}
