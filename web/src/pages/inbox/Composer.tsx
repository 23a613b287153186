import {
  Alert,
  Button,
  Checkbox,
  CloseButton,
  FileButton,
  Group,
  Menu,
  Paper,
  Select,
  Stack,
  Text,
  Textarea,
  TextInput,
  UnstyledButton,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type KeyboardEvent, useRef, useState } from 'react';
import { ApiError, api, call, type Schemas } from '../../api/client';
import { ReplyDraftSlot } from '../ai/assistant';
import { formatSize, uploadWithProgress } from '../records/AttachmentsPanel';

type Template = Schemas['MessageTemplate'];

/** The `/word` the caret ends, when it starts a word: where it starts and what follows the slash. */
export function slashQueryAt(text: string, caret: number): { start: number; query: string } | null {
  const before = text.slice(0, caret);
  const m = /(^|\s)\/([\w-]*)$/.exec(before);
  if (!m) return null;
  return { start: caret - m[2]!.length - 1, query: m[2]!.toLowerCase() };
}

/** The templates whose shortcut or name holds `query`, shortcut matches first. */
export function matchTemplates(templates: Template[], query: string): Template[] {
  const q = query.toLowerCase();
  const starts = templates.filter((t) => t.shortcut.startsWith(q));
  const rest = templates.filter((t) => !t.shortcut.startsWith(q) && t.name.toLowerCase().includes(q));
  return [...starts, ...rest].slice(0, 8);
}

const signatureQuery = {
  queryKey: ['me', 'signature'],
  queryFn: () => call(api.GET('/api/v1/me/signature')),
  staleTime: 60_000,
};

type Target = { conversation_id: string } | { contact_id: string; channel_id: string };

/**
 * A message box with templates (issue 23): chosen from the Templates menu or by typing `/` at the
 * start of a word (a menu filtered as you type; arrows and Enter pick, Escape closes). A chosen
 * template is filled for the contact by the server; a variable it cannot fill shows as a warning
 * and nothing is inserted. On e-mail the member's signature is appended (a box turns it off).
 */
export function TemplateTextarea({
  kind,
  target,
  value,
  onChange,
  onSubject,
  error,
  label = 'Reply',
}: {
  kind: 'email' | 'sms';
  target: Target | null;
  value: string;
  onChange: (text: string) => void;
  onSubject?: ((subject: string) => void) | undefined;
  error?: string | undefined;
  label?: string;
}) {
  const ref = useRef<HTMLTextAreaElement>(null);
  const [slash, setSlash] = useState<{ start: number; query: string } | null>(null);
  const [active, setActive] = useState(0);
  const [warning, setWarning] = useState<string | null>(null);
  const templates = useQuery({
    queryKey: ['message-templates', kind],
    queryFn: () => call(api.GET('/api/v1/message-templates', { params: { query: { kind } } })),
    staleTime: 5_000,
  });
  const all = templates.data?.data ?? [];
  const matches = slash ? matchTemplates(all, slash.query) : [];

  const insert = useMutation({
    mutationFn: async (t: Template) => {
      if (!target) throw new Error('Choose a channel first');
      return call(
        api.POST('/api/v1/message-templates/render', {
          body: { text: t.body, ...(t.subject ? { subject: t.subject } : {}), ...target },
        }),
      );
    },
    onSuccess: (rendered) => {
      const el = ref.current;
      const caret = el?.selectionStart ?? value.length;
      const from = slash ? slash.start : caret;
      const next = value.slice(0, from) + rendered.text + value.slice(slash ? caret : caret);
      onChange(next);
      if (rendered.subject && onSubject) onSubject(rendered.subject);
      setWarning(null);
      setSlash(null);
      requestAnimationFrame(() => {
        el?.focus();
        const at = from + rendered.text.length;
        el?.setSelectionRange(at, at);
      });
    },
    onError: (e) => {
      setWarning(e instanceof ApiError || e instanceof Error ? e.message : String(e));
      setSlash(null);
    },
  });

  const track = (text: string, caret: number) => {
    const found = slashQueryAt(text, caret);
    setSlash(found);
    setActive(0);
  };
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (!slash || matches.length === 0) return;
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      setActive((a) => (a + 1) % matches.length);
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      setActive((a) => (a - 1 + matches.length) % matches.length);
    } else if (e.key === 'Enter' || e.key === 'Tab') {
      e.preventDefault();
      insert.mutate(matches[active]!);
    } else if (e.key === 'Escape') {
      e.preventDefault();
      setSlash(null);
    }
  };

  return (
    <Stack gap={4}>
      <Group justify="space-between" align="flex-end">
        <Text size="sm" fw={500}>
          {label}
        </Text>
        <Menu position="bottom-end" withinPortal>
          <Menu.Target>
            <Button size="compact-xs" variant="subtle" disabled={all.length === 0}>
              Templates
            </Button>
          </Menu.Target>
          <Menu.Dropdown data-testid="template-menu">
            {all.map((t) => (
              <Menu.Item key={t.id} onClick={() => insert.mutate(t)}>
                {t.name}{' '}
                <Text span size="xs" c="dimmed">
                  /{t.shortcut}
                </Text>
              </Menu.Item>
            ))}
          </Menu.Dropdown>
        </Menu>
      </Group>
      <Textarea
        ref={ref}
        aria-label={label}
        autosize
        minRows={3}
        value={value}
        placeholder="Type / for a template"
        onChange={(e) => {
          onChange(e.currentTarget.value);
          track(e.currentTarget.value, e.currentTarget.selectionStart);
        }}
        onKeyDown={onKeyDown}
        onBlur={() => setTimeout(() => setSlash(null), 150)}
        error={error}
      />
      {slash && matches.length > 0 && (
        <Paper withBorder shadow="sm" p={4} role="listbox" aria-label="Templates" data-testid="slash-menu">
          {matches.map((t, i) => (
            <UnstyledButton
              key={t.id}
              role="option"
              aria-selected={i === active}
              display="block"
              w="100%"
              p={4}
              bg={i === active ? 'var(--mantine-color-default-hover)' : undefined}
              onMouseDown={(e) => {
                e.preventDefault();
                insert.mutate(t);
              }}
            >
              <Text size="sm">
                /{t.shortcut}{' '}
                <Text span size="sm" c="dimmed">
                  {t.name}
                </Text>
              </Text>
            </UnstyledButton>
          ))}
        </Paper>
      )}
      {warning && (
        <Alert color="yellow" title="Template not inserted" withCloseButton onClose={() => setWarning(null)}>
          {warning}
        </Alert>
      )}
    </Stack>
  );
}

