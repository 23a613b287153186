import {
  Alert,
  Anchor,
  Button,
  CloseButton,
  Group,
  List,
  Paper,
  Pill,
  Stack,
  Text,
  TextInput,
} from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { type FormEvent, useState } from 'react';
import { api, call } from '../../api/client';
import type { components } from '../../api/schema';
import { RecordDraft } from './AiRecordDraft';

// The AI assistant's tools in the app (issue 32), loaded only when the assistant is on. Everything
// the model wrote is shown as text (React escapes it), never as HTML; nothing it proposes runs or
// is sent without the member.

type Chip = components['schemas']['AiFilterChip'];

const OP_WORDS: Record<string, string> = {
  eq: 'is',
  neq: 'is not',
  in: 'is one of',
  nin: 'is none of',
  lt: '<',
  lte: '≤',
  gt: '>',
  gte: '≥',
  between: 'between',
  contains: 'contains',
  startsWith: 'starts with',
  isEmpty: 'is empty',
  isNotEmpty: 'is not empty',
  hasAny: 'has any of',
  hasAll: 'has all of',
  hasNone: 'has none of',
};

const valueText = (v: unknown) =>
  v === undefined ? '' : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);

/** Summarize and Draft e-mail on a record page. */
export function RecordAssistant({
  object,
  id,
  features,
}: {
  object: string;
  id: string;
  features: string[];
}) {
  const summarize = useMutation({
    mutationFn: () => call(api.POST('/api/v1/ai/summarize', { body: { object, id } })),
  });
  const s = summarize.data;
  return (
    <Paper withBorder p="md">
      <Stack gap="sm">
        <Group justify="space-between">
          <Text fw={600}>Assistant</Text>
          {features.includes('summarize') && (
            <Button
              size="xs"
              variant="light"
              loading={summarize.isPending}
              onClick={() => summarize.mutate()}
            >
              Summarize
            </Button>
          )}
        </Group>
        {summarize.error && <Alert color="red">{summarize.error.message}</Alert>}
        {s && (
          <Stack gap="xs" data-testid="ai-summary">
            <Text size="sm" style={{ whiteSpace: 'pre-wrap' }}>
              {s.summary}
            </Text>
            {s.next_steps.length > 0 && (
              <>
                <Text size="sm" fw={600}>
                  Next steps
                </Text>
                <List size="sm">
                  {s.next_steps.map((step) => (
                    <List.Item key={step}>{step}</List.Item>
                  ))}
                </List>
              </>
            )}
            <Text size="xs" c="dimmed">
              Drawn from:{' '}
              {s.sources.map((src, i) => (
                <span key={`${src.object}:${src.id}`}>
                  {i > 0 && ', '}
                  <Anchor component={Link} to={src.url} size="xs">
                    {src.label}
                  </Anchor>
                </span>
              ))}{' '}
              · {s.model}
            </Text>
          </Stack>
        )}
        {/* Keyed by the record: opening another record starts afresh (and stops a running draft). */}
        {features.includes('draft_email') && <RecordDraft key={`${object}:${id}`} object={object} id={id} />}
      </Stack>
    </Paper>
  );
}

/**
 * "Ask" on a list page: a question becomes filter chips the member edits (removes) before
 * applying them; the list then runs them with the member's own rights.
 */
export function AskBox({ object, onApply }: { object: string; onApply: (filter: { and: Chip[] }) => void }) {
  const [question, setQuestion] = useState('');
  const [chips, setChips] = useState<Chip[] | null>(null);
  const ask = useMutation({
    mutationFn: () => call(api.POST('/api/v1/ai/ask', { body: { object, question } })),
    onSuccess: (a) => setChips(a.chips),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (question.trim()) ask.mutate();
  };
  return (
    <Stack gap={4}>
      <form onSubmit={submit}>
        <Group gap="xs" wrap="nowrap">
          <TextInput
            aria-label="Ask the assistant for a filter"
            placeholder="Ask: open deals over 10k closing this month…"
            value={question}
            onChange={(e) => setQuestion(e.currentTarget.value)}
            w={340}
          />
          <Button type="submit" variant="default" loading={ask.isPending}>
            Ask
          </Button>
        </Group>
      </form>
      {ask.error && (
        <Alert color="red" p="xs">
          {ask.error.message}
        </Alert>
      )}
      {ask.data && chips === null && (
        <Text size="xs" c="dimmed">
          The assistant proposed a filter with “or” groups; build it with the filter builder instead.
        </Text>
      )}
      {ask.data?.note && (
        <Text size="xs" c="dimmed">
          {ask.data.note}
        </Text>
      )}
      {chips && (
        <Group gap="xs" data-testid="ai-chips">
          {chips.map((c, i) => (
            <Pill
              key={`${c.field}:${c.op}:${valueText(c.value)}`}
              withRemoveButton
              onRemove={() => setChips(chips.filter((_, j) => j !== i))}
            >
              {c.label} {OP_WORDS[c.op] ?? c.op} {valueText(c.value)}
            </Pill>
          ))}
          <Button
            size="xs"
            disabled={chips.length === 0}
            onClick={() => onApply({ and: chips.map(({ label: _, ...c }) => c as Chip) })}
          >
            Apply filter
          </Button>
          <CloseButton aria-label="Discard" onClick={() => setChips(null)} />
        </Group>
      )}
    </Stack>
  );
}
