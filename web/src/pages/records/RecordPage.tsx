import { Badge, Grid, Group, Stack, Title } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useParams } from '@tanstack/react-router';
import { useEffect } from 'react';
import type { Field } from '../../api/client';
import { api } from '../../api/client';
import { useMembers } from '../../lib/fields';
import { objectQuery } from '../../lib/query';
import { COLLECTION, type RecordObject, recordQuery, recordTitle, useRecordSave } from '../../lib/records';
import { PageSkeleton } from '../../shell/states';
import { RecordAssistantSlot } from '../ai/assistant';
import { ActivityPanel } from './ActivityPanel';
import { AttachmentsPanel } from './AttachmentsPanel';
import { EditableField, RecordActions, Section, TasksPanel, TimelinePanel, useCanEdit } from './DetailParts';
import { LinksPanel } from './LinksPanel';
import { OBJECT_PLUGINS } from './objects';
import type { PanelProps } from './objects/types';
import { RelatedRecords } from './RelatedRecords';

/** Fields every object has that the page shows elsewhere (the id in the URL, archived as a badge). */
const SHOWN_ELSEWHERE = new Set(['id', 'archived_at']);

const byPosition = (a: Field, b: Field) => a.position - b.position;

/**
 * The page of one record of any object, built from the registry: the heading, every field with
 * inline editing, archive and restore, the records that point at it, tasks, notes and the
 * timeline. The object's plug-in adds what only it has (a contact's e-mails, a deal's stage).
 */
export function RecordPage({ object }: { object: RecordObject }) {
  const { id } = useParams({ strict: false });
  if (!id) throw new Error('A record page needs an id');
  return <RecordPageOf object={object} id={id} />;
}

function RecordPageOf({ object, id }: { object: RecordObject; id: string }) {
  const queryClient = useQueryClient();
  const members = useMembers();
  const canEdit = useCanEdit();
  const description = useQuery(objectQuery(object));
  const save = useRecordSave(object, id);
  const record = useQuery(recordQuery(object, id));
  const plugin = OBJECT_PLUGINS[object];
  // The home page's "recently viewed": noted once the record is there (a failure changes nothing here).
  const found = Boolean(record.data);
  useEffect(() => {
    // Products are catalog items, not among the recently viewed records.
    if (found && object !== 'product') void api.POST('/api/v1/me/recent-views', { body: { object, id } });
  }, [found, object, id]);
  if (record.error) throw record.error;
  if (!record.data || !description.data) return <PageSkeleton />;

  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: [COLLECTION[object]] });
    void queryClient.invalidateQueries({ queryKey: ['board'] });
  };
  const props: PanelProps = {
    object,
    id,
    record: record.data,
    description: description.data,
    members,
    canEdit,
    save,
    refresh,
  };
  const fields = description.data.fields
    .filter((f) => !f.retired && !SHOWN_ELSEWHERE.has(f.key))
    .sort(byPosition);
  const { Header, Actions } = plugin;

  return (
    <Stack>
      <Group justify="space-between" wrap="wrap" align="flex-start">
        <Group gap="sm" wrap="wrap" style={{ flex: 1, minWidth: 0 }}>
          <Title order={1} size="h2">
            {recordTitle(description.data.display, record.data)}
          </Title>
          {Header && <Header {...props} />}
          {record.data.archived_at ? <Badge color="gray">archived</Badge> : null}
        </Group>
        <Group gap="xs">
          {Actions && <Actions {...props} />}
          <RecordActions
            object={object}
            id={id}
            archived={Boolean(record.data.archived_at)}
            onChanged={refresh}
          />
        </Group>
      </Group>
      <Grid>
        <Grid.Col span={{ base: 12, md: 5 }}>
          <Stack>
            <Section title="Details">
              <Stack gap={8}>
                {fields.map((f) => {
                  const Custom = plugin.fields?.[f.key];
                  if (Custom === null) return null;
                  return Custom ? (
                    <Custom key={f.key} {...props} />
                  ) : (
                    <EditableField
                      key={f.key}
                      field={f}
                      record={record.data}
                      members={members}
                      canEdit={canEdit}
                      onSave={save}
                    />
                  );
                })}
              </Stack>
            </Section>
            {plugin.panels?.map((Panel, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: a plug-in's panels are a fixed list
              <Panel key={i} {...props} />
            ))}
          </Stack>
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 7 }}>
          <Stack>
            {object !== 'product' && <RecordAssistantSlot object={object} id={id} />}
            <RelatedRecords
              object={object}
              id={id}
              members={members}
              summary={(related, r) => OBJECT_PLUGINS[related].summary?.(r)}
            />
            {object !== 'product' && <LinksPanel object={object} id={id} />}
            {/* Tasks, activity and files are about contacts, companies and deals (not catalog items). */}
            {object !== 'product' && <TasksPanel object={object} id={id} />}
            {object !== 'product' && <ActivityPanel object={object} id={id} record={record.data} />}
            {object !== 'product' && <AttachmentsPanel object={object} id={id} />}
            <TimelinePanel object={object} id={id} />
          </Stack>
        </Grid.Col>
      </Grid>
    </Stack>
  );
}

export const ContactPage = () => <RecordPage object="contact" />;
export const CompanyPage = () => <RecordPage object="company" />;
export const OpportunityPage = () => <RecordPage object="opportunity" />;
export const ProductPage = () => <RecordPage object="product" />;
