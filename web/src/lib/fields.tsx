import {
  Anchor,
  Group,
  MultiSelect,
  NumberInput,
  Select,
  Switch,
  TagsInput,
  Textarea,
  TextInput,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useQuery } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import { api, call, type Field, type Member } from '../api/client';
import { PhoneLink } from './phone';
import { membersQuery } from './query';
import type { RecordData } from './records';

/** A record as the list and detail endpoints return it: standard fields, custom values under `custom`. */
export type { RecordData };

const isObject = (v: unknown): v is { [key: string]: unknown } =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The value of a registry field on a record (custom fields live under `custom`). */
export function fieldValueOf(field: Field, record: RecordData): unknown {
  if (field.storage !== 'custom') return record[field.key];
  return isObject(record.custom) ? record.custom[field.key] : undefined;
}

/**
 * A field's value as a write takes it, to start an edit from: a custom phone is kept as
 * `{e164, raw}` and written as the number typed; tags and multi-selects start as a list.
 */
export function inputValueOf(field: Field, record: RecordData): unknown {
  const value = fieldValueOf(field, record);
  if (field.type === 'phone' && value && typeof value === 'object' && !Array.isArray(value))
    return (value as { raw?: string }).raw ?? null;
  return value ?? (field.type === 'tags' || field.type === 'multi_select' ? [] : null);
}

/** The PATCH body that sets one field (custom values merge server-side). */
export function patchFor(field: Field, value: unknown): Record<string, unknown> {
  return field.storage === 'custom' ? { custom: { [field.key]: value } } : { [field.key]: value };
}

export function useMembers(): Member[] {
  return useQuery(membersQuery).data?.data ?? [];
}

export function memberName(members: Member[], id: unknown): string {
  if (!id) return '';
  return members.find((m) => m.user_id === id)?.name ?? 'Former member';
}

const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function formatDate(value: unknown, withTime = false): string {
  if (!value) return '';
  const d = new Date(String(value).length === 10 ? `${value}T00:00:00` : String(value));
  return Number.isNaN(d.getTime()) ? String(value) : (withTime ? dateTimeFmt : dateFmt).format(d);
}

/** How a field's value reads on a detail page: as in a table cell, with e-mails and URLs as links. */
export function FieldValue({
  field,
  record,
  members,
}: {
  field: Field;
  record: RecordData;
  members: Member[];
}) {
  const value = fieldValueOf(field, record);
  if (typeof value === 'string' && value !== '' && (field.type === 'email' || field.type === 'url')) {
    return field.type === 'email' ? (
      <Anchor href={`mailto:${value}`} size="sm">
        {value}
      </Anchor>
    ) : (
      <Anchor href={value} target="_blank" rel="noreferrer" size="sm">
        {value}
      </Anchor>
    );
  }
  if (field.type === 'phone' && value) {
    // One number (a company's phone, a custom phone field `{e164, raw}`): a tel: link, formatted.
    const e164 = typeof value === 'string' ? value : isObject(value) ? value.e164 : null;
    if (typeof e164 === 'string' && e164.startsWith('+')) return <PhoneLink value={e164} />;
  }
  return <>{cellContent(field, record, members)}</>;
}

/**
 * A field's value as plain text and spans, for table cells: the same reading as FieldValue
 * without a component per value (50 rows of 8 columns render in a blink).
 */
