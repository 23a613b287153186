import { ActionIcon, Anchor, Badge, Button, Group, Stack, TagsInput, Text } from '@mantine/core';
import { IconPencil, IconX } from '@tabler/icons-react';
import { queryOptions, useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { lazy, type ReactNode, Suspense, useState } from 'react';
import { api, call } from '../../../api/client';
import { EmailLink, PhoneLink } from '../../../lib/phone';
import { RecordPicker } from '../../../lib/pickers';
import { ErrorAlert } from '../../../shell/states';
import { ContactActions } from '../DealActions';
import { ContactPrivacyActions } from './contact-privacy';
import type { CreateInputProps, ObjectPlugin, PanelProps } from './types';

// "Message" (issue 23) and its composer load with the first contact page that shows it.
const ContactMessageAction = lazy(() =>
  import('./contact-message').then((m) => ({ default: m.ContactMessageAction })),
);

/** The contact as its endpoint types it (e-mails, phones, companies), from the page's cached read. */
const contactQuery = (id: string) =>
  queryOptions({
    queryKey: ['contacts', id],
    queryFn: () => call(api.GET('/api/v1/contacts/{id}', { params: { path: { id } } })),
  });

function ContactHeader({ id }: PanelProps) {
  const c = useQuery(contactQuery(id)).data;
  if (!c) return null;
  return (
    <>
      {c.lead_status && <Badge variant="light">lead: {c.lead_status}</Badge>}
      {c.companies.map((co) => (
        <Anchor
          key={co.id}
          size="sm"
          renderRoot={(p) => <Link {...p} to="/companies/$id" params={{ id: co.id }} />}
        >
          {co.name}
        </Anchor>
      ))}
    </>
  );
}

function Emails({ id, canEdit, save }: PanelProps) {
  const c = useQuery(contactQuery(id)).data;
  return (
    <ListField
      label="E-mails"
      values={c?.emails.map((e) => e.value) ?? []}
      show={(v) => <EmailLink value={v} />}
      canEdit={canEdit}
      onSave={(values) => save({ emails: values.map((value, i) => ({ value, primary: i === 0 })) })}
    />
  );
}

function Phones({ id, canEdit, save }: PanelProps) {
  const c = useQuery(contactQuery(id)).data;
  return (
    <ListField
      label="Phones"
      values={c?.phones.map((p) => p.e164 ?? p.raw) ?? []}
      show={(v) => (v.startsWith('+') ? <PhoneLink value={v} /> : <Text size="sm">{v}</Text>)}
      canEdit={canEdit}
      onSave={(values) => save({ phones: values.map((number, i) => ({ number, primary: i === 0 })) })}
    />
  );
}

/** E-mails or phones: a list edited as chips; the first is the primary. */
function ListField({
  label,
  values,
  show,
  canEdit,
  onSave,
}: {
  label: string;
  values: string[];
  /** How one value reads (a link). */
  show: (value: string) => ReactNode;
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
              values.map((v) => <div key={v}>{show(v)}</div>)
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

/** The companies a contact works at: links, unlink, link another (the first linked is primary). */
function Companies({ id, canEdit, save }: PanelProps) {
  const [error, setError] = useState<unknown>(null);
  const links = useQuery(contactQuery(id)).data?.companies ?? [];
  async function setLinks(next: { id: string; primary: boolean }[]) {
    setError(null);
    try {
      await save({ companies: next });
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

/** The create form's company: one picked company becomes the primary link. */
function CompanyInput({ value, onChange }: CreateInputProps) {
  return (
    <RecordPicker
      collection="companies"
      label="Company"
      value={typeof value === 'string' ? value : null}
      onChange={(id) => onChange(id)}
    />
  );
}

const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v : null);

/** A contact: several e-mails and phones (one primary each) and the companies it works at. */
export const contactPlugin: ObjectPlugin = {
  Header: ContactHeader,
  Actions: (props) => (
    <>
      <Suspense fallback={null}>
        <ContactMessageAction {...props} />
      </Suspense>
      <ContactActions {...props} />
      <ContactPrivacyActions {...props} />
    </>
  ),
  // The Name field is for tables (one sortable column); the page's heading shows the name.
  fields: { name: null, email: null, emails: Emails, phone: null, phones: Phones, companies: Companies },
  create: {
    inputs: { companies: CompanyInput },
    toBody: ({ email, phone, companies, ...rest }) => {
      const [e, p, co] = [text(email), text(phone), text(companies)];
      return {
        ...rest,
        emails: e ? [{ value: e }] : [],
        phones: p ? [{ number: p }] : [],
        companies: co ? [{ id: co, primary: true }] : [],
      };
    },
    errorPath: { email: 'emails[0].value', phone: 'phones[0].number' },
  },
};
