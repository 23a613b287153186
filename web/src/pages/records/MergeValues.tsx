import { Group, Radio, Skeleton, Table, Text } from '@mantine/core';
import { useQueries, useQuery } from '@tanstack/react-query';
import { api, call, type Field, type Member } from '../../api/client';
import { cellContent, fieldValueOf, type RecordData, useMembers } from '../../lib/fields';
import { objectQuery } from '../../lib/query';

export type MergeCollection = 'contacts' | 'companies';

/** The standard fields whose value a merge can take from any record (the server's lists). */
const MERGE_FIELDS: Record<MergeCollection, string[]> = {
  contacts: ['first_name', 'last_name', 'owner_id', 'source', 'lead_status', 'notes'],
  companies: [
    'name',
    'domain',
    'website',
    'phone',
    'industry',
    'size',
    'owner_id',
    'parent_id',
    'notes',
    'address',
  ],
};

const OBJECT = { contacts: 'contact', companies: 'company' } as const;

const isEmpty = (v: unknown) =>
  v === null ||
  v === undefined ||
  v === '' ||
  (Array.isArray(v) && v.length === 0) ||
  (typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0);

/** The `values` key of a field: `custom.<key>` for custom fields. */
const valueKey = (f: Field) => (f.storage === 'custom' ? `custom.${f.key}` : f.key);

/** The records of a group, in full (the detail pages' cache entries). */
function useFullRecords(collection: MergeCollection, ids: string[]) {
  return useQueries({
    queries: ids.map((id) => ({
      queryKey: [collection, id],
      queryFn: async (): Promise<RecordData> =>
        collection === 'contacts'
          ? call(api.GET('/api/v1/contacts/{id}', { params: { path: { id } } }))
          : call(api.GET('/api/v1/companies/{id}', { params: { path: { id } } })),
    })),
  });
}

/** Names of parent companies outside the group, for the parent field's choices. */
function useCompanyNames(ids: string[]): Map<string, string> {
  const results = useQueries({
    queries: ids.map((id) => ({
      queryKey: ['companies', id],
      queryFn: () => call(api.GET('/api/v1/companies/{id}', { params: { path: { id } } })),
    })),
  });
  return new Map(results.flatMap((r) => (r.data ? [[r.data.id, r.data.name] as const] : [])));
}

function readValue(field: Field, record: RecordData, groupIds: string[]): unknown {
  const value = fieldValueOf(field, record);
  // A parent within the merge would make the survivor its own parent: the server ignores it.
  if (field.key === 'parent_id' && groupIds.includes(String(value))) return null;
  return value;
}

function valueText(field: Field, value: unknown, members: Member[], companies: Map<string, string>) {
  if (field.key === 'address' && value && typeof value === 'object')
    return Object.values(value as Record<string, string>).join(', ');
  if (field.key === 'parent_id') return companies.get(String(value)) ?? 'A company';
  const record: RecordData = { id: '', [field.key]: value };
  return cellContent(field, record, members);
}

/**
 * The fields on which a group's records differ, each with its distinct values to choose from
 * (`values`: field -> the id of the record whose value the survivor keeps). Without a choice a
 * field keeps the survivor's value, or the first other record's when the survivor's is empty,
 * as the server does; that is what shows selected.
 */
export function MergeValues({
  collection,
  recordIds,
  survivorId,
  values,
  onChange,
}: {
  collection: MergeCollection;
  recordIds: string[];
  survivorId: string;
  values: Record<string, string>;
  onChange: (values: Record<string, string>) => void;
}) {
  const members = useMembers();
  const description = useQuery(objectQuery(OBJECT[collection]));
  const results = useFullRecords(collection, recordIds);
  const records = results.flatMap((r) => (r.data ? [r.data] : []));
  const parentIds = [
    ...new Set(records.map((r) => r.parent_id).filter((id): id is string => typeof id === 'string')),
  ].filter((id) => !recordIds.includes(id));
  const companies = useCompanyNames(collection === 'companies' ? parentIds : []);
  if (!description.data || records.length < recordIds.length) return <Skeleton h={80} />;

  // Survivor first, then the others in the order they are merged.
  const ordered = [survivorId, ...recordIds.filter((id) => id !== survivorId)].map(
    (id) => records.find((r) => r.id === id)!,
  );
  const fields = description.data.fields.filter(
    (f) => !f.retired && (f.storage === 'custom' || MERGE_FIELDS[collection].includes(f.key)),
  );
  const rows = fields.flatMap((field) => {
    const choices: { id: string; value: unknown }[] = [];
    for (const record of ordered) {
      const value = readValue(field, record, recordIds);
      if (isEmpty(value) || choices.some((c) => JSON.stringify(c.value) === JSON.stringify(value))) continue;
      choices.push({ id: record.id, value });
    }
    const survivorValue = readValue(field, ordered[0]!, recordIds);
    const differs = choices.length > 1 || (choices.length === 1 && isEmpty(survivorValue));
    return differs ? [{ field, choices }] : [];
  });
  if (rows.length === 0)
    return (
      <Text size="sm" c="dimmed">
        The records have the same values: nothing to choose.
      </Text>
    );
  // Which choice holds the value a record (by id) has.
  const choiceOf = (field: Field, choices: { id: string; value: unknown }[], id: string | undefined) => {
    const record = ordered.find((r) => r.id === id);
    if (!record) return undefined;
    const value = JSON.stringify(readValue(field, record, recordIds));
    return choices.find((c) => JSON.stringify(c.value) === value)?.id;
  };

  return (
    <Table>
      <Table.Tbody>
        {rows.map(({ field, choices }) => {
          const key = valueKey(field);
          const selected = choiceOf(field, choices, values[key]) ?? choices[0]!.id;
          return (
            <Table.Tr key={key}>
              <Table.Td w={160}>
                <Text size="sm" fw={500}>
                  {field.label}
                </Text>
              </Table.Td>
              <Table.Td>
                <Radio.Group
                  value={selected}
                  onChange={(id) => onChange({ ...values, [key]: id })}
                  aria-label={`${field.label} to keep`}
                >
                  <Group gap="lg">
                    {choices.map((c) => (
                      <Radio
                        key={c.id}
                        value={c.id}
                        label={valueText(field, c.value, members, companies)}
                        size="sm"
                      />
                    ))}
                  </Group>
                </Radio.Group>
              </Table.Td>
            </Table.Tr>
          );
        })}
      </Table.Tbody>
    </Table>
  );
}