export function cellContent(field: Field, record: RecordData, members: Member[]): ReactNode {
  const value = fieldValueOf(field, record);
  if (value === null || value === undefined || value === '' || (Array.isArray(value) && value.length === 0)) {
    return <span className="cairn-dimmed">—</span>;
  }
  switch (field.type) {
    case 'tags':
    case 'multi_select':
      return (value as string[]).map((t) => (
        <span key={t} className="cairn-tag">
          {field.options?.find((o) => o.value === t)?.label ?? t}
        </span>
      ));
    case 'user':
      return memberName(members, value);
    case 'relation':
      if (Array.isArray(value)) return (value as { name: string }[]).map((c) => c.name).join(', ');
      return typeof value === 'object' ? ((value as { name?: string }).name ?? '') : String(value);
    case 'datetime':
      return formatDate(value, true);
    case 'date':
      return formatDate(value);
    case 'boolean':
      return value ? 'Yes' : 'No';
    case 'select':
    case 'status':
      return field.options?.find((o) => o.value === value)?.label ?? String(value);
    case 'currency': {
      const v = value as { amount?: number; currency?: string } | number;
      return typeof v === 'number' ? String(v) : `${v.amount ?? ''} ${v.currency ?? ''}`;
    }
    case 'email':
      if (Array.isArray(value)) return (value as { value: string }[]).map((e) => e.value).join(', ');
      return String(value);
    case 'phone':
      if (Array.isArray(value)) return (value as { raw: string }[]).map((p) => p.raw).join(', ');
      // A custom phone field keeps one number as `{e164, raw}`.
      if (typeof value === 'object') return (value as { raw?: string; e164?: string }).raw ?? '';
      return String(value);
    default:
      return typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
}

/** Tag input with autocomplete from the organization's tags (`GET /api/v1/tags?q=`). */
export function TagPicker(props: {
  label?: string;
  value: string[];
  onChange: (v: string[]) => void;
  autoFocus?: boolean;
  /** Inside a popover: the suggestions render in place so choosing does not close it. */
  inPopover?: boolean;
}) {
  const [search, setSearch] = useState('');
  const [q] = useDebouncedValue(search, 150);
  const { data } = useQuery({
    queryKey: ['tags', q],
    queryFn: () => call(api.GET('/api/v1/tags', { params: { query: { q: q || undefined, limit: 20 } } })),
  });
  return (
    <TagsInput
      label={props.label}
      aria-label={props.label ?? 'Tags'}
      value={props.value}
      onChange={props.onChange}
      searchValue={search}
      onSearchChange={setSearch}
      data={(data?.data ?? []).map((t) => t.name)}
      placeholder="Add a tag"
      autoFocus={props.autoFocus}
      clearable
      {...(props.inPopover ? { comboboxProps: { withinPortal: false } } : {})}
    />
  );
}

/** The HTML input type of the text-like field types. */
const INPUT_TYPES: Partial<Record<Field['type'], string>> = { email: 'email', url: 'url', phone: 'tel' };

/** An input for one field's value, by registry type. `value` is what the API holds. */
export function FieldInput({
  field,
  value,
  onChange,
  members,
  label,
  autoFocus,
  inPopover,
  error,
  required,
}: {
  field: Field;
  value: unknown;
  onChange: (v: unknown) => void;
  members: Member[];
  label?: string;
  autoFocus?: boolean;
  /** The server's message for this input. */
  error?: string | undefined;
  required?: boolean;
  /** Inside a popover: dropdowns render in place so choosing does not close the popover. */
  inPopover?: boolean;
}) {
  const common = { label, 'aria-label': label ?? field.label, autoFocus, error, required };
  const combobox = inPopover ? { comboboxProps: { withinPortal: false } } : {};
  switch (field.type) {
    case 'long_text':
      return (
        <Textarea
          {...common}
          autosize
          minRows={2}
          value={(value as string) ?? ''}
          onChange={(e) => onChange(e.currentTarget.value || null)}
        />
      );
    case 'number':
      return (
        <NumberInput
          {...common}
          value={(value as number) ?? ''}
          onChange={(v) => onChange(v === '' ? null : Number(v))}
        />
      );
    case 'currency': {
      const v = (value as { amount?: number; currency?: string } | null) ?? null;
      return (
        <Group gap="xs" wrap="nowrap">
          <NumberInput
            {...common}
            value={v?.amount ?? ''}
            onChange={(n) =>
              onChange(n === '' ? null : { amount: Number(n), currency: v?.currency ?? 'USD' })
            }
          />
          <TextInput
            aria-label="Currency"
            w={80}
            value={v?.currency ?? 'USD'}
            onChange={(e) =>
              onChange({ amount: v?.amount ?? 0, currency: e.currentTarget.value.toUpperCase() })
            }
          />
        </Group>
      );
    }
    case 'date':
      return (
        <TextInput
          {...common}
          type="date"
          value={(value as string) ?? ''}
          onChange={(e) => onChange(e.currentTarget.value || null)}
        />
      );
    case 'datetime':
      return (
        <TextInput
          {...common}
          type="datetime-local"
          value={value ? String(value).slice(0, 16) : ''}
          onChange={(e) =>
            onChange(e.currentTarget.value ? new Date(e.currentTarget.value).toISOString() : null)
          }
        />
      );
    case 'boolean':
      return (
        <Switch {...common} checked={Boolean(value)} onChange={(e) => onChange(e.currentTarget.checked)} />
      );
    case 'select':
    case 'status':
      return (
        <Select
          {...common}
          {...combobox}
          data={(field.options ?? []).map((o) => ({ value: o.value, label: o.label }))}
          value={(value as string) ?? null}
          onChange={(v) => onChange(v)}
          clearable
          searchable
        />
      );
    case 'multi_select':
      return (
        <MultiSelect
          {...common}
          {...combobox}
          data={(field.options ?? []).map((o) => ({ value: o.value, label: o.label }))}
          value={(value as string[]) ?? []}
          onChange={(v) => onChange(v)}
          searchable
        />
      );
    case 'user':
      return (
        <Select
          {...common}
          {...combobox}
          data={members.map((m) => ({ value: m.user_id, label: m.name }))}
          value={(value as string) ?? null}
          onChange={(v) => onChange(v)}
          clearable
          searchable
        />
      );
    case 'tags':
      return (
        <TagPicker
          label={label}
          value={(value as string[]) ?? []}
          onChange={onChange}
          autoFocus={autoFocus}
        />
      );
    default:
      return (
        <TextInput
          {...common}
          type={INPUT_TYPES[field.type] ?? 'text'}
          value={(value as string) ?? ''}
          onChange={(e) => onChange(e.currentTarget.value || null)}
        />
      );
  }
}
