import {
  Badge,
  Button,
  Group,
  Modal,
  Paper,
  Select,
  SimpleGrid,
  Stack,
  Text,
  Timeline,
  Title,
} from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useParams } from '@tanstack/react-router';
import { useState } from 'react';
import { api, call, type Field } from '../../api/client';
import { CustomRecordForm, customTitle, formFields, numberLabel } from '../../lib/custom-records';
import { FieldValue, formatDate, useMembers } from '../../lib/fields';
import { objectQuery } from '../../lib/query';
import type { RecordData } from '../../lib/records';
import { ErrorAlert, PageSkeleton } from '../../shell/states';
import { RecordAssistantSlot } from '../ai/assistant';
import { AttachmentsPanel } from './AttachmentsPanel';
import { LinksPanel } from './LinksPanel';
import { ReasonForm } from './ReasonForm';

/** A custom object's record (`/records/<key>/<id>`): its fields from the registry, edit, archive, timeline. */
export function CustomRecordPage() {
  const { object, id } = useParams({ from: '/app/records/$object/$id' });
  const queryClient = useQueryClient();
  const members = useMembers();
  const description = useQuery(objectQuery(object)).data;
  const key = ['records', object, id] as const;
  const record = useQuery({
    queryKey: key,
    queryFn: () => call(api.GET('/api/v1/records/{object}/{id}', { params: { path: { object, id } } })),
  });
  const timeline = useQuery({
    queryKey: [...key, 'timeline'],
    queryFn: () =>
      call(
        api.GET('/api/v1/records/{object}/{id}/timeline', { params: { path: { object, id }, query: {} } }),
      ),
  });
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState<unknown>(null);
  if (record.error) return <ErrorAlert error={record.error} />;
  if (!description || !record.data) return <PageSkeleton />;
  const data = record.data as unknown as RecordData;
  const archived = Boolean(record.data.archived_at);
  const retired = description.custom_object?.retired ?? false;
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ['records', object] });
  async function setArchived(archive: boolean) {
    setError(null);
    try {
      await call(
        archive
          ? api.POST('/api/v1/records/{object}/{id}/archive', { params: { path: { object, id } } })
          : api.POST('/api/v1/records/{object}/{id}/restore', { params: { path: { object, id } } }),
      );
      refresh();
    } catch (err) {
      setError(err);
    }
  }
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1} size="h2">
          {numberLabel(description, data) && (
            <Text span c="dimmed" mr="xs" data-testid="record-number">
              {numberLabel(description, data)}
            </Text>
          )}
          {customTitle(description, data)}{' '}
          {archived && (
            <Text span c="dimmed">
              (archived)
            </Text>
          )}
        </Title>
        {!retired && (
          <Group>
            <Button variant="default" onClick={() => setEditing(true)}>
              Edit
            </Button>
            <Button variant="default" onClick={() => void setArchived(!archived)}>
              {archived ? 'Restore' : 'Archive'}
            </Button>
          </Group>
        )}
      </Group>
      <ErrorAlert error={error} />
      <Paper withBorder p="md">
        <SimpleGrid cols={{ base: 1, sm: 2 }}>
          {formFields(description)
            .filter((f) => !f.relation?.many)
            .map((f) => (
              <Stack key={f.key} gap={2}>
                <Text size="xs" c="dimmed">
                  {f.label}
                </Text>
                <Text size="sm" component="div">
                  <FieldValue field={f} record={data} members={members} />
                </Text>
              </Stack>
            ))}
        </SimpleGrid>
      </Paper>
      <RecordAssistantSlot object={object} id={id} />
      <LinksPanel object={object} id={id} editable={!retired && !archived} />
      <AttachmentsPanel object={object} id={id} />
      {formFields(description)
        .filter((f) => f.type === 'status')
        .map((f) => (
          <StatusPanel
            key={f.key}
            object={object}
            id={id}
            field={f}
            value={(data.custom as Record<string, unknown> | undefined)?.[f.key]}
            editable={!retired && !archived}
            onChanged={refresh}
          />
        ))}
      <Title order={2} size="h4">
        Timeline
      </Title>
      <Timeline bulletSize={12} lineWidth={2}>
        {(timeline.data?.data ?? []).map((e) => (
          <Timeline.Item key={e.id} title={e.description}>
            <Text size="xs" c="dimmed">
              {formatDate(e.occurred_at, true)}
            </Text>
          </Timeline.Item>
        ))}
      </Timeline>
      <Modal
        opened={editing}
        onClose={() => setEditing(false)}
        title={`Edit ${description.label_singular.toLowerCase()}`}
      >
        {editing && (
          <CustomRecordForm
            description={description}
            record={data}
            submitLabel="Save"
            onSubmit={async (custom) => {
              await call(
                api.PATCH('/api/v1/records/{object}/{id}', {
                  params: { path: { object, id } },
                  body: { custom },
                }),
              );
              setEditing(false);
              refresh();
            }}
          />
        )}
      </Modal>
    </Stack>
  );
}

