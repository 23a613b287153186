import { Alert, Button, Divider, Group, Select, Stack, Text, TextInput, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { api, call, type Schemas } from '../../api/client';
import { organizationSettingsQuery } from '../../lib/query';
import { ErrorAlert, PageSkeleton } from '../../shell/states';
import { ExchangeRatesSettings } from './ExchangeRatesSettings';

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
    <>
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
      <ExchangeRatesSettings currency={settings.data?.default_currency ?? draft.default_currency} />
      <DeleteOrganization name={settings.data?.name ?? draft.name} />
    </>
  );
}

const deletionQuery = {
  queryKey: ['organization', 'deletion'],
  queryFn: () => call(api.GET('/api/v1/organization/deletion')),
};

/**
 * Deleting the organization: the admin retypes its name; it is deleted with all its data after
 * the grace period, and until then any admin can cancel (POST / DELETE /organization/deletion).
 */
function DeleteOrganization({ name }: { name: string }) {
  const queryClient = useQueryClient();
  const deletion = useQuery(deletionQuery);
  const [confirm, setConfirm] = useState('');
  const done = (data: Schemas['OrganizationDeletion']) => {
    queryClient.setQueryData(deletionQuery.queryKey, data);
    setConfirm('');
  };
  const schedule = useMutation({
    mutationFn: () => call(api.POST('/api/v1/organization/deletion', { body: { confirm } })),
    onSuccess: done,
  });
  const cancel = useMutation({
    mutationFn: () => call(api.DELETE('/api/v1/organization/deletion')),
    onSuccess: (data) => {
      done(data);
      notifications.show({ color: 'teal', message: 'The deletion is canceled' });
    },
  });
  const at = deletion.data?.deletion_scheduled_for;
  return (
    <Stack maw={480} mt="xl">
      <Divider />
      <Title order={4}>Delete organization</Title>
      <ErrorAlert error={schedule.error ?? cancel.error} />
      {at ? (
        <Alert color="red" title="Deletion scheduled">
          <Stack gap="xs">
            <Text size="sm">
              {name} and all its data (records, files, members' access) will be deleted on{' '}
              <strong>{new Date(at).toLocaleString()}</strong>. Until then an admin can cancel.
            </Text>
            <Group>
              <Button variant="default" onClick={() => cancel.mutate()} loading={cancel.isPending}>
                Cancel the deletion
              </Button>
            </Group>
          </Stack>
        </Alert>
      ) : (
        <>
          <Text size="sm" c="dimmed">
            Deletes the organization with every record, file and setting after a grace period, during which an
            admin can cancel. Export what you want to keep first.
          </Text>
          <TextInput
            label={`Type ${name} to confirm`}
            value={confirm}
            onChange={(e) => setConfirm(e.currentTarget.value)}
          />
          <Group>
            <Button
              color="red"
              disabled={confirm !== name}
              loading={schedule.isPending}
              onClick={() => schedule.mutate()}
            >
              Delete organization
            </Button>
          </Group>
        </>
      )}
    </Stack>
  );
}
