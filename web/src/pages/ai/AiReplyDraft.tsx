import { Alert, Button, CloseButton, Group, Paper, Select, Stack, Text, TextInput } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { api, call } from '../../api/client';
import { useDraftStream } from './useDraftStream';

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
  const { running, error, done, start: startDraft, stop } = useDraftStream(onText);
  const templates = useQuery({
    queryKey: ['message-templates', 'all'],
    queryFn: () => call(api.GET('/api/v1/message-templates')),
    enabled: open,
    staleTime: 5_000,
  });
  // Leaving the conversation (unmounting) stops a running draft; so do Stop and closing the box.
  const start = (e: FormEvent) => {
    e.preventDefault();
    void startDraft({
      conversation_id: conversationId,
      ...(templateId ? { template_id: templateId } : {}),
      ...(instructions.trim() ? { instructions: instructions.trim() } : {}),
    });
  };
  const note = done
    ? done.stopped === 'limit'
      ? 'The draft reached its length limit: finish it yourself.'
      : 'A draft: edit it and send it yourself.'
    : null;

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
        <form onSubmit={start}>
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
            {/* Keyed apart: were the Stop button reused as the submit button, the click that stops the
                draft would submit the form once React has re-rendered it, and start a new one. */}
            {running ? (
              <Button key="stop" size="xs" variant="default" onClick={stop}>
                Stop
              </Button>
            ) : (
              <Button key="draft" size="xs" variant="light" type="submit">
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
          <Alert color="red" p="xs" title={error.title}>
            {error.message}
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