/**
 * A status field of the record: its status, the statuses it may move to (by the field's
 * definition), a reason asked for when the move needs one, and its history with the time spent in
 * each status.
 */
function StatusPanel({
  object,
  id,
  field,
  value,
  editable,
  onChanged,
}: {
  object: string;
  id: string;
  field: Field;
  value: unknown;
  editable: boolean;
  onChanged: () => void;
}) {
  const config = field.statuses;
  const current = typeof value === 'string' ? value : null;
  const [asking, setAsking] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const history = useQuery({
    queryKey: ['records', object, id, 'status-history', field.key],
    queryFn: () =>
      call(
        api.GET('/api/v1/records/{object}/{id}/status-history', {
          params: { path: { object, id }, query: { field: field.key } },
        }),
      ),
  });
  if (!config) return null;
  const label = (v: string | null) => config.statuses.find((s) => s.value === v)?.label ?? v ?? '—';
  const next = config.statuses.filter(
    (s) =>
      s.value !== current &&
      (!config.transitions ||
        current === null ||
        config.transitions.some((t) => t.from === current && t.to === s.value)),
  );
  async function setStatus(to: string, reason?: string) {
    setError(null);
    try {
      await call(
        api.PATCH('/api/v1/records/{object}/{id}', {
          params: { path: { object, id } },
          body: { custom: { [field.key]: to }, ...(reason ? { status_reason: reason } : {}) },
        }),
      );
      onChanged();
    } catch (err) {
      setError(err);
    }
  }
  function choose(to: string | null) {
    if (!to) return;
    const status = config!.statuses.find((s) => s.value === to);
    const move = config!.transitions?.find((t) => t.from === current && t.to === to);
    if (status?.reason_required || move?.reason_required) setAsking(to);
    else void setStatus(to);
  }
  return (
    <Paper withBorder p="md">
      <Group justify="space-between" mb="xs">
        <Group gap="xs">
          <Text fw={600}>{field.label}</Text>
          <Badge data-testid={`status-${field.key}`} variant="light">
            {label(current)}
          </Badge>
        </Group>
        {editable && next.length > 0 && (
          <Select
            aria-label={`Move ${field.label.toLowerCase()} to`}
            placeholder="Move to…"
            w={220}
            data={next.map((s) => ({ value: s.value, label: s.label }))}
            value={null}
            onChange={choose}
          />
        )}
      </Group>
      <ErrorAlert error={error} />
      <Timeline bulletSize={10} lineWidth={2}>
        {(history.data?.data ?? []).map((h) => (
          <Timeline.Item
            key={`${h.changed_at}-${h.to.value}`}
            title={h.from ? `${h.from.label} → ${h.to.label}` : h.to.label}
          >
            <Text size="xs" c="dimmed">
              {formatDate(h.changed_at, true)} · {h.current ? 'for' : 'stayed'} {h.days_in_status} days
              {h.reason ? ` · ${h.reason}` : ''}
            </Text>
          </Timeline.Item>
        ))}
      </Timeline>
      <Modal opened={asking !== null} onClose={() => setAsking(null)} title="Why?">
        {asking && (
          <ReasonForm
            what={`Moving to ${label(asking)} needs a reason.`}
            onSubmit={(reason) => {
              void setStatus(asking, reason);
              setAsking(null);
            }}
          />
        )}
      </Modal>
    </Paper>
  );
}