/** "Add my signature" for e-mail, with the signature shown; null on SMS or with none set. */
export function SignatureToggle({
  kind,
  checked,
  onChange,
}: {
  kind: 'email' | 'sms';
  checked: boolean;
  onChange: (on: boolean) => void;
}) {
  const signature = useQuery(signatureQuery).data?.signature;
  if (kind !== 'email' || !signature) return null;
  return (
    <Checkbox
      size="xs"
      checked={checked}
      onChange={(e) => onChange(e.currentTarget.checked)}
      label={
        <Text size="xs" c="dimmed" lineClamp={1}>
          Add my signature: {signature}
        </Text>
      }
    />
  );
}

type Attached = { id: string; name: string; size: number };

/**
 * "Attach" for e-mail: the file goes through the files pipeline onto the contact (checked,
 * scanned), then rides on the message by its id. A refused file says why.
 */
function useAttachments(contactId: string | null) {
  const [files, setFiles] = useState<Attached[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const add = async (file: File | null) => {
    if (!file || !contactId) return;
    setError(null);
    setProgress(0);
    try {
      const stored = await uploadWithProgress('contact', contactId, file, setProgress);
      setFiles((fs) => [...fs, { id: stored.id, name: stored.name, size: stored.size }]);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setProgress(null);
    }
  };
  const remove = (id: string) => setFiles((fs) => fs.filter((f) => f.id !== id));
  return { files, error, progress, add, remove, clear: () => setFiles([]) };
}

function AttachmentsRow({
  kind,
  contactId,
  state,
}: {
  kind: 'email' | 'sms';
  contactId: string | null;
  state: ReturnType<typeof useAttachments>;
}) {
  if (kind !== 'email') return null;
  return (
    <Stack gap={4}>
      <Group gap="xs">
        <FileButton onChange={(f) => void state.add(f)}>
          {(props) => (
            <Button
              {...props}
              size="compact-xs"
              variant="default"
              disabled={!contactId || state.files.length >= 10}
              loading={state.progress !== null}
              title={contactId ? undefined : 'Make the sender a contact first: files are kept on the contact'}
            >
              Attach
            </Button>
          )}
        </FileButton>
        {state.files.map((f) => (
          <Group key={f.id} gap={2} data-testid="attached">
            <Text size="xs">
              {f.name} ({formatSize(f.size)})
            </Text>
            <CloseButton size="xs" aria-label={`Remove ${f.name}`} onClick={() => state.remove(f.id)} />
          </Group>
        ))}
      </Group>
      {state.error && (
        <Text size="xs" c="red">
          {state.error}
        </Text>
      )}
    </Stack>
  );
}

const emailKinds = new Set(['email', 'local']);
export const composerKind = (channelKind: string): 'email' | 'sms' =>
  emailKinds.has(channelKind) ? 'email' : 'sms';

/** The reply box of a thread: templates, signature, send. */
export function ReplyBox({
  conversationId,
  channelKind,
  contactId,
}: {
  conversationId: string;
  channelKind: string;
  contactId: string | null;
}) {
  const queryClient = useQueryClient();
  const [text, setText] = useState('');
  const [signature, setSignature] = useState(true);
  const kind = composerKind(channelKind);
  const attached = useAttachments(contactId);
  const send = useMutation({
    mutationFn: () =>
      call(
        api.POST('/api/v1/conversations/{id}/messages', {
          params: { path: { id: conversationId } },
          body: {
            text,
            signature,
            ...(attached.files.length ? { attachments: attached.files.map((f) => f.id) } : {}),
          },
        }),
      ),
    onSuccess: () => {
      setText('');
      attached.clear();
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['conversations'] }),
  });
  return (
    <Stack gap="xs">
      <ReplyDraftSlot conversationId={conversationId} onText={setText} />
      <TemplateTextarea
        kind={kind}
        target={{ conversation_id: conversationId }}
        value={text}
        onChange={setText}
        error={send.error?.message}
      />
      <AttachmentsRow kind={kind} contactId={contactId} state={attached} />
      <Group justify="space-between">
        <SignatureToggle kind={kind} checked={signature} onChange={setSignature} />
        <span />
        <Button onClick={() => send.mutate()} loading={send.isPending} disabled={!text.trim()}>
          Send
        </Button>
      </Group>
    </Stack>
  );
}

