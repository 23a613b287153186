import { Alert, Button, CloseButton, Group, Paper, Select, Stack, Text, TextInput } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { api, call } from '../../api/client';
import { streamDraft } from './draftStream';

// "Draft with the assistant" in a conversation (issue 32): from a stored template or free
// instructions, the reply streams into the reply box as it is written; the member edits and sends
// it (the assistant never sends). Stop or close cuts the stream, which stops the provider.

export function ReplyDraft({
  conversationId,
  onText,
}: {
  conversationId: string;
  onText: (text: string) => void;
}) {
  const [open, setOpen] = useState(false);
  const [templateId, setTemplateId] = useState<string | null>(null);
  const [instructions, setInstructions] = useState('');
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const abort = useRef<AbortController | null>(null);
  const templates = useQuery({
    queryKey: ['message-templates', 'all'],
    queryFn: () => call(api.GET('/api/v1/message-templates')),
    enabled: open,
    staleTime: 5_000,
  });
  // Leaving the conversation (or closing the box) stops a running draft.
  useEffect(() => () => abort.current?.abort(), []);

  const stop = () => {
    abort.current?.abort();
    abort.current = null;
    setRunning(false);
  };
  const start = async (e: FormEvent) => {
    e.preventDefault();
    stop();
    const controller = new AbortController();
    abort.current = controller;
    setRunning(true);
    setError(null);
    setNote(null);
    try {
      const done = await streamDraft(
        {
          conversation_id: conversationId,
          ...(templateId ? { template_id: templateId } : {}),
          ...(instructions.trim() ? { instructions: instructions.trim() } : {}),
        },
        onText,
        controller.signal,
      );
      onText(done.text);
      setNote(
        done.stopped === 'limit'
          ? 'The draft reached its length limit: finish it yourself.'
          : 'A draft: edit it and send it yourself.',
      );
    } catch (err) {
      if (!controller.signal.aborted) setError(err instanceof Error ? err.message : String(err));
    } finally {
      if (abort.current === controller) {
        abort.current = null;
        setRunning(false);
      }
    }
  };

  if (!open)
    return (
      <Group gap="xs">
        <Button size="compact-xs" variant="subtle" onClick={() => setOpen(true)}>
          Draft with the assistant
        </Button>
        {note && (
          <Text size="xs" c="dimmed">
            {note}
          </Text>
        )}
      </Group>
    );
  return (
    <Paper withBorder p="xs" data-testid="ai-reply-draft">
      <Stack gap={6}>
        <form onSubmit={(e) => void start(e)}>
          <Group gap="xs" align="end" wrap="nowrap">
            <Select
              size="xs"
              label="From a template"
              placeholder="None"
              clearable
              data={(templates.data?.data ?? []).map((t) => ({ value: t.id, label: t.name }))}
              value={templateId}
              onChange={setTemplateId}
              w={180}
            />
            <TextInput
              size="xs"
              style={{ flex: 1 }}
              label="Instructions"
              placeholder="What should the reply say? (optional)"
              value={instructions}
              onChange={(e) => setInstructions(e.currentTarget.value)}
            />
            {running ? (
              <Button size="xs" variant="default" onClick={stop}>
                Stop
              </Button>
            ) : (
              <Button size="xs" variant="light" type="submit">
                Draft
              </Button>
            )}
            <CloseButton
              aria-label="Close the assistant"
              onClick={() => {
                stop();
                setOpen(false);
              }}
            />
          </Group>
        </form>
        {running && (
          <Text size="xs" c="dimmed">
            Writing into the reply box…
          </Text>
        )}
        {error && (
          <Alert color="red" p="xs" title="The draft stopped">
            {error}
          </Alert>
        )}
        {!running && !error && note && (
          <Text size="xs" c="dimmed">
            {note}
          </Text>
        )}
      </Stack>
    </Paper>
  );
}
