import { Select } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call } from '../api/client';
import { objectQuery } from './query';
import {
  asRecord,
  type Collection,
  OBJECT_OF,
  type RecordData,
  recordPath,
  recordQuery,
  recordTitle,
} from './records';

type Option = { value: string; label: string };

/**
 * A searchable select of records of one object (`GET /api/v1/<collection>?q=`): pick a company
 * for a contact, a contact or company for an opportunity, any relation field's record.
 */
export function RecordPicker({
  collection,
  label,
  value,
  onChange,
  initial,
  autoFocus,
  inPopover,
}: {
  collection: Collection;
  label: string;
  value: string | null;
  onChange: (id: string | null, label: string | null) => void;
  /** The current record's label, shown before any search. */
  initial?: Option | null;
  autoFocus?: boolean;
  /** Inside a popover: the options render in place so choosing does not close it. */
  inPopover?: boolean;
}) {
  const [search, setSearch] = useState('');
  const [q] = useDebouncedValue(search, 200);
  const { data } = useQuery({
    queryKey: [collection, 'picker', q],
    queryFn: () =>
      call(api.GET(recordPath(collection, ''), { params: { query: { q: q || undefined, limit: '20' } } })),
    placeholderData: keepPreviousData,
  });
  const description = useQuery(objectQuery(OBJECT_OF[collection]));
  const display = description.data?.display;
  const options: Option[] = display
    ? (data?.data ?? []).flatMap(asRecord).map((r) => ({ value: r.id, label: recordTitle(display, r) }))
    : [];
  // The chosen record's name when no search lists it (a saved view's filter): read once.
  const chosen = useQuery({
    ...recordQuery(OBJECT_OF[collection], value ?? ''),
    enabled: Boolean(value && !initial && display && !options.some((o) => o.value === value)),
  });
  const known =
    initial ??
    (value && chosen.data && display
      ? { value, label: recordTitle(display, chosen.data as RecordData) }
      : null);
  if (known && !options.some((o) => o.value === known.value)) options.unshift(known);
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
      autoFocus={autoFocus}
      {...(inPopover ? { comboboxProps: { withinPortal: false } } : {})}
    />
  );
}
