import { Select } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call, contactName } from '../api/client';

type Option = { value: string; label: string };

/**
 * A searchable select of records of one object (`GET /api/v1/<collection>?q=`): pick a company
 * for a contact, a contact or company for an opportunity.
 */
export function RecordPicker({
  collection,
  label,
  value,
  onChange,
  initial,
}: {
  collection: 'contacts' | 'companies';
  label: string;
  value: string | null;
  onChange: (id: string | null, label: string | null) => void;
  /** The current record's label, shown before any search. */
  initial?: Option | null;
}) {
  const [search, setSearch] = useState('');
  const [q] = useDebouncedValue(search, 200);
  const { data } = useQuery({
    queryKey: [collection, 'picker', q],
    queryFn: () =>
      call(
        api.GET(`/api/v1/${collection}` as '/api/v1/contacts', {
          params: { query: { q: q || undefined, limit: '20' } },
        }),
      ),
    placeholderData: keepPreviousData,
  });
  const options: Option[] = (data?.data ?? []).map((r) => ({
    value: String(r.id),
    label: collection === 'companies' ? String(r.name) : contactName(r as never),
  }));
  if (initial && !options.some((o) => o.value === initial.value)) options.unshift(initial);
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
