import { Badge, Group, Stack, Text } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { Spotlight } from '@mantine/spotlight';
import { IconPlus, IconSearch, IconSettings } from '@tabler/icons-react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useNavigate } from '@tanstack/react-router';
import { useEffect, useState } from 'react';
import { api, call } from '../api/client';
import { meQuery } from '../lib/query';
import { DETAIL_PATH } from '../lib/records';

/** The first result of the open search: the one Enter opens when none is chosen with the arrows. */
function selectFirstIfNone() {
  const list = document.querySelector('[data-search-list]');
  if (!list || list.querySelector('[data-selected]')) return;
  list.querySelector('[data-action]')?.setAttribute('data-selected', 'true');
}

/**
 * Ctrl/Cmd+K: one search across contacts, companies, opportunities and custom objects
 * (`GET /api/v1/search`), each hit with what tells it apart (a contact's e-mail and company);
 * Enter opens the first (or the one chosen with the arrows); and actions: new contact, new
 * company, settings.
 */
export function GlobalSearch() {
  const [query, setQuery] = useState('');
  const [debounced] = useDebouncedValue(query.trim(), 150);
  const navigate = useNavigate();
  const { data: me } = useQuery(meQuery);
  const { data, isFetching } = useQuery({
    queryKey: ['search', debounced],
    queryFn: () => call(api.GET('/api/v1/search', { params: { query: { q: debounced, limit: 20 } } })),
    enabled: debounced.length > 0,
    placeholderData: keepPreviousData,
  });
  const hits = debounced ? (data?.data ?? []) : [];
  const canEdit = me?.role === 'admin' || me?.role === 'user';
  const words = query.trim().toLowerCase();
  const actions = [
    ...(canEdit
      ? [
          {
            id: 'new-contact',
            label: 'New contact',
            icon: IconPlus,
            go: () => navigate({ to: '/contacts', search: { new: true } }),
          },
          {
            id: 'new-company',
            label: 'New company',
            icon: IconPlus,
            go: () => navigate({ to: '/companies', search: { new: true } }),
          },
        ]
      : []),
    ...(me?.role === 'admin'
      ? [
          {
            id: 'settings',
            label: 'Go to settings',
            icon: IconSettings,
            go: () => navigate({ to: '/settings' }),
          },
        ]
      : []),
  ].filter((a) => !words || a.label.toLowerCase().includes(words));
  const hitKeys = hits.map((h) => `${h.object}:${h.id}`).join(',');
  // Results arrive after the query changed: mark the first as the one Enter opens.
  useEffect(() => {
    if (hitKeys) selectFirstIfNone();
  }, [hitKeys]);

  return (
    <Spotlight.Root query={query} onQueryChange={setQuery} shortcut={['mod + K', '/']}>
      <Spotlight.Search
        placeholder="Search contacts, companies, opportunities…"
        aria-label="Search"
        leftSection={<IconSearch size={18} />}
        onKeyDown={(e) => {
          if (e.nativeEvent.code === 'Enter' || e.nativeEvent.code === 'NumpadEnter') selectFirstIfNone();
        }}
      />
      <Spotlight.ActionsList data-search-list>
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
              <Stack gap={0} style={{ minWidth: 0 }}>
                <Text size="sm" truncate>
                  {hit.title}
                </Text>
                {hit.subtitle && (
                  <Text size="xs" c="dimmed" truncate>
                    {hit.subtitle}
                  </Text>
                )}
              </Stack>
              <Badge variant="light" size="sm">
                {hit.object}
              </Badge>
            </Group>
          </Spotlight.Action>
        ))}
        {actions.map((a) => (
          <Spotlight.Action key={a.id} onClick={() => void a.go()}>
            <Group gap="xs" wrap="nowrap">
              <a.icon size={16} />
              <Text size="sm">{a.label}</Text>
            </Group>
          </Spotlight.Action>
        ))}
        {debounced && !isFetching && hits.length === 0 && actions.length === 0 && (
          <Spotlight.Empty>Nothing found</Spotlight.Empty>
        )}
        {!debounced && <Spotlight.Empty>Type a name, an e-mail, a phone or a company</Spotlight.Empty>}
      </Spotlight.ActionsList>
    </Spotlight.Root>
  );
}
