import { Alert, Button, Group, Stack, Text, Textarea, TextInput } from '@mantine/core';
import { type FormEvent, useState } from 'react';
import { DraftButton, DraftTemplatePicker } from './DraftControls';
import { useDraftStream } from './useDraftStream';

// "Draft an e-mail" on a record page (issue 32), from a stored template (its variables filled for
// the contact, its subject taken) or free instructions, or both: the body streams into the box as the assistant
// writes it, the subject is filled when the draft ends; Stop cuts the stream (which stops the
// provider) and keeps what was written. The member copies it and sends it; the assistant never sends.

export function RecordDraft({ object, id }: { object: string; id: string }) {
  const [instructions, setInstructions] = useState('');
  const [templateId, setTemplateId] = useState<string | null>(null);
  const [subject, setSubject] = useState('');
  const [body, setBody] = useState('');
  const { running, error, done, stopped, start, stop } = useDraftStream(setBody);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setSubject('');
    setBody('');
    const end = await start({
      object,
      id,
      ...(templateId ? { template_id: templateId } : {}),
      ...(instructions.trim() ? { instructions: instructions.trim() } : {}),
    });
    // A subject typed while the body was being written is the member's: it stays.
    if (end?.subject) setSubject((typed) => typed || (end.subject ?? ''));
  };
  const note = done
    ? done.stopped === 'limit'
      ? 'The draft reached its length limit: finish it, then send it yourself.'
      : 'A draft: edit it and send it yourself.'
    : stopped
      ? 'Stopped: edit what it wrote, or draft again.'
      : null;
  const shown = running || body !== '';

  return (
    <Stack gap="xs" data-testid="ai-record-draft">
      <form onSubmit={(e) => void submit(e)}>
        <Group align="end" wrap="nowrap" gap="xs">
          <DraftTemplatePicker enabled value={templateId} onChange={setTemplateId} />
          <TextInput
            style={{ flex: 1 }}
            size="xs"
            label="Draft an e-mail"
            placeholder="What should it say? (optional)"
            value={instructions}
            onChange={(e) => setInstructions(e.currentTarget.value)}
          />
          <DraftButton running={running} stop={stop} />
        </Group>
      </form>
      {shown && (
        <Stack gap="xs" data-testid="ai-draft" aria-busy={running}>
          <TextInput
            size="xs"
            label="Subject"
            placeholder={running ? 'Filled when the draft is done' : undefined}
            value={subject}
            onChange={(e) => setSubject(e.currentTarget.value)}
          />
          {/* Read-only while it is being written: each piece replaces the text. */}
          <Textarea
            size="xs"
            label="Body"
            autosize
            minRows={5}
            readOnly={running}
            value={body}
            onChange={(e) => setBody(e.currentTarget.value)}
          />
          {running && (
            <Text size="xs" c="dimmed">
              Writing…
            </Text>
          )}
        </Stack>
      )}
      {error && (
        <Alert color="red" p="xs" title={error.title}>
          {error.message}
        </Alert>
      )}
      {shown && !running && (
        <Group gap="xs">
          <Button
            size="xs"
            variant="default"
            onClick={() => void navigator.clipboard?.writeText(subject ? `${subject}\n\n${body}` : body)}
          >
            Copy
          </Button>
          {note && (
            <Text size="xs" c="dimmed">
              {note}
            </Text>
          )}
        </Group>
      )}
    </Stack>
  );
}
