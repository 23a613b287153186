import {
  Alert,
  Button,
  Checkbox,
  Group,
  NumberInput,
  Paper,
  PasswordInput,
  SegmentedControl,
  Stack,
  Switch,
  Text,
  TextInput,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { api, call } from '../../api/client';
import type { components } from '../../api/schema';
import { ErrorAlert } from '../../shell/states';

type Settings = components['schemas']['AiSettings'];
type Feature = Settings['features'][number];

const aiSettingsQuery = {
  queryKey: ['ai-settings'],
  queryFn: () => call(api.GET('/api/v1/ai/settings')),
} as const;

const FEATURES: { value: Feature; label: string }[] = [
  { value: 'summarize', label: 'Summarize a record' },
  { value: 'draft_email', label: 'Draft an e-mail' },
  { value: 'ask', label: 'Ask in plain language (filters and reports)' },
  { value: 'explain', label: 'Explain a report or dashboard' },
];

/**
 * The AI assistant (issue 32), admins: off by default; the provider (an OpenAI-compatible
 * endpoint or Anthropic), the model, the key (write-only, shown masked), the features, the
 * monthly token budgets, the per-minute limit, redaction and whether prompts are kept in the audit.
 */
export function AiSettings() {
  const queryClient = useQueryClient();
  const settings = useQuery(aiSettingsQuery);
  const [draft, setDraft] = useState<Settings | null>(null);
  const [key, setKey] = useState('');
  useEffect(() => {
    if (settings.data) setDraft(settings.data);
  }, [settings.data]);
  const save = useMutation({
    mutationFn: (d: Settings) =>
      call(
        api.PATCH('/api/v1/ai/settings', {
          body: {
            enabled: d.enabled,
            provider: d.provider,
            base_url: d.base_url,
            model: d.model,
            features: d.features,
            org_monthly_tokens: d.org_monthly_tokens,
            member_monthly_tokens: d.member_monthly_tokens,
            calls_per_minute: d.calls_per_minute,
            redact_emails: d.redact_emails,
            redact_phones: d.redact_phones,
            store_prompts: d.store_prompts,
            prices: d.prices,
            currency: d.currency,
            ...(key ? { key } : {}),
          },
        }),
      ),
    onSuccess: (s) => {
      setKey('');
      queryClient.setQueryData(aiSettingsQuery.queryKey, s);
      void queryClient.invalidateQueries({ queryKey: ['ai-status'] });
      notifications.show({ message: 'AI settings saved' });
    },
  });
  if (settings.error) return <ErrorAlert error={settings.error} />;
  if (!draft) return null;
  const set = (patch: Partial<Settings>) => setDraft({ ...draft, ...patch });
  const tokens = (v: string | number) => (v === '' ? null : Number(v));
  // The price of the model chosen above: both halves set it, clearing both removes it.
  const price = draft.prices[draft.model];
  const setPrice = (half: 'input_per_million' | 'output_per_million', v: string | number) => {
    const next = { input_per_million: 0, output_per_million: 0, ...price, [half]: v === '' ? 0 : Number(v) };
    const { [draft.model]: _, ...others } = draft.prices;
    set({
      prices:
        v === '' &&
        (price?.[half === 'input_per_million' ? 'output_per_million' : 'input_per_million'] ?? 0) === 0
          ? others
          : { ...others, [draft.model]: next },
    });
  };
  const money = (n: number) =>
    new Intl.NumberFormat(undefined, {
      style: 'currency',
      currency: draft.currency,
      maximumFractionDigits: 4,
    }).format(n);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate(draft);
  };
  return (
    <Paper withBorder p="md">
      <form onSubmit={submit}>
        <Stack maw={640}>
          <Text size="sm" c="dimmed">
            Bring your own key. The assistant only ever sees what the member asking may read, and never sends
            or changes anything on its own. Every call is in the audit log.
          </Text>
          <Switch
            label="Turn the assistant on"
            checked={draft.enabled}
            onChange={(e) => set({ enabled: e.currentTarget.checked })}
          />
          <SegmentedControl
            value={draft.provider}
            onChange={(v) => set({ provider: v as Settings['provider'] })}
            data={[
              { value: 'openai', label: 'OpenAI-compatible' },
              { value: 'anthropic', label: 'Anthropic' },
            ]}
          />
          <TextInput
            label="Base URL"
            description={
              draft.provider === 'openai'
                ? 'https://api.openai.com/v1, or a local server such as http://ollama:11434/v1'
                : 'https://api.anthropic.com'
            }
            value={draft.base_url}
            onChange={(e) => set({ base_url: e.currentTarget.value })}
            required
          />
          <TextInput
            label="Model"
            value={draft.model}
            onChange={(e) => set({ model: e.currentTarget.value })}
            required
          />
          <PasswordInput
            label="API key"
            description={
              draft.key ? `Current key: ${draft.key}. Type a new one to replace it.` : 'No key set'
            }
            value={key}
            onChange={(e) => setKey(e.currentTarget.value)}
            autoComplete="off"
          />
          <Checkbox.Group
            label="Features"
            value={draft.features}
            onChange={(v) => set({ features: v as Feature[] })}
          >
            <Group mt="xs">
              {FEATURES.map((f) => (
                <Checkbox key={f.value} value={f.value} label={f.label} />
              ))}
            </Group>
          </Checkbox.Group>
          <Group grow>
            <NumberInput
              label="Organization tokens a month"
              description="Empty: no limit"
              min={1}
              value={draft.org_monthly_tokens ?? ''}
              onChange={(v) => set({ org_monthly_tokens: tokens(v) })}
            />
            <NumberInput
              label="Tokens a month per member"
              description="Empty: no limit"
              min={1}
              value={draft.member_monthly_tokens ?? ''}
              onChange={(v) => set({ member_monthly_tokens: tokens(v) })}
            />
            <NumberInput
              label="Calls a minute per member"
              min={1}
              max={600}
              value={draft.calls_per_minute}
              onChange={(v) => set({ calls_per_minute: Number(v) || 1 })}
            />
          </Group>
          <Group grow align="end">
            <NumberInput
              label={`Price in, per million tokens (${draft.model})`}
              description="Empty: no price, the cost is not counted"
              min={0}
              decimalScale={4}
              value={price?.input_per_million ?? ''}
              onChange={(v) => setPrice('input_per_million', v)}
            />
            <NumberInput
              label="Price out, per million tokens"
              min={0}
              decimalScale={4}
              value={price?.output_per_million ?? ''}
              onChange={(v) => setPrice('output_per_million', v)}
            />
            <TextInput
              label="Currency"
              maxLength={3}
              value={draft.currency}
              onChange={(e) => set({ currency: e.currentTarget.value.toUpperCase() })}
            />
          </Group>
          <Text size="sm" data-testid="ai-usage">
            Used this month: {draft.tokens_this_month.toLocaleString()} tokens
            {/^[A-Z]{3}$/.test(draft.currency) ? `, ${money(draft.cost_this_month)}` : ''}
            {draft.unpriced_calls_this_month > 0
              ? ` (${draft.unpriced_calls_this_month} calls to a model without a price are not counted)`
              : ''}
          </Text>
          <Switch
            label="Replace e-mail addresses before sending"
            checked={draft.redact_emails}
            onChange={(e) => set({ redact_emails: e.currentTarget.checked })}
          />
          <Switch
            label="Replace phone numbers before sending"
            checked={draft.redact_phones}
            onChange={(e) => set({ redact_phones: e.currentTarget.checked })}
          />
          <Switch
            label="Keep prompts and answers in the audit log"
            checked={draft.store_prompts}
            onChange={(e) => set({ store_prompts: e.currentTarget.checked })}
          />
          {save.error && <Alert color="red">{save.error.message}</Alert>}
          <Group>
            <Button type="submit" loading={save.isPending}>
              Save
            </Button>
          </Group>
        </Stack>
      </form>
    </Paper>
  );
}
