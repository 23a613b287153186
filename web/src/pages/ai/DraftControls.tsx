import { Button, Select } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { api, call } from '../../api/client';

// The controls shared by the assistant's two drafts (issue 32): the inbox's reply and a record
// page's e-mail.

/**
 * "From a template": the organization's message templates (`GET /api/v1/message-templates`),
 * fetched once the picker is shown (`enabled`) and again each time its list opens (a template made
 * since, in another tab, is offered); `value` is a template id or null for none.
 */
export function DraftTemplatePicker({
  enabled,
  value,
  onChange,
}: {
  enabled: boolean;
  value: string | null;
  onChange: (id: string | null) => void;
}) {
  const templates = useQuery({
    queryKey: ['message-templates', 'all'],
    queryFn: () => call(api.GET('/api/v1/message-templates')),
    enabled,
    staleTime: 5_000,
  });
  return (
    <Select
      size="xs"
      label="From a template"
      placeholder="None"
      clearable
      data={(templates.data?.data ?? []).map((t) => ({ value: t.id, label: t.name }))}
      nothingFoundMessage={templates.isFetching ? 'Loading…' : 'No message templates yet'}
      onDropdownOpen={() => void templates.refetch()}
      value={value}
      onChange={onChange}
      w={180}
    />
  );
}

/**
 * "Draft" (the form's submit button) while no draft runs, "Stop" while one does. They are keyed
 * apart: were the Stop button reused as the submit button, the click that stops the draft would
 * submit the form once React has re-rendered it, and start a new one.
 */
export function DraftButton({ running, stop }: { running: boolean; stop: () => void }) {
  return running ? (
    <Button key="stop" size="xs" variant="default" onClick={stop}>
      Stop
    </Button>
  ) : (
    <Button key="draft" size="xs" variant="light" type="submit">
      Draft
    </Button>
  );
}
