import {
  ActionIcon,
  Alert,
  Button,
  Group,
  Modal,
  MultiSelect,
  NumberInput,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { type ApiError, api, call, type Schemas } from '../../api/client';
import { membersQuery, organizationSettingsQuery } from '../../lib/query';

type Target = { report_id: string } | { dashboard_id: string };
type Frequency = Schemas['ReportScheduleCreate']['frequency'];
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** How a schedule's rhythm reads: "Weekly on Monday at 08:00 (Europe/Paris)". */
function rhythmOf(s: Schemas['ReportSchedule']): string {
  const when =
    s.frequency === 'weekly'
      ? `Weekly on ${WEEKDAYS[s.weekday ?? 1]}`
      : s.frequency === 'monthly'
        ? `Monthly on day ${s.day_of_month ?? 1}`
        : 'Daily';
  return `${when} at ${s.time} (${s.time_zone})`;
}

/**
 * The "Schedule" action of a saved report or a dashboard: a dialog to e-mail its PDF daily, weekly
 * or monthly at a time in the recipients' time zone (one schedule per recipient, each computed with
 * that member's rights), and the list of its schedules with their last outcome and delete.
 */
export function ScheduleButton({ target, name }: { target: Target; name: string }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <Button size="xs" variant="light" onClick={() => setOpen(true)}>
        Schedule
      </Button>
      <Modal opened={open} onClose={() => setOpen(false)} title={`Schedule “${name}”`} size="lg">
        {open && <ScheduleForm target={target} />}
      </Modal>
    </>
  );
}

function ScheduleForm({ target }: { target: Target }) {
  const queryClient = useQueryClient();
  const members = useQuery(membersQuery);
  const settings = useQuery(organizationSettingsQuery);
  const query =
    'report_id' in target ? { report_id: target.report_id } : { dashboard_id: target.dashboard_id };
  const schedules = useQuery({
    queryKey: ['report-schedules', query],
    queryFn: () => call(api.GET('/api/v1/report-schedules', { params: { query } })),
  });
  const [frequency, setFrequency] = useState<Frequency>('weekly');
  const [time, setTime] = useState('08:00');
  const [weekday, setWeekday] = useState('1');
  const [day, setDay] = useState<number>(1);
  const [timeZone, setTimeZone] = useState('');
  const [recipients, setRecipients] = useState<string[]>([]);
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['report-schedules'] });
  const create = useMutation<unknown, ApiError>({
    mutationFn: async () => {
      for (const recipient_id of recipients)
        await call(
          api.POST('/api/v1/report-schedules', {
            body: {
              ...target,
              frequency,
              time,
              ...(frequency === 'weekly' ? { weekday: Number(weekday) } : {}),
              ...(frequency === 'monthly' ? { day_of_month: day } : {}),
              ...(timeZone.trim() ? { time_zone: timeZone.trim() } : {}),
              recipient_id,
            },
          }),
        );
    },
    onSuccess: () => {
      setRecipients([]);
      return refresh();
    },
  });
  const remove = useMutation<unknown, ApiError, string>({
    mutationFn: (id) => call(api.DELETE('/api/v1/report-schedules/{id}', { params: { path: { id } } })),
    onSuccess: refresh,
  });
  const sendNow = useMutation<unknown, ApiError, string>({
    mutationFn: (id) => call(api.POST('/api/v1/report-schedules/{id}/send', { params: { path: { id } } })),
    onSuccess: refresh,
  });

  return (
    <Stack>
      <Group grow align="end">
        <Select
          label="Frequency"
          data={[
            { value: 'daily', label: 'Daily' },
            { value: 'weekly', label: 'Weekly' },
            { value: 'monthly', label: 'Monthly' },
          ]}
          value={frequency}
          onChange={(v) => setFrequency((v as Frequency) ?? 'weekly')}
          allowDeselect={false}
        />
        {frequency === 'weekly' && (
          <Select
            label="Day"
            data={WEEKDAYS.map((label, i) => ({ value: String(i), label }))}
            value={weekday}
            onChange={(v) => setWeekday(v ?? '1')}
            allowDeselect={false}
          />
        )}
        {frequency === 'monthly' && (
          <NumberInput
            label="Day of the month"
            min={1}
            max={28}
            value={day}
            onChange={(v) => setDay(Number(v) || 1)}
          />
        )}
        <TextInput label="Time" type="time" value={time} onChange={(e) => setTime(e.currentTarget.value)} />
      </Group>
      <TextInput
        label="Time zone"
        description="The recipients' IANA time zone; empty: the organization's"
        placeholder={settings.data?.time_zone ?? 'UTC'}
        value={timeZone}
        onChange={(e) => setTimeZone(e.currentTarget.value)}
      />
      <MultiSelect
        label="Recipients"
        description="Each receives the PDF computed with what they may see"
        data={(members.data?.data ?? []).map((m) => ({ value: m.user_id, label: m.name || m.email }))}
        value={recipients}
        onChange={setRecipients}
        searchable
      />
      {create.error && <Alert color="red">{create.error.message}</Alert>}
      <Group justify="end">
        <Button
          disabled={recipients.length === 0 || !time}
          loading={create.isPending}
          onClick={() => create.mutate()}
        >
          Add schedule
        </Button>
      </Group>
      <Title order={4}>Schedules</Title>
      {(remove.error ?? sendNow.error) && (
        <Alert color="red">{(remove.error ?? sendNow.error)?.message}</Alert>
      )}
      {(schedules.data?.data ?? []).length === 0 ? (
        <Text c="dimmed" size="sm">
          Not scheduled yet.
        </Text>
      ) : (
        <Table aria-label="Schedules">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Recipient</Table.Th>
              <Table.Th>When</Table.Th>
              <Table.Th>Next</Table.Th>
              <Table.Th>Last run</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {(schedules.data?.data ?? []).map((s) => (
              <Table.Tr key={s.id}>
                <Table.Td>
                  {s.recipient ? s.recipient.name || s.recipient.email : 'No longer a member'}
                </Table.Td>
                <Table.Td>{rhythmOf(s)}</Table.Td>
                <Table.Td>{s.next_run_at ? new Date(s.next_run_at).toLocaleString() : '—'}</Table.Td>
                <Table.Td>
                  <Text size="sm" c={s.last_outcome === 'sent' ? undefined : 'dimmed'}>
                    {s.last_note ?? 'Not run yet'}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <Group gap={4} wrap="nowrap">
                    <Button size="compact-xs" variant="subtle" onClick={() => sendNow.mutate(s.id)}>
                      Send now
                    </Button>
                    <ActionIcon
                      variant="subtle"
                      color="red"
                      aria-label={`Delete the schedule for ${s.recipient?.email ?? 'a former member'}`}
                      onClick={() => remove.mutate(s.id)}
                    >
                      ×
                    </ActionIcon>
                  </Group>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
