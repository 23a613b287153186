import {
  closestCenter,
  DndContext,
  type DragEndEvent,
  KeyboardSensor,
  PointerSensor,
  useSensor,
  useSensors,
} from '@dnd-kit/core';
import {
  arrayMove,
  SortableContext,
  sortableKeyboardCoordinates,
  useSortable,
  verticalListSortingStrategy,
} from '@dnd-kit/sortable';
import { CSS } from '@dnd-kit/utilities';
import {
  ActionIcon,
  Badge,
  Button,
  Group,
  NumberInput,
  Paper,
  Select,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconGripVertical, IconTrash } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call, type Pipeline, type Stage } from '../../api/client';
import { pipelinesQuery } from '../../lib/query';
import { ErrorAlert } from '../../shell/states';

/** Pipelines and their stages: add, rename, set probability and kind, drag to reorder, delete. */
export function PipelinesSettings() {
  const queryClient = useQueryClient();
  const pipelines = useQuery(pipelinesQuery);
  const [name, setName] = useState('');
  const create = useMutation({
    mutationFn: () =>
      call(
        api.POST('/api/v1/pipelines', {
          body: {
            name,
            stages: [
              { name: 'New', probability: 10, kind: 'open' },
              { name: 'Won', probability: 100, kind: 'won' },
              { name: 'Lost', probability: 0, kind: 'lost' },
            ],
          },
        }),
      ),
    onSuccess: () => {
      setName('');
      void queryClient.invalidateQueries({ queryKey: ['pipelines'] });
    },
  });
  return (
    <Stack>
      {pipelines.data?.data.map((p) => (
        <PipelineEditor key={p.id} pipeline={p} />
      ))}
      <Paper withBorder p="md">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate();
          }}
        >
          <Group align="flex-end" gap="xs">
            <TextInput
              label="New pipeline"
              required
              value={name}
              onChange={(e) => setName(e.currentTarget.value)}
            />
            <Button type="submit" loading={create.isPending}>
              Add pipeline
            </Button>
          </Group>
          <ErrorAlert error={create.error} />
        </form>
      </Paper>
    </Stack>
  );
}

function PipelineEditor({ pipeline }: { pipeline: Pipeline }) {
  const queryClient = useQueryClient();
  const [stages, setStages] = useState<Stage[]>(pipeline.stages);
  const [newStage, setNewStage] = useState('');
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ['pipelines'] });
  const notify = (e: Error) => notifications.show({ color: 'red', message: e.message });
  // Keep the local order in step with the server's after every refresh.
  const serverOrder = pipeline.stages.map((s) => `${s.id}:${s.name}:${s.probability}:${s.kind}`).join();
  const [seen, setSeen] = useState(serverOrder);
  if (seen !== serverOrder) {
    setSeen(serverOrder);
    setStages(pipeline.stages);
  }

  const reorder = useMutation({
    mutationFn: (ids: string[]) =>
      call(
        api.PUT('/api/v1/pipelines/{id}/stages/order', {
          params: { path: { id: pipeline.id } },
          body: { stage_ids: ids },
        }),
      ),
    onError: (e) => {
      setStages(pipeline.stages);
      notify(e);
    },
    onSuccess: refresh,
  });
  const addStage = useMutation({
    mutationFn: () =>
      call(
        api.POST('/api/v1/pipelines/{id}/stages', {
          params: { path: { id: pipeline.id } },
          body: {
            name: newStage,
            kind: 'open',
            probability: 50,
            position: stages.filter((s) => s.kind === 'open').length,
          },
        }),
      ),
    onSuccess: () => {
      setNewStage('');
      refresh();
    },
  });
  const sensors = useSensors(
    useSensor(PointerSensor),
    useSensor(KeyboardSensor, { coordinateGetter: sortableKeyboardCoordinates }),
  );

  function onDragEnd(e: DragEndEvent) {
    if (!e.over || e.active.id === e.over.id) return;
    const from = stages.findIndex((s) => s.id === e.active.id);
    const to = stages.findIndex((s) => s.id === e.over!.id);
    const next = arrayMove(stages, from, to);
    setStages(next);
    reorder.mutate(next.map((s) => s.id));
  }

  return (
    <Paper withBorder p="md">
      <Group justify="space-between" mb="sm">
        <Group gap="xs">
          <Title order={2} size="h4">
            {pipeline.name}
          </Title>
          {pipeline.is_default && <Badge variant="light">default</Badge>}
        </Group>
        {!pipeline.is_default && (
          <Button
            size="xs"
            variant="subtle"
            onClick={() =>
              void call(
                api.PATCH('/api/v1/pipelines/{id}', {
                  params: { path: { id: pipeline.id } },
                  body: { is_default: true },
                }),
              )
                .then(refresh)
                .catch(notify)
            }
          >
            Make default
          </Button>
        )}
      </Group>
      <DndContext sensors={sensors} collisionDetection={closestCenter} onDragEnd={onDragEnd}>
        <SortableContext items={stages.map((s) => s.id)} strategy={verticalListSortingStrategy}>
          <Stack gap={4}>
            {stages.map((s) => (
              <StageRow
                key={s.id}
                pipelineId={pipeline.id}
                stage={s}
                others={stages.filter((o) => o.id !== s.id)}
                onChanged={refresh}
              />
            ))}
          </Stack>
        </SortableContext>
      </DndContext>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          addStage.mutate();
        }}
      >
        <Group gap="xs" mt="sm">
          <TextInput
            aria-label="New stage"
            placeholder="New stage"
            required
            value={newStage}
            onChange={(e) => setNewStage(e.currentTarget.value)}
            size="xs"
          />
          <Button type="submit" size="xs" variant="light">
            Add stage
          </Button>
        </Group>
        <ErrorAlert error={addStage.error} />
      </form>
    </Paper>
  );
}

