import {
  ActionIcon,
  Badge,
  Group,
  Loader,
  NumberInput,
  Paper,
  SegmentedControl,
  Select,
  SimpleGrid,
  Stack,
  Text,
  TextInput,
  Typography,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconPencil, IconTrash } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { lazy, Suspense, useState } from 'react';
import { api, call, type Note, type Schemas } from '../../api/client';
import { formatDate, type RecordData } from '../../lib/fields';
import { meQuery } from '../../lib/query';
import { COLLECTION, type RecordObject } from '../../lib/records';
import { Section, useCanEdit } from './DetailParts';

const NoteEditor = lazy(() => import('./NoteEditor'));

type Kind = Schemas['NoteCreate']['kind'] & string;
type Outcome = NonNullable<Schemas['NoteCreate']['outcome']>;
type Ref = Schemas['RecordRef'];

const KINDS: { value: Kind; label: string; submit: string }[] = [
  { value: 'note', label: 'Note', submit: 'Add note' },
  { value: 'call', label: 'Call', submit: 'Log call' },
  { value: 'meeting', label: 'Meeting', submit: 'Log meeting' },
  { value: 'email', label: 'E-mail', submit: 'Log e-mail' },
];
const OUTCOMES: { value: Outcome; label: string }[] = [
  { value: 'connected', label: 'Connected' },
  { value: 'left_voicemail', label: 'Left a voicemail' },
  { value: 'no_answer', label: 'No answer' },
  { value: 'busy', label: 'Busy' },
  { value: 'wrong_number', label: 'Wrong number' },
];
const KIND_WORDS: Record<string, string> = { call: 'Call', meeting: 'Meeting', email: 'E-mail' };

/** Now as a `datetime-local` value (the browser's local time, to the minute). */
function localNow(): string {
  const d = new Date();
  d.setSeconds(0, 0);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

/** The records a logged activity also concerns: a contact's companies, a deal's contact and company. */
function relatedOf(object: RecordObject, record: RecordData): Ref[] {
  if (object === 'contact' && Array.isArray(record.companies))
    return (record.companies as { id: string }[]).map((c) => ({ object: 'company', id: c.id }));
  if (object === 'opportunity')
    return [
      ...(typeof record.contact_id === 'string'
        ? [{ object: 'contact' as const, id: record.contact_id }]
        : []),
      ...(typeof record.company_id === 'string'
        ? [{ object: 'company' as const, id: record.company_id }]
        : []),
    ];
  return [];
}

/**
 * The record's activity: a composer that adds a note (rich text, `@` mentions notify the member)
 * or logs a call (outcome, duration), a meeting or an e-mail sent outside Cairn at the time it
 * happened (now by default), on this record and its related ones; and the list, newest first,
 * where an author edits or deletes their note.
 */
export function ActivityPanel({
  object,
  id,
  record,
}: {
  /** Activity is logged on contacts, companies and deals (not catalog items). */
  object: Exclude<RecordObject, 'product'>;
  id: string;
  record: RecordData;
}) {
  const canEdit = useCanEdit();
  const queryClient = useQueryClient();
  const { data: me } = useQuery(meQuery);
  const [kind, setKind] = useState<Kind>('note');
  const [when, setWhen] = useState(localNow);
  const [outcome, setOutcome] = useState<Outcome | null>('connected');
  const [duration, setDuration] = useState<number | string>('');
  const [editing, setEditing] = useState<string | null>(null);
  const notes = useQuery({
    queryKey: ['notes', object, id],
    queryFn: () => call(api.GET('/api/v1/notes', { params: { query: { object, id, limit: 50 } } })),
  });
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: ['notes', object, id] });
    void queryClient.invalidateQueries({ queryKey: [COLLECTION[object]] });
    void queryClient.invalidateQueries({ queryKey: ['home'] });
  };
  const add = useMutation({
    mutationFn: (html: string) => {
      const related = relatedOf(object, record);
      const minutes = typeof duration === 'number' ? duration : undefined;
      return call(
        api.POST('/api/v1/notes', {
          body: {
            object,
            id,
            ...(html ? { body: html } : {}),
            ...(kind === 'note'
              ? {}
              : {
                  kind,
                  occurred_at: new Date(when || localNow()).toISOString(),
                  ...(related.length ? { related } : {}),
                  ...(kind === 'call' && outcome ? { outcome } : {}),
                  ...((kind === 'call' || kind === 'meeting') && minutes !== undefined
                    ? { duration_minutes: minutes }
                    : {}),
                }),
          },
        }),
      );
    },
    onSuccess: (note) => {
      if (note.kind !== 'note')
        notifications.show({ color: 'teal', message: `${KIND_WORDS[note.kind]} logged` });
      setDuration('');
      setWhen(localNow());
      refresh();
    },
  });
  const edit = useMutation({
    mutationFn: ({ noteId, html }: { noteId: string; html: string }) =>
      call(api.PATCH('/api/v1/notes/{id}', { params: { path: { id: noteId } }, body: { body: html } })),
    onSuccess: () => {
      setEditing(null);
      refresh();
    },
  });
  const remove = useMutation({
    mutationFn: (noteId: string) =>
      call(api.DELETE('/api/v1/notes/{id}', { params: { path: { id: noteId } } })),
    onSuccess: () => {
      notifications.show({ color: 'teal', message: 'Deleted' });
      refresh();
    },
    onError: (e) => notifications.show({ color: 'red', message: e.message }),
  });
  const current = KINDS.find((k) => k.value === kind)!;
  return (
    <Section title="Activity">
      <Stack gap="sm">
        {canEdit && (
          <Stack gap="xs">
            <SegmentedControl
              aria-label="What to add"
              size="xs"
              value={kind}
              onChange={(v) => setKind(v as Kind)}
              data={KINDS.map((k) => ({ value: k.value, label: k.label }))}
            />
            {kind !== 'note' && (
              <SimpleGrid
                cols={{
                  base: 1,
                  xs: kind === 'email' ? 1 : 2,
                  sm: kind === 'call' ? 3 : kind === 'email' ? 1 : 2,
                }}
              >
                <TextInput
                  type="datetime-local"
                  label="When"
                  size="xs"
                  value={when}
                  onChange={(e) => setWhen(e.currentTarget.value)}
                />
                {kind === 'call' && (
                  <Select
                    label="Outcome"
                    size="xs"
                    data={OUTCOMES}
                    value={outcome}
                    onChange={(v) => setOutcome(v as Outcome | null)}
                    allowDeselect={false}
                  />
                )}
                {(kind === 'call' || kind === 'meeting') && (
                  <NumberInput
                    label="Duration (minutes)"
                    size="xs"
                    min={0}
                    max={1440}
                    value={duration}
                    onChange={setDuration}
                  />
                )}
              </SimpleGrid>
            )}
            <Suspense fallback={<Loader size="sm" />}>
              <NoteEditor
                key={kind}
                label={kind === 'note' ? 'New note' : `${current.label} notes`}
                submitLabel={current.submit}
                allowEmpty={kind !== 'note'}
                onSave={(html) => add.mutateAsync(html)}
                error={add.error}
              />
            </Suspense>
          </Stack>
        )}
        {notes.data?.data.length === 0 && (
          <Text size="sm" c="dimmed">
            No notes or logged activity yet.
          </Text>
        )}
        {notes.data?.data.map((n) => (
          <NoteItem
            key={n.id}
            note={n}
            mine={Boolean(me && n.author_id === me.user.id)}
            mayDelete={Boolean(me && (n.author_id === me.user.id || me.role === 'admin'))}
            editing={editing === n.id}
            onEdit={() => setEditing(n.id)}
            onCancel={() => setEditing(null)}
            onSave={(html) => edit.mutateAsync({ noteId: n.id, html })}
            onDelete={() => remove.mutate(n.id)}
            error={edit.error}
          />
        ))}
      </Stack>
    </Section>
  );
}

