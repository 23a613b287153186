import { Anchor, Badge, Grid, Group, Stack, Text, Title } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from '@tanstack/react-router';
import { api, call, contactName } from '../../api/client';
import { type RecordData, useMembers } from '../../lib/fields';
import { objectQuery } from '../../lib/query';
import { useRecordSave } from '../../lib/records';
import { PageSkeleton } from '../../shell/states';
import {
  FieldsPanel,
  NotesPanel,
  RecordActions,
  RelatedOpportunities,
  Section,
  TasksPanel,
  TimelinePanel,
  useCanEdit,
} from './DetailParts';

/** A company: its fields in place, its people, opportunities, tasks, notes and timeline. */
export function CompanyDetail() {
  const { id } = useParams({ from: '/app/companies/$id' });
  const queryClient = useQueryClient();
  const members = useMembers();
  const canEdit = useCanEdit();
  const description = useQuery(objectQuery('company'));
  const save = useRecordSave('company', id);
  const company = useQuery({
    queryKey: ['companies', id],
    queryFn: () => call(api.GET('/api/v1/companies/{id}', { params: { path: { id } } })),
  });
  const people = useQuery({
    queryKey: ['companies', id, 'contacts'],
    queryFn: () => call(api.GET('/api/v1/companies/{id}/contacts', { params: { path: { id } } })),
  });
  if (company.error) throw company.error;
  if (!company.data || !description.data) return <PageSkeleton />;
  const c = company.data;

  return (
    <Stack>
      <Group justify="space-between">
        <Group gap="sm">
          <Title order={1} size="h2">
            {c.name}
          </Title>
          {c.domain && <Text c="dimmed">{c.domain}</Text>}
          {c.archived_at && <Badge color="gray">archived</Badge>}
        </Group>
        <RecordActions
          object="company"
          id={id}
          archived={Boolean(c.archived_at)}
          onChanged={() => void queryClient.invalidateQueries({ queryKey: ['companies'] })}
        />
      </Group>
      <Grid>
        <Grid.Col span={{ base: 12, md: 5 }}>
          <Stack>
            <Section title="Details">
              <FieldsPanel
                fields={description.data.fields}
                record={c as unknown as RecordData}
                members={members}
                canEdit={canEdit}
                onSave={save}
                skip={['address']}
              />
            </Section>
            <Section title={`People (${c.contact_count})`}>
              <Stack gap={4}>
                {(people.data?.data ?? []).map((p) => (
                  <Anchor
                    key={String(p.id)}
                    size="sm"
                    renderRoot={(props) => (
                      <Link {...props} to="/contacts/$id" params={{ id: String(p.id) }} />
                    )}
                  >
                    {contactName(p as never)}
                  </Anchor>
                ))}
                {people.data?.data.length === 0 && (
                  <Text size="sm" c="dimmed">
                    Nobody linked yet. Link a contact to this company from the contact's page.
                  </Text>
                )}
              </Stack>
            </Section>
          </Stack>
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 7 }}>
          <Stack>
            <RelatedOpportunities field="company_id" id={id} members={members} />
            <TasksPanel object="company" id={id} />
            <NotesPanel object="company" id={id} />
            <TimelinePanel object="company" id={id} />
          </Stack>
        </Grid.Col>
      </Grid>
    </Stack>
  );
}
