import { Button, Group, Modal, Paper, SimpleGrid, Stack, Text, Timeline, Title } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useParams } from '@tanstack/react-router';
import { useState } from 'react';
import { api, call } from '../../api/client';
import { CustomRecordForm, customTitle, formFields } from '../../lib/custom-records';
import { FieldValue, formatDate, useMembers } from '../../lib/fields';
import { objectQuery } from '../../lib/query';
import type { RecordData } from '../../lib/records';
import { ErrorAlert, PageSkeleton } from '../../shell/states';
import { AttachmentsPanel } from './AttachmentsPanel';

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
          {formFields(description).map((f) => (
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
      <AttachmentsPanel object={object} id={id} />
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