/** The contact page's composer: a new message to the contact on a channel, with templates. */
export function ContactComposer({
  contactId,
  emails,
  phones,
  onSent,
}: {
  contactId: string;
  emails: string[];
  phones: string[];
  onSent: () => void;
}) {
  const channels = useQuery({
    queryKey: ['conversations', 'sending-channels'],
    queryFn: () => call(api.GET('/api/v1/conversations/channels')),
  });
  const usable = (channels.data?.data ?? []).filter((c) =>
    composerKind(c.kind) === 'email' ? emails.length > 0 : c.kind === 'sms' && phones.length > 0,
  );
  const [channelId, setChannelId] = useState<string | null>(null);
  const channel = usable.find((c) => c.id === channelId) ?? usable[0];
  const kind = channel ? composerKind(channel.kind) : 'email';
  const [to, setTo] = useState<string | null>(null);
  const [subject, setSubject] = useState('');
  const [text, setText] = useState('');
  const [signature, setSignature] = useState(true);
  const attached = useAttachments(contactId);
  const addresses = kind === 'email' ? emails : phones;
  const recipient = to && addresses.includes(to) ? to : addresses[0];
  const send = useMutation({
    mutationFn: () =>
      call(
        api.POST('/api/v1/messages', {
          body: {
            channel_id: channel!.id,
            to: recipient!,
            text,
            signature,
            ...(kind === 'email' && subject.trim() ? { subject } : {}),
            ...(kind === 'email' && attached.files.length
              ? { attachments: attached.files.map((f) => f.id) }
              : {}),
          },
        }),
      ),
    onSuccess: onSent,
  });
  if (channels.isLoading) return null;
  if (!channel || !recipient)
    return (
      <Alert color="gray">No channel can reach this contact: add an e-mail or a phone, or a channel.</Alert>
    );
  return (
    <Stack gap="xs">
      <Group grow>
        <Select
          label="From"
          data={usable.map((c) => ({ value: c.id, label: `${c.name} (${c.address})` }))}
          value={channel.id}
          onChange={setChannelId}
          allowDeselect={false}
        />
        <Select label="To" data={addresses} value={recipient} onChange={setTo} allowDeselect={false} />
      </Group>
      {kind === 'email' && (
        <TextInput label="Subject" value={subject} onChange={(e) => setSubject(e.currentTarget.value)} />
      )}
      <TemplateTextarea
        kind={kind}
        label="Message"
        target={{ contact_id: contactId, channel_id: channel.id }}
        value={text}
        onChange={setText}
        onSubject={(s) => setSubject((cur) => cur || s)}
        error={send.error?.message}
      />
      <AttachmentsRow kind={kind} contactId={contactId} state={attached} />
      <Group justify="space-between">
        <SignatureToggle kind={kind} checked={signature} onChange={setSignature} />
        <span />
        <Button onClick={() => send.mutate()} loading={send.isPending} disabled={!text.trim()}>
          Send
        </Button>
      </Group>
    </Stack>
  );
}
