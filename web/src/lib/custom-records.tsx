import { Button, Group, Select, Stack } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { api, call, type Field, type ObjectDescription } from '../api/client';
import { ErrorAlert } from '../shell/states';
import { FieldInput, inputValueOf, useMembers } from './fields';
import { RecordPicker } from './pickers';
import { COLLECTION, isRecordObject, type RecordData } from './records';

/**
 * Custom objects' records in the web app (issue 21): everything here is driven by the registry
 * (`GET /api/v1/objects/{object}`), so a page serves every object a tenant defines.
 */

/** The fields a custom object's form and table show: its active custom fields, display field first. */
export function formFields(description: ObjectDescription): Field[] {
  const display = description.custom_object?.display_field;
  return description.fields
    .filter((f) => f.origin === 'custom' && !f.retired)
    .sort((a, b) => (a.key === display ? -1 : b.key === display ? 1 : a.position - b.position));
}

/** A record of a custom object by its display field. */
export const customTitle = (description: ObjectDescription, record: RecordData): string => {
  const key = description.custom_object?.display_field ?? 'name';
  const custom = record.custom as Record<string, unknown> | undefined;
  const v = custom?.[key];
  return typeof v === 'string' && v ? v : record.id;
};

/** The fields a custom object's board can group by: its status and single-select fields. */
export const boardFields = (fields: Field[]) =>
  fields.filter((f) => f.origin === 'custom' && !f.retired && (f.type === 'status' || f.type === 'select'));

/** A record's number as shown (`CASE-00042`), or null when the object does not number its records. */
export function numberLabel(description: ObjectDescription, record: RecordData): string | null {
  const numbering = description.custom_object?.numbering;
  const n = record.number;
  if (!numbering || (typeof n !== 'number' && typeof n !== 'string')) return null;
  return `${numbering.prefix}${String(n).padStart(numbering.digits, '0')}`;
}

/** A searchable select of a custom object's records (`GET /api/v1/records/{object}?q=`). */
export function CustomRecordPicker({
  object,
  label,
  value,
  onChange,
}: {
  object: string;
  label: string;
  value: string | null;
  /** The picked record's id and its name (null when cleared). */
  onChange: (id: string | null, label: string | null) => void;
}) {
  const [search, setSearch] = useState('');
  const [q] = useDebouncedValue(search, 200);
  const description = useQuery({
    queryKey: ['objects', object],
    queryFn: () => call(api.GET('/api/v1/objects/{object}', { params: { path: { object } } })),
  }).data;
  const { data } = useQuery({
    queryKey: ['records', object, 'picker', q],
    queryFn: () =>
      call(
        api.GET('/api/v1/records/{object}', {
          params: { path: { object }, query: { q: q || undefined, limit: '20' } },
        }),
      ),
    placeholderData: keepPreviousData,
  });
  const options = (data?.data ?? []).flatMap((r) =>
    typeof r.id === 'string' && description
      ? [{ value: r.id, label: customTitle(description, r as RecordData) }]
      : [],
  );
  return (
    <Select
      label={label}
      searchable
      clearable
      data={options}
      value={value}
      searchValue={search}
      onSearchChange={setSearch}
      onChange={(v, option) => onChange(v, option?.label ?? null)}
      nothingFoundMessage="No match"
      filter={({ options: o }) => o}
    />
  );
}

/**
 * A searchable picker of records of any object (a standard one's collection or a custom one's
 * records) that empties itself after each pick, for lists of records: a record's many-to-many
 * links, a form's choices. `onPick` gets the record's id and its name.
 */
export function AddRecordPicker({
  object,
  label,
  onPick,
}: {
  object: string;
  label: string;
  onPick: (id: string, name: string) => void;
}) {
  const [round, setRound] = useState(0);
  const pick = (picked: string | null, name: string | null) => {
    if (!picked) return;
    onPick(picked, name ?? picked);
    setRound((n) => n + 1);
  };
  return isRecordObject(object) ? (
    <RecordPicker key={round} collection={COLLECTION[object]} label={label} value={null} onChange={pick} />
  ) : (
    <CustomRecordPicker key={round} object={object} label={label} value={null} onChange={pick} />
  );
}

/** An input for one field of a custom object: relations pick a record of their object. */
function CustomFieldInput({
  field,
  value,
  onChange,
}: {
  field: Field;
  value: unknown;
  onChange: (v: unknown) => void;
}) {
  const members = useMembers();
  const target = field.relation?.object;
  if (field.type === 'relation' && target) {
    const id = typeof value === 'string' ? value : null;
    return isRecordObject(target) ? (
      <RecordPicker
        collection={COLLECTION[target]}
        label={field.label}
        value={id}
        onChange={(v) => onChange(v)}
      />
    ) : (
      <CustomRecordPicker object={target} label={field.label} value={id} onChange={onChange} />
    );
  }
  return (
    <FieldInput
      field={field}
      value={value}
      onChange={onChange}
      members={members}
      label={field.label}
      required={field.required}
    />
  );
}

/**
 * The create and edit form of a custom object's record, from the registry. What the user typed
 * stays when the request fails (the server's problem is shown above the form).
 */
export function CustomRecordForm({
  description,
  record,
  onSubmit,
  submitLabel,
}: {
  description: ObjectDescription;
  record?: RecordData;
  onSubmit: (custom: Record<string, unknown>) => Promise<unknown>;
  submitLabel: string;
}) {
  // A status changes on the record's page or its board (with a reason when it needs one), not here.
  // Many-to-many links are edited in the record's Linked records panel (LinksPanel), not here.
  const fields = formFields(description).filter((f) => (!record || f.type !== 'status') && !f.relation?.many);
  const [values, setValues] = useState<Record<string, unknown>>(() =>
    Object.fromEntries(fields.map((f) => [f.key, record ? inputValueOf(f, record) : null])),
  );
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      // On create, empty values are left out; on edit, a cleared value is sent as null.
      const custom = Object.fromEntries(
        Object.entries(values).filter(([, v]) => record || (v !== null && v !== '')),
      );
      await onSubmit(custom);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <form onSubmit={submit}>
      <Stack>
        <ErrorAlert error={error} />
        {fields.map((f) => (
          <CustomFieldInput
            key={f.key}
            field={f}
            value={values[f.key]}
            onChange={(v) => setValues((prev) => ({ ...prev, [f.key]: v }))}
          />
        ))}
        <Group justify="flex-end">
          <Button type="submit" loading={busy}>
            {submitLabel}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
