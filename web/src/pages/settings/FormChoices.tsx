import { Group, Input, Pill, Stack, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { api, call } from '../../api/client';
import { AddRecordPicker, customTitle } from '../../lib/custom-records';
import { objectQuery } from '../../lib/query';
import { asRecord, COLLECTION, isRecordObject, recordPath, recordTitle } from '../../lib/records';

/** A record a form offers on a many-to-many field: its id, and its name once known. */
export type Choice = { id: string; name: string | null };

/**
 * The names of records of `object` by id (`POST /api/v1/<collection>/query` or
 * `/api/v1/records/{object}/query`, filtered by `id in [...]`): live records only, so an id
 * missing from the answer is a record archived or deleted since.
 */
function useRecordNames(object: string, ids: string[]) {
  const description = useQuery(objectQuery(object)).data;
  return useQuery({
    queryKey: ['records', object, 'names', ids],
    enabled: ids.length > 0 && Boolean(description),
    queryFn: async (): Promise<Map<string, string>> => {
      const filter = { field: 'id', op: 'in' as const, value: ids };
      if (!description) return new Map();
      if (isRecordObject(object)) {
        const page = await call(
          api.POST(recordPath(COLLECTION[object], '/query'), { body: { filter, limit: ids.length } }),
        );
        return new Map(page.data.flatMap(asRecord).map((r) => [r.id, recordTitle(description.display, r)]));
      }
      const page = await call(
        api.POST('/api/v1/records/{object}/query', {
          params: { path: { object } },
          body: { filter, limit: ids.length },
        }),
      );
      return new Map(page.data.flatMap(asRecord).map((r) => [r.id, customTitle(description, r)]));
    },
  });
}

/**
 * The records a form offers on a many-to-many relation field (the form field's `choices`): a
 * picker searching the related object's records by name, the picked ones as removable pills. A
 * saved form's choices arrive as ids; their names are read once.
 */
export function ChoicesInput({
  object,
  label,
  value,
  onChange,
  error,
}: {
  object: string;
  label: string;
  value: Choice[];
  onChange: (choices: Choice[]) => void;
  /** The server's problem with these choices; `index` is the choice it names, if one. */
  error?: { message: string; index?: number };
}) {
  const unnamed = value.filter((c) => c.name === null).map((c) => c.id);
  const names = useRecordNames(object, unnamed);
  const nameOf = (c: Choice) =>
    c.name ?? names.data?.get(c.id) ?? (names.data ? 'An archived or deleted record' : '…');
  return (
    <Stack gap={6}>
      <Text size="xs" c="dimmed">
        The records a visitor can pick for {label}
      </Text>
      {value.length > 0 && (
        <Group gap={6} aria-label={`Choices of ${label}`} role="list">
          {value.map((c, i) => (
            <Pill
              key={c.id}
              role="listitem"
              bd={i === error?.index ? '1px solid var(--mantine-color-error)' : undefined}
              withRemoveButton
              onRemove={() => onChange(value.filter((x) => x.id !== c.id))}
              // Outside a PillsInput the × is the only way to remove: reachable by keyboard and named.
              removeButtonProps={{ 'aria-label': `Remove ${nameOf(c)}`, 'aria-hidden': false, tabIndex: 0 }}
            >
              {nameOf(c)}
            </Pill>
          ))}
        </Group>
      )}
      <AddRecordPicker
        object={object}
        label={`Add a choice for ${label}`}
        onPick={(id, name) => {
          if (!value.some((c) => c.id === id)) onChange([...value, { id, name }]);
        }}
      />
      {error && (
        <Input.Error>
          {error.message}
          {error.index !== undefined && value[error.index] ? ` (${nameOf(value[error.index]!)})` : ''}
        </Input.Error>
      )}
    </Stack>
  );
}