function StageRow({
  pipelineId,
  stage,
  others,
  onChanged,
}: {
  pipelineId: string;
  stage: Stage;
  others: Stage[];
  onChanged: () => void;
}) {
  const { attributes, listeners, setNodeRef, transform, transition } = useSortable({ id: stage.id });
  const [name, setName] = useState(stage.name);
  const [probability, setProbability] = useState<number>(stage.probability);
  const [moveTo, setMoveTo] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const dirty = name !== stage.name || probability !== stage.probability;

  async function save() {
    setError(null);
    try {
      await call(
        api.PATCH('/api/v1/pipelines/{id}/stages/{stageId}', {
          params: { path: { id: pipelineId, stageId: stage.id } },
          body: { name, probability },
        }),
      );
      onChanged();
    } catch (e) {
      setError((e as Error).message);
    }
  }
  async function remove() {
    setError(null);
    try {
      await call(
        api.DELETE('/api/v1/pipelines/{id}/stages/{stageId}', {
          params: { path: { id: pipelineId, stageId: stage.id }, query: moveTo ? { move_to: moveTo } : {} },
        }),
      );
      onChanged();
    } catch (e) {
      setError((e as Error).message);
    }
  }
  return (
    <div
      ref={setNodeRef}
      style={{ transform: CSS.Transform.toString(transform), transition }}
      data-stage-row={stage.name}
    >
      <Group gap="xs" wrap="nowrap">
        <ActionIcon variant="subtle" aria-label={`Reorder ${stage.name}`} {...attributes} {...listeners}>
          <IconGripVertical size={16} />
        </ActionIcon>
        <TextInput
          aria-label="Stage name"
          value={name}
          onChange={(e) => setName(e.currentTarget.value)}
          size="xs"
          w={180}
        />
        <NumberInput
          aria-label="Probability %"
          value={probability}
          onChange={(v) => setProbability(Number(v) || 0)}
          min={0}
          max={100}
          size="xs"
          w={80}
          suffix="%"
        />
        <Badge
          // A dot of the kind's colour beside text in the text colour (the light green fails contrast).
          variant="dot"
          color={stage.kind === 'won' ? 'green' : stage.kind === 'lost' ? 'red' : 'blue'}
        >
          {stage.kind}
        </Badge>
        {dirty && (
          <Button size="xs" onClick={() => void save()}>
            Save
          </Button>
        )}
        <Select
          aria-label="Move its opportunities to"
          placeholder="Move deals to…"
          size="xs"
          w={150}
          clearable
          data={others.map((o) => ({ value: o.id, label: o.name }))}
          value={moveTo}
          onChange={setMoveTo}
        />
        <ActionIcon
          variant="subtle"
          color="red"
          aria-label={`Delete stage ${stage.name}`}
          onClick={() => void remove()}
        >
          <IconTrash size={16} />
        </ActionIcon>
      </Group>
      {error && (
        <Text c="red" size="xs" role="alert">
          {error}
        </Text>
      )}
    </div>
  );
}
