import { ActionIcon, Anchor, Badge, Button, Grid, Group, Stack, TagsInput, Text, Title } from '@mantine/core';
import { IconPencil, IconX } from '@tabler/icons-react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from '@tanstack/react-router';
import { useState } from 'react';
import { api, type Contact, call, contactName } from '../../api/client';
import { type RecordData, useMembers } from '../../lib/fields';
import { RecordPicker } from '../../lib/pickers';
import { objectQuery } from '../../lib/query';
import { useRecordSave } from '../../lib/records';
import { ErrorAlert, PageSkeleton } from '../../shell/states';
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

/** A contact: every field editable in place, e-mails, phones, companies, and what relates to it. */
export function ContactDetail() {
  const { id } = useParams({ from: '/app/contacts/$id' });
  const queryClient = useQueryClient();
  const members = useMembers();
  const canEdit = useCanEdit();
  const description = useQuery(objectQuery('contact'));
  const save = useRecordSave('contact', id);
  const contact = useQuery({
    queryKey: ['contacts', id],
    queryFn: () => call(api.GET('/api/v1/contacts/{id}', { params: { path: { id } } })),
  });
  if (contact.error) throw contact.error;
  if (!contact.data || !description.data) return <PageSkeleton />;
  const c = contact.data;

  return (
    <Stack>
      <Group justify="space-between" wrap="wrap">
        <div>
          <Group gap="sm">
            <Title order={1} size="h2">
              {contactName(c)}
            </Title>
            {c.lead_status && <Badge variant="light">lead: {c.lead_status}</Badge>}
            {c.archived_at && <Badge color="gray">archived</Badge>}
          </Group>
          <Group gap="xs">
            {c.companies.map((co) => (
              <Anchor
                key={co.id}
                size="sm"
                renderRoot={(p) => <Link {...p} to="/companies/$id" params={{ id: co.id }} />}
              >
                {co.name}
              </Anchor>
            ))}
          </Group>
        </div>
        <RecordActions
          object="contact"
          id={id}
          archived={Boolean(c.archived_at)}
          onChanged={() => void queryClient.invalidateQueries({ queryKey: ['contacts'] })}
        />
      </Group>
      <Grid>
        <Grid.Col span={{ base: 12, md: 5 }}>
          <Stack>
            <Section title="Details">
              <Stack gap={8}>
                <ListField
                  label="E-mails"
                  values={c.emails.map((e) => e.value)}
                  canEdit={canEdit}
                  onSave={(values) =>
                    save({ emails: values.map((value, i) => ({ value, primary: i === 0 })) })
                  }
                />
                <ListField
                  label="Phones"
                  values={c.phones.map((p) => p.e164 ?? p.raw)}
                  canEdit={canEdit}
                  onSave={(values) =>
                    save({ phones: values.map((number, i) => ({ number, primary: i === 0 })) })
                  }
                />
                <CompaniesField contact={c} canEdit={canEdit} onSave={save} />
                <FieldsPanel
                  fields={description.data.fields}
                  record={c as unknown as RecordData}
                  members={members}
                  canEdit={canEdit}
                  onSave={save}
                  skip={['email', 'emails', 'phone', 'phones', 'companies']}
                />
              </Stack>
            </Section>
          </Stack>
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 7 }}>
          <Stack>
            <RelatedOpportunities field="contact_id" id={id} members={members} />
            <TasksPanel object="contact" id={id} />
            <NotesPanel object="contact" id={id} />
            <TimelinePanel object="contact" id={id} />
          </Stack>
        </Grid.Col>
      </Grid>
    </Stack>
  );
}

/** E-mails or phones: a list edited as chips; the first is the primary. */
export function ListField({
  label,
  values,
  canEdit,
  onSave,
}: {
  label: string;
  values: string[];
  canEdit: boolean;
  onSave: (values: string[]) => Promise<unknown>;
}) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState<string[]>(values);
  const [error, setError] = useState<unknown>(null);
  return (
    <Group gap="xs" align="flex-start" wrap="nowrap">
      <Text size="sm" c="dimmed" w={140} pt={4} style={{ flexShrink: 0 }}>
        {label}
      </Text>
      {editing ? (
        <Stack gap={4} style={{ flex: 1 }}>
          <TagsInput
            aria-label={label}
            value={draft}
            onChange={setDraft}
            placeholder="Type and press Enter"
            autoFocus
          />
          <ErrorAlert error={error} />
          <Group gap={4}>
            <Button
              size="xs"
              onClick={async () => {
                setError(null);
                try {
                  await onSave(draft);
                  setEditing(false);
                } catch (e) {
                  setError(e);
                }
              }}
            >
              Save
            </Button>
            <Button size="xs" variant="default" onClick={() => setEditing(false)}>
              Cancel
            </Button>
          </Group>
        </Stack>
      ) : (
        <Group gap={4} style={{ flex: 1 }} pt={4} wrap="nowrap" align="flex-start">
          <Stack gap={0} style={{ flex: 1 }}>
            {values.length === 0 ? (
              <Text size="sm" c="dimmed">
                —
              </Text>
            ) : (
              values.map((v) => (
                <Text key={v} size="sm">
                  {v}
                </Text>
              ))
            )}
          </Stack>
          {canEdit && (
            <ActionIcon
              variant="subtle"
              size="sm"
              aria-label={`Edit ${label}`}
              onClick={() => {
                setDraft(values);
                setEditing(true);
              }}
            >
              <IconPencil size={14} />
            </ActionIcon>
          )}
        </Group>
      )}
    </Group>
  );
}

function CompaniesField({
  contact,
  canEdit,
  onSave,
}: {
  contact: Contact;
  canEdit: boolean;
  onSave: (body: Record<string, unknown>) => Promise<unknown>;
}) {
  const [error, setError] = useState<unknown>(null);
  const links = contact.companies;
  async function setLinks(next: { id: string; primary: boolean }[]) {
    setError(null);
    try {
      await onSave({ companies: next });
    } catch (e) {
      setError(e);
    }
  }
  return (
    <Group gap="xs" align="flex-start" wrap="nowrap">
      <Text size="sm" c="dimmed" w={140} pt={4} style={{ flexShrink: 0 }}>
        Companies
      </Text>
      <Stack gap={4} style={{ flex: 1 }}>
        {links.map((co) => (
          <Group key={co.id} gap={4} wrap="nowrap">
            <Anchor size="sm" renderRoot={(p) => <Link {...p} to="/companies/$id" params={{ id: co.id }} />}>
              {co.name}
            </Anchor>
            {co.primary && links.length > 1 && (
              <Badge size="xs" variant="light">
                primary
              </Badge>
            )}
            {canEdit && (
              <ActionIcon
                variant="subtle"
                size="xs"
                color="red"
                aria-label={`Unlink ${co.name}`}
                onClick={() =>
                  void setLinks(
                    links.filter((l) => l.id !== co.id).map((l) => ({ id: l.id, primary: l.primary })),
                  )
                }
              >
                <IconX size={12} />
              </ActionIcon>
            )}
          </Group>
        ))}
        {links.length === 0 && !canEdit && (
          <Text size="sm" c="dimmed">
            —
          </Text>
        )}
        {canEdit && (
          <RecordPicker
            collection="companies"
            label="Link a company"
            value={null}
            onChange={(companyId) => {
              if (companyId && !links.some((l) => l.id === companyId)) {
                void setLinks([
                  ...links.map((l) => ({ id: l.id, primary: l.primary })),
                  { id: companyId, primary: links.length === 0 },
                ]);
              }
            }}
          />
        )}
        <ErrorAlert error={error} />
      </Stack>
    </Group>
  );
}
