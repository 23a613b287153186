import { Button, Group, NumberInput, Select, Stack, TextInput } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { api, call, type Opportunity } from '../../api/client';
import { useMembers } from '../../lib/fields';
import { RecordPicker } from '../../lib/pickers';
import { meQuery, pipelinesQuery } from '../../lib/query';
import { ErrorAlert } from '../../shell/states';

type Option = { value: string; label: string };

/**
 * The new opportunity form: on the board (its pipeline given), or from a contact's or company's
 * page with them filled in (`initial`) and the pipeline to pick (the default one first). The
 * owner is the one who creates it unless changed.
 */
export function NewOpportunityForm({
  pipelineId,
  initial,
  onDone,
}: {
  pipelineId?: string;
  initial?: { title?: string; contact?: Option | null; company?: Option | null };
  onDone: (created: Opportunity) => void;
}) {
  const members = useMembers();
  const { data: me } = useQuery(meQuery);
  const pipelines = useQuery({ ...pipelinesQuery, enabled: !pipelineId }).data?.data ?? [];
  const [chosenPipeline, setChosenPipeline] = useState<string | null>(null);
  const pipeline = pipelineId ?? chosenPipeline ?? pipelines[0]?.id ?? null;
  const [title, setTitle] = useState(initial?.title ?? '');
  const [amount, setAmount] = useState<number | ''>('');
  const [currency, setCurrency] = useState('USD');
  const [contactId, setContactId] = useState<string | null>(initial?.contact?.value ?? null);
  const [companyId, setCompanyId] = useState<string | null>(initial?.company?.value ?? null);
  const [ownerId, setOwnerId] = useState<string | null>(me?.user.id ?? null);
  const [closeDate, setCloseDate] = useState('');
  const [error, setError] = useState<unknown>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      const created = await call(
        api.POST('/api/v1/opportunities', {
          body: {
            title,
            source: 'manual',
            // Before the pipelines have loaded, the server's default pipeline (a quick submit
            // used to do nothing at all).
            ...(pipeline ? { pipeline_id: pipeline } : {}),
            amount: amount === '' ? null : amount,
            currency: amount === '' ? null : currency,
            contact_id: contactId,
            company_id: companyId,
            owner_id: ownerId,
            expected_close_date: closeDate || null,
          },
        }),
      );
      onDone(created);
    } catch (err) {
      setError(err);
    }
  }
  return (
    <form onSubmit={submit}>
      <Stack>
        <ErrorAlert error={error} />
        <TextInput
          label="Title"
          required
          value={title}
          onChange={(e) => setTitle(e.currentTarget.value)}
          data-autofocus
        />
        {!pipelineId && (
          <Select
            label="Pipeline"
            data={pipelines.map((p) => ({ value: p.id, label: p.name }))}
            value={pipeline}
            onChange={setChosenPipeline}
            allowDeselect={false}
          />
        )}
        <Group grow>
          <NumberInput
            label="Value"
            min={0}
            value={amount}
            onChange={(v) => setAmount(v === '' ? '' : Number(v))}
          />
          <TextInput
            label="Currency"
            value={currency}
            onChange={(e) => setCurrency(e.currentTarget.value.toUpperCase())}
            maxLength={3}
          />
        </Group>
        <RecordPicker
          collection="contacts"
          label="Contact"
          value={contactId}
          initial={initial?.contact ?? null}
          onChange={(id) => setContactId(id)}
        />
        <RecordPicker
          collection="companies"
          label="Company"
          value={companyId}
          initial={initial?.company ?? null}
          onChange={(id) => setCompanyId(id)}
        />
        <Select
          label="Owner"
          data={members.map((m) => ({ value: m.user_id, label: m.name }))}
          value={ownerId}
          onChange={setOwnerId}
          clearable
        />
        <TextInput
          label="Expected close date"
          type="date"
          value={closeDate}
          onChange={(e) => setCloseDate(e.currentTarget.value)}
        />
        <Group justify="flex-end">
          <Button type="submit">Create opportunity</Button>
        </Group>
      </Stack>
    </form>
  );
}
