import { Badge, Group, Text } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { Spotlight } from '@mantine/spotlight';
import { IconSearch } from '@tabler/icons-react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useNavigate } from '@tanstack/react-router';
import { useState } from 'react';
import { api, call } from '../api/client';
import { DETAIL_PATH } from '../lib/records';

/** Ctrl/Cmd+K: one search across contacts, companies and opportunities (`GET /api/v1/search`). */
export function GlobalSearch() {
  const [query, setQuery] = useState('');
  const [debounced] = useDebouncedValue(query.trim(), 150);
  const navigate = useNavigate();
  const { data, isFetching } = useQuery({
    queryKey: ['search', debounced],
    queryFn: () => call(api.GET('/api/v1/search', { params: { query: { q: debounced, limit: 20 } } })),
    enabled: debounced.length > 0,
    placeholderData: keepPreviousData,
  });
  const hits = debounced ? (data?.data ?? []) : [];

  return (
    <Spotlight.Root query={query} onQueryChange={setQuery} shortcut={['mod + K', '/']}>
      <Spotlight.Search
        placeholder="Search contacts, companies, opportunities…"
        leftSection={<IconSearch size={18} />}
      />
      <Spotlight.ActionsList>
        {hits.map((hit) => (
          <Spotlight.Action
            key={`${hit.object}:${hit.id}`}
            onClick={() => {
              const to = DETAIL_PATH[hit.object as keyof typeof DETAIL_PATH];
              if (to) void navigate({ to, params: { id: hit.id } });
              // A custom object's record (issue 21): its generic detail page.
              else void navigate({ to: '/records/$object/$id', params: { object: hit.object, id: hit.id } });
            }}
          >
            <Group justify="space-between" w="100%" wrap="nowrap">
              <Text size="sm" truncate>
                {hit.title}
              </Text>
              <Badge variant="light" size="sm">
                {hit.object}
              </Badge>
            </Group>
          </Spotlight.Action>
        ))}
        {debounced && !isFetching && hits.length === 0 && <Spotlight.Empty>Nothing found</Spotlight.Empty>}
        {!debounced && <Spotlight.Empty>Type a name, an e-mail, a phone or a company</Spotlight.Empty>}
      </Spotlight.ActionsList>
    </Spotlight.Root>
  );
}
