import { Alert, Button, Code, Group, List, Paper, Stack, Text, TextInput } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { type ApiError, api, call, type Schemas } from '../../api/client';

// The assistant over reports (issue 32), in a chunk of its own loaded only when the assistant is on:
// a question becomes a report definition the member looks at before anything runs (and opens in the
// report builder to edit, run or save), and the numbers of a report or dashboard are read in a few
// sentences. Everything the model wrote is shown as text (React escapes it), never as HTML.

type Spec = Schemas['ReportSpec'];

const problemText = (e: ApiError) => `${e.message}${e.problem?.path ? ` (${e.problem.path})` : ''}`;

/** The definition in words, so the member can read what would run before it does. */
function describe(spec: Spec): string {
  const m = spec.measure;
  const measure = m.op === 'count' ? 'count' : `${m.op.replace('_', ' ')} of ${m.field ?? ''}`;
  const groups = (spec.group_by ?? []).map((g) => (g.bucket ? `${g.field} (per ${g.bucket})` : g.field));
  return `${spec.object}: ${measure}${groups.length ? `, by ${groups.join(', then ')}` : ''}`;
}

/**
 * "Ask for a report" on the Reports page: the proposed definition is shown, not run; "Open in the
 * builder" hands it to the builder, where the member edits, runs and saves it as their own.
 */
export function AskReportBox({ onUse }: { onUse: (spec: Spec, title: string) => void }) {
  const [question, setQuestion] = useState('');
  const ask = useMutation<Schemas['AiAskReportAnswer'], ApiError>({
    mutationFn: () => call(api.POST('/api/v1/ai/ask-report', { body: { question } })),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (question.trim()) ask.mutate();
  };
  const a = ask.data;
  return (
    <Paper withBorder p="md">
      <Stack gap="xs">
        <form onSubmit={submit}>
          <Group gap="xs" wrap="nowrap" align="end">
            <TextInput
              style={{ flex: 1 }}
              label="Ask the assistant for a report"
              placeholder="How many cases did we qualify last quarter?"
              value={question}
              onChange={(e) => setQuestion(e.currentTarget.value)}
            />
            <Button type="submit" variant="default" loading={ask.isPending}>
              Ask for a report
            </Button>
          </Group>
        </form>
        {ask.error && (
          <Alert color="red" p="xs">
            {problemText(ask.error)}
          </Alert>
        )}
        {a && (
          <Stack gap={4} data-testid="ai-report-proposal">
            <Text fw={600}>{a.title}</Text>
            <Text size="sm">{describe(a.report)}</Text>
            {a.report.filter && (
              <Code block style={{ whiteSpace: 'pre-wrap' }}>
                {JSON.stringify(a.report.filter)}
              </Code>
            )}
            {a.note && (
              <Text size="xs" c="dimmed">
                {a.note}
              </Text>
            )}
            <Group gap="xs">
              <Button
                size="xs"
                onClick={() => {
                  onUse(a.report, a.title);
                  ask.reset();
                }}
              >
                Open in the builder
              </Button>
              <Button size="xs" variant="subtle" onClick={() => ask.reset()}>
                Discard
              </Button>
              <Text size="xs" c="dimmed">
                Not run yet: check it, then run or save it from the builder · {a.model}
              </Text>
            </Group>
          </Stack>
        )}
      </Stack>
    </Paper>
  );
}

/** "Explain" for a report or a dashboard: a few sentences on the numbers in view, with the figures cited. */
export function ExplainBox({ reports }: { reports: { title: string; spec: Spec }[] }) {
  const explain = useMutation<Schemas['AiExplanation'], ApiError>({
    mutationFn: () => call(api.POST('/api/v1/ai/explain', { body: { reports: reports.slice(0, 10) } })),
  });
  const e = explain.data;
  return (
    <Stack gap="xs">
      <Group gap="xs">
        <Button
          size="xs"
          variant="light"
          disabled={reports.length === 0}
          loading={explain.isPending}
          onClick={() => explain.mutate()}
        >
          Explain these numbers
        </Button>
        {reports.length > 10 && (
          <Text size="xs" c="dimmed">
            The first 10 reports are read.
          </Text>
        )}
      </Group>
      {explain.error && (
        <Alert color="red" p="xs">
          {problemText(explain.error)}
        </Alert>
      )}
      {e && (
        <Paper withBorder p="sm" data-testid="ai-explanation">
          <Text size="sm" style={{ whiteSpace: 'pre-wrap' }}>
            {e.explanation}
          </Text>
          {e.figures.length > 0 && (
            <List size="xs" mt="xs" data-testid="ai-figures">
              {e.figures.map((f) => (
                <List.Item key={`${f.label}:${f.value}`}>
                  {f.label}: {f.value.toLocaleString()}
                </List.Item>
              ))}
            </List>
          )}
          <Text size="xs" c="dimmed" mt="xs">
            {e.uncited > 0
              ? `${e.uncited} number(s) the assistant gave are not in the results and were left out · `
              : ''}
            Written by the assistant ({e.model}); check it against the figures.
          </Text>
        </Paper>
      )}
    </Stack>
  );
}
