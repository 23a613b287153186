import { Alert, Button, CloseButton, Group, Paper, Stack, Text, TextInput } from '@mantine/core';
import { type FormEvent, useState } from 'react';
import { DraftButton, DraftTemplatePicker } from './DraftControls';
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
            <DraftTemplatePicker enabled={open} value={templateId} onChange={setTemplateId} />
            <TextInput
              size="xs"
              style={{ flex: 1 }}
              label="Instructions"
              placeholder="What should the reply say? (optional)"
              value={instructions}
              onChange={(e) => setInstructions(e.currentTarget.value)}
            />
            <DraftButton running={running} stop={stop} />
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
