import { Button, Group, Stack } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from '@tanstack/react-router';
import { type FormEvent, useState } from 'react';
import { ApiError, type Field } from '../../api/client';
import { FieldInput, useMembers } from '../../lib/fields';
import { RecordPicker } from '../../lib/pickers';
import { meQuery, objectQuery } from '../../lib/query';
import { COLLECTION, createRecord, DETAIL_PATH, type RecordObject } from '../../lib/records';
import { ErrorAlert, PageSkeleton } from '../../shell/states';
import { relationOf } from './DetailParts';
import { OBJECT_PLUGINS } from './objects';
import type { CreateInputProps } from './objects/types';

/**
 * The fields a create form asks for: those a user writes (not system, computed or retired),
 * and those the object's plug-in has an input for; in the registry's order.
 */
export const formFields = (fields: Field[], inputs: Record<string, unknown>) =>
  fields
    .filter((f) =>
      f.key in inputs
        ? inputs[f.key] !== null
        : !f.read_only && f.storage !== 'computed' && !f.retired && f.type !== 'uuid',
    )
    .sort((a, b) => a.position - b.position);

const isEmpty = (v: unknown) =>
  v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0);

/**
 * The form that creates a record of any object, one input per writable registry field (custom
 * ones included), plus what the object's plug-in adds; then opens the new record's page.
 */
export function RecordForm({ object, onDone }: { object: RecordObject; onDone: () => void }) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const members = useMembers();
  const description = useQuery(objectQuery(object));
  const { data: me } = useQuery(meQuery);
  // The owner is the one who creates the record, unless they choose another.
  const [values, setValues] = useState<Record<string, unknown>>(() => (me ? { owner_id: me.user.id } : {}));
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  if (!description.data) return <PageSkeleton />;
  const create = OBJECT_PLUGINS[object].create;
  const fields = formFields(description.data.fields, create?.inputs ?? {});
  const set = (key: string) => (value: unknown) => setValues((current) => ({ ...current, [key]: value }));
  const fieldError = (field: Field) =>
    error instanceof ApiError
      ? (error.fieldError(create?.errorPath?.[field.key] ?? field.key) ??
        (field.storage === 'custom' ? error.fieldError(`custom.${field.key}`) : undefined))
      : undefined;

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    setBusy(true);
    const body: Record<string, unknown> = {};
    const custom: Record<string, unknown> = {};
    for (const f of fields) {
      const value = values[f.key];
      if (isEmpty(value)) continue;
      if (f.storage === 'custom') custom[f.key] = value;
      else body[f.key] = value;
    }
    if (Object.keys(custom).length > 0) body.custom = custom;
    try {
      const record = await createRecord(object, create?.toBody ? create.toBody(body) : body);
      await queryClient.invalidateQueries({ queryKey: [COLLECTION[object]] });
      onDone();
      await navigate({ to: DETAIL_PATH[object], params: { id: record.id } });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  const inputProps = (field: Field, i: number): CreateInputProps => ({
    field,
    value: values[field.key] ?? null,
    onChange: set(field.key),
    members,
    error: fieldError(field),
    autoFocus: i === 0,
  });

  return (
    <form onSubmit={submit}>
      <Stack>
        <ErrorAlert error={error} />
        {fields.map((f, i) => {
          const Custom = create?.inputs?.[f.key];
          if (Custom) return <Custom key={f.key} {...inputProps(f, i)} />;
          return <GenericInput key={f.key} {...inputProps(f, i)} />;
        })}
        <Group justify="flex-end">
          <Button type="submit" loading={busy}>
            Create {description.data.label_singular.toLowerCase()}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

/** A registry field's input: a record picker for a relation, else by the field's type. */
function GenericInput({ field, value, onChange, members, error, autoFocus }: CreateInputProps) {
  const target = relationOf(field);
  if (target) {
    return (
      <RecordPicker
        collection={COLLECTION[target]}
        label={field.label}
        value={typeof value === 'string' ? value : null}
        onChange={(id) => onChange(id)}
      />
    );
  }
  return (
    <FieldInput
      field={field}
      label={field.label}
      value={value}
      onChange={onChange}
      members={members}
      error={error}
      required={field.required}
      autoFocus={autoFocus}
    />
  );
}