function NoteItem({
  note,
  mine,
  mayDelete,
  editing,
  onEdit,
  onCancel,
  onSave,
  onDelete,
  error,
}: {
  note: Note;
  mine: boolean;
  mayDelete: boolean;
  editing: boolean;
  onEdit: () => void;
  onCancel: () => void;
  onSave: (html: string) => Promise<unknown>;
  onDelete: () => void;
  error: unknown;
}) {
  const details = [
    note.outcome ? OUTCOMES.find((o) => o.value === note.outcome)?.label : null,
    note.duration_minutes != null ? `${note.duration_minutes} min` : null,
  ].filter(Boolean);
  return (
    <Paper withBorder p="sm" data-testid="note">
      {note.kind !== 'note' && (
        <Group gap="xs" mb={4}>
          <Badge variant="light" size="sm">
            {KIND_WORDS[note.kind]}
          </Badge>
          {details.length > 0 && <Text size="xs">{details.join(' · ')}</Text>}
        </Group>
      )}
      {editing ? (
        <Suspense fallback={<Loader size="sm" />}>
          <NoteEditor
            initial={note.body_html}
            label="Edit note"
            submitLabel="Save"
            onSave={onSave}
            onCancel={onCancel}
            error={error}
          />
        </Suspense>
      ) : (
        note.body_html && (
          <Typography>
            {/* body_html is sanitized by the server (sanitize-html allow-list) */}
            {/* biome-ignore lint/security/noDangerouslySetInnerHtml: server-sanitized note HTML */}
            <div dangerouslySetInnerHTML={{ __html: note.body_html }} />
          </Typography>
        )
      )}
      <Group justify="space-between" mt={4} wrap="nowrap">
        <Text size="xs" c="dimmed">
          {formatDate(note.occurred_at, true)}
          {note.updated_at !== note.created_at && note.kind === 'note' ? ' · edited' : ''}
        </Text>
        {!editing && (
          <Group gap={4} wrap="nowrap">
            {mine && (
              <ActionIcon variant="subtle" size="sm" aria-label="Edit note" onClick={onEdit}>
                <IconPencil size={14} />
              </ActionIcon>
            )}
            {mayDelete && (
              <ActionIcon
                variant="subtle"
                color="red"
                size="sm"
                aria-label="Delete note"
                onClick={() => {
                  if (window.confirm('Delete this for good?')) onDelete();
                }}
              >
                <IconTrash size={14} />
              </ActionIcon>
            )}
          </Group>
        )}
      </Group>
    </Paper>
  );
}
