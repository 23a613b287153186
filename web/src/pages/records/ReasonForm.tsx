import { Button, Group, Stack, Text, Textarea } from '@mantine/core';
import { type FormEvent, useState } from 'react';

/** Asks for the reason a move needs; what was typed stays until it is sent. */
export function ReasonForm({ what, onSubmit }: { what: string; onSubmit: (reason: string) => void }) {
  const [reason, setReason] = useState('');
  function submit(e: FormEvent) {
    e.preventDefault();
    if (reason.trim()) onSubmit(reason.trim());
  }
  return (
    <form onSubmit={submit}>
      <Stack>
        <Text size="sm">{what}</Text>
        <Textarea
          label="Reason"
          required
          autosize
          minRows={2}
          value={reason}
          onChange={(e) => setReason(e.currentTarget.value)}
          data-autofocus
        />
        <Group justify="flex-end">
          <Button type="submit" disabled={!reason.trim()}>
            Move
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
