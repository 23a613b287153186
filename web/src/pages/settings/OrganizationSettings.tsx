import { Button, Group, Select, Stack, TextInput } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { api, call, type Schemas } from '../../api/client';
import { organizationSettingsQuery } from '../../lib/query';
import { ErrorAlert, PageSkeleton } from '../../shell/states';

type Settings = Schemas['OrganizationSettings'];

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
].map((label, i) => ({ value: String(i + 1), label }));

/** Every IANA zone the browser knows (Intl), or a few when it cannot list them. */
const zones = (): string[] => {
  const intl = Intl as unknown as { supportedValuesOf?: (key: string) => string[] };
  return intl.supportedValuesOf?.('timeZone') ?? ['UTC', 'Europe/London', 'Europe/Paris', 'America/New_York'];
};

/** The organization's name, default currency, time zone, country (for phones) and fiscal year start. */
export function OrganizationSettings() {
  const queryClient = useQueryClient();
  const settings = useQuery(organizationSettingsQuery);
  const [draft, setDraft] = useState<Settings | null>(null);
  useEffect(() => {
    if (settings.data && !draft) setDraft(settings.data);
  }, [settings.data, draft]);
  const save = useMutation({
    mutationFn: (body: Settings) =>
      call(
        api.PATCH('/api/v1/organization/settings', {
          body: { ...body, default_currency: body.default_currency.toUpperCase() },
        }),
      ),
    onSuccess: (saved) => {
      setDraft(saved);
      queryClient.setQueryData(organizationSettingsQuery.queryKey, saved);
      void queryClient.invalidateQueries({ queryKey: ['me'] });
      notifications.show({ color: 'teal', message: 'Organization settings saved' });
    },
  });
  if (!draft) return <PageSkeleton />;
  const set = (patch: Partial<Settings>) => setDraft({ ...draft, ...patch });
  return (
    <form
      onSubmit={(e: FormEvent) => {
        e.preventDefault();
        save.mutate(draft);
      }}
    >
      <Stack maw={480}>
        <ErrorAlert error={save.error} />
        <TextInput
          label="Organization name"
          required
          value={draft.name}
          onChange={(e) => set({ name: e.currentTarget.value })}
        />
        <TextInput
          label="Default currency"
          description="ISO 4217 code, e.g. USD or EUR"
          maxLength={3}
          value={draft.default_currency}
          onChange={(e) => set({ default_currency: e.currentTarget.value.toUpperCase() })}
        />
        <Select
          label="Time zone"
          searchable
          data={zones()}
          value={draft.time_zone}
          onChange={(v) => v && set({ time_zone: v })}
          allowDeselect={false}
        />
        <TextInput
          label="Country for phone numbers"
          description="Two letters (ISO 3166-1), e.g. US or DE: numbers from there show in their national form"
          maxLength={2}
          value={draft.country ?? ''}
          onChange={(e) => set({ country: e.currentTarget.value.toUpperCase() || null })}
        />
        <Select
          label="Fiscal year starts in"
          data={MONTHS}
          value={String(draft.fiscal_year_start_month)}
          onChange={(v) => v && set({ fiscal_year_start_month: Number(v) })}
          allowDeselect={false}
        />
        <Group>
          <Button type="submit" loading={save.isPending}>
            Save
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
